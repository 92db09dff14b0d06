"""Returns and exchanges: who may return what, and the after-sales case that follows.

Rules owned here, each guarded by the database where two replicas could race:

* A return is asked for one of the customer's own orders (orders.ownership), for one reason.
  "No reason", a wrong size, a quality problem and a wrong item need a delivered order
  (RETURN_STATUSES) within a window counted from `delivered_at` (RETURN_WINDOW_DAYS for no
  reason and size, RETURN_DEFECT_WINDOW_DAYS for quality and wrong item). "Not received"
  needs a shipped order (RETURN_NOT_RECEIVED_STATUSES) whose expected delivery has passed.
* Some reasons need photos (RETURN_PHOTO_REASONS): the case is not opened without one.
* At most one open or approved case per order: a partial unique index, so the second of two
  requests (two taps, two replicas) is refused by the database, not by a check in Python.
* open -> approved (return instructions) -> refunded (refund paid or exchange sent), or
  open -> rejected (with a reason). Each step happens once: a conditional UPDATE on the
  status, so the second of two agents tapping learns it was already done.
* The desk's card and every message to the customer are outbox rows written in the same
  transaction as the change that needs them.

Use cases take a session and commit (or roll back) before they return.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from orders.ownership import order_for, orders_of
from storage import outbox
from storage.models import ACTIVE_CASE, AfterSalesCase, Agent, Order, User
from support import replies
from support.canned import MissingVariable, UnknownVariable, render
from support.tickets import DeskPolicy, customer_lane, group_lane

ITEMS_MAX = 500
NEW_SIZE_MAX = 64
PHOTOS_MAX = 10
ORDERS_LISTED = 8
# The canned reply (/canned add return_instructions zh|en|* text) an approval sends; without
# one the customer gets the catalogue's general instructions.
INSTRUCTIONS_KEY = "return_instructions"
CASES_LISTED = 10


class Reason(StrEnum):
    NO_REASON = "no_reason"  # 7-day no-reason return (七天无理由)
    SIZE = "size"
    QUALITY = "quality"
    WRONG_ITEM = "wrong_item"
    NOT_RECEIVED = "not_received"


class Resolution(StrEnum):
    REFUND = "refund"
    EXCHANGE = "exchange"


class CaseStatus(StrEnum):
    OPEN = "open"  # waiting for an agent
    APPROVED = "approved"  # the customer has the return instructions
    REJECTED = "rejected"
    REFUNDED = "refunded"  # done: the refund was paid or the exchange sent


ACTIVE_STATUSES = (CaseStatus.OPEN, CaseStatus.APPROVED)
assert ACTIVE_CASE.text == "status IN ('open', 'approved')"  # the index says the same


class Refusal(StrEnum):
    """Why a return cannot be opened; each has words for the customer (views/returns.py)."""

    NOT_FOUND = "not_found"  # not their order (or no such order)
    WRONG_STATUS = "wrong_status"  # e.g. not delivered yet, cancelled, already refunded
    WINDOW_PASSED = "window_passed"
    NOT_LATE = "not_late"  # "not received" before the expected delivery date
    CASE_OPEN = "case_open"  # the order already has an open or approved case
    PHOTOS_NEEDED = "photos_needed"


# What an agent may give as the reason for a rejection (a button each).
REJECT_REASONS = ("window", "used", "no_proof", "other")
DELIVERED_REASONS = (Reason.NO_REASON, Reason.SIZE, Reason.QUALITY, Reason.WRONG_ITEM)
DEFECT_REASONS = frozenset({Reason.QUALITY, Reason.WRONG_ITEM})
ORDER_STATUSES = frozenset(
    {"pending", "paid", "shipped", "in_transit", "delivered", "cancelled", "returned", "refunded"}
)


@dataclass(frozen=True, slots=True)
class ReturnPolicy:
    """The return rules, built from settings in bot/ (RETURN_*)."""

    window_days: int = 7  # no reason, size: days after delivery
    defect_window_days: int = 15  # quality, wrong item: days after delivery
    photo_reasons: frozenset[Reason] = frozenset({Reason.QUALITY, Reason.WRONG_ITEM})
    statuses: frozenset[str] = frozenset({"delivered"})
    not_received_statuses: frozenset[str] = frozenset({"shipped", "in_transit"})

    def needs_photos(self, reason: Reason) -> bool:
        return reason in self.photo_reasons

    def window(self, reason: Reason) -> timedelta:
        days = self.defect_window_days if reason in DEFECT_REASONS else self.window_days
        return timedelta(days=days)


def parse_reasons(raw: str) -> frozenset[Reason]:
    """ "quality, wrong_item" -> the reasons; ValueError naming an unknown one."""
    found: set[Reason] = set()
    for part in (p.strip().lower() for p in raw.split(",")):
        if not part:
            continue
        try:
            found.add(Reason(part))
        except ValueError:
            known = ", ".join(r.value for r in Reason)
            raise ValueError(f"unknown reason {part!r} (known: {known})") from None
    return frozenset(found)


def parse_statuses(raw: str) -> frozenset[str]:
    """ "shipped, in_transit" -> the order statuses; ValueError naming an unknown one."""
    found = {p.strip().lower() for p in raw.split(",") if p.strip()}
    unknown = sorted(found - ORDER_STATUSES)
    if unknown:
        known = ", ".join(sorted(ORDER_STATUSES))
        raise ValueError(f"unknown order status {unknown[0]!r} (known: {known})")
    if not found:
        raise ValueError("name at least one order status")
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class Eligibility:
    refusal: Refusal | None = None
    deadline: datetime | None = None  # the end of the return window, when there is one

    @property
    def ok(self) -> bool:
        return self.refusal is None


def eligibility(
    order: Order, reason: Reason, now: datetime, policy: ReturnPolicy, *, case_open: bool = False
) -> Eligibility:
    """Whether `order` may be returned for `reason` at `now` (pure: `case_open` says whether
    the order already has an open or approved case)."""
    if case_open:
        return Eligibility(Refusal.CASE_OPEN)
    if reason is Reason.NOT_RECEIVED:
        if order.status not in policy.not_received_statuses:
            return Eligibility(Refusal.WRONG_STATUS)
        if order.eta is None or now <= order.eta:
            return Eligibility(Refusal.NOT_LATE, order.eta)
        return Eligibility()
    if order.status not in policy.statuses:
        return Eligibility(Refusal.WRONG_STATUS)
    # The shop may report "delivered" without a time: then the report's time counts.
    delivered = order.delivered_at or order.updated_at
    deadline = delivered + policy.window(reason)
    if now > deadline:
        return Eligibility(Refusal.WINDOW_PASSED, deadline)
    return Eligibility(None, deadline)


async def _has_active_case(session: AsyncSession, order_id: str) -> bool:
    found = await session.scalar(
        select(AfterSalesCase.id)
        .where(AfterSalesCase.order_id == order_id, AfterSalesCase.status.in_(ACTIVE_STATUSES))
        .limit(1)
    )
    return found is not None


# --- the customer ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderChoice:
    order_id: str
    status: str
    items: str
    created_at: datetime


async def returnable_orders(session: AsyncSession, user_id: int) -> list[OrderChoice]:
    """The customer's recent orders to pick from (read only); the rules are checked later,
    when the reason is known, so the customer is told why rather than shown nothing."""
    found = [
        OrderChoice(o.order_id, o.status, o.items, o.created_at)
        for o in await orders_of(session, user_id, limit=ORDERS_LISTED)
    ]
    await session.rollback()
    return found


@dataclass(frozen=True, slots=True)
class Picked:
    """An order the customer picked: None when it is not theirs."""

    order: OrderChoice | None
    refusal: Refusal | None = None  # CASE_OPEN: it has an active case already


async def pick_order(session: AsyncSession, user_id: int, order_id: str) -> Picked:
    """The customer's order `order_id` (read only): not theirs, already in a case, or ok."""
    order = await order_for(session, user_id, order_id)
    if order is None:
        await session.rollback()
        return Picked(None, Refusal.NOT_FOUND)
    choice = OrderChoice(order.order_id, order.status, order.items, order.created_at)
    busy = await _has_active_case(session, order.order_id)
    await session.rollback()
    return Picked(choice, Refusal.CASE_OPEN if busy else None)


async def check(
    session: AsyncSession,
    policy: ReturnPolicy,
    *,
    user_id: int,
    order_id: str,
    reason: Reason,
    now: datetime,
) -> Eligibility:
    """`eligibility` of the customer's order, read from the database (read only)."""
    order = await order_for(session, user_id, order_id)
    if order is None:
        await session.rollback()
        return Eligibility(Refusal.NOT_FOUND)
    busy = await _has_active_case(session, order_id)
    result = eligibility(order, reason, now, policy, case_open=busy)
    await session.rollback()
    return result


@dataclass(frozen=True, slots=True)
class ReturnRequest:
    """What the customer asked for, as the dialogue gathered it (checked again here)."""

    order_id: str
    items: str
    reason: Reason
    resolution: Resolution
    new_size: str | None = None
    photos: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Opened:
    case_id: int | None
    refusal: Refusal | None = None

    @property
    def ok(self) -> bool:
        return self.case_id is not None


def _clean(text: str | None, limit: int) -> str:
    return " ".join((text or "").split())[:limit]


async def open_case(
    session: AsyncSession,
    policy: ReturnPolicy,
    desk: DeskPolicy,
    request: ReturnRequest,
    *,
    user_id: int,
    lang: str,
    now: datetime,
) -> Opened:
    """Open the case and queue its card for the desk, in one transaction; commits.

    Everything is checked again (the dialogue's answers arrive from a person and may be
    stale); a second active case for the order is refused by the unique index."""
    order = await order_for(session, user_id, request.order_id)
    if order is None:
        await session.rollback()
        return Opened(None, Refusal.NOT_FOUND)
    verdict = eligibility(
        order,
        request.reason,
        now,
        policy,
        case_open=await _has_active_case(session, order.order_id),
    )
    if not verdict.ok:
        await session.rollback()
        return Opened(None, verdict.refusal)
    photos = list(dict.fromkeys(request.photos))[:PHOTOS_MAX]
    if policy.needs_photos(request.reason) and not photos:
        await session.rollback()
        return Opened(None, Refusal.PHOTOS_NEEDED)
    exchange = request.resolution is Resolution.EXCHANGE
    case = AfterSalesCase(
        order_id=order.order_id,
        user_id=user_id,
        lang=lang,
        items=_clean(request.items, ITEMS_MAX) or _clean(order.items, ITEMS_MAX),
        reason=request.reason.value,
        resolution=request.resolution.value,
        new_size=_clean(request.new_size, NEW_SIZE_MAX) or None if exchange else None,
        photos=photos or None,
        status=CaseStatus.OPEN.value,
        created_at=now,
    )
    session.add(case)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        return Opened(None, Refusal.CASE_OPEN)
    case_id = case.id
    if desk.enabled:
        await outbox.enqueue(
            session,
            kind=ReturnKind.CARD,
            lane=group_lane(user_id),
            chat_id=desk.chat_id,
            payload={"case_id": case_id},
            dedupe_key=f"return:{case_id}:card",
            now=now,
        )
    await session.commit()
    return Opened(case_id)


@dataclass(frozen=True, slots=True)
class CaseLine:
    id: int
    order_id: str
    reason: str
    resolution: str
    status: str
    created_at: datetime
    reject_reason: str | None


async def cases_of(session: AsyncSession, user_id: int) -> list[CaseLine]:
    """The customer's cases, newest first (read only)."""
    rows = await session.scalars(
        select(AfterSalesCase)
        .where(AfterSalesCase.user_id == user_id)
        .order_by(AfterSalesCase.id.desc())
        .limit(CASES_LISTED)
    )
    found = [
        CaseLine(c.id, c.order_id, c.reason, c.resolution, c.status, c.created_at, c.reject_reason)
        for c in rows
    ]
    await session.rollback()
    return found


# --- the desk ------------------------------------------------------------------------------


class ReturnKind(StrEnum):
    """Outbox row kinds of after-sales; bot/returns.py delivers them."""

    CARD = "return_card"  # the case's card (and photos) in the customer's desk topic
    NOTE = "return_note"  # a message to the customer about their case


@dataclass(frozen=True, slots=True)
class CaseCard:
    """Everything the desk's card of a case shows (views/returns.py draws it)."""

    case: AfterSalesCase
    order: Order | None
    user: User | None
    decided_by: str | None = None  # the agent's name
    photos: tuple[str, ...] = field(default=())


async def case_card(session: AsyncSession, case_id: int) -> CaseCard | None:
    """The case's card as it is now (read only); None when the case is gone."""
    case = await session.get(AfterSalesCase, case_id, populate_existing=True)
    if case is None:
        await session.rollback()
        return None
    order = await session.get(Order, case.order_id)
    user = await session.get(User, case.user_id)
    who = case.resolved_by or case.decided_by
    agent = await session.get(Agent, who) if who is not None else None
    card = CaseCard(
        case,
        order,
        user,
        agent.name if agent is not None else (str(who) if who else None),
        tuple(case.photos or ()),
    )
    await session.commit()  # ends the read; loaded rows stay usable
    return card


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    REFUND = "refund"


class DecisionOutcome(StrEnum):
    DONE = "done"
    ALREADY = "already"  # another agent (or this one, twice) decided first
    NOT_FOUND = "not_found"
    NOT_AGENT = "not_agent"  # only registered agents (and admins) decide


# Which status a decision needs, and which it leaves.
_MOVES = {
    Decision.APPROVE: (CaseStatus.OPEN, CaseStatus.APPROVED),
    Decision.REJECT: (CaseStatus.OPEN, CaseStatus.REJECTED),
    Decision.REFUND: (CaseStatus.APPROVED, CaseStatus.REFUNDED),
}


@dataclass(frozen=True, slots=True)
class Decided:
    outcome: DecisionOutcome
    card: CaseCard | None = None  # DONE and ALREADY: the card as it is now


async def canned_instructions(
    session: AsyncSession, case_id: int, agent_id: int, shop_name: str
) -> str | None:
    """The canned return instructions in the case's language, filled in; None when there are
    none (or they need a value this case lacks): the customer gets the general ones."""
    case = await session.get(AfterSalesCase, case_id)
    if case is None:
        return None
    canned = await replies.find(session, key=INSTRUCTIONS_KEY, lang=case.lang)
    if canned is None:
        return None
    customer = await session.get(User, case.user_id)
    agent = await session.get(Agent, agent_id)
    values: dict[str, str | None] = {
        "name": customer.first_name if customer is not None else None,
        "order": case.order_id,
        "agent": agent.name if agent is not None else None,
        "ticket": str(case.id),
        "shop": shop_name or None,
    }
    try:
        return render(canned.text, values)
    except (MissingVariable, UnknownVariable):
        return None


async def may_decide(session: AsyncSession, desk: DeskPolicy, agent_id: int) -> bool:
    """A registered agent (one the desk has seen act) or an admin."""
    if agent_id in desk.admin_ids:
        return True
    return await session.get(Agent, agent_id) is not None


async def decide(
    session: AsyncSession,
    desk: DeskPolicy,
    *,
    case_id: int,
    decision: Decision,
    agent_id: int,
    now: datetime,
    instructions: str | None = None,
    reject_reason: str | None = None,
    shop_name: str = "",
) -> Decided:
    """Approve (with the return instructions), reject (with one of REJECT_REASONS) or mark
    refunded: once each, by a conditional UPDATE on the status; the customer is told through
    the outbox in their language. Commits."""
    if not await may_decide(session, desk, agent_id):
        await session.rollback()
        return Decided(DecisionOutcome.NOT_AGENT)
    if decision is Decision.APPROVE and instructions is None:
        instructions = await canned_instructions(session, case_id, agent_id, shop_name)
    before, after = _MOVES[decision]
    values: dict[str, object] = {"status": after.value}
    note_args: dict[str, str | int] = {"id": case_id}
    if decision is Decision.REFUND:
        values |= {"resolved_at": now, "resolved_by": agent_id}
    else:
        values |= {"decided_at": now, "decided_by": agent_id}
    if decision is Decision.APPROVE:
        values["instructions"] = (instructions or "").strip()[:2000] or None
    if decision is Decision.REJECT:
        reason = reject_reason if reject_reason in REJECT_REASONS else "other"
        values["reject_reason"] = reason
    done = await session.execute(
        update(AfterSalesCase)
        .where(AfterSalesCase.id == case_id, AfterSalesCase.status == before.value)
        .values(**values)
        .returning(AfterSalesCase.user_id, AfterSalesCase.lang)
    )
    row = done.first()
    if row is None:
        await session.rollback()
        card = await case_card(session, case_id)
        outcome = DecisionOutcome.NOT_FOUND if card is None else DecisionOutcome.ALREADY
        return Decided(outcome, card)
    user_id = int(row.user_id)
    if decision is Decision.APPROVE:
        note_args["instructions"] = str(values["instructions"] or "")
    if decision is Decision.REJECT:
        note_args["reason"] = str(values["reject_reason"])
    await outbox.enqueue(
        session,
        kind=ReturnKind.NOTE,
        lane=customer_lane(user_id),
        chat_id=user_id,
        payload={"case_id": case_id, "event": after.value, "lang": row.lang, "args": note_args},
        dedupe_key=f"return:{case_id}:{after.value}",
        now=now,
    )
    await session.commit()
    return Decided(DecisionOutcome.DONE, await case_card(session, case_id))
