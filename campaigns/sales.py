"""Flash sales: a sale's lifecycle posts are database rows that the scheduler polls.

`create_sale` stores the sale and plans one `sale_posts` row per target chat and stage:

- ``teaser:<minutes>``: `minutes` before the start, for each of the policy's teaser offsets
  whose time is still in the future when the sale is created (or re-planned);
- ``start``: at the start, with the Buy button;
- ``ending``: `ending_soon_minutes` before the end (only when that is after the start);
- ``end``: at the end, an edit of the start post to its "ended" form (no button).

`run_due` (every few seconds, from any number of bot processes) takes the rows whose time
has come. Each row is claimed by a conditional UPDATE (``pending`` -> ``queued`` or
``skipped``), so exactly one caller hands it to the outbox; the outbox's dedupe key
``sale_post:<post id>`` stands behind it.

Late posts (the bot was down, or busy) follow these rules, with `now` the time of the run:

- a teaser is sent late only within ``policy.grace`` of its time AND before the start;
  otherwise it is skipped (a teaser after the start would announce a sale that is on);
- the start post is sent late while the sale runs (``now < ends_at``), however late: it
  carries the Buy button, which is worth having until the end. After the end it is skipped;
- the "ending soon" post is sent late only before the end;
- the end edit is always made, unless no start post was handed to the outbox in that chat
  (nothing to edit): then it is skipped silently.

A skipped post is recorded (status ``skipped`` and a note) and reported to the sale's
creator in one private notice per sale and run (kind ``sale_notice``), written in the
creator's language when it is delivered. When a start post is queued, the members who asked
to be reminded are queued a private message each (kind ``sale_reminder``, dedupe
``sale_remind:<sale>:<user>``: once per sale, whatever the number of chats or processes);
users who blocked the bot are left out.

A post that Telegram refuses for good (e.g. the bot may not post in that chat) is recorded
as skipped by `post_failed` and reported to the creator the same way.

`cancel_sale` cancels the pending rows and, in each chat where the start post was queued or
sent, adds a ``cancel`` row: an edit of the start post to its "cancelled" form.

Errors are `SaleError(code, **fields)`, where `code` is a catalogue key the handlers
translate. Every function that changes something commits before it returns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from sqlalchemy import Table, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import when
from campaigns.policy import CampaignPolicy
from storage import audit, outbox
from storage.models import Sale, SalePost, SaleReminder, User
from storage.numbers import NumberError, read_int
from storage.queries import insert_for

# Outbox kinds.
POST, REMINDER, NOTICE = "sale_post", "sale_reminder", "sale_notice"

# Sale statuses (live and ended are read from the clock).
SCHEDULED, CANCELLED = "scheduled", "cancelled"
# Phases, for lists.
LIVE, ENDED = "live", "ended"

# Post statuses.
PENDING, QUEUED, SENT, SKIPPED = "pending", "queued", "sent", "skipped"

START, ENDING, END, CANCEL = "start", "ending", "end", "cancel"
TEASER_PREFIX = "teaser:"

MAX_PRODUCT = 128
MAX_PRICE = 32
MAX_URL = 512
MAX_STOCK = 10_000_000
MAX_AHEAD = timedelta(days=366)
MAX_LENGTH = timedelta(days=366)  # from the start to the end
MAX_AMOUNT = 1_000_000_000  # in a price, whatever the currency

POSTS = cast(Table, SalePost.__table__)
REMINDERS = cast(Table, SaleReminder.__table__)
EDITABLE = ("product", "price", "original_price", "stock", "url", "starts_at", "ends_at")


class SaleError(ValueError):
    """A refusal for the manager: `code` names a catalogue key, `fields` its variables."""

    def __init__(self, code: str, **fields: Any) -> None:
        super().__init__(code)
        self.code = code
        self.fields = fields


def sale_lane(chat_id: int) -> str:
    return f"s:{chat_id}"


def teaser_stage(minutes: int) -> str:
    return f"{TEASER_PREFIX}{minutes}"


def teaser_minutes(stage: str) -> int | None:
    """The offset of a teaser stage, or None for other stages."""
    if not stage.startswith(TEASER_PREFIX):
        return None
    tail = stage[len(TEASER_PREFIX) :]
    return int(tail) if tail.isdigit() else None


def phase(sale: Sale, now: datetime) -> str:
    """scheduled | live | ended | cancelled."""
    if sale.status == CANCELLED:
        return CANCELLED
    if now >= sale.ends_at:
        return ENDED
    return LIVE if now >= sale.starts_at else SCHEDULED


# --- parsing what a manager types (pure) ---------------------------------------------


_PRICE_SPLIT = re.compile(r"\s*/\s*|\s+")
_AMOUNT = re.compile(r"[0-9][0-9,]*(?:\.[0-9]+)?")
# ASCII digits only: `٣h` is not a duration. At most 19 digits, what read_int reads.
_DURATION = re.compile(r"(?:([0-9]{1,19})d)?(?:([0-9]{1,19})h)?(?:([0-9]{1,19})m(?:in)?)?")
_UNITS = (timedelta(days=1), timedelta(hours=1), timedelta(minutes=1))


def _check_price(price: str) -> None:
    """A price names an amount in ASCII digits (``¥1,299.50``) of at most MAX_AMOUNT."""
    if any(c.isdigit() and not c.isascii() for c in price):
        raise SaleError("sale-err-price")  # ²，９９: not read half-way
    amounts = _AMOUNT.findall(price)
    if not amounts:
        raise SaleError("sale-err-price")
    for amount in amounts:
        try:
            read_int(amount.split(".")[0].replace(",", ""), low=0, high=MAX_AMOUNT)
        except NumberError as exc:
            raise SaleError("sale-err-price-large", limit=MAX_AMOUNT) from exc


def parse_prices(text: str) -> tuple[str, str | None]:
    """``"99 199"``, ``"¥99 / ¥199"`` or ``"99"`` -> (sale price, original price or None)."""
    parts = [p for p in _PRICE_SPLIT.split(text.strip().replace("／", "/")) if p]
    if not 1 <= len(parts) <= 2:
        raise SaleError("sale-err-price")
    if any(len(p) > MAX_PRICE for p in parts):
        raise SaleError("sale-err-price-long", limit=MAX_PRICE)
    for part in parts:
        _check_price(part)
    return parts[0], parts[1] if len(parts) == 2 else None


def parse_stock(text: str) -> int:
    try:
        return read_int(text.replace(",", ""), low=1, high=MAX_STOCK)
    except NumberError as exc:
        raise SaleError("sale-err-stock", limit=MAX_STOCK) from exc


def check_url(text: str) -> str:
    url = text.strip()
    parsed = urlparse(url)
    if (
        parsed.scheme not in ("http", "https")
        or not parsed.netloc
        or any(c.isspace() for c in url)
        or len(url) > MAX_URL
    ):
        raise SaleError("sale-err-url")
    return url


def parse_when(
    text: str, *, now: datetime, tz: ZoneInfo, after: datetime | None = None
) -> datetime:
    """A time as campaigns.when reads it (``2026-12-04 20:00``, ``20:00``, ``明晚8点半``,
    ``tomorrow 8pm``, ``fri 20:00``, ...) in the shop's time zone `tz`, returned in `now`'s
    (UTC). A bare time of day or a date without a year is the first one after `after`
    (default `now`; then the year rolls over when needed). Raises SaleError."""
    try:
        return when.read_when(text, now=now, tz=tz, after=after, roll_year=after is None)
    except when.WhenError as exc:
        code = "sale-err-time-ambiguous" if exc.problem == "ambiguous" else "sale-err-time"
        raise SaleError(code) from exc


def parse_duration(text: str) -> timedelta | None:
    """``2h``, ``90m``, ``1h30m``, ``1d`` -> timedelta; None when it is not a duration.
    SaleError when it is longer than a sale may last (MAX_LENGTH)."""
    value = text.strip().lower().replace(" ", "")
    match = _DURATION.fullmatch(value)
    if not value or match is None or not any(match.groups()):
        return None
    too_long = SaleError("sale-err-too-long", days=MAX_LENGTH.days)
    try:
        days, hours, minutes = (
            read_int(g, low=0, high=MAX_LENGTH // unit) if g else 0
            for g, unit in zip(match.groups(), _UNITS, strict=True)
        )
    except NumberError as exc:
        raise too_long from exc
    span = timedelta(days=days, hours=hours, minutes=minutes)
    if span > MAX_LENGTH:
        raise too_long
    return span if span > timedelta(0) else None


def parse_end(text: str, *, starts_at: datetime, now: datetime, tz: ZoneInfo) -> datetime:
    """The end: a duration after the start, or a time as in `parse_when` (a bare ``HH:MM``
    is the first such time after the start; a date without a year is in the start's year;
    明天 and friday count from today)."""
    span = parse_duration(text)
    if span is not None:
        return starts_at + span
    return parse_when(text, now=now, tz=tz, after=max(now, starts_at))


def read_answer(
    step: str, text: str, *, now: datetime, tz: ZoneInfo, starts_at: datetime | None = None
) -> dict[str, Any]:
    """A manager's answer to one text step of the sale dialogue, checked at once (so the
    dialogue can ask again): what to keep. Raises SaleError."""
    if step == "product":
        if not text:
            raise SaleError("sale-err-product-empty")
        if len(text) > MAX_PRODUCT:
            raise SaleError("sale-err-product-long", limit=MAX_PRODUCT, length=len(text))
        return {"product": text}
    if step == "price":
        price, original = parse_prices(text)
        return {"price": price, "original": original}
    if step == "stock":
        return {"stock": parse_stock(text)}
    if step == "link":
        return {"url": check_url(text)}
    if step == "start":
        start = parse_when(text, now=now, tz=tz)
        if start <= now:
            raise SaleError("sale-err-start-past")
        if start > now + MAX_AHEAD:
            raise SaleError("sale-err-too-far")
        return {"start": start.isoformat()}
    if step == "end" and starts_at is not None:
        end = parse_end(text, starts_at=starts_at, now=now, tz=tz)
        if end <= starts_at:
            raise SaleError("sale-err-end-before-start")
        return {"end": end.isoformat()}
    raise ValueError(f"not a text step: {step!r}")


# The fields of a sale a manager can change from /sales (each one answer).
EDIT_FIELDS = ("product", "price", "stock", "url", "start", "end")


def read_change(
    field: str, text: str, *, now: datetime, tz: ZoneInfo, starts_at: datetime
) -> dict[str, Any]:
    """A manager's new value for one of EDIT_FIELDS, as `update_sale` takes it (the sale
    starts at `starts_at`). Raises SaleError."""
    if field == "product":
        if not text or len(text) > MAX_PRODUCT:
            raise SaleError("sale-err-product-long", limit=MAX_PRODUCT, length=len(text))
        return {"product": text}
    if field == "price":
        price, original = parse_prices(text)
        return {"price": price, "original_price": original}
    if field == "stock":
        return {"stock": parse_stock(text)}
    if field == "url":
        return {"url": check_url(text)}
    if field == "start":
        return {"starts_at": parse_when(text, now=now, tz=tz)}
    if field == "end":
        return {"ends_at": parse_end(text, starts_at=starts_at, now=now, tz=tz)}
    raise SaleError("sale-err-field", field=field)


# --- the plan ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedPost:
    chat_id: int
    stage: str
    due_at: datetime


def plan(
    *,
    starts_at: datetime,
    ends_at: datetime,
    targets: Sequence[int],
    teaser_offsets: Iterable[int],
    ending_soon_minutes: int,
    now: datetime,
) -> list[PlannedPost]:
    """The lifecycle posts of a sale, in time order (pure; see the module docstring)."""
    stages: list[tuple[str, datetime]] = []
    for minutes in sorted(set(teaser_offsets), reverse=True):
        due = starts_at - timedelta(minutes=minutes)
        if due > now:
            stages.append((teaser_stage(minutes), due))
    stages.append((START, starts_at))
    if ending_soon_minutes > 0:
        due = ends_at - timedelta(minutes=ending_soon_minutes)
        if due > starts_at:
            stages.append((ENDING, due))
    stages.append((END, ends_at))
    return [PlannedPost(chat, stage, due) for chat in targets for stage, due in stages]


# --- creating ----------------------------------------------------------------------------


def _validate(
    *,
    product: str,
    price: str,
    original_price: str | None,
    stock: int | None,
    url: str | None,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    check_start: bool = True,
) -> None:
    if not product:
        raise SaleError("sale-err-product-empty")
    if len(product) > MAX_PRODUCT:
        raise SaleError("sale-err-product-long", limit=MAX_PRODUCT, length=len(product))
    if not price:
        raise SaleError("sale-err-price")
    if len(price) > MAX_PRICE or (original_price is not None and len(original_price) > MAX_PRICE):
        raise SaleError("sale-err-price-long", limit=MAX_PRICE)
    if stock is not None and not 1 <= stock <= MAX_STOCK:
        raise SaleError("sale-err-stock", limit=MAX_STOCK)
    if url is not None:
        check_url(url)
    if check_start and starts_at <= now:
        raise SaleError("sale-err-start-past")
    if starts_at > now + MAX_AHEAD:
        raise SaleError("sale-err-too-far")
    if ends_at <= starts_at:
        raise SaleError("sale-err-end-before-start")
    if ends_at - starts_at > MAX_LENGTH:
        raise SaleError("sale-err-too-long", days=MAX_LENGTH.days)
    if ends_at <= now:
        raise SaleError("sale-err-end-past")


async def create_sale(
    session: AsyncSession,
    *,
    product: str,
    price: str,
    original_price: str | None,
    stock: int | None,
    image_file_id: str | None,
    url: str | None,
    starts_at: datetime,
    ends_at: datetime,
    targets: Sequence[int],
    policy: CampaignPolicy,
    created_by: int | None,
    now: datetime,
    copy_override: bool = False,
    override_words: Sequence[str] = (),
) -> Sale:
    """Validate and store a sale with its planned posts; raises SaleError. Commits.

    With `copy_override` the manager published over copy-guard warnings (`override_words`):
    an audit entry is written in the same transaction."""
    product = product.strip()
    price = price.strip()
    original_price = (original_price or "").strip() or None
    url = (url or "").strip() or None
    chats = list(dict.fromkeys(targets))
    try:
        _validate(
            product=product,
            price=price,
            original_price=original_price,
            stock=stock,
            url=url,
            starts_at=starts_at,
            ends_at=ends_at,
            now=now,
        )
        if not chats:
            raise SaleError("sale-err-no-target")
        if any(chat not in policy.targets for chat in chats):
            raise SaleError("sale-err-target")
    except SaleError:
        await session.rollback()
        raise
    sale = Sale(
        product=product,
        price=price,
        original_price=original_price,
        stock=stock,
        image_file_id=image_file_id,
        url=url,
        starts_at=starts_at,
        ends_at=ends_at,
        targets=chats,
        teaser_offsets=list(policy.teaser_offsets),
        ending_soon_minutes=policy.ending_soon_minutes,
        status=SCHEDULED,
        copy_override=copy_override,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    session.add(sale)
    await session.flush()
    for post in plan(
        starts_at=starts_at,
        ends_at=ends_at,
        targets=chats,
        teaser_offsets=policy.teaser_offsets,
        ending_soon_minutes=policy.ending_soon_minutes,
        now=now,
    ):
        session.add(
            SalePost(
                sale_id=sale.id,
                chat_id=post.chat_id,
                stage=post.stage,
                due_at=post.due_at,
                status=PENDING,
            )
        )
    if copy_override:
        audit.copy_override(
            session,
            actor_id=created_by,
            subject=f"sale:{sale.id}",
            words=override_words,
            now=now,
        )
    await session.commit()
    return sale


def guard_text(product: str, price: str, original: str | None) -> str:
    """What the manager wrote that the posts show: the copy guard checks this."""
    return "\n".join(p for p in (product, price, original) if p)


def answers_to_sale(answers: dict[str, Any]) -> dict[str, Any]:
    """The sale as the dialogue's answers (`read_answer`'s results) describe it: what
    `create_sale` takes."""
    return {
        "product": answers["product"],
        "price": answers["price"],
        "original_price": answers.get("original"),
        "stock": answers.get("stock"),
        "image_file_id": answers.get("image"),
        "url": answers.get("url"),
        "starts_at": datetime.fromisoformat(answers["start"]),
        "ends_at": datetime.fromisoformat(answers["end"]),
        "targets": list(answers.get("targets", [])),
    }


@dataclass(frozen=True, slots=True)
class SalePreview:
    """What the manager checks before publishing (nothing is stored)."""

    draft: Sale  # transient, never added to a session
    planned: list[PlannedPost]
    checked: str  # the text the copy guard read
    guard_words: list[str]  # the forbidden words it found, each once


def preview(answers: dict[str, Any], *, policy: CampaignPolicy, now: datetime) -> SalePreview:
    """The sale the dialogue's answers describe, its schedule and the copy guard's verdict."""
    fields = answers_to_sale(answers)
    draft = Sale(id=0, **fields, teaser_offsets=[], ending_soon_minutes=0, status=SCHEDULED)
    planned = plan(
        starts_at=fields["starts_at"],
        ends_at=fields["ends_at"],
        targets=fields["targets"],
        teaser_offsets=policy.teaser_offsets,
        ending_soon_minutes=policy.ending_soon_minutes,
        now=now,
    )
    checked = guard_text(answers["product"], answers["price"], answers.get("original"))
    words = list(dict.fromkeys(h.word for h in policy.guard.check(checked)))
    return SalePreview(draft, planned, checked, words)


async def publish(
    session: AsyncSession,
    answers: dict[str, Any],
    *,
    policy: CampaignPolicy,
    created_by: int | None,
    now: datetime,
    override: bool,
) -> Sale:
    """Store the sale the dialogue's answers describe. Copy-guard hits need `override`
    (then logged), else SaleError("sale-guard-blocked"). Commits."""
    checked = guard_text(answers["product"], answers["price"], answers.get("original"))
    hits = policy.guard.check(checked)
    if hits and not override:
        await session.rollback()
        raise SaleError("sale-guard-blocked")
    return await create_sale(
        session,
        **answers_to_sale(answers),
        policy=policy,
        created_by=created_by,
        now=now,
        copy_override=bool(hits),
        override_words=[h.word for h in hits],
    )


# --- reading -----------------------------------------------------------------------------


async def get(session: AsyncSession, sale_id: int) -> Sale | None:
    """The sale, fresh from the database, or None. Ends the read."""
    sale = await session.scalar(
        select(Sale).where(Sale.id == sale_id).execution_options(populate_existing=True)
    )
    await session.commit()
    return sale


async def list_sales(session: AsyncSession, *, now: datetime, limit: int = 20) -> list[Sale]:
    """Scheduled and live sales (not cancelled, not ended), soonest first. Ends the read."""
    found = list(
        await session.scalars(
            select(Sale)
            .where(Sale.status == SCHEDULED, Sale.ends_at > now)
            .order_by(Sale.starts_at, Sale.id)
            .limit(limit)
        )
    )
    await session.commit()
    return found


async def posts(session: AsyncSession, sale_id: int) -> list[SalePost]:
    """The sale's posts in time order. Ends the read."""
    found = list(
        await session.scalars(
            select(SalePost)
            .where(SalePost.sale_id == sale_id)
            .order_by(SalePost.due_at, SalePost.chat_id, SalePost.id)
            .execution_options(populate_existing=True)
        )
    )
    await session.commit()
    return found


async def overview(session: AsyncSession, sale_id: int) -> tuple[Sale, list[SalePost]] | None:
    """The sale and its posts, or None when there is no such sale. Ends the read."""
    sale = await get(session, sale_id)
    if sale is None:
        return None
    return sale, await posts(session, sale_id)


async def manageable(session: AsyncSession, sale_id: int, *, now: datetime) -> Sale | None:
    """The sale a manager may still change, None when there is no such sale; SaleError
    when it is over or cancelled. Ends the read."""
    sale = await get(session, sale_id)
    if sale is not None and phase(sale, now) in (CANCELLED, ENDED):
        raise SaleError("sale-err-over", id=sale_id)
    return sale


# --- the scheduler's run -----------------------------------------------------------------


@dataclass(slots=True)
class DueReport:
    queued: list[int] = field(default_factory=list)  # post ids handed to the outbox
    skipped: list[int] = field(default_factory=list)  # post ids skipped
    reminders: int = 0  # reminders queued


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount or 0)


def _skip_reason(row: Any, now: datetime, grace: timedelta) -> str | None:
    """Why a due post must not be sent now, or None to send it (module docstring)."""
    late = now - row.due_at
    if teaser_minutes(row.stage) is not None:
        if now >= row.starts_at:
            return "teaser after the start"
        if late > grace:
            return f"teaser {int(late.total_seconds() // 60)} min late (grace {grace})"
        return None
    if row.stage in (START, ENDING) and now >= row.ends_at:
        return "the sale had ended"
    return None


async def _claim(
    session: AsyncSession, post_id: int, status: str, now: datetime, note: str | None
) -> bool:
    result = await session.execute(
        update(POSTS)
        .where(POSTS.c.id == post_id, POSTS.c.status == PENDING)
        .values(status=status, handled_at=now, note=note)
    )
    return bool(_rowcount(result))


async def _start_posted(session: AsyncSession, sale_id: int, chat_id: int) -> bool:
    status = await session.scalar(
        select(POSTS.c.status).where(
            POSTS.c.sale_id == sale_id, POSTS.c.chat_id == chat_id, POSTS.c.stage == START
        )
    )
    return status in (QUEUED, SENT)


async def queue_post(session: AsyncSession, *, post_id: int, chat_id: int, now: datetime) -> None:
    """Hand a claimed post to the outbox (no commit)."""
    await outbox.enqueue(
        session,
        kind=POST,
        lane=sale_lane(chat_id),
        chat_id=chat_id,
        payload={"post_id": post_id},
        dedupe_key=f"sale_post:{post_id}",
        now=now,
    )


async def _queue_reminders(session: AsyncSession, *, sale_id: int, now: datetime) -> int:
    users = list(
        await session.scalars(
            select(SaleReminder.user_id)
            .join(User, User.id == SaleReminder.user_id)
            .where(SaleReminder.sale_id == sale_id, User.blocked.is_(False))
            .order_by(SaleReminder.created_at, SaleReminder.user_id)
        )
    )
    queued = 0
    for user_id in users:
        new = await outbox.enqueue(
            session,
            kind=REMINDER,
            lane=f"u:{user_id}",
            chat_id=user_id,
            payload={"sale_id": sale_id},
            dedupe_key=f"sale_remind:{sale_id}:{user_id}",
            now=now,
        )
        queued += new is not None
    return queued


async def run_due(session: AsyncSession, *, policy: CampaignPolicy, now: datetime) -> DueReport:
    """Queue or skip every post whose time has come (see the module docstring). Commits."""
    due = (
        await session.execute(
            select(
                POSTS.c.id,
                POSTS.c.sale_id,
                POSTS.c.chat_id,
                POSTS.c.stage,
                POSTS.c.due_at,
                Sale.starts_at,
                Sale.ends_at,
                Sale.created_by,
            )
            .join(Sale, Sale.id == POSTS.c.sale_id)
            .where(POSTS.c.status == PENDING, POSTS.c.due_at <= now, Sale.status == SCHEDULED)
            .order_by(POSTS.c.due_at, POSTS.c.id)
            .limit(500)
        )
    ).all()
    report = DueReport()
    skipped: dict[int, list[int]] = {}  # sale -> skipped post ids to report
    creators: dict[int, int | None] = {}
    reminded: set[int] = set()
    for row in due:
        reason = _skip_reason(row, now, policy.grace)
        if row.stage in (END, CANCEL) and not await _start_posted(
            session, row.sale_id, row.chat_id
        ):
            # Nothing to edit in this chat: skipped, without bothering the manager.
            if await _claim(session, row.id, SKIPPED, now, "no start post to edit"):
                report.skipped.append(row.id)
            continue
        if reason is not None:
            if await _claim(session, row.id, SKIPPED, now, reason):
                report.skipped.append(row.id)
                skipped.setdefault(row.sale_id, []).append(row.id)
                creators[row.sale_id] = row.created_by
            continue
        late = now - row.due_at
        note = f"late by {int(late.total_seconds() // 60)} min" if late > policy.grace else None
        if not await _claim(session, row.id, QUEUED, now, note):
            continue  # another scheduler took it
        await queue_post(session, post_id=row.id, chat_id=row.chat_id, now=now)
        report.queued.append(row.id)
        if row.stage == START and row.sale_id not in reminded:
            reminded.add(row.sale_id)
            report.reminders += await _queue_reminders(session, sale_id=row.sale_id, now=now)
    for sale_id, post_ids in skipped.items():
        creator = creators.get(sale_id)
        if creator is None:
            continue
        await outbox.enqueue(
            session,
            kind=NOTICE,
            lane=f"u:{creator}",
            chat_id=creator,
            payload={"sale_id": sale_id, "post_ids": post_ids},
            dedupe_key=f"sale_skip:{min(post_ids)}",
            now=now,
        )
    await session.commit()
    return report


async def set_post_message(
    session: AsyncSession, *, post_id: int, message_id: int | None, now: datetime
) -> None:
    """The post reached its chat (`message_id`: the message it made or edited). Commits."""
    await session.execute(
        update(POSTS)
        .where(POSTS.c.id == post_id)
        .values(status=SENT, message_id=message_id, handled_at=now)
    )
    await session.commit()


async def post_failed(session: AsyncSession, *, post_id: int, error: str, now: datetime) -> None:
    """Telegram refused the post for good (e.g. the bot may not post in that chat): it is
    recorded as skipped (so no "ended" edit is tried) and reported to the creator. Commits."""
    row = (
        await session.execute(
            select(POSTS.c.sale_id, Sale.created_by)
            .join(Sale, Sale.id == POSTS.c.sale_id)
            .where(POSTS.c.id == post_id)
        )
    ).one_or_none()
    await session.execute(
        update(POSTS)
        .where(POSTS.c.id == post_id, POSTS.c.status.in_([QUEUED, PENDING]))
        .values(status=SKIPPED, handled_at=now, note=f"failed: {error}"[:500])
    )
    if row is not None and row.created_by is not None:
        await outbox.enqueue(
            session,
            kind=NOTICE,
            lane=f"u:{row.created_by}",
            chat_id=row.created_by,
            payload={"sale_id": row.sale_id, "post_ids": [post_id], "error": error[:200]},
            dedupe_key=f"sale_failed:{post_id}",
            now=now,
        )
    await session.commit()


# --- members -----------------------------------------------------------------------------


class RemindStatus(StrEnum):
    ADDED = "added"
    ALREADY = "already"
    STARTED = "started"
    OVER = "over"
    UNKNOWN = "unknown"


async def remind_me(
    session: AsyncSession, *, sale_id: int, user_id: int, now: datetime
) -> RemindStatus:
    """Subscribe a member to the sale's start (the 🔔 on a teaser). Commits."""
    sale = (
        await session.execute(
            select(Sale.status, Sale.starts_at, Sale.ends_at).where(Sale.id == sale_id)
        )
    ).one_or_none()
    if sale is None:
        await session.commit()
        return RemindStatus.UNKNOWN
    if sale.status == CANCELLED or now >= sale.ends_at:
        await session.commit()
        return RemindStatus.OVER
    if now >= sale.starts_at:
        await session.commit()
        return RemindStatus.STARTED
    stmt = (
        insert_for(session, REMINDERS)
        .values(sale_id=sale_id, user_id=user_id, created_at=now)
        .on_conflict_do_nothing(index_elements=[REMINDERS.c.sale_id, REMINDERS.c.user_id])
    )
    added = _rowcount(await session.execute(stmt))
    await session.commit()
    return RemindStatus.ADDED if added else RemindStatus.ALREADY


# --- managing ----------------------------------------------------------------------------


async def _locked_sale(session: AsyncSession, sale_id: int) -> Sale:
    sale = await session.scalar(
        select(Sale)
        .where(Sale.id == sale_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if sale is None:
        await session.rollback()
        raise SaleError("sale-err-unknown", id=sale_id)
    return sale


async def update_sale(
    session: AsyncSession,
    sale_id: int,
    *,
    policy: CampaignPolicy,
    now: datetime,
    actor_id: int | None,
    **changes: Any,
) -> Sale:
    """Change a scheduled or live sale; raises SaleError. Commits.

    New times re-plan the posts still pending (a stage that no longer fits is cancelled, one
    that now fits is added); posts already queued or sent stay. The start cannot move once
    the sale has started. Later posts are drawn from the row when sent: they show the new
    values."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise SaleError("sale-err-field", field=sorted(unknown)[0])
    sale = await _locked_sale(session, sale_id)
    current = phase(sale, now)
    if current in (CANCELLED, ENDED):
        await session.rollback()
        raise SaleError("sale-err-over", id=sale_id)
    values: dict[str, Any] = {name: getattr(sale, name) for name in EDITABLE}
    for name, value in changes.items():
        values[name] = value.strip() if isinstance(value, str) else value
    values["original_price"] = values["original_price"] or None
    values["url"] = values["url"] or None
    moved_start = values["starts_at"] != sale.starts_at
    if moved_start and current == LIVE:
        await session.rollback()
        raise SaleError("sale-err-started")
    try:
        _validate(
            product=values["product"],
            price=values["price"],
            original_price=values["original_price"],
            stock=values["stock"],
            url=values["url"],
            starts_at=values["starts_at"],
            ends_at=values["ends_at"],
            now=now,
            check_start=moved_start,
        )
    except SaleError:
        await session.rollback()
        raise
    retime = moved_start or values["ends_at"] != sale.ends_at
    for name, value in values.items():
        setattr(sale, name, value)
    sale.updated_at = now
    if retime:
        await _replan(session, sale, now)
    audit.record(
        session,
        actor_id=actor_id,
        action="sale_edit",
        subject=f"sale:{sale.id}",
        detail={k: v.isoformat() if isinstance(v, datetime) else v for k, v in changes.items()},
        now=now,
    )
    await session.commit()
    return sale


@dataclass(frozen=True, slots=True)
class EditedSale:
    """What came of a manager's new value: the changed sale and its posts, or, when the
    copy guard held the new text, nothing changed and the words it found."""

    sale: Sale | None
    posts: list[SalePost] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # the new texts the guard held
    guard_words: list[str] = field(default_factory=list)


async def edit_sale(
    session: AsyncSession,
    sale_id: int,
    field_name: str,
    text: str,
    *,
    policy: CampaignPolicy,
    now: datetime,
    actor_id: int | None,
) -> EditedSale:
    """Read the new value of one field (`read_change`), check its text with the copy
    guard, and change the sale (`update_sale`). Raises SaleError. Commits."""
    sale = await get(session, sale_id)
    if sale is None:
        raise SaleError("sale-err-unknown", id=sale_id)
    changes = read_change(field_name, text, now=now, tz=policy.tz, starts_at=sale.starts_at)
    held = [v for v in changes.values() if isinstance(v, str) and policy.guard.check(v)]
    if held:
        words = [h.word for v in held for h in policy.guard.check(v)]
        return EditedSale(None, held=held, guard_words=list(dict.fromkeys(words)))
    changed = await update_sale(
        session, sale_id, policy=policy, now=now, actor_id=actor_id, **changes
    )
    return EditedSale(changed, posts=await posts(session, sale_id))


async def _replan(session: AsyncSession, sale: Sale, now: datetime) -> None:
    wanted = {
        (p.chat_id, p.stage): p.due_at
        for p in plan(
            starts_at=sale.starts_at,
            ends_at=sale.ends_at,
            targets=list(sale.targets),
            teaser_offsets=sale.teaser_offsets,
            ending_soon_minutes=sale.ending_soon_minutes,
            now=now,
        )
    }
    existing = (
        await session.execute(
            select(POSTS.c.id, POSTS.c.chat_id, POSTS.c.stage, POSTS.c.status).where(
                POSTS.c.sale_id == sale.id
            )
        )
    ).all()
    have = {(r.chat_id, r.stage) for r in existing}
    for r in existing:
        if r.status != PENDING:
            continue
        due = wanted.get((r.chat_id, r.stage))
        if due is None:
            await session.execute(
                update(POSTS)
                .where(POSTS.c.id == r.id, POSTS.c.status == PENDING)
                .values(status=CANCELLED, handled_at=now, note="no longer fits the new times")
            )
        else:
            await session.execute(
                update(POSTS)
                .where(POSTS.c.id == r.id, POSTS.c.status == PENDING)
                .values(due_at=due)
            )
    for (chat_id, stage), due in wanted.items():
        if (chat_id, stage) not in have:
            await session.execute(
                insert_for(session, POSTS)
                .values(sale_id=sale.id, chat_id=chat_id, stage=stage, due_at=due, status=PENDING)
                .on_conflict_do_nothing(
                    index_elements=[POSTS.c.sale_id, POSTS.c.chat_id, POSTS.c.stage]
                )
            )


async def cancel_sale(
    session: AsyncSession, sale_id: int, *, now: datetime, actor_id: int | None
) -> Sale:
    """Cancel a scheduled or live sale; raises SaleError. Commits.

    Pending posts are cancelled; where the start post was already queued or sent, an edit
    marks it cancelled (queued after it in the chat's lane)."""
    sale = await _locked_sale(session, sale_id)
    if phase(sale, now) in (CANCELLED, ENDED):
        await session.rollback()
        raise SaleError("sale-err-over", id=sale_id)
    sale.status = CANCELLED
    sale.updated_at = now
    await session.execute(
        update(POSTS)
        .where(POSTS.c.sale_id == sale_id, POSTS.c.status == PENDING)
        .values(status=CANCELLED, handled_at=now, note="sale cancelled")
    )
    chats = list(
        await session.scalars(
            select(POSTS.c.chat_id).where(
                POSTS.c.sale_id == sale_id,
                POSTS.c.stage == START,
                POSTS.c.status.in_([QUEUED, SENT]),
            )
        )
    )
    for chat_id in chats:
        post_id = (
            await session.execute(
                insert_for(session, POSTS)
                .values(
                    sale_id=sale_id,
                    chat_id=chat_id,
                    stage=CANCEL,
                    due_at=now,
                    status=QUEUED,
                    handled_at=now,
                )
                .on_conflict_do_nothing(
                    index_elements=[POSTS.c.sale_id, POSTS.c.chat_id, POSTS.c.stage]
                )
                .returning(POSTS.c.id)
            )
        ).scalar_one_or_none()
        if post_id is not None:
            await queue_post(session, post_id=int(post_id), chat_id=chat_id, now=now)
    audit.record(
        session,
        actor_id=actor_id,
        action="sale_cancel",
        subject=f"sale:{sale_id}",
        detail={"edits": len(chats)},
        now=now,
    )
    await session.commit()
    return sale
