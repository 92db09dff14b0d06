"""Broadcasts through the Dispatcher: a manager's /broadcast dialogue to Send, the sends
through the outbox, the progress edits and the report, cancel in flight, /unsubscribe,
the copy guard's override, coupons for the recipients only, and bad or forged input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.local import ChatClient, Outgoing
from campaigns import broadcasts
from campaigns.copyguard import CopyGuard, Hit
from faq import KnowledgeBase, Matcher
from storage.models import (
    AuditEntry,
    Broadcast,
    BroadcastRecipient,
    CouponCode,
    CouponDrop,
    Order,
)
from tests.conftest import Clock
from tests.handlers.test_support_desk import ADMIN, Desk, M, build_desk
from views.texts import Catalogue

BOLD = [{"type": "bold", "offset": 0, "length": 8}]


@pytest.fixture
async def shop(
    tmp_path: Path,
    kb: KnowledgeBase,
    matcher: Matcher,
    catalogue: Catalogue,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Desk]:
    if not CopyGuard().check("the best ever deal"):  # until the real guard lands

        def check(self: CopyGuard, text: str) -> list[Hit]:
            at = text.find("best ever")
            return [] if at < 0 else [Hit("best ever", at, at + 9)]

        def mark(self: CopyGuard, text: str) -> str:
            return text.replace("best ever", "<u><b>best ever</b></u>")

        monkeypatch.setattr(CopyGuard, "check", check)
        monkeypatch.setattr(CopyGuard, "mark", mark)
    async for d in build_desk(tmp_path, kb, matcher, catalogue, clock):
        yield d


def person(shop: Desk, user_id: int, language: str = "en") -> ChatClient:
    return ChatClient(
        shop.customer.dp, shop.customer.bot, shop.local, user_id=user_id,
        first_name=f"P{user_id}", language_code=language, first_update_id=(100 + user_id) * M,
    )  # fmt: skip


def admin(shop: Desk) -> ChatClient:
    return person(shop, ADMIN)


async def subscribers(shop: Desk, *ids: int) -> list[ChatClient]:
    people = [person(shop, i, "zh" if i % 2 else "en") for i in ids]
    for p in people:
        await p.send("/start")
    await shop.flush()
    return people


def texts_of(out: list[Outgoing]) -> str:
    return "\n".join(o.text or "" for o in out)


async def compose(
    shop: Desk, text: str = "Big sale today", *, coupon: str | None = None
) -> tuple[ChatClient, list[Outgoing]]:
    """/broadcast to the preview: bold text, one link button, the coupon or Skip, all."""
    boss = admin(shop)
    assert "New broadcast" in texts_of(await boss.send("/broadcast"))
    asked = await boss.send_content(text=text, entities=BOLD)
    assert "link buttons" in texts_of(asked)
    assert "Attach a coupon" in texts_of(await boss.send("Shop now - https://shop.example/sale"))
    if coupon is None:
        screen = await boss.click("Skip")
    else:
        screen = await boss.send(coupon)
    assert "Who gets it?" in texts_of(screen)
    preview = await boss.click("Preview")
    return boss, preview


async def tick(shop: Desk) -> list[int]:
    async with shop.app.session_factory() as s:
        return await broadcasts.tick(s, now=shop.clock())


async def test_the_dialogue_sends_with_progress_and_a_final_report(shop: Desk) -> None:
    leaving = (await subscribers(shop, 11, 12, 13))[2]
    assert "已退订" in texts_of(await leaving.send("/unsubscribe"))
    assert "已经退订" in texts_of(await leaving.send("/unsubscribe"))

    boss, preview = await compose(shop)
    shown = preview[0]
    assert shown.chat_id == ADMIN and "<b>Big sale</b> today" in (shown.text or "")
    assert shown.buttons[0].url == "https://shop.example/sale"
    assert "3 subscriber(s)" in texts_of(
        preview
    )  # the admin too and "found nothing" in texts_of(preview)

    started = await boss.click("Send")
    edit = next(o for o in started if o.method == "editMessageText")
    assert "Broadcast #1: 3 recipient(s) queued" in (edit.text or "")
    assert edit.buttons[0].text.startswith("⛔")
    assert await tick(shop) == []  # the first progress edit is queued
    sent = await shop.flush()
    got = {o.chat_id: o for o in sent if o.method == "sendMessage"}
    assert set(got) == {11, 12, ADMIN}  # 13 unsubscribed
    assert "<b>Big sale</b>" in (got[11].text or "") and "/unsubscribe" in (got[11].text or "")
    assert "不想再收到" in (got[11].text or "") and "Don't want" in (got[12].text or "")
    progress = [o for o in sent if o.method == "editMessageText" and o.chat_id == ADMIN]
    assert progress and "sending" in (progress[0].text or "")

    assert await tick(shop) == [1]
    report = [o for o in await shop.flush() if o.chat_id == ADMIN]
    assert len(report) == 1 and report[0].method == "editMessageText"
    assert "finished" in (report[0].text or "") and "sent 3" in (report[0].text or "")
    assert not report[0].buttons
    assert await tick(shop) == [] and await shop.flush() == []  # reported once

    listing = await boss.send("/broadcasts")
    assert "#1" in texts_of(listing) and "sent 3 / 3" in texts_of(listing)
    assert "Big sale today" in texts_of(listing)

    # /subscribe brings a user back.
    assert "subscribed again" not in texts_of(await leaving.send("/subscribe"))
    assert await shop.count(BroadcastRecipient) == 3


async def test_cancel_in_flight_stops_the_rest_and_reports(shop: Desk) -> None:
    await subscribers(shop, 21, 22, 23)
    boss, _ = await compose(shop)
    await boss.click("Send")
    confirm = await boss.click("Cancel the broadcast")
    assert "Stop broadcast #1?" in texts_of(confirm)
    kept = await boss.click("Keep sending")
    assert "keeps going" in texts_of(kept)
    yes = confirm[-1].buttons[0].callback_data or ""
    assert "stopped" in texts_of(await boss.press(yes))
    assert "already finished" in texts_of(await boss.press(yes))
    sent = await shop.flush()
    assert not [o for o in sent if o.chat_id in (21, 22, 23)]
    assert await tick(shop) == [1]
    report = [o for o in await shop.flush() if o.chat_id == ADMIN]
    assert "cancelled" in (report[-1].text or "") and "not sent (cancelled) 4" in (
        report[-1].text or ""
    )
    async with shop.app.session_factory() as s:
        audit = list(await s.scalars(select(AuditEntry.action)))
    assert audit == ["broadcast_cancel"]


async def test_the_copy_guard_holds_the_send_until_an_override_logged(shop: Desk) -> None:
    await subscribers(shop, 31)
    boss, preview = await compose(shop, "The best ever sale")
    summary = texts_of(preview)
    assert "<u><b>" in summary and "best" in summary
    verdict = next(o for o in preview if "copy guard" in (o.text or ""))
    assert [b.text for b in verdict.buttons][:2] == ["✏️ Edit the text", "⚠️ Send anyway"]
    forged = await boss.press("bcf:send:")
    assert forged[0].show_alert and await shop.count(Broadcast) == 0
    await boss.click("Send anyway")
    async with shop.app.session_factory() as s:
        entry = await s.scalar(select(AuditEntry))
        bc = await s.get(Broadcast, 1)
    assert entry is not None and (entry.action, entry.actor_id) == ("copy_override", ADMIN)
    assert entry.subject == "broadcast:1" and bc is not None and bc.copy_override
    assert entry.detail["words"] and all("best" in w.lower() for w in entry.detail["words"])
    sent = {o.chat_id for o in await shop.flush() if o.method == "sendMessage"}
    assert sent == {31, ADMIN}


async def test_a_coupon_is_for_the_recipients_only(shop: Desk) -> None:
    people = await subscribers(shop, 41, 42)
    boss, preview = await compose(shop, coupon="¥20 off over ¥199")
    assert "With a coupon: ¥20 off over ¥199" in texts_of(preview)
    await boss.click("Send")
    sent = [o for o in await shop.flush() if o.method == "sendMessage" and o.chat_id == 41]
    claim = next(b for b in sent[0].buttons if b.callback_data)
    assert claim.text.startswith("🎁")
    async with shop.app.session_factory() as s:
        drop = await s.get(CouponDrop, 1)
    assert drop is not None and (drop.audience, drop.quantity, drop.status) == (
        "invited",
        3,
        "live",
    )
    assert drop.chat_id is None  # never posted in a group
    got = await people[0].press(claim.callback_data or "")
    assert "🎉" in texts_of(got)
    outsider = person(shop, 49)
    await outsider.send("/start")
    refused = await outsider.press(claim.callback_data or "")
    assert "for other members" in texts_of(refused)
    await shop.flush()
    async with shop.app.session_factory() as s:
        holders = list(
            await s.scalars(select(CouponCode.user_id).where(CouponCode.user_id.is_not(None)))
        )
    assert holders == [41]


async def test_bad_and_forged_input_gets_polite_answers(shop: Desk) -> None:
    await subscribers(shop, 51)
    boss = admin(shop)
    await boss.send("/broadcast")
    sticker = {"file_id": "s1", "file_unique_id": "u1", "type": "regular", "width": 512,
               "height": 512, "is_animated": False, "is_video": False}  # fmt: skip
    assert "Please send text" in texts_of(await boss.send_content(sticker=sticker))
    assert "looks like a command" in texts_of(await boss.send("/help"))
    await boss.send("Hello")
    bad = await boss.send("just a label")
    assert "couldn't read line" in texts_of(bad)
    await boss.click("Skip")
    await boss.click("Skip")
    forged = await boss.press("bcf:seg:tier=99")
    assert forged[0].show_alert
    await boss.click("Active")
    await boss.click("Dormant")  # active and dormant: nobody
    nobody = await boss.click("Preview")
    assert nobody[0].show_alert and "Nobody matches" in (nobody[0].text or "")
    assert "use the buttons" in texts_of(await boss.send("whatever"))
    assert "discarded" in texts_of(await boss.send("/cancel"))
    late = await boss.press("bcf:preview:")
    assert late[0].show_alert and "dialogue is over" in (late[0].text or "")

    stranger = person(shop, 52)
    await stranger.send("/start")
    assert "New broadcast" not in texts_of(await stranger.send("/broadcast"))
    for data in ("bcf:send:", "bcx:1:1"):
        refused = await stranger.press(data)
        assert refused[0].show_alert and "admins" in (refused[0].text or "")
    assert await shop.count(Broadcast) == 0
    assert "already finished" in texts_of(await boss.press("bcx:99:0"))


async def test_a_photo_broadcast_to_a_segment(shop: Desk) -> None:
    await subscribers(shop, 61, 62)  # 61 speaks zh, 62 en
    boss = admin(shop)
    await boss.send("/broadcast")
    photo = [{"file_id": "big-photo", "file_unique_id": "bp", "width": 800, "height": 600}]
    asked = await boss.send_content(photo=photo, caption="New arrivals")
    assert "link buttons" in texts_of(asked)
    await boss.click("Skip")
    await boss.click("Skip")
    screen = await boss.click("中文")
    assert "Recipients now: 1" in texts_of(screen) and "language 中文" in texts_of(screen)
    preview = await boss.click("Preview")
    assert preview[0].method == "sendPhoto" and "New arrivals" in (preview[0].text or "")
    await boss.click("Send")
    sent = [o for o in await shop.flush() if o.method == "sendPhoto"]
    assert [(o.chat_id, o.request.photo) for o in sent] == [(61, "big-photo")]
    assert "不想再收到" in (sent[0].text or "")


# --- issue 10: forged numbers, reasons in the reader's language -----------------------------


async def test_forged_numbers_in_callback_data_get_a_polite_answer(
    shop: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    await subscribers(shop, 71)
    boss = admin(shop)
    for data in ("bcx:99999999999999999999999:0", "bcx:-5:1", "bcx:1_000:0", "bcx:x:0"):
        refused = await boss.press(data)
        assert refused[0].show_alert, data
        assert "isn't valid" in (refused[0].text or ""), data
    kept = await boss.press("bcf:keep:<b>9</b>")
    assert kept[0].show_alert and "isn't valid" in (kept[0].text or "")
    assert [o.method for o in kept] == ["answerCallbackQuery"]  # nothing edited

    await boss.send("/broadcast")
    await boss.send("Hello")
    await boss.click("Skip")
    await boss.click("Skip")
    for value in ("tier=²", "tier=99999999999999999999999", "streak=٧", "streak=-7"):
        forged = await boss.press(f"bcf:seg:{value}")
        assert forged[0].show_alert and "isn't valid" in (forged[0].text or ""), value
    screen = await boss.click("Streak ≥ 7")  # the real button still works
    assert "check-in streak ≥ 7" in texts_of(screen)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_a_coupon_that_cannot_be_made_is_explained_in_the_managers_language(
    shop: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from community import drops

    await subscribers(shop, 81, 82)
    monkeypatch.setattr(drops, "MAX_QUANTITY", 2)  # three recipients: the admin and two
    boss = person(shop, ADMIN, "zh")
    await boss.send("/broadcast")
    await boss.send("大促")
    await boss.click("跳过 ➡️")
    await boss.send("满199减20")
    await boss.click("👀 预览")
    failed = texts_of(await boss.click("🚀 发送"))
    assert "优惠券" in failed and "2" in failed
    assert "quantity" not in failed and "must" not in failed  # no English from the domain
    assert await shop.count(Broadcast) == 0 and await shop.count(CouponDrop) == 0


def test_every_refusal_reads_in_both_languages(catalogue: Catalogue) -> None:
    from views.broadcasts import render_refusal

    for reason in broadcasts.REASONS:
        error = broadcasts.BroadcastError(reason, limit=8)
        zh = render_refusal(catalogue.for_lang("zh"), error)
        en = render_refusal(catalogue.for_lang("en"), error)
        assert zh != en and "bc-" not in zh + en and "{" not in zh + en, reason
        assert not any(c.isascii() and c.isalpha() for c in zh), (reason, zh)


# --- order groups (RFM) in the segment step ---------------------------------------------


@pytest.fixture
async def rfm_shop(
    tmp_path: Path, kb: KnowledgeBase, matcher: Matcher, catalogue: Catalogue, clock: Clock
) -> AsyncIterator[Desk]:
    """Two orders and ¥300 are frequent and big here (RFM_* settings)."""
    async for d in build_desk(
        tmp_path, kb, matcher, catalogue, clock, rfm_frequent_orders=2, rfm_big_spend=300
    ):
        yield d


async def add_orders(shop: Desk, *orders: tuple[str, int, int, int, str]) -> None:
    """(order id, customer, days ago, yuan, status)."""
    now = shop.clock()
    async with shop.app.session_factory() as s:
        for order_id, customer, days, yuan, status in orders:
            at = now - timedelta(days=days)
            s.add(
                Order(
                    order_id=order_id,
                    telegram_id=customer,
                    status=status,
                    amount_minor=yuan * 100,
                    currency="CNY",
                    created_at=at,
                    updated_at=at,
                )
            )
        await s.commit()


async def test_order_groups_toggle_count_and_reach_their_customers(rfm_shop: Desk) -> None:
    shop = rfm_shop
    await subscribers(shop, 91, 92, 93, 94)
    await add_orders(
        shop,
        ("A1", 91, 3, 200, "paid"), ("A2", 91, 20, 200, "delivered"),  # high value
        ("B1", 92, 60, 200, "delivered"), ("B2", 92, 70, 200, "shipped"),  # at risk
        ("B3", 92, 1, 900, "cancelled"),  # not a purchase: 92 stays "not recent"
        ("C1", 93, 120, 50, "delivered"),  # sleeping
        ("D1", 94, 5, 200, "paid"), ("D2", 94, 6, 200, "refunded"),  # one purchase: none
    )  # fmt: skip
    boss = admin(shop)
    await boss.send("/broadcast")
    await boss.send("Hello buyers")
    await boss.click("Skip")
    screen = await boss.click("Skip")
    assert "Recipients now: 5" in texts_of(screen)  # the four and the admin

    screen = await boss.click("High value")
    assert "Recipients now: 1" in texts_of(screen)
    assert "high value (last order ≤ 30 days ago; ≥ 2 orders and ≥ 300 CNY" in texts_of(screen)
    assert "✅ 💎 High value" in [b.text for b in screen[-1].buttons]
    screen = await boss.click("At risk")  # and: nobody is both
    assert "Recipients now: 0" in texts_of(screen)
    screen = await boss.click("High value")  # off again
    assert "Recipients now: 1" in texts_of(screen) and "high value" not in texts_of(screen)
    assert "💎 High value" in [b.text for b in screen[-1].buttons]
    await boss.click("At risk")
    screen = await boss.click("Sleeping")
    assert "Recipients now: 1" in texts_of(screen) and "sleeping buyers" in texts_of(screen)
    await boss.click("Sleeping")

    # Sent with the shop's thresholds too (by the defaults, 91 would not be high value).
    await boss.click("High value")
    await boss.click("Preview")
    await boss.click("Send")
    sent = [o for o in await shop.flush() if o.method == "sendMessage" and o.chat_id != ADMIN]
    assert [o.chat_id for o in sent] == [91]
    async with shop.app.session_factory() as s:
        stored = await s.scalar(select(Broadcast.segment))
    assert stored is not None and stored["high_value"] is True and stored["sleeping"] is False


async def test_the_order_groups_read_in_chinese(shop: Desk) -> None:
    boss = person(shop, ADMIN, "zh")
    await boss.send("/broadcast")
    await boss.send("你好")
    await boss.click("跳过 ➡️")
    await boss.click("跳过 ➡️")
    screen = await boss.click("💎 高价值")
    assert "高价值（最近一单 ≤ 30 天前；365 天内 ≥ 3 单且消费 ≥ 1000 CNY）" in texts_of(screen)
    assert {"✅ 💎 高价值", "⚠️ 流失风险", "💤 久未下单"} <= {b.text for b in screen[-1].buttons}
    assert "当前收件人：0" in texts_of(screen)
