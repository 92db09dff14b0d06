"""Returns and exchanges (orders.returns) on SQLite and PostgreSQL: who may return what, one
active case per order (held by the database), and each agent decision once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from orders import returns
from orders.returns import (
    CaseStatus,
    Decision,
    DecisionOutcome,
    Reason,
    Refusal,
    Resolution,
    ReturnKind,
    ReturnPolicy,
    ReturnRequest,
    eligibility,
)
from storage.models import AfterSalesCase, Agent, CannedReply, Order, OutboxMessage, User
from support.tickets import DeskPolicy
from tests.conftest import T0
from tests.db_helpers import count, race, rows

CUSTOMER, STRANGER, AGENT, ADMIN = 11, 12, 21, 99
DESK = DeskPolicy(chat_id=-100500, admin_ids=(ADMIN,))
POLICY = ReturnPolicy()
DELIVERED = T0 - timedelta(days=2)


def order(order_id: str, **fields: object) -> Order:
    values: dict[str, object] = {
        "telegram_id": CUSTOMER,
        "status": "delivered",
        "items": "Linen shirt M x1",
        "amount_minor": 19900,
        "currency": "CNY",
        "delivered_at": DELIVERED,
        "created_at": T0 - timedelta(days=5),
        "updated_at": DELIVERED,
    }
    values.update(fields)
    return Order(order_id=order_id, **values)


async def setup(session: AsyncSession, *orders: Order) -> None:
    for uid in (CUSTOMER, STRANGER):
        session.add(User(id=uid, first_name=f"u{uid}", first_seen=T0, last_seen=T0))
    session.add(Agent(user_id=AGENT, name="Amy", created_at=T0))
    await session.flush()
    session.add_all(orders)
    await session.commit()


def request(order_id: str = "A1", **fields: object) -> ReturnRequest:
    values: dict[str, object] = {
        "order_id": order_id,
        "items": "all",
        "reason": Reason.NO_REASON,
        "resolution": Resolution.REFUND,
    }
    values.update(fields)
    return ReturnRequest(**values)  # type: ignore[arg-type]


async def open_one(
    session: AsyncSession, order_id: str = "A1", **fields: object
) -> returns.Opened:
    return await returns.open_case(
        session, POLICY, DESK, request(order_id, **fields), user_id=CUSTOMER, lang="en", now=T0
    )


# --- the policy (pure) ---------------------------------------------------------------------


def test_no_reason_returns_are_open_for_the_window_after_delivery() -> None:
    o = order("A1")
    assert eligibility(o, Reason.NO_REASON, T0, POLICY).ok
    assert eligibility(o, Reason.NO_REASON, T0, POLICY).deadline == DELIVERED + timedelta(days=7)
    late = DELIVERED + timedelta(days=7, seconds=1)
    assert eligibility(o, Reason.NO_REASON, late, POLICY).refusal is Refusal.WINDOW_PASSED
    assert eligibility(o, Reason.SIZE, late, POLICY).refusal is Refusal.WINDOW_PASSED
    # Quality and wrong item have their own, longer window.
    assert eligibility(o, Reason.QUALITY, late, POLICY).ok
    far = DELIVERED + timedelta(days=16)
    assert eligibility(o, Reason.WRONG_ITEM, far, POLICY).refusal is Refusal.WINDOW_PASSED


def test_a_delivered_order_without_a_time_counts_from_the_report() -> None:
    o = order("A1", delivered_at=None, updated_at=T0 - timedelta(days=8))
    assert eligibility(o, Reason.SIZE, T0, POLICY).refusal is Refusal.WINDOW_PASSED


@pytest.mark.parametrize("status", ["pending", "paid", "shipped", "cancelled", "refunded"])
def test_only_delivered_orders_are_returned(status: str) -> None:
    o = order("A1", status=status)
    assert eligibility(o, Reason.QUALITY, T0, POLICY).refusal is Refusal.WRONG_STATUS


def test_not_received_needs_a_shipped_order_past_its_eta() -> None:
    shipped = order("A1", status="in_transit", delivered_at=None, eta=T0 - timedelta(hours=1))
    assert eligibility(shipped, Reason.NOT_RECEIVED, T0, POLICY).ok
    early = order("A1", status="shipped", delivered_at=None, eta=T0 + timedelta(days=1))
    assert eligibility(early, Reason.NOT_RECEIVED, T0, POLICY).refusal is Refusal.NOT_LATE
    no_eta = order("A1", status="shipped", delivered_at=None, eta=None)
    assert eligibility(no_eta, Reason.NOT_RECEIVED, T0, POLICY).refusal is Refusal.NOT_LATE
    delivered = order("A1")
    assert eligibility(delivered, Reason.NOT_RECEIVED, T0, POLICY).refusal is Refusal.WRONG_STATUS


def test_an_open_case_comes_first() -> None:
    o = order("A1")
    assert eligibility(o, Reason.SIZE, T0, POLICY, case_open=True).refusal is Refusal.CASE_OPEN


def test_settings_are_read_strictly() -> None:
    assert returns.parse_reasons(" quality , size ") == {Reason.QUALITY, Reason.SIZE}
    assert returns.parse_reasons("") == frozenset()
    with pytest.raises(ValueError, match="unknown reason 'broken'"):
        returns.parse_reasons("quality,broken")
    assert returns.parse_statuses("shipped, in_transit") == {"shipped", "in_transit"}
    with pytest.raises(ValueError, match="unknown order status 'lost'"):
        returns.parse_statuses("lost")
    with pytest.raises(ValueError, match="at least one"):
        returns.parse_statuses(" , ")


# --- opening a case ------------------------------------------------------------------------


async def test_a_case_is_opened_with_its_desk_card_in_one_transaction(
    session: AsyncSession,
) -> None:
    await setup(session, order("A1"))
    opened = await open_one(session, resolution=Resolution.EXCHANGE, new_size="  L  ")
    assert opened.ok
    [case] = await rows(session, AfterSalesCase)
    assert (case.order_id, case.user_id, case.status) == ("A1", CUSTOMER, "open")
    assert (case.resolution, case.new_size, case.lang) == ("exchange", "L", "en")
    [card] = await rows(session, OutboxMessage)
    assert (card.kind, card.lane, card.chat_id) == (ReturnKind.CARD, f"t:{CUSTOMER}", -100500)
    assert card.payload == {"case_id": opened.case_id}


async def test_someone_elses_order_is_not_found(session: AsyncSession) -> None:
    await setup(session, order("A1", telegram_id=STRANGER))
    assert (await open_one(session)).refusal is Refusal.NOT_FOUND
    assert (await returns.pick_order(session, CUSTOMER, "A1")).order is None
    assert await count(session, AfterSalesCase) == 0


async def test_photos_are_needed_for_quality(session: AsyncSession) -> None:
    await setup(session, order("A1"))
    assert (await open_one(session, reason=Reason.QUALITY)).refusal is Refusal.PHOTOS_NEEDED
    opened = await open_one(session, reason=Reason.QUALITY, photos=("f1", "f1", "f2"))
    assert opened.ok
    [case] = await rows(session, AfterSalesCase)
    assert case.photos == ["f1", "f2"]


async def test_the_window_is_checked_again_when_opening(session: AsyncSession) -> None:
    await setup(session, order("A1", delivered_at=T0 - timedelta(days=9)))
    assert (await open_one(session)).refusal is Refusal.WINDOW_PASSED
    assert await count(session, OutboxMessage) == 0


async def test_one_active_case_per_order(session: AsyncSession) -> None:
    await setup(session, order("A1"))
    first = await open_one(session)
    assert first.ok
    assert (await open_one(session, reason=Reason.SIZE)).refusal is Refusal.CASE_OPEN
    assert (await returns.pick_order(session, CUSTOMER, "A1")).refusal is Refusal.CASE_OPEN
    # A rejected case frees the order.
    assert first.case_id is not None
    rejected = await returns.decide(
        session, DESK, case_id=first.case_id, decision=Decision.REJECT, agent_id=AGENT, now=T0
    )
    assert rejected.outcome is DecisionOutcome.DONE
    assert (await open_one(session, reason=Reason.SIZE)).ok


async def test_the_database_holds_one_active_case_per_order(session: AsyncSession) -> None:
    """Even a writer that skips the check cannot add a second open case."""
    await setup(session, order("A1"))
    assert (await open_one(session)).ok
    session.add(
        AfterSalesCase(
            order_id="A1",
            user_id=CUSTOMER,
            lang="en",
            items="x",
            reason="size",
            resolution="refund",
            status="approved",
            created_at=T0,
        )
    )
    with pytest.raises(IntegrityError):
        await session.commit()
    await session.rollback()


async def test_two_requests_at_once_open_one_case(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    await setup(session, order("A1"))

    async def attempt() -> returns.Opened:
        async with session_factory() as s:
            return await returns.open_case(
                s, POLICY, DESK, request(), user_id=CUSTOMER, lang="en", now=T0
            )

    lock = select(Order).where(Order.order_id == "A1").with_for_update()
    # Each read "no case yet" before either wrote: only the unique index tells them apart.
    results = await race(engine, lock, attempt, attempt)
    assert sorted(r.ok for r in results) == [False, True]
    assert [r.refusal for r in results if not r.ok] == [Refusal.CASE_OPEN]
    assert await count(session, AfterSalesCase) == 1
    assert await count(session, OutboxMessage) == 1


# --- agents --------------------------------------------------------------------------------


async def decide(session: AsyncSession, case_id: int, decision: Decision, **kw: object) -> object:
    agent = kw.pop("agent_id", AGENT)
    result = await returns.decide(
        session,
        DESK,
        case_id=case_id,
        decision=decision,
        agent_id=agent,  # type: ignore[arg-type]
        now=T0,
        **kw,  # type: ignore[arg-type]
    )
    return result.outcome


async def test_approve_then_refund_once_each_and_the_customer_is_told(
    session: AsyncSession,
) -> None:
    await setup(session, order("A1"))
    case_id = (await open_one(session)).case_id
    assert case_id is not None
    assert await decide(session, case_id, Decision.REFUND) is DecisionOutcome.ALREADY
    assert await decide(session, case_id, Decision.APPROVE) is DecisionOutcome.DONE
    assert await decide(session, case_id, Decision.APPROVE) is DecisionOutcome.ALREADY
    assert await decide(session, case_id, Decision.REJECT) is DecisionOutcome.ALREADY
    assert await decide(session, case_id, Decision.REFUND) is DecisionOutcome.DONE
    assert await decide(session, case_id, Decision.REFUND) is DecisionOutcome.ALREADY
    [case] = await rows(session, AfterSalesCase)
    assert case.status == CaseStatus.REFUNDED
    assert (case.decided_by, case.resolved_by) == (AGENT, AGENT)
    assert case.instructions is None  # no canned instructions: the general ones are sent
    notes = await rows(session, OutboxMessage, OutboxMessage.kind == ReturnKind.NOTE)
    assert [(n.chat_id, (n.payload or {})["event"], (n.payload or {})["lang"]) for n in notes] == [
        (CUSTOMER, "approved", "en"),
        (CUSTOMER, "refunded", "en"),
    ]


async def test_reject_once_with_a_reason(session: AsyncSession) -> None:
    await setup(session, order("A1"))
    case_id = (await open_one(session)).case_id
    assert case_id is not None
    assert (
        await decide(session, case_id, Decision.REJECT, reject_reason="used")
        is DecisionOutcome.DONE
    )
    assert await decide(session, case_id, Decision.REJECT) is DecisionOutcome.ALREADY
    assert await decide(session, case_id, Decision.APPROVE) is DecisionOutcome.ALREADY
    [case] = await rows(session, AfterSalesCase)
    assert (case.status, case.reject_reason) == ("rejected", "used")
    [note] = await rows(session, OutboxMessage, OutboxMessage.kind == ReturnKind.NOTE)
    assert (note.payload or {})["args"]["reason"] == "used"


async def test_a_forged_reject_reason_is_other(session: AsyncSession) -> None:
    await setup(session, order("A1"))
    case_id = (await open_one(session)).case_id
    assert case_id is not None
    await decide(session, case_id, Decision.REJECT, reject_reason="<b>lol</b>")
    [case] = await rows(session, AfterSalesCase)
    assert case.reject_reason == "other"


async def test_approval_sends_the_canned_instructions_in_the_customers_language(
    session: AsyncSession,
) -> None:
    await setup(session, order("A1"))
    session.add_all(
        [
            CannedReply(
                key="return_instructions",
                lang="en",
                text="Send {order} to Dock 5, {shop}. Case {ticket}.",
                created_by=ADMIN,
                created_at=T0,
                updated_at=T0,
            ),
            CannedReply(
                key="return_instructions",
                lang="zh",
                text="寄回 5 号仓",
                created_by=ADMIN,
                created_at=T0,
                updated_at=T0,
            ),
        ]
    )
    await session.commit()
    case_id = (await open_one(session)).case_id
    assert case_id is not None
    outcome = await decide(session, case_id, Decision.APPROVE, shop_name="Linen Co")
    assert outcome is DecisionOutcome.DONE
    [case] = await rows(session, AfterSalesCase)
    assert case.instructions == f"Send A1 to Dock 5, Linen Co. Case {case_id}."
    [note] = await rows(session, OutboxMessage, OutboxMessage.kind == ReturnKind.NOTE)
    assert (note.payload or {})["args"]["instructions"] == case.instructions


async def test_only_agents_and_admins_decide(session: AsyncSession) -> None:
    await setup(session, order("A1"), order("A2"))
    case_id = (await open_one(session)).case_id
    assert case_id is not None
    outcome = await decide(session, case_id, Decision.APPROVE, agent_id=STRANGER)
    assert outcome is DecisionOutcome.NOT_AGENT
    assert await decide(session, 10_000, Decision.APPROVE) is DecisionOutcome.NOT_FOUND
    outcome = await decide(session, case_id, Decision.APPROVE, agent_id=ADMIN)
    assert outcome is DecisionOutcome.DONE


async def test_two_agents_approving_at_once_approve_once(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    await setup(session, order("A1"))
    case_id = (await open_one(session)).case_id
    assert case_id is not None

    async def approve() -> DecisionOutcome:
        async with session_factory() as s:
            result = await returns.decide(
                s, DESK, case_id=case_id, decision=Decision.APPROVE, agent_id=AGENT, now=T0
            )
            return result.outcome

    lock = select(AfterSalesCase).where(AfterSalesCase.id == case_id).with_for_update()
    outcomes = await race(engine, lock, approve, approve)
    assert sorted(outcomes) == [DecisionOutcome.ALREADY, DecisionOutcome.DONE]
    assert await count(session, OutboxMessage, OutboxMessage.kind == ReturnKind.NOTE) == 1


async def test_the_customers_cases_newest_first(session: AsyncSession) -> None:
    await setup(session, order("A1"), order("A2"), order("B1", telegram_id=STRANGER))
    await open_one(session)
    await open_one(session, order_id="A2", reason=Reason.SIZE)
    await returns.open_case(
        session, POLICY, DESK, request("B1"), user_id=STRANGER, lang="en", now=T0
    )
    lines = await returns.cases_of(session, CUSTOMER)
    assert [(c.order_id, c.status) for c in lines] == [("A2", "open"), ("A1", "open")]
