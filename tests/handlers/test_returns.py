"""Returns and exchanges through the production Dispatcher and the outbox sender: the
customer's dialogue, the case card in the support group and the agents' buttons."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiogram.exceptions import TelegramBadRequest
from sqlalchemy import select

from bot.local import ChatClient, Outgoing
from faq import KnowledgeBase, Matcher
from orders import returns
from orders.returns import REJECT_REASONS, CaseStatus, Reason, Refusal, Resolution
from storage.models import AfterSalesCase, Order, OutboxMessage, Ticket
from tests.conftest import Clock
from tests.handlers.test_support_desk import AGENT, ANY_CALL, SUPPORT, Desk, build_desk
from views.returns import CaseAction, ReturnForm, ReturnStart
from views.texts import Catalogue

ANN = 5101  # an English-speaking customer
PHOTO = [{"file_id": "ph-small", "file_unique_id": "u1", "width": 90, "height": 90},
         {"file_id": "ph-big", "file_unique_id": "u2", "width": 800, "height": 800}]  # fmt: skip


@pytest.fixture
async def desk(
    tmp_path: Path, kb: KnowledgeBase, matcher: Matcher, catalogue: Catalogue, clock: Clock
) -> AsyncIterator[Desk]:
    async for d in build_desk(tmp_path, kb, matcher, catalogue, clock):
        yield d


@pytest.fixture
def ann(desk: Desk) -> ChatClient:
    c = desk.customer
    return ChatClient(
        c.dp, c.bot, desk.local, user_id=ANN, first_name="Ann", first_update_id=20_000_000
    )


async def add_order(desk: Desk, order_id: str = "A100", **fields: object) -> None:
    now = desk.clock()
    values: dict[str, object] = {
        "telegram_id": ANN,
        "status": "delivered",
        "items": "Linen shirt M x1",
        "amount_minor": 19900,
        "currency": "CNY",
        "delivered_at": now - timedelta(days=2),
        "created_at": now - timedelta(days=5),
        "updated_at": now - timedelta(days=2),
    }
    values.update(fields)
    async with desk.app.session_factory() as s:
        s.add(Order(order_id=order_id, **values))
        await s.commit()


async def cases(desk: Desk) -> list[AfterSalesCase]:
    async with desk.app.session_factory() as s:
        return list(await s.scalars(select(AfterSalesCase).order_by(AfterSalesCase.id)))


def texts_of(out: list[Outgoing]) -> str:
    return "\n".join(o.text or "" for o in out)


def en(catalogue: Catalogue, key: str, **args: object) -> str:
    return catalogue.get("en", key, **args)


async def start(ann: ChatClient, order_id: str = "A100") -> list[Outgoing]:
    await ann.send("/return")
    return await ann.click(order_id)


async def test_the_whole_dialogue_to_an_approved_and_refunded_case(
    desk: Desk, ann: ChatClient, catalogue: Catalogue
) -> None:
    await add_order(desk)
    out = await ann.send("/return")
    assert en(catalogue, "returns-intro") in texts_of(out)
    out = await ann.click("A100")
    assert "Linen shirt M x1" in texts_of(out)
    out = await ann.click("All items")
    assert en(catalogue, "returns-ask-reason") in texts_of(out)
    out = await ann.click("Quality")
    assert en(catalogue, "returns-ask-photos", max=10) in texts_of(out)
    # A sticker is no photo: asked again, politely; Done without a photo is refused.
    out = await ann.send_content(sticker={"file_id": "st1", "file_unique_id": "s1",
                                          "type": "regular", "width": 1, "height": 1,
                                          "is_animated": False, "is_video": False})  # fmt: skip
    assert texts_of(out) == en(catalogue, "returns-photo-needed")
    out = await ann.click("Done")
    assert out[0].show_alert and out[0].text == en(catalogue, "returns-photos-required")
    out = await ann.send("it is torn")
    assert texts_of(out) == en(catalogue, "returns-photo-needed")
    # An album of two: kept both, answered once.
    second = [dict(p, file_id=f"{p['file_id']}-2") for p in PHOTO]
    out = await ann.send_album([{"photo": PHOTO}, {"photo": second}], media_group_id="alb1")
    assert texts_of(out) == en(catalogue, "returns-photo-received", count=1)
    out = await ann.click("Done")
    assert en(catalogue, "returns-ask-resolution") in texts_of(out)
    out = await ann.click("Exchange")
    assert en(catalogue, "returns-ask-new-size") in texts_of(out)
    out = await ann.send("L")
    summary = texts_of(out)
    assert "Order: A100" in summary and "New size / variant: L" in summary
    assert "Photos: 2" in summary
    out = await ann.click("Send the request")
    [case] = await cases(desk)
    assert en(catalogue, "returns-opened", id=case.id) in texts_of(out)
    assert (case.order_id, case.user_id, case.reason, case.resolution) == (
        "A100", ANN, "quality", "exchange"
    )  # fmt: skip
    assert (case.new_size, case.photos, case.items, case.lang) == (
        "L", ["ph-big", "ph-big-2"], "Linen shirt M x1", "en"
    )  # fmt: skip
    # A second tap on the confirm button opens nothing more.
    out = await ann.press(ReturnForm(action="confirm").pack())
    assert out[0].text == en(catalogue, "returns-step-over")
    assert len(await cases(desk)) == 1

    # The desk: the photos, then the card with the agents' buttons, in the customer's topic.
    sent = await desk.flush()
    methods = [o.method for o in sent]
    assert methods == ["createForumTopic", "sendMediaGroup", "sendMessage"]
    card = sent[-1]
    assert card.chat_id == SUPPORT and f"#{case.id}" in (card.text or "")
    assert "A100" in (card.text or "") and "L" in (card.text or "")
    assert card.request.message_thread_id == await desk.thread(ANN)
    assert [m.media for m in sent[1].request.media] == ["ph-big", "ph-big-2"]
    approve = next(b for b in card.buttons if "approve" in (b.callback_data or ""))

    # Someone the desk has never seen cannot decide; a registered agent can, once.
    out = await desk.agent.press(approve.callback_data or "", message_id=card.message_id)
    assert out[0].show_alert and "/online" in (out[0].text or "")
    await desk.agent.send("/online")
    out = await desk.agent.press(approve.callback_data or "", message_id=card.message_id)
    assert not out[0].show_alert
    edited = [o for o in out if o.method == "editMessageText"]
    assert edited and [b.callback_data for b in edited[0].buttons] == [
        CaseAction(case=case.id, action="refund").pack()
    ]
    out = await desk.agent_b.press(approve.callback_data or "", message_id=card.message_id)
    assert out[0].show_alert  # already approved
    sent = await desk.flush()
    notes = [o for o in sent if o.chat_id == ANN]
    assert len(notes) == 1
    assert en(catalogue, "returns-instructions-default") in (notes[0].text or "")
    assert f"#{case.id}" in (notes[0].text or "")

    # Exchange sent: once.
    refund = CaseAction(case=case.id, action="refund").pack()
    out = await desk.agent.press(refund, message_id=card.message_id)
    assert not out[0].show_alert
    out = await desk.agent.press(refund, message_id=card.message_id)
    assert out[0].show_alert
    sent = await desk.flush()
    assert [o.text for o in sent if o.chat_id == ANN] == [
        en(catalogue, "returns-note-exchanged", id=case.id)
    ]
    [case] = await cases(desk)
    assert case.status == CaseStatus.REFUNDED and case.decided_by == AGENT

    # The customer follows it.
    out = await ann.send("/return status")
    assert en(catalogue, "returns-state-refunded") in texts_of(out)


async def test_reject_with_a_reason_once(
    desk: Desk, ann: ChatClient, catalogue: Catalogue
) -> None:
    await add_order(desk)
    await start(ann)
    await ann.click("All items")
    await ann.click("Changed my mind")
    await ann.click("Refund")
    await ann.click("Send the request")
    [case] = await cases(desk)
    card = (await desk.flush())[-1]
    await desk.agent.send("/online")
    out = await desk.agent.press(
        CaseAction(case=case.id, action="reject").pack(), message_id=card.message_id
    )
    reasons = [o for o in out if o.method == "editMessageReplyMarkup"][0].buttons
    assert len(reasons) == len(REJECT_REASONS) + 1  # and Back
    why = CaseAction(case=case.id, action="why", reason="used").pack()
    out = await desk.agent.press(why, message_id=card.message_id)
    assert not out[0].show_alert
    out = await desk.agent.press(why, message_id=card.message_id)
    assert out[0].show_alert
    approve = CaseAction(case=case.id, action="approve").pack()
    out = await desk.agent.press(approve, message_id=card.message_id)
    assert out[0].show_alert
    sent = await desk.flush()
    [note] = [o for o in sent if o.chat_id == ANN]
    assert en(catalogue, "returns-reject-used") in (note.text or "")
    [case] = await cases(desk)
    assert (case.status, case.reject_reason) == ("rejected", "used")


async def test_window_passed_is_told_why_with_a_human_button(
    desk: Desk, ann: ChatClient, catalogue: Catalogue
) -> None:
    delivered = desk.clock() - timedelta(days=10)
    await add_order(desk, delivered_at=delivered)
    await start(ann)
    await ann.click("All items")
    out = await ann.click("Wrong size")
    deadline = (delivered + timedelta(days=7)).strftime("%Y-%m-%d")
    text = texts_of(out)
    assert en(catalogue, "returns-refused-window_passed", deadline=deadline) in text
    assert [b.text for b in out[-1].buttons] == [en(catalogue, "btn-human")]
    assert await cases(desk) == []
    # The button is the desk's own handoff.
    out = await ann.click(en(catalogue, "btn-human"))
    assert await desk.count(AfterSalesCase) == 0
    assert await desk.count(Ticket, Ticket.user_id == ANN) == 1


async def test_wrong_status_is_told_why(desk: Desk, ann: ChatClient, catalogue: Catalogue) -> None:
    await add_order(desk, status="paid", delivered_at=None)
    await start(ann)
    await ann.click("All items")
    out = await ann.click("Changed my mind")
    assert en(catalogue, "returns-refused-wrong_status") in texts_of(out)
    assert out[-1].buttons[0].text == en(catalogue, "btn-human")
    # "Not received" before the expected date: told when to come back.
    eta = desk.clock() + timedelta(days=2)
    await add_order(desk, "A200", status="in_transit", delivered_at=None, eta=eta)
    await start(ann, "A200")
    await ann.click("All items")
    out = await ann.click("Not received")
    deadline = eta.strftime("%Y-%m-%d")
    assert en(catalogue, "returns-refused-not_late", deadline=deadline) in texts_of(out)


async def test_not_received_past_the_eta_needs_no_photos(desk: Desk, ann: ChatClient) -> None:
    eta = desk.clock() - timedelta(days=1)
    await add_order(desk, status="in_transit", delivered_at=None, eta=eta)
    await start(ann)
    await ann.send("the whole parcel")
    await ann.click("Not received")
    await ann.click("Refund")
    await ann.click("Send the request")
    [case] = await cases(desk)
    assert (case.reason, case.items, case.photos) == ("not_received", "the whole parcel", None)


async def test_a_forged_order_gets_i_cant_find_it(
    desk: Desk, ann: ChatClient, catalogue: Catalogue
) -> None:
    await add_order(desk, "B1", telegram_id=999)
    out = await ann.press(ReturnStart(order="B1").pack())
    assert out[0].show_alert and out[0].text == en(catalogue, "returns-not-your-order")
    out = await ann.press(ReturnStart(order="NOPE").pack())
    assert out[0].text == en(catalogue, "returns-not-your-order")
    out = await ann.press("rc:abc:approve:")  # a case button that does not unpack
    assert out[0].text == en(catalogue, "stale-button")
    out = await ann.press("rf:reason:everything")  # no dialogue
    assert out[0].text == en(catalogue, "returns-step-over")
    assert await cases(desk) == []


async def test_a_second_case_for_the_same_order_is_refused(
    desk: Desk, ann: ChatClient, catalogue: Catalogue
) -> None:
    await add_order(desk)
    await start(ann)
    await ann.click("All items")
    await ann.click("Changed my mind")
    await ann.click("Refund")
    # A second dialogue for the same order, started before the first was sent.
    await ann.click("Send the request")
    out = await start(ann)
    assert en(catalogue, "returns-refused-case_open") in texts_of(out)
    assert len(await cases(desk)) == 1


async def test_a_case_opened_meanwhile_refuses_the_confirm(
    desk: Desk, ann: ChatClient, catalogue: Catalogue
) -> None:
    """The reason step passed, then a case for the order appeared (another replica): the
    confirm is checked again and told why. (Two inserts racing past that check are refused
    by the unique index: tests/orders/test_returns.py races them on PostgreSQL.)"""
    await add_order(desk)
    await start(ann)
    await ann.click("All items")
    await ann.click("Changed my mind")
    await ann.click("Refund")
    # Another replica opened a case for the order meanwhile (straight into the table).
    async with desk.app.session_factory() as s:
        s.add(
            AfterSalesCase(
                order_id="A100", user_id=ANN, lang="en", items="x", reason="size",
                resolution="refund", status="open", created_at=desk.clock(),
            )
        )  # fmt: skip
        await s.commit()
    out = await ann.click("Send the request")
    assert en(catalogue, "returns-refused-case_open") in texts_of(out)
    assert len(await cases(desk)) == 1


async def test_cancel_leaves_at_any_step(
    desk: Desk, ann: ChatClient, catalogue: Catalogue
) -> None:
    await add_order(desk)
    await start(ann)
    out = await ann.send("/cancel")
    assert texts_of(out) == en(catalogue, "returns-cancelled")
    await start(ann)
    await ann.click("All items")
    await ann.click("Quality")
    out = await ann.click("Cancel")
    assert en(catalogue, "returns-cancelled") in texts_of(out)
    # Out of the dialogue, text goes to the FAQ again (not taken as a photo re-ask).
    out = await ann.send("hello")
    assert en(catalogue, "returns-photo-needed") not in texts_of(out)
    async with desk.app.session_factory() as s:
        assert await s.scalar(select(OutboxMessage.id).limit(1)) is None


async def test_button_steps_want_buttons_and_other_commands_leave(
    desk: Desk, ann: ChatClient, catalogue: Catalogue
) -> None:
    await add_order(desk)
    await start(ann)
    await ann.click("All items")
    out = await ann.send("quality please")
    assert texts_of(out) == en(catalogue, "returns-use-buttons")
    # Another command leaves the dialogue and does what it always does.
    out = await ann.send("/human")
    assert en(catalogue, "returns-use-buttons") not in texts_of(out)
    assert await desk.count(Ticket, Ticket.user_id == ANN) == 1
    out = await ann.press(ReturnForm(action="reason", value="quality").pack())
    assert out[0].text == en(catalogue, "returns-step-over")
    # A menu button in the middle of a text step leaves too (not taken for the items).
    await ann.send("/cancel")
    await start(ann)
    out = await ann.send(en(catalogue, "menu-size"))
    assert en(catalogue, "returns-ask-reason") not in texts_of(out)


async def test_no_orders_offers_a_person(
    desk: Desk, ann: ChatClient, catalogue: Catalogue
) -> None:
    out = await ann.send("/return")
    assert en(catalogue, "returns-no-orders") in texts_of(out)
    assert out[-1].buttons[0].text == en(catalogue, "btn-human")
    out = await ann.send("/return status")
    assert texts_of(out) == en(catalogue, "returns-status-none")


def test_every_dynamic_key_exists(catalogue: Catalogue) -> None:
    keys = catalogue.keys("en")
    dynamic = (
        [f"returns-reason-{r.value}" for r in Reason]
        + [f"returns-resolution-{r.value}" for r in Resolution]
        + [f"returns-state-{s.value}" for s in CaseStatus]
        + [f"case-state-{s.value}" for s in CaseStatus]
        + [f"returns-refused-{r.value}" for r in Refusal]
        + [f"returns-reject-{r}" for r in REJECT_REASONS]
        + [
            f"order-status-{s}"
            for s in (
                "pending",
                "paid",
                "shipped",
                "in-transit",
                "delivered",
                "cancelled",
                "returned",
                "refunded",
            )
        ]  # fmt: skip
    )
    assert set(dynamic) <= keys


async def open_quality_case(ann: ChatClient) -> None:
    await start(ann)
    await ann.click("All items")
    await ann.click("Quality")
    await ann.send_content(photo=PHOTO)
    await ann.click("Done")
    await ann.click("Refund")
    await ann.click("Send the request")


async def test_a_photo_telegram_refuses_does_not_hold_back_the_card(
    desk: Desk, ann: ChatClient
) -> None:
    await add_order(desk)
    await open_quality_case(ann)
    desk.local.fail_next(
        "sendPhoto",
        TelegramBadRequest(method=ANY_CALL, message="Bad Request: wrong file identifier"),
    )
    sent = await desk.flush()
    assert [o.method for o in sent] == ["createForumTopic", "sendPhoto", "sendMessage"]
    assert "照片：1 张" in (sent[-1].text or "")  # the agents read zh here
    assert sent[-1].buttons


async def test_reply_mode_posts_the_card_in_the_group(
    tmp_path: Path, kb: KnowledgeBase, matcher: Matcher, catalogue: Catalogue, clock: Clock
) -> None:
    async for desk in build_desk(tmp_path, kb, matcher, catalogue, clock, mode="reply"):
        c = desk.customer
        ann = ChatClient(c.dp, c.bot, desk.local, user_id=ANN, first_update_id=20_000_000)
        await add_order(desk)
        await open_quality_case(ann)
        sent = await desk.flush()
        assert [o.method for o in sent] == ["sendPhoto", "sendMessage"]
        assert sent[-1].chat_id == SUPPORT
        assert sent[-1].request.message_thread_id is None


async def test_the_database_refuses_a_second_case_the_check_missed(
    desk: Desk, ann: ChatClient, catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As if another replica's case was committed between the check and the insert."""
    await add_order(desk)
    await start(ann)  # the customer is known from here on
    async with desk.app.session_factory() as s:
        s.add(
            AfterSalesCase(
                order_id="A100", user_id=ANN, lang="en", items="x", reason="size",
                resolution="refund", status="approved", created_at=desk.clock(),
            )
        )  # fmt: skip
        await s.commit()

    async def none_active(*_: object) -> bool:
        return False

    monkeypatch.setattr(returns, "_has_active_case", none_active)
    await ann.click("All items")
    await ann.click("Changed my mind")
    await ann.click("Refund")
    out = await ann.click("Send the request")
    assert en(catalogue, "returns-refused-case_open") in texts_of(out)
    assert len(await cases(desk)) == 1
    assert await desk.count(OutboxMessage) == 0


async def test_back_restores_the_card_and_decline_on_a_decided_case_says_so(
    desk: Desk, ann: ChatClient
) -> None:
    await add_order(desk)
    await start(ann)
    await ann.click("All items")
    await ann.click("Changed my mind")
    await ann.click("Refund")
    await ann.click("Send the request")
    [case] = await cases(desk)
    card = (await desk.flush())[-1]
    await desk.agent.send("/online")
    reject = CaseAction(case=case.id, action="reject").pack()
    await desk.agent.press(reject, message_id=card.message_id)
    out = await desk.agent.press(
        CaseAction(case=case.id, action="back").pack(), message_id=card.message_id
    )
    [edit] = [o for o in out if o.method == "editMessageText"]
    assert [b.callback_data for b in edit.buttons] == [b.callback_data for b in card.buttons]
    await desk.agent.press(
        CaseAction(case=case.id, action="approve").pack(), message_id=card.message_id
    )
    # A stale card: Decline now says it was decided, and the card is redrawn.
    out = await desk.agent_b.press(reject, message_id=card.message_id)
    assert out[0].show_alert
    [edit] = [o for o in out if o.method == "editMessageText"]
    assert [b.callback_data for b in edit.buttons] == [
        CaseAction(case=case.id, action="refund").pack()
    ]
    out = await desk.agent.press(
        CaseAction(case=10**6, action="back").pack(), message_id=card.message_id
    )
    assert out[0].show_alert  # no such case
    [case] = await cases(desk)
    assert case.status == "approved"


async def test_dates_are_days_in_the_shops_time_zone(
    desk: Desk, ann: ChatClient, catalogue: Catalogue, clock: Clock
) -> None:
    """The delivery date on the desk's card, the date in "/return status" and the end of
    the return period are days in TIMEZONE (Asia/Shanghai here), as on the order card: at
    20:00 UTC it is already the next day in Shanghai."""
    clock.now = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)  # 11-21 04:00 in Shanghai
    await add_order(desk, delivered_at=clock.now - timedelta(days=2))  # 11-19 in Shanghai
    await start(ann)
    await ann.click("All items")
    await ann.click("Wrong size")
    await ann.click("Refund")
    await ann.click("Send the request")
    sent = await desk.flush()
    card = next(o for o in sent if o.chat_id == SUPPORT and o.method == "sendMessage")
    assert "2026-11-19" in (card.text or ""), card.text
    out = await ann.send("/return status")
    assert " · 2026-11-21 · " in texts_of(out)
    # Delivered 11-10 20:00 UTC (11-11 in Shanghai): the 7 days ended on 11-18 there.
    await add_order(desk, "A200", delivered_at=clock.now - timedelta(days=10))
    await start(ann, "A200")
    await ann.click("All items")
    out = await ann.click("Wrong size")
    text = texts_of(out)
    assert en(catalogue, "returns-refused-window_passed", deadline="2026-11-18") in text, text


async def test_a_card_without_photos_does_not_announce_any(
    desk: Desk, ann: ChatClient, catalogue: Catalogue
) -> None:
    await add_order(desk)
    await start(ann)
    await ann.click("All items")
    await ann.click("Wrong size")
    await ann.click("Refund")
    await ann.click("Send the request")
    sent = await desk.flush()
    assert [o.method for o in sent] == ["createForumTopic", "sendMessage"]
    photos_line = catalogue.get("zh", "case-card-photos", count=0).split("0")[0]  # "📷 照片："
    assert photos_line not in (sent[-1].text or ""), sent[-1].text


async def test_a_case_opens_a_topic_named_after_the_customer(desk: Desk, ann: ChatClient) -> None:
    await add_order(desk)
    await open_quality_case(ann)
    sent = await desk.flush()
    assert sent[0].method == "createForumTopic"
    assert sent[0].request.name == "Ann"  # not the bare id 5101: the customer has no ticket
