"""Flash sales through the Dispatcher and the outbox sender: a manager plans one in the
guided dialogue, the scheduler (run_due) and the sender post the lifecycle in the group and
the channel, members ask to be reminded, and managers edit and cancel from /sales."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.local import ChatClient, Outgoing
from campaigns import sales
from campaigns.copyguard import CopyGuard, Hit
from faq import KnowledgeBase, Matcher
from storage.models import AuditEntry, Sale, SalePost, SaleReminder
from tests.conftest import T0, Clock
from tests.handlers.test_support_desk import ADMIN, Desk, M, build_desk
from views.callbacks import RemindMe, SaleForm, SaleMenu
from views.texts import Catalogue

COMMUNITY = -1009876543210
CHANNEL = -1005555555555
START = T0 + timedelta(days=2)  # "11-22 10:00" in Shanghai
END = START + timedelta(hours=2)
SHANGHAI = ZoneInfo("Asia/Shanghai")
PHOTO = {"file_id": "jacket-photo", "file_unique_id": "u-jacket", "width": 640, "height": 480}


class StrictGuard(CopyGuard):
    """Flags "best ever" whatever the shipped word list holds."""

    def check(self, text: str) -> list[Hit]:
        at = text.lower().find("best ever")
        return [] if at < 0 else [Hit("best ever", at, at + 9)]

    def mark(self, text: str) -> str:
        hits = self.check(text)
        if not hits:
            return html.escape(text)
        h = hits[0]
        return (
            html.escape(text[: h.start])
            + f"<u><b>{html.escape(text[h.start : h.end])}</b></u>"
            + html.escape(text[h.end :])
        )


@pytest.fixture
async def shop(
    tmp_path: Path,
    kb: KnowledgeBase,
    matcher: Matcher,
    catalogue: Catalogue,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Desk]:
    monkeypatch.setattr("bot.app.build_guard", lambda *args: StrictGuard())
    async for d in build_desk(
        tmp_path, kb, matcher, catalogue, clock,
        community_chat_id=COMMUNITY, campaign_channel_id=CHANNEL,
    ):  # fmt: skip
        yield d


def admin(shop: Desk) -> ChatClient:
    return ChatClient(
        shop.customer.dp, shop.customer.bot, shop.local, user_id=ADMIN, first_name="Boss",
        language_code="en", first_update_id=60 * M,
    )  # fmt: skip


def member(shop: Desk, user_id: int, *, private: bool = False) -> ChatClient:
    where: dict[str, Any] = (
        {} if private else {"chat_type": "supergroup", "chat_id": COMMUNITY, "is_forum": False}
    )
    return ChatClient(
        shop.customer.dp, shop.customer.bot, shop.local, user_id=user_id,
        first_name=f"M{user_id}", language_code="en",
        first_update_id=(100 + user_id) * M + (M // 2 if private else 0), **where,
    )  # fmt: skip


def texts_of(out: list[Outgoing]) -> str:
    return "\n".join(o.text or "" for o in out)


async def tick(shop: Desk, at: datetime) -> list[Outgoing]:
    """The clock reaches `at`; the scheduler job runs once; the sender sends what is due."""
    shop.clock.now = at
    async with shop.app.session_factory() as s:
        await sales.run_due(s, policy=shop.app.campaigns, now=at)
    return await shop.flush()


async def plan_sale(boss: ChatClient, product: str = "Down jacket") -> list[Outgoing]:
    """The dialogue up to the preview, with every optional answer given."""
    assert "product name" in texts_of(await boss.send("/sale"))
    assert "sale price" in texts_of(await boss.send(product))
    assert "How many" in texts_of(await boss.send("¥399 / ¥799"))
    assert "photo" in texts_of(await boss.send("50"))
    assert "link" in texts_of(await boss.send_content(photo=[PHOTO]))
    assert "When does it start" in texts_of(await boss.send("https://shop.example/jacket"))
    assert "When does it end" in texts_of(await boss.send("11-22 10:00"))
    out = await boss.send("2h")
    assert "Where should it be posted" in texts_of(out)
    assert [b.text for b in out[0].buttons] == ["✅ group", "⬜ channel", "✔️ Done", "✖️ Cancel"]
    out = await boss.click("channel")
    assert out[-1].method == "editMessageReplyMarkup"
    assert [b.text for b in out[-1].buttons][:2] == ["✅ group", "✅ channel"]
    return await boss.click("Done")


async def sale_rows(shop: Desk) -> tuple[list[Sale], list[SalePost]]:
    async with shop.app.session_factory() as s:
        found = list(await s.scalars(select(Sale).order_by(Sale.id)))
        posts = list(await s.scalars(select(SalePost).order_by(SalePost.due_at, SalePost.id)))
    return found, posts


async def test_a_planned_sale_runs_its_whole_lifecycle(shop: Desk) -> None:
    boss = admin(shop)
    preview = await plan_sale(boss)
    photo = next(o for o in preview if o.method == "sendPhoto")
    assert photo.chat_id == ADMIN and photo.request.photo == "jacket-photo"
    assert "限时特卖开始啦" in (photo.text or "") and "Down jacket" in (photo.text or "")
    assert "¥399" in (photo.text or "") and "<s>¥799</s>" in (photo.text or "")
    assert [(b.text, b.url) for b in photo.buttons] == [
        ("🛒 立即购买", "https://shop.example/jacket")
    ]
    schedule = next(o for o in preview if "Schedule" in (o.text or ""))
    assert "11-21 10:00 · teaser 24 h before · group, channel" in (schedule.text or "")
    assert "11-22 11:50 · “ending soon” post" in (schedule.text or "")
    assert "found nothing" in (preview[-1].text or "")
    assert await sale_rows(shop) == ([], [])  # nothing stored before Publish

    done = await boss.click("Publish")
    assert "Sale #1" in texts_of(done) and "11-22 10:00" in texts_of(done)
    assert "dialogue is over" in texts_of(await boss.press(SaleForm(action="publish").pack()))
    [sale], posts = await sale_rows(shop)
    assert (sale.product, sale.price, sale.original_price, sale.stock) == (
        "Down jacket", "¥399", "¥799", 50,
    )  # fmt: skip
    assert (sale.image_file_id, sale.created_by, sale.copy_override) == (
        "jacket-photo",
        ADMIN,
        False,
    )
    assert (sale.starts_at, sale.ends_at, sale.targets) == (START, END, [COMMUNITY, CHANNEL])
    assert len(posts) == 10

    # The 24 h teaser, in both chats, with 🔔 and the link.
    sent = await tick(shop, START - timedelta(days=1))
    teasers = [o for o in sent if o.method == "sendPhoto"]
    assert {o.chat_id for o in teasers} == {COMMUNITY, CHANNEL}
    assert "24 小时后开抢" in (teasers[0].text or "")
    remind = teasers[0].buttons[0]
    assert remind.callback_data == RemindMe(sale=sale.id).pack()
    assert teasers[0].buttons[1].url == "https://shop.example/jacket"

    fan = member(shop, 31)
    toast = await fan.press(remind.callback_data or "")
    assert toast[0].method == "answerCallbackQuery" and "message you privately" in (
        toast[0].text or ""
    )
    assert "already on the list" in texts_of(await fan.press(remind.callback_data or ""))

    sent = await tick(shop, START - timedelta(hours=1))
    assert ["1 小时后开抢" in (o.text or "") for o in sent] == [True, True]

    # The start: both posts with the Buy button, and the reminder in private.
    sent = await tick(shop, START)
    starts = [o for o in sent if o.method == "sendPhoto"]
    assert len(starts) == 2 and all("限时特卖开始啦" in (o.text or "") for o in starts)
    assert all(o.buttons[0].url == "https://shop.example/jacket" for o in starts)
    [reminder] = [o for o in sent if o.chat_id == 31]
    assert "It has started" in (reminder.text or "") and reminder.buttons[0].text == "🛒 Buy now"
    assert "already started" in texts_of(await member(shop, 32).press(remind.callback_data or ""))
    async with shop.app.session_factory() as s:
        start_ids = {
            p.chat_id: p.message_id
            for p in await s.scalars(select(SalePost).where(SalePost.stage == "start"))
        }
    assert all(start_ids.values())

    sent = await tick(shop, END - timedelta(minutes=10))
    assert len(sent) == 2 and all("还剩 10 分钟" in (o.text or "") for o in sent)

    # The end: the start posts are edited to "ended", without the button.
    sent = await tick(shop, END)
    assert {o.method for o in sent} == {"editMessageCaption"}
    assert {(o.chat_id, o.request.message_id) for o in sent} == set(start_ids.items())
    assert all("已结束" in (o.text or "") and not o.buttons for o in sent)
    assert await tick(shop, END + timedelta(minutes=5)) == []
    _, posts = await sale_rows(shop)
    assert {p.status for p in posts} == {"sent"}
    assert "is over" in texts_of(await member(shop, 33).press(remind.callback_data or ""))


async def test_copy_guard_hits_can_be_edited_away(shop: Desk) -> None:
    boss = admin(shop)
    held = await plan_sale(boss, product="Best ever jacket")
    warning = held[-1]
    assert "<u><b>Best ever</b></u> jacket" in (warning.text or "")
    assert [b.text for b in warning.buttons] == ["✏️ Edit text", "⚠️ Publish anyway", "✖️ Cancel"]
    forged = await boss.press(SaleForm(action="publish").pack())  # no Publish button was shown
    assert forged[0].show_alert and "forbidden words" in (forged[0].text or "")
    assert "product name" in texts_of(await boss.click("Edit text"))
    assert "sale price" in texts_of(await boss.send("Warm jacket"))
    again = await boss.send("¥399")  # back to the preview, the other answers kept
    assert "found nothing" in (again[-1].text or "")
    await boss.click("Publish")
    [sale], _ = await sale_rows(shop)
    assert (sale.product, sale.original_price, sale.stock) == ("Warm jacket", None, 50)
    assert not sale.copy_override


async def test_publishing_over_the_copy_guard_is_logged(shop: Desk) -> None:
    boss = admin(shop)
    await plan_sale(boss, product="Best ever jacket")
    await boss.click("Publish anyway")
    [sale], _ = await sale_rows(shop)
    assert sale.copy_override
    async with shop.app.session_factory() as s:
        [entry] = list(await s.scalars(select(AuditEntry)))
    assert (entry.action, entry.subject, entry.actor_id) == ("copy_override", "sale:1", ADMIN)
    assert entry.detail == {"words": ["best ever"]}


async def test_bad_answers_get_a_polite_reason_and_the_step_repeats(shop: Desk) -> None:
    boss = admin(shop)
    await boss.send("/sale")
    sticker = {"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 1,
               "height": 1, "is_animated": False, "is_video": False}  # fmt: skip
    assert "send text" in texts_of(await boss.send_content(sticker=sticker))
    assert "at most 128" in texts_of(await boss.send("x" * 129))
    assert "answer the question above" in texts_of(await boss.send("/help"))
    await boss.send("Scarf")
    assert "sale price" in texts_of(await boss.send("1 2 3"))
    await boss.send("59")
    assert "whole number" in texts_of(await boss.send("many"))
    skipped = await boss.click("Skip")
    assert "photo" in texts_of(skipped)
    assert "send a photo" in texts_of(await boss.send("here it is"))
    await boss.click("Skip")
    assert "not a link" in texts_of(await boss.send("shop.example/scarf"))
    await boss.click("Skip")
    assert "can't read that time" in texts_of(await boss.send("next friday"))
    assert "already passed" in texts_of(await boss.send("2026-01-01 10:00"))
    await boss.send("11-22 10:00")
    assert "after the start" in texts_of(await boss.send("11-22 09:00"))
    await boss.send("90m")
    assert "choose at least" not in texts_of(await boss.click("group"))  # toggled off
    refused = await boss.click("Done")
    assert refused[0].show_alert and "at least one" in (refused[0].text or "")
    forged = await boss.press(SaleForm(action="target", value="-100999").pack())
    assert "no longer valid" in texts_of(forged)
    assert "use the buttons" in texts_of(await boss.send("publish!"))
    assert "Cancelled" in texts_of(await boss.send("/cancel"))
    assert "dialogue is over" in texts_of(await boss.press(SaleForm(action="skip").pack()))
    assert await sale_rows(shop) == ([], [])


async def test_the_cancel_button_leaves_at_once(shop: Desk) -> None:
    boss = admin(shop)
    await boss.send("/sale")
    assert "Cancelled" in texts_of(await boss.click("Cancel"))
    out = await boss.send("Down jacket")  # no dialogue: an ordinary question now
    assert "sale price" not in texts_of(out)


async def test_members_cannot_plan_or_manage_sales(shop: Desk) -> None:
    stranger = member(shop, 41, private=True)
    out = await stranger.send("/sale")
    assert "product name" not in texts_of(out) and out  # the usual unknown-command answer
    assert "Sales" not in texts_of(await stranger.send("/sales"))
    boss = admin(shop)
    await plan_sale(boss)
    await boss.click("Publish")
    await stranger.press(SaleMenu(action="cancel_yes", sale=1).pack())
    [sale], _ = await sale_rows(shop)
    assert sale.status == "scheduled"
    forged = await member(shop, 42).press(RemindMe(sale=999).pack())
    assert "no longer valid" in texts_of(forged)
    async with shop.app.session_factory() as s:
        assert list(await s.scalars(select(SaleReminder))) == []


async def test_sales_are_listed_edited_and_cancelled(shop: Desk) -> None:
    boss = admin(shop)
    assert "No scheduled" in texts_of(await boss.send("/sales"))
    await plan_sale(boss)
    await boss.click("Publish")
    listing = await boss.send("/sales")
    assert "#1 <b>Down jacket</b> · scheduled · 11-22 10:00 – 11-22 12:00" in texts_of(listing)
    assert [b.text for b in listing[0].buttons] == ["✏️ Edit #1", "✖️ Cancel #1"]

    await boss.click("Edit #1")
    assert "The sale price and the original price" in texts_of(await boss.click("Prices"))
    edited = await boss.send("¥299 / ¥799")
    assert "Sale #1 changed" in texts_of(edited) and "planned" in texts_of(edited)
    await boss.send("/sales")
    await boss.click("Edit #1")
    await boss.click("End")
    assert "after the start" in texts_of(await boss.send("11-22 09:00"))
    await boss.send("3h")
    await boss.send("/sales")
    await boss.click("Edit #1")
    await boss.click("Product")
    held = await boss.send("Best ever down jacket")
    assert "<u><b>Best ever</b></u>" in texts_of(held)
    assert "Cancelled" in texts_of(await boss.send("/cancel"))
    [sale], posts = await sale_rows(shop)
    assert (sale.price, sale.ends_at, sale.product) == (
        "¥299",
        START + timedelta(hours=3),
        "Down jacket",
    )
    assert max(p.due_at for p in posts if p.stage == "end") == START + timedelta(hours=3)

    # The start post is out; then the manager cancels: it is marked cancelled.
    sent = await tick(shop, START)
    assert any("¥299" in (o.text or "") for o in sent)
    await boss.send("/sales")
    assert "live" in texts_of(await boss.send("/sales"))
    confirm = await boss.click("Cancel #1")
    assert "Cancel sale #1" in texts_of(confirm)
    kept = texts_of(await boss.click("No, keep it"))
    assert "· live ·" in kept and "start post · group · sent" in kept
    await boss.send("/sales")
    await boss.click("Cancel #1")
    assert "is cancelled" in texts_of(await boss.click("Yes, cancel it"))
    sent = await shop.flush()
    assert {o.method for o in sent} == {"editMessageCaption"} and len(sent) == 2
    assert all("已取消" in (o.text or "") and not o.buttons for o in sent)
    assert await tick(shop, END + timedelta(hours=2)) == []
    again = await boss.press(SaleMenu(action="cancel_yes", sale=1).pack())
    assert again[0].show_alert and "over or cancelled" in (again[0].text or "")
    assert "no longer valid" in texts_of(await boss.press(SaleMenu(action="edit", sale=77).pack()))


async def test_a_deleted_start_post_drops_the_end_edit(shop: Desk) -> None:
    from aiogram.exceptions import TelegramBadRequest
    from aiogram.methods import EditMessageCaption

    boss = admin(shop)
    await plan_sale(boss)
    await boss.click("Publish")
    await tick(shop, START)
    for _ in range(2):
        shop.local.fail_next(
            "editMessageCaption",
            TelegramBadRequest(
                method=EditMessageCaption(chat_id=COMMUNITY, message_id=1),
                message="Bad Request: message to edit not found",
            ),
        )
    sent = await tick(shop, END)  # the "ending soon" posts come too late: skipped, reported
    assert len([o for o in sent if o.method == "editMessageCaption"]) == 2
    [notice] = [o for o in sent if o.chat_id == ADMIN]
    assert "Sale #1 “Down jacket”: 2 post(s) were skipped" in (notice.text or "")
    assert "• “ending soon” post in the group (due 11-22 11:50)" in (notice.text or "")
    from storage.models import OutboxMessage

    async with shop.app.session_factory() as s:
        statuses = list(
            await s.scalars(select(OutboxMessage.status).where(OutboxMessage.kind == sales.POST))
        )
    assert statuses.count("dropped") == 2


async def test_a_refused_post_is_reported_and_not_edited_later(shop: Desk) -> None:
    from aiogram.exceptions import TelegramBadRequest
    from aiogram.methods import SendPhoto

    boss = admin(shop)
    await plan_sale(boss)
    await boss.click("Publish")
    await tick(shop, START - timedelta(hours=1))
    shop.local.fail_next(
        "sendPhoto",
        TelegramBadRequest(
            method=SendPhoto(chat_id=COMMUNITY, photo="x"),
            message="Bad Request: not enough rights to send photos to the chat",
        ),
    )
    sent = await tick(shop, START)
    [notice] = [o for o in sent if o.chat_id == ADMIN]
    assert "Telegram refused a post (Bad Request: not enough rights" in (notice.text or "")
    assert "start post in the group" in (notice.text or "")
    _, posts = await sale_rows(shop)
    start = {p.chat_id: p for p in posts if p.stage == "start"}
    assert start[COMMUNITY].status == "skipped" and start[CHANNEL].status == "sent"
    await tick(shop, END - timedelta(minutes=10))
    ended = await tick(shop, END)
    assert [o.chat_id for o in ended] == [CHANNEL]  # nothing to edit in the group


def test_every_post_text_passes_the_shipped_copy_guard(catalogue: Catalogue) -> None:
    from campaigns.copyguard import build_guard
    from views.sales import render_post, render_reminder

    guard = build_guard()
    sale = Sale(
        id=1, product="Down jacket", price="¥399", original_price="¥799", stock=50,
        starts_at=START, ends_at=END, ending_soon_minutes=10, url="https://shop.example",
    )  # fmt: skip
    for lang in catalogue.languages:
        t = catalogue.for_lang(lang)
        for stage in ("teaser:1440", "teaser:90", "start", "ending", "end", "cancel"):
            text = render_post(t, sale, stage, SHANGHAI)
            assert guard.check(text) == [], (lang, stage, text)
        assert guard.check(render_reminder(t, sale, SHANGHAI)) == []


async def test_the_start_and_end_can_be_said_in_words(shop: Desk) -> None:
    boss = admin(shop)
    await boss.send("/sale")
    await boss.send("Scarf")
    await boss.send("59")
    await boss.click("Skip")
    await boss.click("Skip")
    asked = texts_of(await boss.click("Skip"))
    assert "“tomorrow 8pm”" in asked and "“fri 20:00”" in asked  # the prompt shows the forms
    assert "morning or the evening" in texts_of(await boss.send("明天8点"))
    assert "already passed" in texts_of(await boss.send("今天 9:00"))
    assert "When does it end" in texts_of(await boss.send("明天 20:00"))
    assert "after the start" in texts_of(await boss.send("tomorrow 7pm"))
    assert "Where should it be posted" in texts_of(await boss.send("tomorrow 10:30 pm"))
    await boss.click("Done")
    await boss.click("Publish")
    [sale], _ = await sale_rows(shop)
    local = (sale.starts_at.astimezone(SHANGHAI), sale.ends_at.astimezone(SHANGHAI))
    assert [t.strftime("%m-%d %H:%M") for t in local] == ["11-21 20:00", "11-21 22:30"]

    await boss.send("/sales")
    await boss.click("Edit #1")
    await boss.click("End")
    assert "Sale #1 changed" in texts_of(await boss.send("明晚11点"))
    [sale], _ = await sale_rows(shop)
    assert sale.ends_at.astimezone(SHANGHAI).strftime("%m-%d %H:%M") == "11-21 23:00"


async def test_numbers_and_ids_are_read_strictly(shop: Desk) -> None:
    boss = admin(shop)
    await boss.send("/sale")
    await boss.send("Scarf")
    for price in ("²", "免费", "¥９９"):
        assert "Send the sale price" in texts_of(await boss.send(price)), price
    assert "at most ¥1000000000" in texts_of(await boss.send("¥" + "9" * 20))
    assert "How many" in texts_of(await boss.send("¥1,299.50 / ¥2,000"))
    for stock in ("²", "５０", "9" * 20, "0", "-3"):
        assert "whole number from 1 to 10000000" in texts_of(await boss.send(stock)), stock
    await boss.send("50")
    await boss.click("Skip")
    await boss.click("Skip")
    await boss.send("11-22 10:00")
    assert "can't read that time" in texts_of(await boss.send("٣h"))
    assert "can't read that time" in texts_of(await boss.send("9" * 20 + "m"))
    assert "at most 366 days" in texts_of(await boss.send("400d"))
    assert "Where should it be posted" in texts_of(await boss.send("90m"))
    for value in ("²", "9" * 20):
        forged = await boss.press(SaleForm(action="target", value=value).pack())
        assert "no longer valid" in texts_of(forged)
    await boss.click("Done")
    await boss.click("Publish")
    [sale], _ = await sale_rows(shop)
    assert (sale.price, sale.original_price, sale.stock) == ("¥1,299.50", "¥2,000", 50)

    huge = "9" * 20
    fan = member(shop, 51)
    for data in (
        f"salem:show:{huge}:",
        f"salem:edit:{huge}:",
        "salem:cancel_yes:²:",
        f"salem:cancel_yes:-{huge}:",
        f"remind:{huge}",
        "remind:²",
        "remind:１",
    ):
        assert "no longer valid" in texts_of(await boss.press(data)), data
        assert "no longer valid" in texts_of(await fan.press(data)), data
    [sale], _ = await sale_rows(shop)
    assert sale.status == "scheduled"


async def test_the_sales_list_speaks_the_managers_language(shop: Desk) -> None:
    boss = admin(shop)
    await plan_sale(boss)
    await boss.click("Publish")
    await tick(shop, START)
    zh_boss = ChatClient(
        shop.customer.dp, shop.customer.bot, shop.local, user_id=ADMIN, first_name="Boss",
        language_code="zh", first_update_id=70 * M,
    )  # fmt: skip
    listing = texts_of(await zh_boss.send("/sales"))
    assert "#1 <b>Down jacket</b> · 进行中 · 11-22 10:00 – 11-22 12:00 · 群组, 频道" in listing
    await zh_boss.click("取消 #1")
    shown = texts_of(await zh_boss.click("不，保留"))
    assert "• 11-21 10:00 · 提前 24 小时 的预告 · 群组 · 已跳过" in shown  # the clock jumped
    assert "• 11-22 10:00 · 开始帖 · 频道 · 已发送" in shown
    assert "• 11-22 11:50 · “即将结束”帖 · 群组 · 计划中" in shown
    english = ("scheduled", "live", "ended", "planned", "sent", "skipped", "group", "channel")
    assert not [w for w in english if w in listing + shown]


async def test_a_sale_dialogue_survives_a_restart_and_continues_on_another_replica(
    shop: Desk, redis_url: str
) -> None:
    # REDIS_URL: the draft lives in Redis (as JSON), not in the process that started it.
    from redis.asyncio import Redis

    from bot.app import create_dispatcher
    from bot.replicas import fsm_storage

    def replica(redis: Redis, first_update_id: int) -> ChatClient:
        dp = create_dispatcher(shop.app, sender=shop.sender, storage=fsm_storage(redis))
        return ChatClient(
            dp, shop.customer.bot, shop.local, user_id=ADMIN, first_name="Boss",
            language_code="en", first_update_id=first_update_id,
        )  # fmt: skip

    first = Redis.from_url(redis_url)
    one = replica(first, 60 * M)
    assert "product name" in texts_of(await one.send("/sale"))
    await one.send("Down jacket")
    await one.send("¥399 / ¥799")
    await one.send("50")
    await one.send_content(photo=[PHOTO])
    await one.send("https://shop.example/jacket")
    await one.send("11-22 10:00")
    assert "Where should it be posted" in texts_of(await one.send("2h"))
    await first.aclose()  # that replica is gone

    second = Redis.from_url(redis_url)
    try:
        two = replica(second, 61 * M)  # a fresh Dispatcher, the same Redis
        two.last_buttons, two.last_message_id = one.last_buttons, one.last_message_id
        await two.click("channel")
        preview = await two.click("Done")
        assert "found nothing" in (preview[-1].text or "")
        assert "Sale #1" in texts_of(await two.click("Publish"))
    finally:
        await second.aclose()
    [sale], _ = await sale_rows(shop)
    assert (sale.product, sale.price, sale.original_price, sale.stock) == (
        "Down jacket", "¥399", "¥799", 50,
    )  # fmt: skip
    assert (sale.image_file_id, sale.url) == ("jacket-photo", "https://shop.example/jacket")
    assert (sale.starts_at, sale.ends_at, sale.targets) == (START, END, [COMMUNITY, CHANNEL])
