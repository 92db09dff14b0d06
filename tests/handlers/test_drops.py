"""Coupon drops through the Dispatcher: a manager creates one, members tap Claim in the
group, codes arrive in private, the counter follows, and the drop ends sold out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.local import ChatClient
from faq import KnowledgeBase, Matcher
from storage.models import AuditEntry, CouponCode, CouponDrop, Member
from tests.conftest import Clock
from tests.handlers.test_support_desk import ADMIN, Desk, M, build_desk
from views.texts import Catalogue

COMMUNITY = -1009876543210


@pytest.fixture
async def shop(
    tmp_path: Path, kb: KnowledgeBase, matcher: Matcher, catalogue: Catalogue, clock: Clock
) -> AsyncIterator[Desk]:
    async for d in build_desk(
        tmp_path, kb, matcher, catalogue, clock, community_chat_id=COMMUNITY
    ):
        yield d


def member(shop: Desk, user_id: int) -> ChatClient:
    return ChatClient(
        shop.customer.dp, shop.customer.bot, shop.local, user_id=user_id, first_name=f"M{user_id}",
        language_code="en", chat_type="supergroup", chat_id=COMMUNITY, is_forum=False,
        first_update_id=(100 + user_id) * M,
    )  # fmt: skip


def admin(shop: Desk) -> ChatClient:
    return ChatClient(
        shop.customer.dp, shop.customer.bot, shop.local, user_id=ADMIN, first_name="Boss",
        language_code="en", first_update_id=60 * M,
    )  # fmt: skip


async def test_a_drop_is_posted_claimed_to_the_last_code_and_closed(shop: Desk) -> None:
    out = await admin(shop).send("/drop 2 Welcome gift | 30 off 200 | limit=1 days=7")
    assert "Drop #1" in (out[0].text or "")
    posted = await shop.flush()
    post = next(o for o in posted if o.chat_id == COMMUNITY)
    assert "剩余 2 / 2" in (post.text or "")  # the group speaks DEFAULT_LANGUAGE
    claim = post.buttons[0].callback_data or ""

    m11 = member(shop, 11)
    first = [o for o in await m11.press(claim) if o.method != "getMe"]
    assert first[0].method == "answerCallbackQuery" and "yours" in (first[0].text or "")
    assert (first[0].request.url or "").endswith("?start=coupons")
    again = await m11.press(claim)
    assert "already have" in (again[0].text or "")
    await member(shop, 12).press(claim)
    late = await member(shop, 13).press(claim)
    assert "all gone" in (late[0].text or "")

    sent = await shop.flush()
    codes = [o for o in sent if o.chat_id in (11, 12)]
    assert len(codes) == 2 and all(o.request.protect_content for o in codes)
    edits = [o for o in sent if o.method == "editMessageText" and o.chat_id == COMMUNITY]
    assert edits and "抢光" in (edits[-1].text or "") and not edits[-1].buttons
    async with shop.app.session_factory() as s:
        drop = await s.get(CouponDrop, 1)
        assert drop is not None and (drop.claimed, drop.status) == (2, "sold_out")
        delivered = await s.scalar(
            select(func.count())
            .select_from(CouponCode)
            .where(CouponCode.delivered_at.is_not(None))
        )
        assert delivered == 2


async def test_a_member_who_never_started_the_bot_gets_the_code_on_start(shop: Desk) -> None:
    await admin(shop).send("/drop 5 Gift | 10 off")
    post = next(o for o in await shop.flush() if o.chat_id == COMMUNITY)
    from aiogram.exceptions import TelegramForbiddenError
    from aiogram.methods import SendMessage

    shop.local.fail_next(
        "sendMessage",
        TelegramForbiddenError(
            method=SendMessage(chat_id=21, text="x"),
            message="Forbidden: bot can't initiate conversation with a user",
        ),
    )
    await member(shop, 21).press(post.buttons[0].callback_data or "")
    await shop.flush()
    private = ChatClient(
        shop.customer.dp, shop.customer.bot, shop.local, user_id=21, first_name="M21",
        language_code="en", first_update_id=70 * M,
    )  # fmt: skip
    out = await private.send("/start coupons")
    assert len(out) == 1 and "Your code" in (out[0].text or "")
    assert out[0].request.protect_content
    assert "no coupons waiting" in ((await private.send("/start coupons"))[0].text or "")


async def test_bad_drop_commands_get_a_clear_answer(shop: Desk) -> None:
    boss = admin(shop)
    assert "Usage" in ((await boss.send("/drop"))[0].text or "")
    assert "don't understand" in ((await boss.send("/drop 5 A | B | colour=red"))[0].text or "")
    refused = await boss.send("/drop 5 A | B | audience=vip")
    assert "not created" in (refused[0].text or "")
    nobody = await member(shop, 31).send("/drop 5 A | B")
    assert not any("Drop #" in (o.text or "") for o in nobody)


async def test_a_group_checkin_gets_one_short_reply_removed_later(shop: Desk) -> None:
    m = member(shop, 41)
    assert await m.send("/checkin") == []  # the reply goes through the paced outbox
    sent = await shop.flush()
    reply = next(o for o in sent if o.chat_id == COMMUNITY)
    assert "Checked in" in (reply.text or "") and "\n" not in (reply.text or "")
    assert reply.request.reply_parameters.message_id == m.last_message_id
    assert not [o for o in sent if o.method == "deleteMessages"]
    shop.clock.advance(seconds=61)
    gone = [o for o in await shop.flush() if o.method == "deleteMessages"]
    assert len(gone) == 1 and m.last_message_id in gone[0].request.message_ids


async def test_admins_mark_codes_used_and_adjust_points(shop: Desk) -> None:
    boss = admin(shop)
    await boss.send("/drop 3 Gift | 10 off")
    post = next(o for o in await shop.flush() if o.chat_id == COMMUNITY)
    await member(shop, 51).press(post.buttons[0].callback_data or "")
    async with shop.app.session_factory() as s:
        code = await s.scalar(select(CouponCode.code).where(CouponCode.user_id == 51))
    out = await boss.send(f"/used {code} NOPE123")
    assert "Marked used: 1" in (out[0].text or "") and "unknown: 1" in (out[0].text or "")
    assert "Balance: 30" in ((await boss.send("/points 51 +30 contest winner"))[0].text or "")
    refused = await boss.send("/points 51 -100 oops")
    assert "can't go below zero" in (refused[0].text or "")
    assert "Usage" in ((await boss.send("/points 51 +5"))[0].text or "")  # no reason


async def test_the_points_shop_redeems_once_and_never_overdraws(shop: Desk) -> None:
    boss = admin(shop)
    await boss.send("/drop 5 Tote bag | free tote with any order | cost=20")
    buyer = ChatClient(
        shop.customer.dp, shop.customer.bot, shop.local, user_id=61, first_name="Kai",
        language_code="en", first_update_id=80 * M,
    )  # fmt: skip
    assert "empty" not in ((await buyer.send("/shop"))[0].text or "")
    poor = await buyer.click(1)
    assert poor[0].show_alert and "Not enough points" in (poor[0].text or "")
    await boss.send("/points 61 +30 launch gift")
    listing = await buyer.send("/shop")
    assert "balance: 30" in (listing[0].text or "")
    got = await buyer.click(1)
    assert "20 points spent" in (got[0].text or "")
    code = next(o for o in got if o.method == "sendMessage")
    assert "Your code" in (code.text or "") and code.request.protect_content
    again = await buyer.click(1)
    assert again[0].show_alert and "already have" in (again[0].text or "")
    async with shop.app.session_factory() as s:
        balance = await s.scalar(select(Member.balance).where(Member.user_id == 61))
    assert balance == 10


async def test_new_members_are_welcomed_and_their_links_held(shop: Desk) -> None:
    newbie = member(shop, 71)
    joined = {"id": 71, "is_bot": False, "first_name": "Neo"}
    await newbie.send_content(new_chat_members=[joined])
    await newbie.send_content(new_chat_members=[joined])  # chat_member + service: once
    sent = await shop.flush()
    welcome = [o for o in sent if o.method == "sendMessage" and o.chat_id == COMMUNITY]
    assert len(welcome) == 1 and "Neo" in (welcome[0].text or "")
    assert (welcome[0].buttons[0].url or "").endswith("?start=welcome")
    assert [o for o in sent if o.method == "deleteMessages"]  # the join notices

    link = {"type": "url", "offset": 0, "length": 16}
    await newbie.send_content(text="https://spam.biz", entities=[link])
    sent = await shop.flush()
    assert [o for o in sent if o.method == "deleteMessages"]
    assert [o for o in sent if o.chat_id == ADMIN and "spam.biz" in (o.text or "")]

    shop.clock.advance(hours=25)  # no longer new: links are fine
    await newbie.send_content(text="https://shop.example", entities=[link])
    deleted = [o.request.message_ids for o in await shop.flush() if o.method == "deleteMessages"]
    assert newbie.last_message_id not in sum(deleted, [])


async def test_a_tier_up_by_an_admin_is_congratulated(shop: Desk) -> None:
    boss = admin(shop)
    await member(shop, 81).send("/checkin")  # the member exists
    await boss.send("/points 81 +600 event prize")
    sent = await shop.flush()
    assert [o for o in sent if o.chat_id == 81 and "Silver" in (o.text or "")]


async def test_group_taps_refresh_the_member_at_most_every_few_minutes(shop: Desk) -> None:
    from storage.models import User as UserRow

    m = member(shop, 91)

    async def last_seen() -> object:
        async with shop.app.session_factory() as s:
            return await s.scalar(select(UserRow.last_seen).where(UserRow.id == 91))

    await m.press("claim:999")
    first = await last_seen()
    shop.clock.advance(minutes=1)
    await m.press("claim:999")
    assert await last_seen() == first  # a burst of taps costs no user writes
    shop.clock.advance(minutes=5)
    await m.press("claim:999")
    assert await last_seen() != first


async def test_taps_on_a_sold_out_drop_cost_no_database_work(shop: Desk) -> None:
    from storage.models import User as UserRow

    await admin(shop).send("/drop 1 Last one | 5 off")
    post = next(o for o in await shop.flush() if o.chat_id == COMMUNITY)
    claim = post.buttons[0].callback_data or ""
    await member(shop, 95).press(claim)  # takes the only code; this process learns it
    late = await member(shop, 96).press(claim)
    assert "all gone" in (late[0].text or "")
    async with shop.app.session_factory() as s:
        assert await s.get(UserRow, 96) is None  # answered before the session opened


async def test_a_manager_ends_a_drop_and_the_post_says_so(shop: Desk) -> None:
    boss = admin(shop)
    await boss.send("/drop 10 Flash | 5 off")
    post = next(o for o in await shop.flush() if o.chat_id == COMMUNITY)
    assert "ended" in ((await boss.send("/dropend 1"))[0].text or "")
    assert "not open" in ((await boss.send("/dropend 1"))[0].text or "")
    edit = [o for o in await shop.flush() if o.method == "editMessageText"]
    assert edit and "结束" in (edit[-1].text or "") and not edit[-1].buttons
    for user_id in (97, 98):  # the second tap is answered from the process's memory
        late = await member(shop, user_id).press(post.buttons[0].callback_data or "")
        assert "has ended" in (late[0].text or "") and "gone" not in (late[0].text or "")


# --- the copy guard --------------------------------------------------------------------


async def test_a_drop_with_forbidden_words_is_held_until_the_manager_decides(
    shop: Desk,
) -> None:
    from bot.scheduler import start_drops

    out = await admin(shop).send("/drop 5 最好的茶 <礼盒> | 全网最低价 立减30")
    held = out[0]
    assert held.request.parse_mode == "HTML"
    assert "<u><b>最好</b></u>的茶 &lt;礼盒&gt;" in (held.text or "")
    assert "<u><b>全网最低</b></u>价" in (held.text or "")
    assert "held" in (held.text or "") and "Drop #1" in (held.text or "")
    assert [b.text for b in held.buttons] == ["Publish anyway", "Discard"]
    assert [b.callback_data for b in held.buttons] == ["dropok:1:1", "dropok:1:0"]
    assert not [o for o in await shop.flush() if o.chat_id == COMMUNITY]
    assert await start_drops(shop.app) == []  # a draft is never started
    assert not [o for o in await shop.flush() if o.chat_id == COMMUNITY]
    refused = await member(shop, 11).press("claim:1")
    assert "hasn't started" in (refused[0].text or "")
    async with shop.app.session_factory() as s:
        drop = await s.get(CouponDrop, 1)
        assert drop is not None and drop.status == "draft"
        assert await s.scalar(select(func.count()).select_from(AuditEntry)) == 0


async def test_publish_anyway_is_logged_and_the_drop_goes_out(shop: Desk) -> None:
    from bot.scheduler import start_drops

    boss = admin(shop)
    await boss.send("/drop 3 The best tea | guaranteed 30 off, 最好")
    out = await boss.click("Publish anyway")
    assert out[0].method == "answerCallbackQuery" and not out[0].show_alert
    unmarked = next(o for o in out if o.method == "editMessageReplyMarkup")
    assert not unmarked.buttons
    reply = next(o for o in out if o.method == "sendMessage")
    assert reply.chat_id == ADMIN and "will be published" in (reply.text or "")
    async with shop.app.session_factory() as s:
        entries = list(await s.scalars(select(AuditEntry)))
        drop = await s.get(CouponDrop, 1)
    assert drop is not None and drop.status == "scheduled"
    assert [(e.actor_id, e.action, e.subject) for e in entries] == [
        (ADMIN, "copy_override", "drop:1")
    ]
    assert entries[0].detail == {"words": ["the best", "guaranteed", "最好"]}

    assert await start_drops(shop.app) == [1]
    post = next(o for o in await shop.flush() if o.chat_id == COMMUNITY)
    assert "The best tea" in (post.text or "") and post.buttons[0].callback_data == "claim:1"

    again = await boss.press("dropok:1:1")  # a second tap: nothing more is logged
    assert again[0].show_alert and "no longer valid" in (again[0].text or "")
    assert "no longer valid" in ((await boss.press("dropok:1:0"))[0].text or "")
    async with shop.app.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(AuditEntry)) == 1
        drop = await s.get(CouponDrop, 1)
        assert drop is not None and drop.status == "live"


async def test_a_held_drop_with_a_later_start_waits_for_it(shop: Desk) -> None:
    from datetime import timedelta

    from bot.scheduler import start_drops

    start = (shop.clock.now + timedelta(days=1)).astimezone(shop.app.community.tz)
    boss = admin(shop)
    await boss.send(f"/drop 3 No.1 gift | 10 off | start={start:%Y-%m-%d %H:%M}")
    await boss.click("Publish anyway")
    assert await start_drops(shop.app) == []
    shop.clock.advance(days=1, minutes=1)
    assert await start_drops(shop.app) == [1]


async def test_discard_deletes_the_held_drop_and_its_codes(shop: Desk) -> None:
    boss = admin(shop)
    await boss.send("/drop 4 极品大红袍 | 第一名的选择")
    out = await boss.click("Discard")
    reply = next(o for o in out if o.method == "sendMessage")
    assert "discarded" in (reply.text or "")
    async with shop.app.session_factory() as s:
        assert await s.get(CouponDrop, 1) is None
        assert await s.scalar(select(func.count()).select_from(CouponCode)) == 0
        assert await s.scalar(select(func.count()).select_from(AuditEntry)) == 0
    assert not [o for o in await shop.flush() if o.chat_id == COMMUNITY]
    stale = await boss.press("dropok:1:1")
    assert stale[0].show_alert and "no longer valid" in (stale[0].text or "")


async def test_clean_text_is_published_at_once(shop: Desk) -> None:
    out = await admin(shop).send("/drop 5 最近上新 | 第一次购买立减10元，每人最多1张")
    assert "Drop #1" in (out[0].text or "") and not out[0].buttons
    post = next(o for o in await shop.flush() if o.chat_id == COMMUNITY)
    assert "最近上新" in (post.text or "")
    async with shop.app.session_factory() as s:
        drop = await s.get(CouponDrop, 1)
        assert drop is not None and drop.status == "live"


async def test_only_admins_can_decide_and_forged_taps_change_nothing(shop: Desk) -> None:
    boss = admin(shop)
    await boss.send("/drop 5 The best gift | 10 off")
    stranger = ChatClient(
        shop.customer.dp, shop.customer.bot, shop.local, user_id=77, first_name="Eve",
        language_code="en", first_update_id=90 * M,
    )  # fmt: skip
    for data in ("dropok:1:1", "dropok:1:0"):
        out = await stranger.press(data)
        assert out[0].show_alert and "no longer valid" in (out[0].text or "")
    in_group = await member(shop, 78).press("dropok:1:1")  # a tap outside the private chat
    assert not any(o.method == "sendMessage" for o in in_group)
    for forged in ("dropok:999:1", "dropok:x:1", "dropok:1"):
        out = await boss.press(forged)
        assert out[0].show_alert and "no longer valid" in (out[0].text or "")
    async with shop.app.session_factory() as s:
        drop = await s.get(CouponDrop, 1)
        assert drop is not None and drop.status == "draft"
        assert await s.scalar(select(func.count()).select_from(AuditEntry)) == 0


# --- numbers a manager types -----------------------------------------------------------


async def test_huge_points_are_refused_and_the_balance_stays_a_whole_number(shop: Desk) -> None:
    boss = admin(shop)
    await member(shop, 111).send("/checkin")  # 10 points, the member exists
    for amount in ("+9223372036854775807", "+9223372036854775807", "+1000001", "-1000001"):
        out = await boss.send(f"/points 111 {amount} glitch")
        text = out[0].text or ""
        assert "1000000" in text and "Balance" not in text, text
    async with shop.app.session_factory() as s:
        row = (
            await s.execute(
                select(Member.balance, Member.earned, Member.tier).where(Member.user_id == 111)
            )
        ).one()
    assert tuple(row) == (10, 10, 0) and isinstance(row.balance, int)
    assert "Balance: 1000010" in ((await boss.send("/points 111 +1000000 prize"))[0].text or "")


async def test_odd_digits_and_huge_ids_get_a_clear_reply_not_a_traceback(
    shop: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    boss = admin(shop)
    await boss.send("/drop 5 Gift | 10 off")
    await shop.flush()
    twenty = "9" * 20
    for command, expected in (
        ("/dropstats ²", "Usage"),
        (f"/dropstats {twenty}", "Usage"),
        ("/dropend ²", "Usage"),
        (f"/dropend {twenty}", "Usage"),
        (f"/points {twenty} +5 prize", "Usage"),
        ("/points ² +5 prize", "Usage"),
        ("/points 11 +² prize", "1000000"),
        ("/drop ² Gift | 10 off", "Usage"),
        (f"/drop {twenty} Gift | 10 off", "1 to 100000"),
        (f"/drop 5 Gift | 10 off | limit={twenty}", "limit="),
        ("/drop 5 Gift | 10 off | limit=²", "limit="),
        (f"/drop 5 Gift | 10 off | cost={twenty}", "cost="),
        (f"/drop 5 Gift | 10 off | days={twenty}", "days="),
    ):
        out = await boss.send(command)
        assert len(out) == 1 and expected in (out[0].text or ""), (command, out[0].text)
        assert "went wrong" not in (out[0].text or "")
    for data in ("claim:²", f"claim:{twenty}", "claim:-1"):
        out = await member(shop, 121).press(data)
        assert not any("went wrong" in (o.text or "") for o in out)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    async with shop.app.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(CouponDrop)) == 1


async def test_a_drop_for_a_tier_that_does_not_exist_is_refused(shop: Desk) -> None:
    boss = admin(shop)
    out = await boss.send("/drop 5 Gift | 10 off | audience=tier:99")
    text = out[0].text or ""
    assert "tier:99" in text and "Regular" in text and "Diamond" in text
    assert "Drop #" not in text
    assert not [o for o in await shop.flush() if o.chat_id == COMMUNITY]
    ok = await boss.send("/drop 5 Gift | 10 off | audience=tier:3")
    assert "Drop #1" in (ok[0].text or "")


async def test_a_drop_ended_elsewhere_is_remembered_as_ended(shop: Desk) -> None:
    from community import drops as drop_rules

    await admin(shop).send("/drop 10 Flash | 5 off")
    post = next(o for o in await shop.flush() if o.chat_id == COMMUNITY)
    async with shop.app.session_factory() as s:  # another process ends it
        assert await drop_rules.end_drop(s, drop_id=1, now=shop.clock.now)
    for user_id in (131, 132):  # the database says so, then this process remembers
        late = await member(shop, user_id).press(post.buttons[0].callback_data or "")
        assert "has ended" in (late[0].text or "")


async def test_every_button_tapped_in_the_group_gets_an_answer(shop: Desk) -> None:
    """Private-chat buttons (or forged data) tapped in the group: no spinning button."""
    tapper = member(shop, 141)
    for data in ("member:checkin", "redeem:1", "dropok:1:1", "fb:1:1", "claim:²", "zzz"):
        out = [o for o in await tapper.press(data) if o.method == "answerCallbackQuery"]
        assert len(out) == 1, data
        assert "private chat" in (out[0].text or "") and "?start=" in (out[0].request.url or "")


async def test_a_drop_priced_in_points_shows_its_price_and_says_what_was_spent(
    shop: Desk,
) -> None:
    await admin(shop).send("/drop 5 Tote bag | free tote with any order | cost=5")
    post = next(o for o in await shop.flush() if o.chat_id == COMMUNITY)
    assert "5 积分" in (post.text or "") and "5 积分" in (post.buttons[0].text or "")
    buyer = member(shop, 151)
    await buyer.send("/checkin")  # 10 points
    got = [
        o for o in await buyer.press(post.buttons[0].callback_data or "") if o.method != "getMe"
    ]
    assert "5 points spent" in (got[0].text or "")
    async with shop.app.session_factory() as s:
        assert await s.scalar(select(Member.balance).where(Member.user_id == 151)) == 5


async def test_replies_name_the_member_and_a_missing_drop(shop: Desk) -> None:
    boss = admin(shop)
    await member(shop, 161).send("/checkin")  # M161 exists, 10 points
    out = await boss.send("/points 161 +20 quiz")
    assert "M161" in (out[0].text or "") and "Balance: 30" in (out[0].text or "")
    refused = await boss.send("/points 161 -100 oops")
    assert "M161" in (refused[0].text or "")
    missing = await boss.send("/dropstats 9")
    assert "no drop #9" in (missing[0].text or "") and "Usage" not in (missing[0].text or "")


async def test_dropstats_names_the_status_in_the_managers_language(shop: Desk) -> None:
    boss = ChatClient(
        shop.customer.dp, shop.customer.bot, shop.local, user_id=ADMIN, first_name="Boss",
        language_code="zh", first_update_id=61 * M,
    )  # fmt: skip
    await boss.send("/drop 3 Gift | 10 off")
    live = (await boss.send("/dropstats 1"))[0].text or ""
    assert "（进行中）" in live and "live" not in live
    await boss.send("/dropend 1")
    ended = (await boss.send("/dropstats 1"))[0].text or ""
    assert "（已结束）" in ended and "ended" not in ended


async def test_a_member_who_chose_a_language_is_answered_in_it(shop: Desk) -> None:
    from storage.models import User as UserRow

    await admin(shop).send("/drop 5 Spring | 5 off")
    post = next(o for o in await shop.flush() if o.chat_id == COMMUNITY)
    claim = post.buttons[0].callback_data or ""
    m = member(shop, 93)  # Telegram says English
    first = [o for o in await m.press(claim) if o.method != "getMe"]
    assert "yours" in (first[0].text or "")
    async with shop.app.session_factory() as s:
        user = await s.get(UserRow, 93)
        assert user is not None
        user.language = "zh"  # chosen in the bot
        await s.commit()
    shop.clock.advance(minutes=10)  # the claim queue refreshes the member again
    again = await m.press(claim)
    assert "already have" not in (again[0].text or "")
    assert again[0].text == shop.app.catalogue.for_lang("zh")("claim-limit")
