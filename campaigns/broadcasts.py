"""Broadcasts: one private message to a segment of subscribers, sent through the outbox.

A broadcast's life, every step a conditional UPDATE so that no process repeats it:

1. `create` stores a draft (the text, an optional photo and URL buttons, the segment);
2. `start` turns the draft into ``sending`` and, in the same transaction, writes one
   `broadcast_recipients` row (status ``queued``) and one outbox row per recipient with
   INSERT ... SELECT (set-based: 10,000 recipients are three statements). Users who already
   got `daily_cap` marketing messages in the last 24 h are left out and counted as capped;
3. the sender's deliverer calls `begin_send` (``queued`` -> ``sending``, committed) before
   the Telegram call and `finish_send` after it. A recipient found ``sending`` by
   `begin_send` was being sent when a process died: Telegram may or may not have taken
   it, so it is marked ``unknown`` and never sent again (no duplicate beats one lost
   message; the report counts them);
4. `tick` (the scheduler, every few seconds) queues coalesced progress edits and, once
   nothing is queued or sending, marks the broadcast ``done`` and queues the final report.

`launch` is the managers' Send: the copy guard, the audience, the coupon, the draft and its
start in one go. `cancel` stops a broadcast in flight: its queued recipients and their
outbox rows are dropped; what is being sent finishes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Select,
    String,
    Table,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import segments
from campaigns.copyguard import CopyGuard, Hit
from campaigns.policy import CampaignPolicy
from campaigns.schedule import MarketingRules
from campaigns.segments import Segment, audience, subscribed
from community import drops
from community.drops import DropError
from orders.rfm import RfmRules
from storage import audit, outbox
from storage.models import Broadcast, BroadcastRecipient, OutboxMessage, User

DRAFT, SENDING, DONE, CANCELLED = "draft", "sending", "done", "cancelled"
QUEUED, SENT, FAILED, BLOCKED, UNKNOWN = "queued", "sent", "failed", "blocked", "unknown"
RECIPIENT_STATUSES = (QUEUED, SENDING, SENT, FAILED, BLOCKED, CANCELLED, UNKNOWN)

KIND, PROGRESS, REPORT = "broadcast", "bc_progress", "bc_report"
PRIORITY = 5  # after customer replies and the desk's own traffic
PROGRESS_PRIORITY = 1
RETURN_WINDOW = timedelta(days=7)
MAX_BUTTONS = 8
CHUNK = 1000
# Room for the "unsubscribe" footer under Telegram's 4096 (text) and 1024 (caption).
TEXT_LIMIT = 3900
CAPTION_LIMIT = 900
COUPON_LIMIT = 256  # the discount text of an attached coupon
COUPON_DAYS = 14  # an attached coupon is valid this long after the claim

BROADCASTS = cast(Table, Broadcast.__table__)
RECIPIENTS = cast(Table, BroadcastRecipient.__table__)
OUTBOX = cast(Table, OutboxMessage.__table__)
USERS = cast(Table, User.__table__)


# Why a broadcast was refused (BroadcastError.reason); the catalogue words each one.
GUARD = "guard"  # the copy guard found words and the manager did not override it
NOBODY = "nobody"  # the segment reaches nobody
NO_CONTENT = "no_content"  # neither a text nor a photo
TOO_MANY_BUTTONS = "too_many_buttons"  # more than MAX_BUTTONS (the limit)
BAD_BUTTON = "bad_button"  # a button without a label or an http(s):// or tg:// link
COUPON_TOO_LARGE = "coupon_too_large"  # more recipients than a drop holds codes (the limit)
COUPON_NOT_STORED = "coupon_not_stored"  # the coupon's codes could not be stored
REASONS = (
    GUARD,
    NOBODY,
    NO_CONTENT,
    TOO_MANY_BUTTONS,
    BAD_BUTTON,
    COUPON_TOO_LARGE,
    COUPON_NOT_STORED,
)


class BroadcastError(ValueError):
    """A broadcast that cannot be created or sent: `reason` (one of REASONS) says why and
    `limit` names the bound it broke, for the catalogue to word in the reader's language."""

    def __init__(self, reason: str, *, limit: int | None = None) -> None:
        super().__init__(reason if limit is None else f"{reason} (limit {limit})")
        self.reason = reason
        self.limit = limit


BUTTON_LINE = re.compile(r"^(?P<label>.+?)\s+[-–—|]\s+(?P<url>(?:https?|tg)://\S+)$")


class ButtonsError(ValueError):
    pass


def parse_buttons(text: str) -> list[tuple[str, str]]:
    """`Label - https://…` lines -> [(label, url)]; ButtonsError names the bad line."""
    found: list[tuple[str, str]] = []
    for line in (x.strip() for x in text.splitlines()):
        if not line:
            continue
        match = BUTTON_LINE.match(line)
        if match is None or len(match["label"]) > 64 or len(found) >= MAX_BUTTONS:
            raise ButtonsError(line[:80])
        found.append((match["label"].strip(), match["url"]))
    if not found:
        raise ButtonsError(text[:80])
    return found


def recipient_lane(user_id: int) -> str:
    return f"m:{user_id}"


def progress_lane(broadcast_id: int) -> str:
    return f"p:{broadcast_id}"


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount or 0)


# --- creating and starting ---------------------------------------------------------------


async def create(
    session: AsyncSession,
    *,
    text: str,
    created_by: int | None,
    now: datetime,
    segment: Segment | None = None,
    photo_file_id: str | None = None,
    buttons: Sequence[tuple[str, str]] = (),
    kind: str = "manual",
    drop_id: int | None = None,
    copy_override: bool = False,
    override_words: Sequence[str] = (),
) -> int:
    """Store a draft (text is HTML); its id. An override of the copy guard is written to the
    audit log with the words it let through. Raises BroadcastError. Commits.

    An automation (`kind` welcome or winback) may leave `text` empty: each recipient then
    gets the catalogue's ``auto-<kind>`` text in their language, naming the drop's coupon.
    """
    _check_content(text, photo_file_id, buttons, kind=kind)
    broadcast_id = await _add_draft(
        session,
        text=text,
        created_by=created_by,
        now=now,
        segment=segment,
        photo_file_id=photo_file_id,
        buttons=buttons,
        kind=kind,
        drop_id=drop_id,
        copy_override=copy_override,
        override_words=override_words,
    )
    await session.commit()
    return broadcast_id


def _check_content(
    text: str, photo_file_id: str | None, buttons: Sequence[tuple[str, str]], *, kind: str
) -> None:
    if not text.strip() and photo_file_id is None and kind == "manual":
        raise BroadcastError(NO_CONTENT)
    if len(buttons) > MAX_BUTTONS:
        raise BroadcastError(TOO_MANY_BUTTONS, limit=MAX_BUTTONS)
    for label, url in buttons:
        if not label.strip() or not url.startswith(("https://", "http://", "tg://")):
            raise BroadcastError(BAD_BUTTON)


async def _add_draft(
    session: AsyncSession,
    *,
    text: str,
    created_by: int | None,
    now: datetime,
    segment: Segment | None,
    photo_file_id: str | None,
    buttons: Sequence[tuple[str, str]],
    kind: str,
    drop_id: int | None,
    copy_override: bool,
    override_words: Sequence[str],
) -> int:
    """Add the draft row (and the audit of an override); its id. Does not commit."""
    row = Broadcast(
        kind=kind,
        text=text,
        photo_file_id=photo_file_id,
        buttons=[[label.strip(), url] for label, url in buttons] or None,
        segment=(segment or Segment()).to_json(),
        drop_id=drop_id,
        status=DRAFT,
        total=0,
        capped=0,
        copy_override=copy_override,
        created_by=created_by,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    broadcast_id = row.id
    if copy_override:
        audit.copy_override(
            session,
            actor_id=created_by,
            subject=f"broadcast:{broadcast_id}",
            words=override_words,
            now=now,
        )
    return broadcast_id


@dataclass(frozen=True)
class Started:
    total: int  # recipients queued
    capped: int  # left out: they reached the daily cap of marketing messages


def _capped(user_id: Any, broadcast_id: int, *, rules: MarketingRules, now: datetime) -> Any:
    """The user already got (or is about to get) `daily_cap` marketing messages: rows of
    other broadcasts queued, being sent, sent or perhaps sent in the last 24 h."""
    r = RECIPIENTS.alias("cap")
    since = now - rules.cap_window
    recent = (
        select(func.count())
        .select_from(r)
        .where(
            r.c.user_id == user_id,
            r.c.broadcast_id != broadcast_id,
            r.c.status.in_([QUEUED, SENDING, SENT, UNKNOWN]),
            func.coalesce(r.c.sent_at, r.c.updated_at) >= since,
        )
        .scalar_subquery()
    )
    return recent >= rules.daily_cap


async def start(
    session: AsyncSession,
    broadcast_id: int,
    *,
    rules: MarketingRules,
    now: datetime,
    progress_chat_id: int | None = None,
    progress_message_id: int | None = None,
    user_ids: Sequence[int] | None = None,
    rfm_rules: RfmRules | None = None,
) -> Started | None:
    """Turn a draft into ``sending`` and queue it for its recipients: the segment's audience
    (its order groups by `rfm_rules`), or the subscribers among `user_ids` when given. None
    when it was not a draft (started already, or cancelled). Sends wait for the end of the
    quiet hours. Commits."""
    started = await _queue(
        session,
        broadcast_id,
        rules=rules,
        now=now,
        progress_chat_id=progress_chat_id,
        progress_message_id=progress_message_id,
        user_ids=user_ids,
        rfm_rules=rfm_rules,
    )
    if started is None:
        await session.rollback()
        return None
    await session.commit()
    return started


async def _queue(
    session: AsyncSession,
    broadcast_id: int,
    *,
    rules: MarketingRules,
    now: datetime,
    progress_chat_id: int | None,
    progress_message_id: int | None,
    user_ids: Sequence[int] | None,
    rfm_rules: RfmRules | None = None,
) -> Started | None:
    """`start` without the commit (None: not a draft, nothing written)."""
    b = BROADCASTS
    started = (
        await session.execute(
            update(b)
            .where(b.c.id == broadcast_id, b.c.status == DRAFT)
            .values(
                status=SENDING,
                started_at=now,
                progress_chat_id=progress_chat_id,
                progress_message_id=progress_message_id,
            )
            .returning(b.c.segment)
        )
    ).one_or_none()
    if started is None:
        return None

    if user_ids is None:
        segment = Segment.from_json(started.segment)
        sources = [audience(segment, now=now, rfm_rules=rfm_rules)]
    else:
        wanted = sorted(set(user_ids))
        sources = [
            cast(
                "Select[tuple[int]]",
                select(User.id).where(subscribed(), User.id.in_(wanted[i : i + CHUNK])),
            )
            for i in range(0, len(wanted), CHUNK)
        ]
    eligible = queued = 0
    for source in sources:
        members = source.subquery("members")
        eligible += int(await session.scalar(select(func.count()).select_from(members)) or 0)
        chosen = select(
            literal(broadcast_id).label("broadcast_id"),
            members.c.id,
            literal(QUEUED).label("status"),
            literal(now, type_=RECIPIENTS.c.updated_at.type).label("updated_at"),
        )
        if rules.daily_cap > 0:
            chosen = chosen.where(~_capped(members.c.id, broadcast_id, rules=rules, now=now))
        result = await session.execute(
            insert(RECIPIENTS).from_select(
                ["broadcast_id", "user_id", "status", "updated_at"], chosen
            )
        )
        queued += _rowcount(result)

    r = RECIPIENTS
    due = rules.quiet_until(now) or now
    user_text = sql_cast(r.c.user_id, String)
    rows = select(
        literal(KIND).label("kind"),
        (literal("m:") + user_text).label("lane"),
        literal(1).label("lane_order"),
        r.c.user_id.label("chat_id"),
        literal(PRIORITY).label("priority"),
        literal({"broadcast_id": broadcast_id}, type_=OUTBOX.c.payload.type).label("payload"),
        (literal(f"bc:{broadcast_id}:") + user_text).label("dedupe_key"),
        literal("pending").label("status"),
        literal(0).label("attempts"),
        literal(due, type_=OUTBOX.c.next_attempt_at.type).label("next_attempt_at"),
        literal(now, type_=OUTBOX.c.created_at.type).label("created_at"),
    ).where(r.c.broadcast_id == broadcast_id)
    await session.execute(
        insert(OUTBOX).from_select(
            [
                "kind",
                "lane",
                "lane_order",
                "chat_id",
                "priority",
                "payload",
                "dedupe_key",
                "status",
                "attempts",
                "next_attempt_at",
                "created_at",
            ],
            rows,
        )
    )
    capped = eligible - queued
    await session.execute(
        update(b).where(b.c.id == broadcast_id).values(total=queued, capped=capped)
    )
    return Started(total=queued, capped=capped)


# --- the managers' dialogue ---------------------------------------------------------------


@dataclass(frozen=True)
class BroadcastDraft:
    """What a manager composed in the /broadcast dialogue (kept between its steps)."""

    html: str = ""  # the text or caption as Telegram HTML
    plain: str = ""  # the same without formatting: what the copy guard reads
    photo: str | None = None  # a photo's file id
    buttons: tuple[tuple[str, str], ...] = ()  # (label, url)
    coupon: str | None = None  # the discount of an attached coupon
    segment: Segment = Segment()

    @classmethod
    def from_json(cls, data: Any) -> BroadcastDraft:
        """Read the dialogue's stored answers; missing or odd values are left out."""
        if not isinstance(data, dict):
            return cls()

        def text(name: str) -> str:
            value = data.get(name)
            return value if isinstance(value, str) else ""

        buttons = tuple(
            (str(pair[0]), str(pair[1]))
            for pair in data.get("buttons") or ()
            if isinstance(pair, list | tuple) and len(pair) == 2
        )
        return cls(
            html=text("html"),
            plain=text("plain"),
            photo=text("photo") or None,
            buttons=buttons,
            coupon=text("coupon").strip() or None,
            segment=Segment.from_json(data.get("segment")),
        )

    @property
    def guarded_text(self) -> str:
        """Everything a recipient reads that the copy guard must see, one part a line."""
        parts = [self.plain, self.coupon or "", *(label for label, _url in self.buttons)]
        return "\n".join(p for p in parts if p.strip())


async def audience_size(
    session: AsyncSession, segment: Segment, *, now: datetime, rfm_rules: RfmRules | None = None
) -> int:
    """How many subscribers the segment reaches now. Ends the read (commits)."""
    n = await segments.count(session, segment, now=now, rfm_rules=rfm_rules)
    await session.commit()
    return n


@dataclass(frozen=True)
class PreviewFacts:
    count: int  # recipients now
    hits: list[Hit]  # what the copy guard objects to
    marked: str  # the guarded text with the hits marked (HTML), when there are any


async def preview(
    session: AsyncSession,
    draft: BroadcastDraft,
    *,
    guard: CopyGuard,
    now: datetime,
    rfm_rules: RfmRules | None = None,
) -> PreviewFacts:
    """Who the draft would reach and what the copy guard says of it. Ends the read."""
    count = await audience_size(session, draft.segment, now=now, rfm_rules=rfm_rules)
    checked = draft.guarded_text
    hits = guard.check(checked)
    return PreviewFacts(count=count, hits=hits, marked=guard.mark(checked) if hits else "")


@dataclass(frozen=True)
class Launched:
    broadcast_id: int
    total: int  # recipients queued
    capped: int  # left out for the daily cap
    quiet_until: datetime | None  # sends wait until then (quiet hours)


async def launch(
    session: AsyncSession,
    draft: BroadcastDraft,
    *,
    policy: CampaignPolicy,
    created_by: int,
    override: bool,
    coupon_title: str,
    now: datetime,
    progress_chat_id: int | None = None,
    progress_message_id: int | None = None,
) -> Launched:
    """Send a composed broadcast: the copy guard (held unless `override`, which is
    audited), the segment's recipients now, the attached coupon (an ``invited`` drop, one
    code per recipient), the draft and its start (recipients and outbox rows) committed
    together. Raises BroadcastError (see REASONS) with nothing written.

    The coupon's drop is stored first by community.drops.create_drop, which commits on its
    own: if the rest then failed, an ``invited`` drop nobody was invited to is all that is
    left (nobody can claim it)."""
    hits = policy.guard.check(draft.guarded_text)
    if hits and not override:
        raise BroadcastError(GUARD)
    _check_content(draft.html, draft.photo, draft.buttons, kind="manual")
    n = await segments.count(session, draft.segment, now=now, rfm_rules=policy.rfm)
    if n == 0:
        await session.rollback()
        raise BroadcastError(NOBODY)
    drop_id = None
    if draft.coupon:
        drop_id = await _coupon_for(
            session, draft.coupon, title=coupon_title, quantity=n, created_by=created_by, now=now
        )
    broadcast_id = await _add_draft(
        session,
        text=draft.html,
        created_by=created_by,
        now=now,
        segment=draft.segment,
        photo_file_id=draft.photo,
        buttons=draft.buttons,
        kind="manual",
        drop_id=drop_id,
        copy_override=bool(hits),
        override_words=[h.word for h in hits],
    )
    started = await _queue(
        session,
        broadcast_id,
        rules=policy.marketing,
        now=now,
        progress_chat_id=progress_chat_id,
        progress_message_id=progress_message_id,
        user_ids=None,
        rfm_rules=policy.rfm,
    )
    await session.commit()
    total, capped = (started.total, started.capped) if started else (0, 0)
    return Launched(broadcast_id, total, capped, policy.marketing.quiet_until(now))


async def _coupon_for(
    session: AsyncSession,
    discount: str,
    *,
    title: str,
    quantity: int,
    created_by: int,
    now: datetime,
) -> int:
    """An ``invited`` drop with one code per recipient, live now; its id. Commits."""
    if quantity > drops.MAX_QUANTITY:
        await session.rollback()
        raise BroadcastError(COUPON_TOO_LARGE, limit=drops.MAX_QUANTITY)
    try:
        drop = await drops.create_drop(
            session,
            title=title,
            discount=discount,
            quantity=quantity,
            valid_days=COUPON_DAYS,
            audience="invited",
            starts_at=now,
            created_by=created_by,
            now=now,
        )
    except DropError:
        # What is left once the quantity is checked: the codes could not be stored.
        await session.rollback()
        raise BroadcastError(COUPON_NOT_STORED) from None
    return drop.id


async def cancellable(session: AsyncSession, broadcast_id: int) -> bool:
    """The broadcast exists and is a draft or sending. Ends the read."""
    status = await session.scalar(
        select(BROADCASTS.c.status).where(BROADCASTS.c.id == broadcast_id)
    )
    await session.commit()
    return status in (DRAFT, SENDING)


# --- one recipient -----------------------------------------------------------------------


async def begin_send(
    session: AsyncSession, broadcast_id: int, user_id: int, *, now: datetime
) -> str:
    """Before the Telegram call: ``go`` (the recipient is now ``sending``, committed),
    ``cancelled``, ``done`` (already sent or failed, or no such recipient), or ``unknown``
    (it was ``sending`` already: a process died during the call; never send it again).
    Commits."""
    r, b = RECIPIENTS, BROADCASTS
    mine = and_(r.c.broadcast_id == broadcast_id, r.c.user_id == user_id)
    live = exists().where(b.c.id == broadcast_id, b.c.status == SENDING)
    taken = await session.execute(
        update(r).where(mine, r.c.status == QUEUED, live).values(status=SENDING, updated_at=now)
    )
    if _rowcount(taken):
        await session.commit()
        return "go"
    status = await session.scalar(select(r.c.status).where(mine))
    if status == SENDING:
        lost = await session.execute(
            update(r)
            .where(mine, r.c.status == SENDING)
            .values(status=UNKNOWN, updated_at=now, error="interrupted during the send")
        )
        await session.commit()
        return "unknown" if _rowcount(lost) else "done"
    await session.commit()
    if status in (QUEUED, CANCELLED):
        return "cancelled"  # queued, but the broadcast is no longer sending
    return "done"


_FINISH_FROM = {
    SENT: (SENDING,),
    QUEUED: (SENDING,),
    FAILED: (SENDING, QUEUED),
    BLOCKED: (SENDING, QUEUED),
}


async def finish_send(
    session: AsyncSession,
    broadcast_id: int,
    user_id: int,
    *,
    status: str,
    now: datetime,
    error: str | None = None,
) -> None:
    """Record the outcome of a send: ``sent``, ``failed``, ``blocked``, or ``queued`` (back
    in the queue after a network error or a 429, so the retry sends it). Commits."""
    if status not in _FINISH_FROM:
        raise ValueError(f"not an outcome: {status!r}")
    r = RECIPIENTS
    values: dict[str, Any] = {"status": status, "updated_at": now, "error": error}
    if status == SENT:
        values["sent_at"] = now
    await session.execute(
        update(r)
        .where(
            r.c.broadcast_id == broadcast_id,
            r.c.user_id == user_id,
            r.c.status.in_(_FINISH_FROM[status]),
        )
        .values(**values)
    )
    await session.commit()


# --- cancelling, progress, the end -------------------------------------------------------


async def cancel(
    session: AsyncSession, broadcast_id: int, *, actor_id: int | None, now: datetime
) -> bool:
    """Stop a draft or a broadcast in flight; False when it was not (done, cancelled, not
    found). Queued recipients are cancelled and their outbox rows dropped; sends already
    under way finish. `tick` then sends the final report. Commits."""
    b, r, o = BROADCASTS, RECIPIENTS, OUTBOX
    stopped = await session.execute(
        update(b)
        .where(b.c.id == broadcast_id, b.c.status.in_([DRAFT, SENDING]))
        .values(status=CANCELLED)
    )
    if not _rowcount(stopped):
        await session.rollback()
        return False
    left = await session.execute(
        update(r)
        .where(r.c.broadcast_id == broadcast_id, r.c.status == QUEUED)
        .values(status=CANCELLED, updated_at=now)
    )
    await session.execute(
        update(o)
        .where(o.c.dedupe_key.like(f"bc:{broadcast_id}:%"), o.c.status == "pending")
        .values(status="dropped", last_error="broadcast cancelled")
    )
    audit.record(
        session,
        actor_id=actor_id,
        action="broadcast_cancel",
        subject=f"broadcast:{broadcast_id}",
        detail={"not_sent": _rowcount(left)},
        now=now,
    )
    await session.commit()
    return True


@dataclass(frozen=True)
class Progress:
    total: int
    sent: int
    failed: int
    blocked: int
    cancelled: int
    unknown: int
    pending: int  # queued or being sent
    capped: int
    status: str
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def done(self) -> int:
        """Recipients whose send is over, whatever its outcome."""
        return self.sent + self.failed + self.blocked + self.cancelled + self.unknown


async def _progress(session: AsyncSession, broadcast_id: int) -> Progress | None:
    b, r = BROADCASTS, RECIPIENTS
    head = (
        await session.execute(
            select(b.c.total, b.c.capped, b.c.status, b.c.started_at, b.c.finished_at).where(
                b.c.id == broadcast_id
            )
        )
    ).one_or_none()
    if head is None:
        return None
    counts = dict.fromkeys(RECIPIENT_STATUSES, 0)
    for status, n in (
        await session.execute(
            select(r.c.status, func.count())
            .where(r.c.broadcast_id == broadcast_id)
            .group_by(r.c.status)
        )
    ).all():
        counts[str(status)] = int(n)
    return Progress(
        total=int(head.total),
        sent=counts[SENT],
        failed=counts[FAILED],
        blocked=counts[BLOCKED],
        cancelled=counts[CANCELLED],
        unknown=counts[UNKNOWN],
        pending=counts[QUEUED] + counts[SENDING],
        capped=int(head.capped),
        status=str(head.status),
        started_at=head.started_at,
        finished_at=head.finished_at,
    )


async def progress(session: AsyncSession, broadcast_id: int) -> Progress | None:
    """Where a broadcast stands; None when there is none. Ends the read (commits)."""
    found = await _progress(session, broadcast_id)
    await session.commit()
    return found


async def tick(session: AsyncSession, *, now: datetime) -> list[int]:
    """For each broadcast in flight: queue a progress edit when something changed since the
    last one (at most one waiting); once nothing is queued or sending, finish it (``done``,
    or the cancelled one's end) and queue the final report, once. The ids finished now.
    Commits."""
    b, o = BROADCASTS, OUTBOX
    running = (
        await session.execute(
            select(b.c.id, b.c.status, b.c.progress_chat_id)
            .where(
                or_(
                    b.c.status == SENDING,
                    and_(
                        b.c.status == CANCELLED,
                        b.c.finished_at.is_(None),
                        b.c.started_at.is_not(None),
                    ),
                )
            )
            .order_by(b.c.id)
        )
    ).all()
    finished: list[int] = []
    for broadcast_id, status, chat_id in running:
        state = await _progress(session, broadcast_id)
        if state is None:
            continue
        lane = progress_lane(broadcast_id)
        if state.pending == 0:
            ended = await session.execute(
                update(b)
                .where(b.c.id == broadcast_id, b.c.status == status, b.c.finished_at.is_(None))
                .values(
                    status=case((b.c.status == SENDING, DONE), else_=b.c.status),
                    finished_at=now,
                )
            )
            if not _rowcount(ended):
                continue
            finished.append(broadcast_id)
            if chat_id is None:
                continue
            # The report says it all: a progress edit still waiting has nothing to add.
            await session.execute(
                update(o)
                .where(o.c.lane == lane, o.c.kind == PROGRESS, o.c.status == "pending")
                .values(status="dropped", last_error="superseded by the report")
            )
            await _enqueue(
                session,
                kind=REPORT,
                lane=lane,
                chat_id=chat_id,
                payload={"broadcast_id": broadcast_id},
                dedupe_key=f"bc_report:{broadcast_id}",
                now=now,
            )
            continue
        if chat_id is None:
            continue
        last = (
            await session.execute(
                select(o.c.status, o.c.payload)
                .where(o.c.lane == lane, o.c.kind == PROGRESS)
                .order_by(o.c.id.desc())
                .limit(1)
            )
        ).one_or_none()
        if last is not None and last.status == "pending":
            continue  # one edit waiting is enough: it is drawn when it is sent
        shown = (last.payload or {}).get("done") if last is not None else None
        if shown == state.done:
            continue
        await _enqueue(
            session,
            kind=PROGRESS,
            lane=lane,
            chat_id=chat_id,
            payload={"broadcast_id": broadcast_id, "done": state.done},
            dedupe_key=None,
            now=now,
        )
    await session.commit()
    return finished


async def _enqueue(
    session: AsyncSession,
    *,
    kind: str,
    lane: str,
    chat_id: int,
    payload: dict[str, Any],
    dedupe_key: str | None,
    now: datetime,
) -> None:
    await outbox.enqueue(
        session,
        kind=kind,
        lane=lane,
        chat_id=chat_id,
        payload=payload,
        dedupe_key=dedupe_key,
        priority=PROGRESS_PRIORITY,
        now=now,
    )


async def mark_returned(session: AsyncSession, *, user_id: int, now: datetime) -> None:
    """The user came back: stamp `returned_at` on the broadcasts sent to them in the last
    7 days that have none yet. Does not commit."""
    r = RECIPIENTS
    await session.execute(
        update(r)
        .where(
            r.c.user_id == user_id,
            r.c.status == SENT,
            r.c.returned_at.is_(None),
            r.c.sent_at >= now - RETURN_WINDOW,
            r.c.sent_at <= now,
        )
        .values(returned_at=now)
    )


# --- subscriptions and the manager's lists -----------------------------------------------


async def set_opt_out(
    session: AsyncSession, *, user_id: int, opted_out: bool, now: datetime
) -> bool:
    """/unsubscribe (True) or /subscribe (False); whether it changed anything. Commits."""
    u = USERS
    result = await session.execute(
        update(u)
        .where(u.c.id == user_id, u.c.marketing_opt_out.is_(not opted_out))
        .values(marketing_opt_out=opted_out, opted_out_at=now if opted_out else None)
    )
    await session.commit()
    return bool(_rowcount(result))


@dataclass(frozen=True)
class Summary:
    id: int
    kind: str
    status: str
    total: int
    sent: int
    created_at: datetime
    text: str


async def recent(session: AsyncSession, *, limit: int = 10) -> list[Summary]:
    """The latest broadcasts, newest first, with how many were sent. Ends the read."""
    b, r = BROADCASTS, RECIPIENTS
    sent = (
        select(func.count())
        .select_from(r)
        .where(r.c.broadcast_id == b.c.id, r.c.status == SENT)
        .scalar_subquery()
    )
    rows = (
        await session.execute(
            select(b.c.id, b.c.kind, b.c.status, b.c.total, sent.label("sent"), b.c.created_at)
            .add_columns(b.c.text)
            .order_by(b.c.id.desc())
            .limit(limit)
        )
    ).all()
    await session.commit()
    return [
        Summary(
            id=int(row.id),
            kind=str(row.kind),
            status=str(row.status),
            total=int(row.total),
            sent=int(row.sent),
            created_at=row.created_at,
            text=str(row.text),
        )
        for row in rows
    ]
