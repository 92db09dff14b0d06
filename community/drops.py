"""Coupon drops: first come, first served, never over-issued, with any number of processes.

A drop is a batch of `quantity` codes, stored when the drop is created with `seq` 1..quantity.
Claiming is one short transaction whose guards are the database's, not the process's:

1. one read of the drop, the codes the user already holds in it, their first-seen time and
   their points balance. Most taps of a popular drop come after it sold out: that path (and
   every other refusal) ends here, without a write;
2. ``UPDATE coupon_drops SET claimed = claimed + 1 WHERE id = :d AND claimed < quantity AND
   <open> RETURNING claimed`` takes a slot. No row: sold out. On PostgreSQL the row lock
   queues concurrent claims of one drop and each re-checks ``claimed < quantity``; the CHECK
   ``claimed <= quantity`` stands behind it;
3. ``UPDATE coupon_codes SET user_id = :u, user_n = <held> + 1 ... WHERE drop_id = :d AND
   seq = :claimed AND <held> < per_user_limit``: the n-th claim takes the n-th code. `<held>`
   is counted inside the statement, after step 2 queued us behind every other claim of the
   drop, so a user's simultaneous taps cannot pass the limit; UNIQUE(drop_id, user_id,
   user_n) stands behind it (a violation rolls back: LIMIT_REACHED);
4. for a /shop item (`cost_points` set): ``UPDATE members SET balance = balance - :c WHERE
   user_id = :u AND balance >= :c`` and a ``points_ledger`` row (reason ``redeem``, ref
   ``drop:<id>:<user_n>``, unique). No row updated: INSUFFICIENT_POINTS, nothing claimed;
5. commit. The claim that takes the last code marks the drop ``sold_out`` in step 2.

Claims open at `starts_at` whether or not `start_due` (the scheduler) has flipped the drop to
``live`` yet; `start_due` reports the drops it started, once, for the bot to announce.

The points statements are written here directly (not through `community.points`) so that the
debit and the claim are one transaction. The functions commit or roll back before returning.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    Integer,
    Table,
    bindparam,
    case,
    delete,
    exists,
    false,
    func,
    insert,
    null,
    select,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from community import announce
from community.codes import MAX_CODE_LENGTH, CodeFileError, generate_codes
from storage import audit
from storage.models import (
    Broadcast,
    BroadcastRecipient,
    CouponCode,
    CouponDrop,
    Member,
    PointsEntry,
    User,
)

NEW_MEMBER_DAYS = 7
"""Audience ``new``: members the bot saw join the community group, and first saw at all,
at most this many days before the claim (`Audience.admits`)."""
# Bounds of what a manager types (the /drop options read within them).
MAX_QUANTITY = 100_000
MAX_VALID_DAYS = 3650
MAX_PER_USER_LIMIT = 100
MAX_COST_POINTS = 1_000_000
CHUNK = 1000  # codes per IN (...) list or per INSERT batch
_SHOWN = 5  # offending codes named in a message

DRAFT, SCHEDULED, LIVE, SOLD_OUT, ENDED = "draft", "scheduled", "live", "sold_out", "ended"

DROPS = cast(Table, CouponDrop.__table__)
CODES = cast(Table, CouponCode.__table__)
MEMBERS = cast(Table, Member.__table__)
LEDGER = cast(Table, PointsEntry.__table__)
USERS = cast(Table, User.__table__)
BROADCASTS = cast(Table, Broadcast.__table__)
RECIPIENTS = cast(Table, BroadcastRecipient.__table__)


class DropError(ValueError):
    """A drop that cannot be created or found; the message is for the manager."""


# --- audience ----------------------------------------------------------------------------

_TIER = re.compile(r"tier\s*(?::|>=|≥|=)?\s*([0-9]{1,2})")


class Audience(NamedTuple):
    """Who may claim: ``("all", None)``, ``("tier", N)`` (tier >= N), ``("new", None)``, or
    ``("invited", None)``: the users a broadcast carrying the drop was sent to."""

    kind: str
    value: int | None = None

    @classmethod
    def parse(cls, spec: str) -> Audience:
        """Read ``all``, ``tier:2`` (also ``tier>=2``), ``new`` or ``invited``; raises
        DropError."""
        return _parse_audience(spec.strip().lower())

    @property
    def spec(self) -> str:
        """The stored form: ``all``, ``tier:N``, ``new`` or ``invited``."""
        return f"tier:{self.value}" if self.kind == "tier" else self.kind

    def admits(
        self,
        *,
        tier: int,
        first_seen: datetime | None,
        now: datetime,
        invited: bool = False,
        joined_group: datetime | None = None,
    ) -> bool:
        """``new``: the bot saw the member join the group (`joined_group`, members'
        joined_group_at) and first saw them anywhere (`first_seen`, users') within
        NEW_MEMBER_DAYS. First sight alone is not enough: a long-time member of the group
        who never spoke to the bot is first seen by their tap on the drop; and a member
        who left and came back has a recent join but an old first sight."""
        if self.kind == "invited":
            return invited
        if self.kind == "tier":
            return tier >= (self.value or 0)
        if self.kind == "new":
            if first_seen is None or joined_group is None:
                return False
            return min(first_seen, joined_group) >= now - timedelta(NEW_MEMBER_DAYS)
        return True


@functools.lru_cache(maxsize=256)
def _parse_audience(spec: str) -> Audience:
    if spec in ("all", "everyone", ""):
        return Audience("all")
    if spec == "new":
        return Audience("new")
    if spec == "invited":
        return Audience("invited")
    match = _TIER.fullmatch(spec)
    if match:
        return Audience("tier", int(match.group(1)))
    raise DropError(
        f"unknown audience {spec!r}: use 'all', 'tier:N' (tier N and above) or 'new' "
        f"(joined the group in the last {NEW_MEMBER_DAYS} days)"
    )


# --- creating ----------------------------------------------------------------------------


def drop_copy(title: str, discount: str) -> str:
    """What the group post of a drop says in the manager's words: the copy guard checks it."""
    return f"{title.strip()}\n{discount.strip()}"


async def create_drop(
    session: AsyncSession,
    *,
    title: str,
    discount: str,
    quantity: int,
    per_user_limit: int = 1,
    valid_until: datetime | None = None,
    valid_days: int | None = None,
    audience: str = "all",
    starts_at: datetime,
    created_by: int | None,
    now: datetime,
    codes: Sequence[str] | None = None,
    cost_points: int | None = None,
    code_prefix: str = "",
    hold: bool = False,
    post_in: int | None = None,
) -> CouponDrop:
    """Validate and store a drop with exactly `quantity` codes (generated when `codes` is
    None, else the first `quantity` of `codes`); raises DropError. Commits.

    The drop is ``scheduled`` when `starts_at` is after `now`, else ``live``; with `hold`
    it is a ``draft`` (e.g. the copy guard found forbidden words): nobody can claim it and
    `start_due` leaves it alone until `release_draft`. A live drop's post in the group
    `post_in` is queued in the same transaction (a scheduled one is posted by `start_due`'s
    caller when it starts).
    """
    title, discount = title.strip(), discount.strip()
    _validate(
        title=title,
        discount=discount,
        quantity=quantity,
        per_user_limit=per_user_limit,
        valid_until=valid_until,
        valid_days=valid_days,
        starts_at=starts_at,
        now=now,
        cost_points=cost_points,
    )
    spec = Audience.parse(audience).spec
    imported = None if codes is None else _imported(codes, quantity)
    if imported is None:
        try:
            chosen = generate_codes(quantity, prefix=code_prefix)
        except CodeFileError as exc:
            raise DropError(str(exc)) from None
    else:
        chosen = imported
        clashes = await _existing(session, chosen)
        if clashes:
            await session.rollback()
            raise DropError(_clash_message(clashes))

    for _attempt in range(3):
        drop = CouponDrop(
            title=title,
            discount=discount,
            quantity=quantity,
            claimed=0,
            per_user_limit=per_user_limit,
            valid_until=valid_until,
            valid_days=valid_days,
            audience=spec,
            cost_points=cost_points,
            starts_at=starts_at,
            status=DRAFT if hold else SCHEDULED if starts_at > now else LIVE,
            codes_source="generated" if imported is None else "imported",
            created_by=created_by,
            created_at=now,
        )
        session.add(drop)
        try:
            await session.flush()
            for start in range(0, quantity, CHUNK * 10):
                rows = [
                    {"drop_id": drop.id, "seq": seq, "code": chosen[seq - 1]}
                    for seq in range(start + 1, min(start + CHUNK * 10, quantity) + 1)
                ]
                await session.execute(insert(CODES), rows)
            if drop.status == LIVE and post_in is not None:
                await announce.queue_post(session, drop_id=drop.id, chat_id=post_in, now=now)
            await session.commit()
        except IntegrityError:
            # Another drop stored one of these codes since we looked, or a generated code
            # met an old one (each of 2^50 values: about 1 in 10^9 per code per million
            # stored): name them, or draw new ones.
            await session.rollback()
            clashes = await _existing(session, chosen)
            await session.rollback()
            if imported is not None or not clashes:
                raise DropError(
                    _clash_message(clashes) if clashes else "could not store the drop's codes"
                ) from None
            chosen = generate_codes(quantity, prefix=code_prefix)  # draw again
            continue
        return drop
    raise DropError("could not store the drop's codes; please try again")


def _validate(
    *,
    title: str,
    discount: str,
    quantity: int,
    per_user_limit: int,
    valid_until: datetime | None,
    valid_days: int | None,
    starts_at: datetime,
    now: datetime,
    cost_points: int | None,
) -> None:
    if not title:
        raise DropError("the drop needs a title")
    if len(title) > 128:
        raise DropError(f"the title is {len(title)} characters long; at most 128 fit")
    if not discount:
        raise DropError("the drop needs a discount text, e.g. '10% off orders over ¥99'")
    if len(discount) > 256:
        raise DropError(f"the discount text is {len(discount)} characters long; at most 256 fit")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise DropError(f"the quantity must be from 1 to {MAX_QUANTITY:,}, not {quantity:,}")
    if not 1 <= per_user_limit <= MAX_PER_USER_LIMIT:
        raise DropError(
            f"the per-user limit must be from 1 to {MAX_PER_USER_LIMIT}, not {per_user_limit:,}"
        )
    if valid_until is not None and valid_days is not None:
        raise DropError(
            "give either a date the coupons are valid until or a number of days after the "
            "claim, not both"
        )
    if valid_days is not None and not 1 <= valid_days <= MAX_VALID_DAYS:
        raise DropError(f"the validity must be 1 to {MAX_VALID_DAYS} days, not {valid_days}")
    if valid_until is not None and valid_until <= max(now, starts_at):
        raise DropError(
            f"the coupons would expire ({valid_until:%Y-%m-%d %H:%M} UTC) before they can be "
            "claimed: pick a later date"
        )
    if cost_points is not None and not 1 <= cost_points <= MAX_COST_POINTS:
        raise DropError(
            f"a price in points must be from 1 to {MAX_COST_POINTS:,}, not {cost_points:,}"
        )


def _imported(codes: Sequence[str], quantity: int) -> list[str]:
    clean = [c.strip() for c in codes if c.strip()]
    seen: set[str] = set()
    repeated: dict[str, None] = {}
    for c in clean:
        if c in seen:
            repeated[c] = None
        seen.add(c)
    if repeated:
        shown = ", ".join(list(repeated)[:_SHOWN])
        raise DropError(f"{len(repeated)} codes appear more than once in the list: {shown}")
    too_long = [c for c in clean if len(c) > MAX_CODE_LENGTH]
    if too_long:
        raise DropError(
            f"{len(too_long)} codes are longer than {MAX_CODE_LENGTH} characters, "
            f"e.g. {too_long[0][:20]}…"
        )
    if len(clean) < quantity:
        raise DropError(
            f"there are only {len(clean):,} codes for a quantity of {quantity:,}: import at "
            f"least {quantity:,} codes, or lower the quantity to {len(clean):,}"
        )
    return clean[:quantity]


async def _existing(session: AsyncSession, codes: Sequence[str]) -> list[str]:
    """The codes of `codes` that some drop already holds, in the order given."""
    found: set[str] = set()
    for start in range(0, len(codes), CHUNK):
        chunk = list(codes[start : start + CHUNK])
        found.update(await session.scalars(select(CODES.c.code).where(CODES.c.code.in_(chunk))))
    return [c for c in codes if c in found]


def _clash_message(clashes: Sequence[str]) -> str:
    shown = ", ".join(clashes[:_SHOWN]) + (", …" if len(clashes) > _SHOWN else "")
    return f"{len(clashes):,} of these codes already belong to another drop: {shown}"


# --- claiming ----------------------------------------------------------------------------


class ClaimStatus(StrEnum):
    CLAIMED = "claimed"
    SOLD_OUT = "sold_out"
    LIMIT_REACHED = "limit_reached"
    NOT_ELIGIBLE = "not_eligible"  # outside the audience (or a user the bot never saw)
    NOT_STARTED = "not_started"
    ENDED = "ended"  # ended by a manager, or its coupons have expired
    NOT_FOUND = "not_found"
    INSUFFICIENT_POINTS = "insufficient_points"


@dataclass(frozen=True, slots=True)
class ClaimResult:
    status: ClaimStatus
    drop_id: int
    code: str | None = None
    expires_at: datetime | None = None
    left: int | None = None  # quantity - claimed, after this claim
    sold_out_now: bool = False  # this claim took the last code
    code_id: int | None = None
    starts_at: datetime | None = None  # set with NOT_STARTED
    title: str | None = None  # set by `redeem`
    discount: str | None = None
    cost: int | None = None  # the points a CLAIMED code of a /shop drop cost


def _p(name: str, column: Any = None) -> Any:
    return bindparam(name, type_=column.type if column is not None else Integer())


# The claim's statements, built once (see storage/queries.py: rebuilding costs).
_D, _C = DROPS, CODES
_mine = CODES.alias("mine")
_held = (
    select(func.count())
    .select_from(_mine)
    .where(
        _mine.c.drop_id == _p("p_drop", _C.c.drop_id),
        _mine.c.user_id == _p("p_user", _C.c.user_id),
    )
    .scalar_subquery()
)
_READ = select(
    _D.c.status,
    _D.c.starts_at,
    _D.c.quantity,
    _D.c.claimed,
    _D.c.per_user_limit,
    _D.c.valid_until,
    _D.c.valid_days,
    _D.c.audience,
    _D.c.cost_points,
    _held.label("held"),
    select(USERS.c.first_seen)
    .where(USERS.c.id == _p("p_user", _C.c.user_id))
    .scalar_subquery()
    .label("first_seen"),
    select(MEMBERS.c.balance)
    .where(MEMBERS.c.user_id == _p("p_user", _C.c.user_id))
    .scalar_subquery()
    .label("balance"),
    select(MEMBERS.c.tier)
    .where(MEMBERS.c.user_id == _p("p_user", _C.c.user_id))
    .scalar_subquery()
    .label("tier"),
    # Audience `new`: when the member joined the group (only looked up for such drops).
    case(
        (
            _D.c.audience == "new",
            select(MEMBERS.c.joined_group_at)
            .where(MEMBERS.c.user_id == _p("p_user", _C.c.user_id))
            .scalar_subquery(),
        ),
        else_=null(),
    ).label("joined_group"),
    # Audience `invited`: a broadcast carrying this drop reached the user (only looked up
    # for such drops).
    case(
        (
            _D.c.audience == "invited",
            exists()
            .select_from(RECIPIENTS.join(BROADCASTS, BROADCASTS.c.id == RECIPIENTS.c.broadcast_id))
            .where(
                BROADCASTS.c.drop_id == _D.c.id,
                RECIPIENTS.c.user_id == _p("p_user", _C.c.user_id),
                RECIPIENTS.c.status == "sent",
            ),
        ),
        else_=false(),
    ).label("invited"),
).where(_D.c.id == _p("p_drop", _C.c.drop_id))
_OPEN = (_D.c.status.in_([LIVE, SCHEDULED])) & (_D.c.starts_at <= _p("p_now", _D.c.starts_at))
_TAKE_SLOT = (
    update(_D)
    .where(_D.c.id == _p("p_drop", _C.c.drop_id), _D.c.claimed < _D.c.quantity, _OPEN)
    .values(
        claimed=_D.c.claimed + 1,
        # The claim that takes the last code closes the drop, in the same statement.
        status=case((_D.c.claimed + 1 >= _D.c.quantity, SOLD_OUT), else_=_D.c.status),
    )
    .returning(_D.c.claimed, _D.c.quantity)
)
_FILL_CODE = (
    update(_C)
    .where(
        _C.c.drop_id == _p("p_drop", _C.c.drop_id),
        _C.c.seq == _p("p_seq"),
        _C.c.user_id.is_(None),
        _held < _p("p_limit"),
    )
    .values(
        user_id=_p("p_user", _C.c.user_id),
        user_n=_held + 1,
        claimed_at=_p("p_now", _C.c.claimed_at),
        expires_at=_p("p_expires", _C.c.expires_at),
    )
    .returning(_C.c.id, _C.c.code, _C.c.user_n)
)
_DEBIT = (
    update(MEMBERS)
    .where(
        MEMBERS.c.user_id == _p("p_user", MEMBERS.c.user_id),
        MEMBERS.c.balance >= _p("p_cost"),
    )
    .values(
        balance=MEMBERS.c.balance - _p("p_cost"),
        updated_at=_p("p_now", MEMBERS.c.updated_at),
    )
)
_REDEEM = insert(LEDGER).values(
    user_id=_p("p_user", LEDGER.c.user_id),
    delta=_p("p_delta"),
    reason="redeem",
    ref=_p("p_ref", LEDGER.c.ref),
    created_at=_p("p_now", LEDGER.c.created_at),
)


async def claim(
    session: AsyncSession,
    *,
    drop_id: int,
    user_id: int,
    now: datetime,
    tier: int | None = 0,
    commit: bool = True,
) -> ClaimResult:
    """One tap on a drop: a code for `user_id`, or why not. Commits, except a successful
    claim with `commit=False`: the caller then adds what must go with it (the code's
    delivery, the counter edit) and commits once. `tier=None` reads the member's tier.

    `tier` is the member's tier (audience ``tier:N``). Refusals are decided on one read and
    write nothing; the guards of the claim itself are conditional UPDATEs (see the module).
    """
    # Core statements on the session's connection: the ORM layer adds nothing here and
    # costs time on the hot path (a sold-out tap is this read and the commit).
    conn = await session.connection()
    params: dict[str, Any] = {"p_drop": drop_id, "p_user": user_id, "p_now": now}
    row = (await conn.execute(_READ, params)).one_or_none()
    if row is None:
        await session.commit()
        return ClaimResult(ClaimStatus.NOT_FOUND, drop_id)
    if tier is None:
        tier = row.tier or 0
    refused = _refusal(row, tier=tier, now=now)
    left = row.quantity - row.claimed
    if refused is not None:
        await session.commit()
        return ClaimResult(
            refused,
            drop_id,
            left=0 if refused == ClaimStatus.SOLD_OUT else left,
            starts_at=row.starts_at if refused == ClaimStatus.NOT_STARTED else None,
        )

    expires_at = (
        row.valid_until
        if row.valid_until is not None
        else now + timedelta(days=row.valid_days)
        if row.valid_days is not None
        else None
    )
    try:
        slot = (await conn.execute(_TAKE_SLOT, params)).one_or_none()
        if slot is None:  # lost the race for the last codes (or a manager ended the drop)
            await session.rollback()
            return await _lost(session, drop_id=drop_id)
        claimed, quantity = slot
        params.update(p_seq=claimed, p_limit=row.per_user_limit, p_expires=expires_at)
        code = (await conn.execute(_FILL_CODE, params)).one_or_none()
        if code is None:  # the user's other tap got here first
            await session.rollback()
            return ClaimResult(ClaimStatus.LIMIT_REACHED, drop_id, left=left)
        if row.cost_points is not None:
            params.update(
                p_cost=row.cost_points,
                p_delta=-row.cost_points,
                p_ref=f"drop:{drop_id}:{code.user_n}",
            )
            if not (await conn.execute(_DEBIT, params)).rowcount:
                await session.rollback()
                return ClaimResult(ClaimStatus.INSUFFICIENT_POINTS, drop_id, left=left)
            await conn.execute(_REDEEM, params)
        if commit:
            await session.commit()
    except IntegrityError:
        # UNIQUE(drop_id, user_id, user_n) or the ledger's UNIQUE(user_id, reason, ref):
        # another tap of the same user won the same slot of theirs.
        await session.rollback()
        return ClaimResult(ClaimStatus.LIMIT_REACHED, drop_id, left=left)
    return ClaimResult(
        ClaimStatus.CLAIMED,
        drop_id,
        code=code.code,
        expires_at=expires_at,
        left=quantity - claimed,
        sold_out_now=claimed == quantity,
        code_id=code.id,
        cost=row.cost_points,
    )


async def claim_from_post(
    session: AsyncSession, *, drop_id: int, user_id: int, chat_id: int | None, now: datetime
) -> ClaimResult:
    """A tap on Claim under the drop's post in `chat_id`: the claim, the code's delivery to
    the member's private chat and the post's counter edit, in one transaction. Commits."""
    result = await claim(
        session, drop_id=drop_id, user_id=user_id, now=now, tier=None, commit=False
    )
    if result.status is not ClaimStatus.CLAIMED or result.code_id is None:
        return result  # refusals are already committed (they write nothing)
    await announce.queue_code(session, user_id=user_id, code_id=result.code_id, now=now)
    await announce.queue_counter(
        session, drop_id=drop_id, chat_id=chat_id, final=result.sold_out_now, now=now
    )
    await session.commit()
    return result


# --- many claims in one transaction (community.claim_queue) ---------------------------------

_DROP_READ = select(
    _D.c.status,
    _D.c.starts_at,
    _D.c.quantity,
    _D.c.claimed,
    _D.c.per_user_limit,
    _D.c.valid_until,
    _D.c.valid_days,
    _D.c.audience,
    _D.c.cost_points,
).where(_D.c.id == _p("p_drop", _C.c.drop_id))
_held_of_user = (
    select(func.count())
    .select_from(_mine)
    .where(_mine.c.drop_id == _p("p_drop", _C.c.drop_id), _mine.c.user_id == USERS.c.id)
    .scalar_subquery()
)
_USERS_READ = (
    select(
        USERS.c.id,
        USERS.c.language,
        USERS.c.first_seen,
        MEMBERS.c.balance,
        MEMBERS.c.tier,
        MEMBERS.c.joined_group_at.label("joined_group"),
        _held_of_user.label("held"),
        exists()
        .select_from(RECIPIENTS.join(BROADCASTS, BROADCASTS.c.id == RECIPIENTS.c.broadcast_id))
        .where(
            BROADCASTS.c.drop_id == _p("p_drop", _C.c.drop_id),
            RECIPIENTS.c.user_id == USERS.c.id,
            RECIPIENTS.c.status == "sent",
        )
        .label("invited"),
    )
    .select_from(USERS.outerjoin(MEMBERS, MEMBERS.c.user_id == USERS.c.id))
    .where(USERS.c.id.in_(bindparam("p_users", expanding=True)))
)
_TAKE_SLOTS = (
    update(_D)
    .where(
        _D.c.id == _p("p_drop", _C.c.drop_id),
        _D.c.claimed + _p("p_n") <= _D.c.quantity,
        _OPEN,
    )
    .values(
        claimed=_D.c.claimed + _p("p_n"),
        status=case((_D.c.claimed + _p("p_n") >= _D.c.quantity, SOLD_OUT), else_=_D.c.status),
    )
    .returning(_D.c.claimed)
)
_FILL_CODES = (
    update(_C)
    .where(
        _C.c.drop_id == _p("p_drop", _C.c.drop_id),
        _C.c.seq == _p("p_seq"),
        _C.c.user_id.is_(None),
        _held < _p("p_limit"),
    )
    .values(
        user_id=_p("p_user", _C.c.user_id),
        user_n=_held + 1,
        claimed_at=_p("p_now", _C.c.claimed_at),
        expires_at=_p("p_expires", _C.c.expires_at),
    )
)
_FILLED = select(_C.c.seq, _C.c.id, _C.c.code, _C.c.user_id).where(
    _C.c.drop_id == _p("p_drop", _C.c.drop_id),
    _C.c.seq > _p("p_from"),
    _C.c.seq <= _p("p_to"),
)


class BatchClaim(NamedTuple):
    """What `claim_many` decided for one member: the result and the member's stored
    language (None: none chosen, or the member is unknown)."""

    result: ClaimResult
    language: str | None


async def claim_many(
    session: AsyncSession,
    *,
    drop_id: int,
    users: Sequence[int],
    chat_id: int | None,
    now: datetime,
) -> list[BatchClaim] | None:
    """Taps on Claim under the drop's post by distinct `users` (in order of arrival), as
    `claim_from_post` would answer them one after the other, in one transaction: the
    codes go to the first eligible members while they last, with their deliveries and one
    counter edit. Commits and returns the claims in the order of `users`; or rolls back and
    returns None when the batch cannot be settled as a whole (a drop paid with points,
    another process took codes or ended the drop meanwhile, a member's own tap elsewhere
    took their slot): the caller then claims one by one. Whatever the caller wrote in the
    session before (the members' refresh) is committed with the claims.

    The guards stay the database's: the slots are taken by one conditional UPDATE (never
    past `quantity`), each code is filled under the per-member check of `claim`, and the
    filled codes are read back before the commit.
    """
    assert len(set(users)) == len(users), "one tap per member in a batch"
    conn = await session.connection()
    params: dict[str, Any] = {"p_drop": drop_id, "p_now": now}
    drop = (await conn.execute(_DROP_READ, params)).one_or_none()
    if drop is None:
        await session.commit()
        return [BatchClaim(ClaimResult(ClaimStatus.NOT_FOUND, drop_id), None) for _ in users]
    if drop.cost_points is not None:
        await session.rollback()
        return None
    found = {r.id: r for r in await conn.execute(_USERS_READ, {**params, "p_users": list(users)})}
    left = drop.quantity - drop.claimed
    answers: dict[int, BatchClaim] = {}
    eligible: list[int] = []
    for user_id in users:
        r = found.get(user_id)
        merged = _Facts(
            **drop._asdict(),
            held=r.held if r else 0,
            first_seen=r.first_seen if r else None,
            balance=r.balance if r else None,
            joined_group=r.joined_group if r and drop.audience == "new" else None,
            invited=bool(r.invited) if r else False,
        )
        refused = _refusal(merged, tier=(r.tier if r else None) or 0, now=now)
        language = r.language if r else None
        if refused is None:
            eligible.append(user_id)
            continue
        answers[user_id] = BatchClaim(
            ClaimResult(
                refused,
                drop_id,
                left=0 if refused == ClaimStatus.SOLD_OUT else left,
                starts_at=drop.starts_at if refused == ClaimStatus.NOT_STARTED else None,
            ),
            language,
        )
    winners = eligible[: max(0, left)]
    for user_id in eligible[len(winners) :]:
        answers[user_id] = BatchClaim(
            ClaimResult(ClaimStatus.SOLD_OUT, drop_id, left=0), found[user_id].language
        )
    if winners:
        claimed = await _settle_winners(
            session, conn, drop=drop, drop_id=drop_id, winners=winners, chat_id=chat_id, now=now
        )
        if claimed is None:
            await session.rollback()
            return None
        for user_id, result in claimed.items():
            answers[user_id] = BatchClaim(result, found[user_id].language)
    await session.commit()
    return [answers[u] for u in users]


class _Facts(NamedTuple):
    """The drop's row and one member's facts, as `_refusal` reads them."""

    status: str
    starts_at: datetime
    quantity: int
    claimed: int
    per_user_limit: int
    valid_until: datetime | None
    valid_days: int | None
    audience: str
    cost_points: int | None
    held: int
    first_seen: datetime | None
    balance: int | None
    joined_group: datetime | None
    invited: bool


async def _settle_winners(
    session: AsyncSession,
    conn: Any,
    *,
    drop: Any,
    drop_id: int,
    winners: list[int],
    chat_id: int | None,
    now: datetime,
) -> dict[int, ClaimResult] | None:
    """Take len(winners) slots and fill their codes, in order; None when that cannot be
    done as a whole (the caller rolls back)."""
    n = len(winners)
    slot = (
        await conn.execute(_TAKE_SLOTS, {"p_drop": drop_id, "p_now": now, "p_n": n})
    ).one_or_none()
    if slot is None:  # another process took codes (or ended the drop) since the read
        return None
    last = slot.claimed
    first = last - n + 1
    expires_at = (
        drop.valid_until
        if drop.valid_until is not None
        else now + timedelta(days=drop.valid_days)
        if drop.valid_days is not None
        else None
    )
    await conn.execute(
        _FILL_CODES,
        [
            {
                "p_drop": drop_id,
                "p_seq": first + i,
                "p_user": user_id,
                "p_limit": drop.per_user_limit,
                "p_now": now,
                "p_expires": expires_at,
            }
            for i, user_id in enumerate(winners)
        ],
    )
    filled = {
        r.seq: r
        for r in await conn.execute(
            _FILLED, {"p_drop": drop_id, "p_from": first - 1, "p_to": last}
        )
    }
    results: dict[int, ClaimResult] = {}
    for i, user_id in enumerate(winners):
        row = filled.get(first + i)
        if row is None or row.user_id != user_id:  # their tap elsewhere took their slot
            return None
        results[user_id] = ClaimResult(
            ClaimStatus.CLAIMED,
            drop_id,
            code=row.code,
            expires_at=expires_at,
            left=drop.quantity - (first + i),
            sold_out_now=first + i == drop.quantity,
            code_id=row.id,
        )
    await announce.queue_codes(
        session, [(u, r.code_id) for u, r in results.items() if r.code_id], now=now
    )
    await announce.queue_counter(
        session, drop_id=drop_id, chat_id=chat_id, final=last == drop.quantity, now=now
    )
    return results


async def redeem(
    session: AsyncSession, *, drop_id: int, user_id: int, now: datetime
) -> ClaimResult:
    """A /shop item bought with points (the member's tier read with the claim); a claimed
    result carries the drop's title and discount for the code's message, which the caller
    sends at once (then `mark_delivered`). Commits."""
    result = await claim(session, drop_id=drop_id, user_id=user_id, now=now, tier=None)
    if result.status is not ClaimStatus.CLAIMED:
        return result
    names = (
        await session.execute(select(_D.c.title, _D.c.discount).where(_D.c.id == drop_id))
    ).one()
    await session.rollback()
    return replace(result, title=names.title, discount=names.discount)


def _refusal(row: Any, *, tier: int, now: datetime) -> ClaimStatus | None:
    status: str = row.status
    if status == ENDED or (row.valid_until is not None and row.valid_until <= now):
        return ClaimStatus.ENDED
    if status == DRAFT or row.starts_at > now:
        return ClaimStatus.NOT_STARTED
    if row.held >= row.per_user_limit:
        return ClaimStatus.LIMIT_REACHED
    if status == SOLD_OUT or row.claimed >= row.quantity:
        return ClaimStatus.SOLD_OUT
    if row.first_seen is None:  # the bot never saw this user: no users row to point to
        return ClaimStatus.NOT_ELIGIBLE
    audience = Audience.parse(row.audience)
    if not audience.admits(
        tier=tier,
        first_seen=row.first_seen,
        now=now,
        invited=bool(row.invited),
        joined_group=row.joined_group,
    ):
        return ClaimStatus.NOT_ELIGIBLE
    if row.cost_points is not None and (row.balance or 0) < row.cost_points:
        return ClaimStatus.INSUFFICIENT_POINTS
    return None


async def _lost(session: AsyncSession, *, drop_id: int) -> ClaimResult:
    """Why the slot UPDATE matched nothing, read again after the rollback."""
    row = (await session.execute(select(_D.c.status).where(_D.c.id == drop_id))).one_or_none()
    await session.commit()
    if row is not None and row.status == ENDED:
        return ClaimResult(ClaimStatus.ENDED, drop_id, left=None)
    return ClaimResult(ClaimStatus.SOLD_OUT, drop_id, left=0)


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount or 0)


# --- the drop's life ---------------------------------------------------------------------


async def start_due(session: AsyncSession, *, now: datetime) -> list[int]:
    """Make scheduled drops whose time has come ``live``; the ids this call started (each
    drop is started by exactly one caller, whatever the number of processes). Commits."""
    due = list(
        await session.scalars(
            select(_D.c.id)
            .where(_D.c.status == SCHEDULED, _D.c.starts_at <= now)
            .order_by(_D.c.starts_at, _D.c.id)
        )
    )
    started: list[int] = []
    for drop_id in due:
        result = await session.execute(
            update(_D).where(_D.c.id == drop_id, _D.c.status == SCHEDULED).values(status=LIVE)
        )
        if _rowcount(result):
            started.append(drop_id)
    await session.commit()
    return started


async def end_drop(session: AsyncSession, *, drop_id: int, now: datetime) -> bool:
    """Stop a drop that has not sold out; False when it was not open (or not found).
    Codes already claimed stay valid; the group post's final edit ("ended") is queued in
    the same transaction. Commits."""
    chat_id = (
        await session.execute(
            update(_D)
            .where(_D.c.id == drop_id, _D.c.status.in_([DRAFT, SCHEDULED, LIVE]))
            .values(status=ENDED)
            .returning(_D.c.chat_id)
        )
    ).one_or_none()
    if chat_id is None:
        await session.commit()  # nothing written (a rollback would expire the caller's rows)
        return False
    await announce.queue_counter(session, drop_id=drop_id, chat_id=chat_id[0], final=True, now=now)
    await session.commit()
    return True


async def release_draft(
    session: AsyncSession,
    drop_id: int,
    *,
    actor_id: int,
    now: datetime,
    words: Sequence[str] = (),
) -> bool:
    """Publish a held drop anyway: ``draft`` -> ``scheduled`` (`start_due` starts and posts
    it at its time, at once if that has passed), with a ``copy_override`` audit entry naming
    `actor_id` and the forbidden `words`, in one transaction. False when the drop is not a
    draft (already released or discarded, or no such drop): nothing is written. Commits."""
    result = await session.execute(
        update(_D).where(_D.c.id == drop_id, _D.c.status == DRAFT).values(status=SCHEDULED)
    )
    if not _rowcount(result):
        await session.rollback()
        return False
    audit.copy_override(
        session,
        actor_id=actor_id,
        subject=f"drop:{drop_id}",
        words=words,
        now=now,
    )
    await session.commit()
    return True


async def discard_draft(session: AsyncSession, drop_id: int) -> bool:
    """Delete a held drop and its codes (nobody can have claimed one), so that imported
    codes can be used again with a corrected text. False when the drop is not a draft:
    nothing is deleted. Commits."""
    # Taking the row first (draft -> ended) decides a race with `release_draft`.
    result = await session.execute(
        update(_D).where(_D.c.id == drop_id, _D.c.status == DRAFT).values(status=ENDED)
    )
    if not _rowcount(result):
        await session.rollback()
        return False
    await session.execute(delete(_C).where(_C.c.drop_id == drop_id))
    await session.execute(delete(_D).where(_D.c.id == drop_id))
    await session.commit()
    return True


@dataclass(frozen=True, slots=True)
class DraftDecision:
    drop_id: int
    published: bool  # False: discarded
    starts_at: datetime


async def decide_draft(
    session: AsyncSession,
    drop_id: int,
    *,
    publish: bool,
    actor_id: int,
    now: datetime,
    forbidden_words: Callable[[str], Sequence[str]],
) -> DraftDecision | None:
    """A manager's answer to a held drop: publish it anyway (`release_draft`, the words
    `forbidden_words` finds in its text logged with the override) or discard it
    (`discard_draft`). None when the drop is not a draft (decided a moment ago, or no such
    drop): nothing changes. Commits."""
    row = (
        await session.execute(
            select(_D.c.title, _D.c.discount, _D.c.starts_at).where(
                _D.c.id == drop_id, _D.c.status == DRAFT
            )
        )
    ).one_or_none()
    await session.commit()  # ends the read
    if row is None:
        return None
    if publish:
        words = forbidden_words(drop_copy(row.title, row.discount))
        done = await release_draft(session, drop_id, actor_id=actor_id, now=now, words=words)
    else:
        done = await discard_draft(session, drop_id)
    return DraftDecision(drop_id, publish, row.starts_at) if done else None


async def set_post(session: AsyncSession, *, drop_id: int, chat_id: int, message_id: int) -> None:
    """Remember the group message that carries the drop's button. Commits."""
    await session.execute(
        update(_D).where(_D.c.id == drop_id).values(chat_id=chat_id, message_id=message_id)
    )
    await session.commit()


# --- a member's coupons ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MyCoupon:
    code_id: int
    drop_id: int
    code: str
    title: str
    discount: str
    claimed_at: datetime
    expires_at: datetime | None  # None: no end date
    used: bool
    expired: bool  # not used, and past `expires_at`
    delivered: bool


def _coupon_query() -> Any:
    return (
        select(
            _C.c.id,
            _C.c.drop_id,
            _C.c.code,
            _D.c.title,
            _D.c.discount,
            _C.c.claimed_at,
            _C.c.expires_at,
            _C.c.used_at,
            _C.c.delivered_at,
        )
        .join(_D, _D.c.id == _C.c.drop_id)
        .order_by(_C.c.claimed_at.desc(), _C.c.id.desc())
    )


def _coupon(row: Any, now: datetime | None) -> MyCoupon:
    used = row.used_at is not None
    return MyCoupon(
        code_id=row.id,
        drop_id=row.drop_id,
        code=row.code,
        title=row.title,
        discount=row.discount,
        claimed_at=row.claimed_at,
        expires_at=row.expires_at,
        used=used,
        expired=not used
        and now is not None
        and row.expires_at is not None
        and row.expires_at <= now,
        delivered=row.delivered_at is not None,
    )


async def my_coupons(session: AsyncSession, *, user_id: int, now: datetime) -> list[MyCoupon]:
    """The member's codes, newest first (/mycoupons). Commits (it only reads)."""
    rows = (await session.execute(_coupon_query().where(_C.c.user_id == user_id))).all()
    await session.commit()
    return [_coupon(row, now) for row in rows]


async def undelivered(session: AsyncSession, *, user_id: int) -> list[MyCoupon]:
    """Codes the member claimed that never reached them (e.g. they had not started the bot
    when they tapped in the group), oldest first; `expired` is not computed (False).
    Deliver them, then `mark_delivered`. Commits (it only reads)."""
    query = _coupon_query().where(_C.c.user_id == user_id, _C.c.delivered_at.is_(None))
    rows = (await session.execute(query)).all()
    await session.commit()
    return [_coupon(row, None) for row in reversed(rows)]


async def mark_delivered(session: AsyncSession, *, code_id: int, now: datetime) -> None:
    """The code reached its member (first delivery time is kept). Commits."""
    await session.execute(
        update(_C).where(_C.c.id == code_id, _C.c.delivered_at.is_(None)).values(delivered_at=now)
    )
    await session.commit()


# --- used codes and numbers --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UsedReport:
    marked: int  # newly marked used
    already_used: int
    unknown: list[str]  # no drop has these codes
    not_claimed: list[str]  # a drop has them, but nobody claimed them yet: left unmarked

    @property
    def total(self) -> int:
        return self.marked + self.already_used + len(self.unknown) + len(self.not_claimed)


async def mark_used(session: AsyncSession, *, codes: Sequence[str], now: datetime) -> UsedReport:
    """Mark claimed codes used (the shop's export of redeemed codes, or one code by an admin).

    Blank and repeated codes are ignored. A code nobody has claimed is reported, not marked:
    it was redeemed without the bot, and would otherwise be handed out dead. Commits.
    """
    wanted = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    marked = already = 0
    unknown: list[str] = []
    not_claimed: list[str] = []
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        rows = (
            await session.execute(
                select(_C.c.code, _C.c.user_id, _C.c.used_at).where(_C.c.code.in_(chunk))
            )
        ).all()
        found = {row.code: row for row in rows}
        unknown.extend(c for c in chunk if c not in found)
        not_claimed.extend(c for c in chunk if c in found and found[c].user_id is None)
        claimed = [c for c in chunk if c in found and found[c].user_id is not None]
        if claimed:
            result = await session.execute(
                update(_C)
                .where(_C.c.code.in_(claimed), _C.c.used_at.is_(None), _C.c.user_id.is_not(None))
                .values(used_at=now)
            )
            n = _rowcount(result)
            marked += n
            already += len(claimed) - n
    await session.commit()
    return UsedReport(
        marked=marked, already_used=already, unknown=unknown, not_claimed=not_claimed
    )


@dataclass(frozen=True, slots=True)
class DropStats:
    drop_id: int
    title: str
    status: str
    quantity: int
    claimed: int
    delivered: int
    used: int

    @property
    def left(self) -> int:
        return self.quantity - self.claimed


async def stats(session: AsyncSession, *, drop_id: int) -> DropStats:
    """Claimed, delivered and used codes of a drop; raises DropError if there is none.
    Commits (it only reads)."""
    drop = (
        await session.execute(
            select(_D.c.title, _D.c.status, _D.c.quantity, _D.c.claimed).where(_D.c.id == drop_id)
        )
    ).one_or_none()
    if drop is None:
        await session.commit()
        raise DropError(f"there is no drop #{drop_id}")
    delivered, used = (
        await session.execute(
            select(func.count(_C.c.delivered_at), func.count(_C.c.used_at)).where(
                _C.c.drop_id == drop_id
            )
        )
    ).one()
    await session.commit()
    return DropStats(
        drop_id=drop_id,
        title=drop.title,
        status=drop.status,
        quantity=drop.quantity,
        claimed=drop.claimed,
        delivered=int(delivered),
        used=int(used),
    )


async def shop_items(
    session: AsyncSession, *, user_id: int, now: datetime, limit: int = 20
) -> tuple[list[tuple[int, str, str, int]], int]:
    """What /shop offers now, cheapest first: (drop id, title, discount, cost), and the
    member's balance. Ends the read."""
    rows = (
        await session.execute(
            select(_D.c.id, _D.c.title, _D.c.discount, _D.c.cost_points)
            .where(
                _D.c.cost_points.is_not(None),
                _D.c.status == LIVE,
                _D.c.claimed < _D.c.quantity,
                _D.c.starts_at <= now,
            )
            .order_by(_D.c.cost_points)
            .limit(limit)
        )
    ).all()
    balance = await session.scalar(select(Member.balance).where(Member.user_id == user_id))
    await session.commit()
    return [(int(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows], int(balance or 0)
