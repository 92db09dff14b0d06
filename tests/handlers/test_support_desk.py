"""The support desk through the production Dispatcher and the outbox sender.

A customer (private chat) and agents (members of the support group) talk to one Dispatcher;
`desk.flush()` runs the sender until nothing is due and returns what it sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.methods import (
    CopyMessage,
    CopyMessages,
    EditMessageText,
    SendMessage,
)
from sqlalchemy import func, select

from bot.app import (
    App,
    campaign_policy,
    community_policy,
    create_bot,
    create_dispatcher,
    create_sender,
    desk_policy,
)
from bot.config import Settings
from bot.local import ChatClient, LocalSession, Outgoing, flatten
from bot.sender import Sender
from faq import KnowledgeBase, Matcher
from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.models import (
    Csat,
    CustomerTopic,
    Member,
    Order,
    OutboxMessage,
    Ticket,
    TicketMessage,
    User,
)
from tests.conftest import Clock, live
from views.texts import Catalogue

SUPPORT = -1001234567890
CUSTOMER = 5001
AGENT, AGENT_B = 7001, 7002
ADMIN = 900
M = 1_000_000
BOT = {"id": 42, "is_bot": True, "first_name": "Shop assistant"}
ANY_CALL = CopyMessage(chat_id=0, from_chat_id=0, message_id=0)


@dataclass
class Desk:
    app: App
    local: LocalSession
    sender: Sender
    customer: ChatClient
    agent: ChatClient
    agent_b: ChatClient
    clock: Clock
    topics: bool = True

    async def flush(self) -> list[Outgoing]:
        start = len(self.local.requests)
        await self.sender.drain()
        return [flatten(m) for m in self.local.requests[start:]]

    async def count(self, model: Any, *where: Any) -> int:
        async with self.app.session_factory() as s:
            return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    async def ticket(self) -> Ticket:
        async with self.app.session_factory() as s:
            t = await s.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1))
            assert t is not None
            return t

    async def thread(self, user_id: int = CUSTOMER) -> int:
        async with self.app.session_factory() as s:
            topic = await s.get(CustomerTopic, user_id)
            assert topic is not None and topic.thread_id is not None
            return topic.thread_id

    async def agent_says(self, text: str, client: ChatClient | None = None) -> list[Outgoing]:
        """An agent writes to the customer: in their topic, or as a reply to the card."""
        if not self.topics:
            card = (await self.ticket()).card_message_id
            assert card is not None
            return await (client or self.agent).send_content(
                text=text, reply_to_message={"message_id": card}
            )
        thread = await self.thread()
        return await (client or self.agent).send_content(
            text=text, message_thread_id=thread, is_topic_message=True
        )


async def build_desk(
    tmp_path: Path,
    kb: KnowledgeBase,
    matcher: Matcher,
    catalogue: Catalogue,
    clock: Clock,
    **overrides: Any,
) -> AsyncGenerator[Desk, None]:
    settings = Settings(
        _env_file=None,
        bot_token="123456:TEST",
        database_url=overrides.pop("database_url", f"sqlite+aiosqlite:///{tmp_path / 'desk.db'}"),
        admin_ids=(ADMIN,),
        support_chat_id=SUPPORT,
        support_mode=overrides.pop("mode", "topics"),
        flood_max_messages=overrides.pop("flood_max_messages", 1000),
        sender_global_per_second=1000,
        sender_private_per_second=1000,
        sender_group_per_minute=60_000,
        support_album_wait_ms=0,
        **overrides,
    )
    eng = create_engine(settings.database_url)
    await upgrade(eng)
    app = App(
        settings=settings,
        engine=eng,
        session_factory=create_session_factory(eng),
        kb=kb,
        matcher=live(kb, matcher),
        catalogue=catalogue,
        desk=desk_policy(settings),
        community=community_policy(settings),
        campaigns=campaign_policy(settings),
        clock=clock,
    )
    topics = settings.support_mode == "topics"
    # As in conftest's make_client: no Telegram call while a DB connection is held (SQLite
    # runs on one pooled connection; a held transaction would stall every update).
    held: list[str] = []
    pool = eng.sync_engine.pool

    def no_transaction_held(method: object) -> None:
        if pool.checkedout():  # type: ignore[attr-defined]
            held.append(type(method).__name__)

    local = LocalSession(
        forum_chats={SUPPORT} if topics else set(), on_request=no_transaction_held
    )
    bot = create_bot(settings, session=local)
    sender = create_sender(app, bot, topics=topics)
    # One send at a time, so the held-connection check below sees only this send's own
    # session (concurrent sends legitimately use the pool while another waits on Telegram).
    sender.semaphore = asyncio.Semaphore(1)
    dp = create_dispatcher(app, topics=topics, sender=sender)
    group: dict[str, Any] = {"chat_type": "supergroup", "chat_id": SUPPORT}
    desk = Desk(
        app,
        local,
        sender,
        ChatClient(dp, bot, local, user_id=CUSTOMER, first_name="Lin", language_code="zh"),
        ChatClient(
            dp, bot, local, user_id=AGENT, first_name="Amy", first_update_id=5_000_000, **group
        ),
        ChatClient(
            dp, bot, local, user_id=AGENT_B, first_name="Bo", first_update_id=9_000_000, **group
        ),
        clock,
        topics,
    )
    try:
        yield desk
    finally:
        await bot.session.close()
        await app.close()
    assert held == [], f"Telegram called while a DB connection was held: {held}"


@pytest.fixture
async def desk(
    tmp_path: Path, kb: KnowledgeBase, matcher: Matcher, catalogue: Catalogue, clock: Clock
) -> AsyncIterator[Desk]:
    async for d in build_desk(tmp_path, kb, matcher, catalogue, clock):
        yield d


@pytest.fixture(params=["topics", "reply"])
async def any_desk(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    kb: KnowledgeBase,
    matcher: Matcher,
    catalogue: Catalogue,
    clock: Clock,
) -> AsyncIterator[Desk]:
    """The flows that both modes share run in both."""
    async for d in build_desk(tmp_path, kb, matcher, catalogue, clock, mode=request.param):
        yield d


@pytest.fixture
async def reply_desk(
    tmp_path: Path, kb: KnowledgeBase, matcher: Matcher, catalogue: Catalogue, clock: Clock
) -> AsyncIterator[Desk]:
    async for d in build_desk(tmp_path, kb, matcher, catalogue, clock, mode="reply"):
        yield d


def methods(outs: list[Outgoing]) -> list[str]:
    return [o.method for o in outs]


async def test_handoff_opens_a_ticket_posts_a_card_and_relays_both_ways(desk: Desk) -> None:
    await desk.customer.send("订单号1234567890123 还没到")
    replies = await desk.customer.send("/human")
    assert "排第 1 位" in (replies[0].text or "")
    assert replies[0].buttons[0].text == "✅ 结束对话"
    assert await desk.count(Ticket) == 1

    sent = await desk.flush()
    assert methods(sent)[:2] == ["createForumTopic", "sendMessage"]
    card = sent[1]
    assert card.chat_id == SUPPORT and "1234567890123" in (card.text or "")
    assert {b.text for b in card.buttons} >= {"🙋 接单", "✅ 结束"}
    thread = await desk.thread()
    assert card.request.message_thread_id == thread

    # The customer writes: nothing is said back, the message is copied into the topic.
    assert await desk.customer.send("尺码偏大吗") == []
    sent = await desk.flush()
    copies = [o.request for o in sent if isinstance(o.request, CopyMessage)]
    assert len(copies) == 1 and copies[0].chat_id == SUPPORT
    assert copies[0].message_thread_id == thread and copies[0].from_chat_id == CUSTOMER

    # The agent answers in the topic: it is copied to the customer and counts as the response.
    desk.clock.advance(seconds=40)
    assert await desk.agent_says("您好，正常码就可以") == []
    sent = await desk.flush()
    out = [o.request for o in sent if isinstance(o.request, CopyMessage)]
    assert len(out) == 1 and out[0].chat_id == CUSTOMER and out[0].from_chat_id == SUPPORT
    ticket = await desk.ticket()
    assert ticket.state == "answered" and ticket.assignee_id == AGENT
    assert ticket.first_responder_id == AGENT
    assert ticket.first_response_at is not None
    assert (ticket.first_response_at - ticket.opened_at).total_seconds() == 40
    assert await desk.count(TicketMessage, TicketMessage.delivery == "sent") == 2


async def test_notes_are_never_sent_to_the_customer(any_desk: Desk) -> None:
    desk = any_desk
    await desk.customer.send("/human")
    await desk.flush()
    await desk.agent_says("!VIP, be gentle")
    await desk.agent_says("/note refund approved by Li")
    sent = await desk.flush()
    assert not [o for o in sent if o.chat_id == CUSTOMER]
    assert await desk.count(TicketMessage, TicketMessage.direction == "note") == 2


async def test_close_asks_for_a_rating_then_a_comment(any_desk: Desk) -> None:
    desk = any_desk
    await desk.customer.send("/human")
    await desk.flush()
    await desk.agent_says("Done, refund sent")
    await desk.agent_says("/close refunded")
    sent = await desk.flush()
    closing = [o for o in sent if o.chat_id == CUSTOMER and isinstance(o.request, SendMessage)]
    assert len(closing) == 1 and len(closing[0].buttons) == 5
    ticket = await desk.ticket()
    assert ticket.state == "closed" and ticket.close_note == "refunded"

    await desk.customer.press(closing[0].buttons[4].callback_data or "")
    again = await desk.customer.press(closing[0].buttons[0].callback_data or "")
    assert any("已评价" in (o.text or "") for o in again)
    thanks = await desk.customer.send("很快，谢谢")
    assert "已转达" in (thanks[0].text or "")
    async with desk.app.session_factory() as s:
        csat = await s.get(Csat, ticket.id)
        assert csat is not None and csat.score == 5 and csat.comment == "很快，谢谢"


async def test_a_message_soon_after_close_reopens_later_opens_a_new_ticket(desk: Desk) -> None:
    await desk.customer.send("/human")
    await desk.flush()
    await desk.agent_says("/close")
    await desk.flush()
    desk.clock.advance(minutes=11)  # past the CSAT comment window, within the reopen window
    reply = await desk.customer.send("还有一个问题")
    assert "重新打开" in (reply[0].text or "")
    assert await desk.count(Ticket) == 1
    assert (await desk.ticket()).state == "waiting"
    await desk.flush()

    await desk.agent_says("/close")
    await desk.flush()
    desk.clock.advance(hours=2)
    reply = await desk.customer.send("又有问题了")
    assert "新开" in (reply[0].text or "")
    assert await desk.count(Ticket) == 2
    sent = await desk.flush()
    # Same topic for the same customer: no second createForumTopic.
    assert "createForumTopic" not in methods(sent)

    await desk.agent_says("/close")
    await desk.flush()
    desk.clock.advance(days=2)
    reply = await desk.customer.send("退货政策是什么")  # the FAQ answers again
    assert await desk.count(Ticket) == 2
    assert reply and reply[0].buttons and "👍" in reply[0].buttons[0].text


async def test_a_deleted_topic_is_recreated_and_the_message_still_arrives(desk: Desk) -> None:
    await desk.customer.send("/human")
    await desk.flush()
    old = await desk.thread()
    desk.local.fail_next(
        "copyMessage",
        TelegramBadRequest(
            method=CopyMessage(chat_id=0, from_chat_id=0, message_id=0),
            message="Bad Request: message thread not found",
        ),
    )
    await desk.customer.send("还在吗")
    sent = await desk.flush()
    assert methods(sent).count("createForumTopic") == 1
    new = await desk.thread()
    assert new != old
    in_new = [o for o in sent if getattr(o.request, "message_thread_id", None) == new]
    kinds = [o.method for o in in_new]
    # card, then history, then the message itself, all in the new topic
    assert kinds[:3] == ["sendMessage", "sendMessage", "copyMessage"], kinds
    assert "还在吗" in (in_new[1].text or "")
    async with desk.app.session_factory() as s:
        topic = await s.get(CustomerTopic, CUSTOMER)
        assert topic is not None and topic.generation == 2
    assert await desk.count(TicketMessage, TicketMessage.delivery == "sent") == 1


async def test_a_429_is_waited_out_and_the_relay_delivered_once(any_desk: Desk) -> None:
    desk = any_desk
    await desk.customer.send("/human")
    await desk.flush()
    desk.local.fail_next(
        "copyMessage",
        TelegramRetryAfter(
            method=CopyMessage(chat_id=0, from_chat_id=0, message_id=0),
            message="Too Many Requests",
            retry_after=5,
        ),
    )
    await desk.customer.send("hello?")
    first = await desk.flush()
    assert methods(first) == ["copyMessage"]  # the failed attempt
    desk.clock.advance(seconds=4)
    assert await desk.flush() == []
    desk.clock.advance(seconds=1)
    desk.sender.pacer.chats.clear()
    desk.sender.pacer.all.tokens = 3
    again = await desk.flush()
    assert methods(again) == ["copyMessage"]
    assert await desk.count(OutboxMessage, OutboxMessage.status == "sent") >= 2


async def test_a_blocked_customer_is_flagged_once_and_the_agent_told(any_desk: Desk) -> None:
    desk = any_desk
    await desk.customer.send("/human")
    await desk.flush()
    desk.local.fail_next(
        "copyMessage",
        TelegramForbiddenError(
            method=CopyMessage(chat_id=0, from_chat_id=0, message_id=0),
            message="Forbidden: bot was blocked by the user",
        ),
    )
    await desk.agent_says("您好？")
    sent = await desk.flush()
    notes = [o for o in sent if o.method == "sendMessage" and "屏蔽" in (o.text or "")]
    assert len(notes) == 1
    async with desk.app.session_factory() as s:
        user = await s.get(User, CUSTOMER)
        assert user is not None and user.blocked
    # Telegram's my_chat_member for the same block adds no second note.
    await desk.customer.feed(
        {
            "update_id": desk.customer.next_update_id(),
            "my_chat_member": {
                "chat": {"id": CUSTOMER, "type": "private", "first_name": "Lin"},
                "from": {"id": CUSTOMER, "is_bot": False, "first_name": "Lin"},
                "date": 1,
                "old_chat_member": {
                    "status": "member",
                    "user": {"id": 42, "is_bot": True, "first_name": "b"},
                },
                "new_chat_member": {
                    "status": "kicked",
                    "until_date": 0,
                    "user": {"id": 42, "is_bot": True, "first_name": "b"},
                },
            },
        }
    )
    sent = await desk.flush()
    assert not [o for o in sent if o.method == "sendMessage" and "屏蔽" in (o.text or "")]


async def test_take_is_first_come_and_transfer_moves_it(any_desk: Desk) -> None:
    desk = any_desk
    await desk.customer.send("/human")
    sent = await desk.flush()
    card = next(o for o in sent if o.buttons)
    take = next(b for b in card.buttons if b.text.startswith("🙋"))
    first = await desk.agent.press(take.callback_data or "")
    second = await desk.agent_b.press(take.callback_data or "")
    assert "接待" in (first[0].text or "")
    assert "Amy" in (second[0].text or "") and second[0].show_alert
    await desk.agent_b.send("/online")
    await desk.agent_says("/transfer")
    menu = [o for o in desk.local.requests[-3:] if getattr(o, "reply_markup", None)]
    assert menu
    await desk.agent_says(f"/transfer {AGENT_B}")
    assert (await desk.ticket()).assignee_id == AGENT_B


async def test_canned_replies_fill_variables_and_refuse_missing_ones(any_desk: Desk) -> None:
    desk = any_desk
    admin = ChatClient(
        desk.customer.dp, desk.customer.bot, desk.local, user_id=ADMIN, first_name="Boss",
        chat_type="supergroup", chat_id=SUPPORT, first_update_id=20_000_000,
    )  # fmt: skip
    out = await admin.send("/canned add hi zh 您好{name}，我是{agent}")
    assert "已保存" in (out[0].text or "")
    out = await admin.send("/canned add track 订单{order}已发货")
    assert "已保存" in (out[0].text or "")
    refused = await desk.agent.send("/canned add x hi")
    assert "管理员" in (refused[0].text or "")

    await desk.customer.send("/human")
    await desk.flush()
    out = await desk.agent_says("/c hi")
    assert "您好Lin，我是Amy" in (out[0].text or "")
    out = await desk.agent_says("/c track")
    assert "{order}" in (out[0].text or "")
    sent = await desk.flush()
    to_customer = [o for o in sent if o.chat_id == CUSTOMER]
    assert [o.text for o in to_customer] == ["您好Lin，我是Amy"]


async def test_reply_mode_posts_the_card_and_relays_by_reply(reply_desk: Desk) -> None:
    desk = reply_desk
    await desk.customer.send("/human")
    sent = await desk.flush()
    assert "createForumTopic" not in methods(sent)
    card = next(o for o in sent if o.chat_id == SUPPORT)
    await desk.customer.send("在吗")
    sent = await desk.flush()
    copy = next(o.request for o in sent if isinstance(o.request, CopyMessage))
    assert copy.reply_parameters is not None
    card_id = (await desk.ticket()).card_message_id
    assert card_id is not None and copy.reply_parameters.message_id == card_id
    assert card.text
    # The agent replies to the relayed copy.
    async with desk.app.session_factory() as s:
        dst = await s.scalar(
            select(TicketMessage.dst_message_id).where(TicketMessage.direction == "in")
        )
    await desk.agent.send_content(text="在的", reply_to_message={"message_id": dst})
    sent = await desk.flush()
    assert [o.chat_id for o in sent if isinstance(o.request, CopyMessage)] == [CUSTOMER]
    # Team chat (not a reply) is not relayed.
    await desk.agent.send("lunch?")
    assert await desk.flush() == []


async def test_an_album_is_copied_in_one_request(any_desk: Desk) -> None:
    desk = any_desk
    await desk.customer.send("/human")
    await desk.flush()
    photo = [
        {"file_id": f"p{i}", "file_unique_id": f"u{i}", "width": 1, "height": 1} for i in range(3)
    ]
    await desk.customer.send_album([{"photo": [p]} for p in photo], media_group_id="g1")
    sent = await desk.flush()
    albums = [o.request for o in sent if isinstance(o.request, CopyMessages)]
    assert len(albums) == 1 and len(albums[0].message_ids) == 3
    assert albums[0].message_ids == sorted(albums[0].message_ids)
    assert not [o for o in sent if isinstance(o.request, CopyMessage)]


async def test_a_customer_edit_is_mirrored(any_desk: Desk) -> None:
    desk = any_desk
    await desk.customer.send("/human")
    await desk.flush()
    await desk.customer.send("size M")
    await desk.flush()
    await desk.customer.edit(desk.customer.last_message_id, "size L")
    sent = await desk.flush()
    edits = [o.request for o in sent if isinstance(o.request, EditMessageText)]
    assert len(edits) == 1 and (edits[0].text or "").startswith("size L")


async def test_restart_resumes_unsent_relays(
    tmp_path: Path, kb: KnowledgeBase, matcher: Matcher, catalogue: Catalogue, clock: Clock
) -> None:
    gen = build_desk(tmp_path, kb, matcher, catalogue, clock)
    desk = await gen.__anext__()
    await desk.customer.send("/human")
    await desk.customer.send("第一条")
    # The bot stops before the sender ran.
    await gen.aclose()
    gen = build_desk(tmp_path, kb, matcher, catalogue, clock)
    desk = await gen.__anext__()
    sent = await desk.flush()
    assert methods(sent)[:3] == ["createForumTopic", "sendMessage", "copyMessage"]
    assert isinstance(sent[2].request, CopyMessage)
    await gen.aclose()


async def test_a_customer_in_a_ticket_is_never_muted_by_flood_control(
    tmp_path: Path, kb: KnowledgeBase, matcher: Matcher, catalogue: Catalogue, clock: Clock
) -> None:
    async for desk in build_desk(tmp_path, kb, matcher, catalogue, clock, flood_max_messages=3):
        await desk.customer.send("/human")
        for i in range(10):
            assert await desk.customer.send(f"详情 {i}") == []
        assert await desk.count(TicketMessage, TicketMessage.direction == "in") == 10


async def test_sla_breach_alerts_the_group_once_per_level_and_marks_the_topic(desk: Desk) -> None:
    from bot.scheduler import support_sla

    await desk.agent.send("/online")
    await desk.customer.send("/human")
    await desk.flush()
    desk.clock.advance(seconds=179)
    assert await support_sla(desk.app) == 0
    desk.clock.advance(seconds=2)
    assert await support_sla(desk.app) == 1
    assert await support_sla(desk.app) == 0
    sent = await desk.flush()
    alert = next(o for o in sent if "⏰" in (o.text or ""))
    assert f"tg://user?id={AGENT}" in (alert.text or "")
    assert f"tg://user?id={ADMIN}" not in (alert.text or "")  # admins from the 2nd alert
    assert "mentions" not in (alert.text or "")  # the placeholder is filled, not printed
    renames = [o for o in sent if o.method == "editForumTopic"]
    assert renames and (renames[-1].request.name or "").startswith("🔥")
    desk.clock.advance(seconds=120)
    assert await support_sla(desk.app) == 1
    sent = await desk.flush()
    second = next(o for o in sent if "⏰" in (o.text or ""))
    assert f"tg://user?id={ADMIN}" in (second.text or "")
    # An answer stops the alerts.
    await desk.agent_says("在的")
    desk.clock.advance(seconds=600)
    assert await support_sla(desk.app) == 0


async def test_admins_see_support_stats(any_desk: Desk) -> None:
    desk = any_desk
    await desk.customer.send("/human")
    await desk.flush()
    desk.clock.advance(seconds=60)
    await desk.agent_says("hi")
    await desk.agent_says("/close")
    admin = ChatClient(
        desk.customer.dp, desk.customer.bot, desk.local, user_id=ADMIN, first_name="Boss",
        first_update_id=30 * M,
    )  # fmt: skip
    out = await admin.send("/stats support")
    text = out[0].text or ""
    assert "新建 1 · 结束 1" in text or "Opened 1 · closed 1" in text
    assert "Amy" in text
    nobody = await desk.customer.send("/stats")
    assert not any("📊" in (o.text or "") for o in nobody)


async def test_an_anonymous_admin_is_relayed_and_other_bots_are_not(desk: Desk) -> None:
    await desk.customer.send("/human")
    await desk.flush()
    thread = await desk.thread()
    for user_id, name in ((1087968824, "Group"), (4242, "OtherBot")):
        other = ChatClient(
            desk.customer.dp, desk.customer.bot, desk.local, user_id=user_id, first_name=name,
            chat_type="supergroup", chat_id=SUPPORT, first_update_id=(40 + user_id % 7) * M,
        )  # fmt: skip
        other.user = other.user.model_copy(update={"is_bot": True})
        await other.send_content(
            text=f"from {name}", message_thread_id=thread, is_topic_message=True
        )
    sent = await desk.flush()
    assert [o.method for o in sent if o.chat_id == CUSTOMER] == ["copyMessage"]


async def test_network_errors_back_off_and_the_message_still_goes_once(desk: Desk) -> None:
    await desk.customer.send("/human")
    await desk.flush()
    for _ in range(2):
        desk.local.fail_next("copyMessage", TelegramNetworkError(method=ANY_CALL, message="reset"))
    await desk.customer.send("你好")
    assert methods(await desk.flush()) == ["copyMessage"]  # failed; retry in about 1 s
    desk.clock.advance(seconds=2)
    assert methods(await desk.flush()) == ["copyMessage"]  # failed again; about 2 s
    desk.clock.advance(seconds=3)
    assert methods(await desk.flush()) == ["copyMessage"]
    assert await desk.count(TicketMessage, TicketMessage.delivery == "sent") == 1
    assert await desk.count(OutboxMessage, OutboxMessage.status == "pending") == 0


async def test_a_closed_topic_is_reopened_not_replaced(desk: Desk) -> None:
    await desk.customer.send("/human")
    await desk.flush()
    thread = await desk.thread()
    desk.local.fail_next(
        "copyMessage", TelegramBadRequest(method=ANY_CALL, message="Bad Request: TOPIC_CLOSED")
    )
    await desk.customer.send("在吗")
    sent = await desk.flush()
    assert "reopenForumTopic" in methods(sent)
    assert "createForumTopic" not in methods(sent)
    assert sent[-1].method == "copyMessage" and sent[-1].request.message_thread_id == thread


async def test_out_of_hours_the_customer_is_told_when_we_open(
    tmp_path: Path, kb: KnowledgeBase, matcher: Matcher, catalogue: Catalogue, clock: Clock
) -> None:
    clock.now = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)  # Saturday 12:00 in Shanghai
    gen = build_desk(tmp_path, kb, matcher, catalogue, clock, support_hours="mon-fri 09:00-18:00")
    async for desk in gen:
        reply = await desk.customer.send("/human")
        assert "2026-11-23 09:00" in (reply[0].text or "")  # Monday, shop time
        ticket = await desk.ticket()
        assert ticket.out_of_hours
        assert ticket.sla_due_at == datetime(2026, 11, 23, 1, 3, tzinfo=UTC)


async def test_auto_assign_and_signature(
    tmp_path: Path, kb: KnowledgeBase, matcher: Matcher, catalogue: Catalogue, clock: Clock
) -> None:
    gen = build_desk(
        tmp_path, kb, matcher, catalogue, clock,
        support_auto_assign=True, support_agent_identity="signature",
    )  # fmt: skip
    async for desk in gen:
        await desk.agent_b.send("/online")
        await desk.customer.send("/human")
        assert (await desk.ticket()).assignee_id == AGENT_B
        await desk.flush()
        await desk.agent_says("您好", client=desk.agent_b)
        sent = await desk.flush()
        to_customer = [o for o in sent if o.chat_id == CUSTOMER]
        assert [o.text for o in to_customer] == ["您好\n— Bo"]


# --- issue 10: the desk's defects ---------------------------------------------------------


def admin_in_group(desk: Desk) -> ChatClient:
    return ChatClient(
        desk.customer.dp, desk.customer.bot, desk.local, user_id=ADMIN, first_name="Boss",
        chat_type="supergroup", chat_id=SUPPORT, first_update_id=20_000_000,
    )  # fmt: skip


def no_errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_agents_list_and_choose_canned_replies(
    any_desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    desk = any_desk
    await admin_in_group(desk).send("/canned add hi zh 您好{name}")
    out = await desk.agent.send("/canned list")
    assert "hi" in (out[0].text or "") and "您好{name}" in (out[0].text or "")

    await desk.customer.send("/human")
    await desk.flush()
    out = await desk.agent_says("/c")
    assert [b.text for b in out[0].buttons] == ["hi"]
    answer = await desk.agent.press(out[0].buttons[0].callback_data or "")
    assert "您好Lin" in (answer[0].text or "")
    sent = await desk.flush()
    assert [o.text for o in sent if o.chat_id == CUSTOMER] == ["您好Lin"]
    assert no_errors_logged(caplog) == []


async def test_a_note_is_confirmed_with_a_reaction(any_desk: Desk) -> None:
    desk = any_desk
    await desk.customer.send("/human")
    await desk.flush()
    for text in ("!VIP, be gentle", "/note refund approved by Li"):
        out = await desk.agent_says(text)
        assert [o.method for o in out] == ["setMessageReaction"]
        request = out[0].request
        assert request.chat_id == SUPPORT and request.message_id == desk.agent.last_message_id
        assert [r.emoji for r in request.reaction] == ["✍"]
    # A group that allows no such reaction gets a short reply instead.
    desk.local.fail_next(
        "setMessageReaction",
        TelegramBadRequest(method=ANY_CALL, message="Bad Request: REACTION_INVALID"),
    )
    out = await desk.agent_says("!still noted")
    assert "备注已保存" in (out[-1].text or "")
    assert await desk.count(TicketMessage, TicketMessage.direction == "note") == 3
    empty = await desk.agent_says("/note")
    assert "/note" in (empty[0].text or "")


async def test_shop_in_a_canned_reply_names_the_setting_when_unset(
    tmp_path: Path, kb: KnowledgeBase, matcher: Matcher, catalogue: Catalogue, clock: Clock
) -> None:
    for shop in ("", "Cotton & Co"):
        async for desk in build_desk(
            tmp_path / (shop[:6] or "none"), kb, matcher, catalogue, clock, shop_name=shop
        ):
            await admin_in_group(desk).send("/canned add bye 感谢光临{shop}")
            await desk.customer.send("/human")
            await desk.flush()
            out = await desk.agent_says("/c bye")
            if shop:
                assert "感谢光临Cotton & Co" in (out[0].text or "")
            else:
                text = out[0].text or ""
                assert "SHOP_NAME" in text and "本工单" not in text
                assert not [o for o in await desk.flush() if o.chat_id == CUSTOMER]


@pytest.mark.parametrize(
    "target", ["²", "١٢٣", "99999999999999999999999", "+7002", "-7002", "0", "7002_0"]
)
async def test_a_transfer_to_a_bad_id_is_answered(
    desk: Desk, target: str, caplog: pytest.LogCaptureFixture
) -> None:
    await desk.agent_b.send("/online")
    await desk.customer.send("/human")
    await desk.flush()
    out = await desk.agent_says(f"/transfer {target}")
    assert "@" in (out[0].text or "") and "id" in (out[0].text or "")
    assert (await desk.ticket()).assignee_id is None
    assert no_errors_logged(caplog) == []


async def test_canned_keys_of_the_wrong_shape_are_answered(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    admin = admin_in_group(desk)
    long_key = "k" * 33
    for command in (
        f"/canned remove {long_key}",
        f"/canned add {long_key} hi",
        "/canned add 键 hi",
    ):
        out = await admin.send(command)
        assert "1-32" in (out[0].text or ""), command
    await desk.customer.send("/human")
    await desk.flush()
    out = await desk.agent_says(f"/c {long_key}")
    assert "1-32" in (out[0].text or "")
    assert no_errors_logged(caplog) == []


@pytest.mark.parametrize(
    "data",
    [
        "desk:99999999999999999999999:take",
        "desk:abc:close",
        "desk:+1:take",
        "desk:1",
        "tmenu:-1",
        "tto:1:99999999999999999999999",
        "tto:1_0:0",
        "canned:99999999999999999999999:hi",
        "canned:1:" + "k" * 40,
    ],
)
async def test_forged_desk_buttons_are_answered_politely(
    desk: Desk, data: str, caplog: pytest.LogCaptureFixture
) -> None:
    await desk.customer.send("/human")
    await desk.flush()
    out = await desk.agent.press(data)
    answers = [o for o in out if o.method == "answerCallbackQuery"]
    assert len(answers) == 1 and "工单" in (answers[0].text or "")
    assert no_errors_logged(caplog) == []
    ticket = await desk.ticket()
    assert ticket.state == "new" and ticket.assignee_id is None


@pytest.mark.parametrize(
    "data", ["tclose:99999999999999999999999", "tclose:x", "rate:1:99", "rate:+1:5", "skipc:1:2"]
)
async def test_forged_customer_buttons_are_answered_politely(
    desk: Desk, data: str, caplog: pytest.LogCaptureFixture
) -> None:
    await desk.customer.send("/human")
    out = await desk.customer.press(data)
    answers = [o for o in out if o.method == "answerCallbackQuery"]
    assert len(answers) == 1 and "失效" in (answers[0].text or "")
    assert no_errors_logged(caplog) == []
    assert (await desk.ticket()).state == "new"


# --- issue 12: VIPs and their dedicated agent --------------------------------------------


async def test_a_gold_customer_goes_first_to_their_dedicated_agent_and_is_marked(
    tmp_path: Path, kb: KnowledgeBase, matcher: Matcher, catalogue: Catalogue, clock: Clock
) -> None:
    gen = build_desk(
        tmp_path, kb, matcher, catalogue, clock,
        support_vip_tier="金卡", support_tier_agents=f"金卡={AGENT_B}",
    )  # fmt: skip
    async for desk in gen:
        async with desk.app.session_factory() as s:
            s.add(User(id=CUSTOMER, first_name="Lin", first_seen=clock(), last_seen=clock()))
            await s.flush()
            s.add(Member(user_id=CUSTOMER, tier=2, updated_at=clock()))
            s.add(
                Order(
                    order_id="880123", telegram_id=CUSTOMER, status="shipped",
                    amount_minor=39900, currency="CNY", created_at=clock(), updated_at=clock(),
                )
            )  # fmt: skip
            await s.commit()
        await desk.agent_b.send("/online")
        await desk.customer.send("/human")
        ticket = await desk.ticket()
        assert ticket.vip and ticket.assignee_id == AGENT_B
        sent = await desk.flush()
        topic = next(o for o in sent if o.method == "createForumTopic")
        assert "⭐" in str(topic.request.name)
        card = next(o for o in sent if o.method == "sendMessage" and o.chat_id == SUPPORT)
        assert "⭐ VIP" in (card.text or "") and "会员等级：金卡" in (card.text or "")
        assert "#880123 · 已发货 · 399.00 CNY" in (card.text or "")
