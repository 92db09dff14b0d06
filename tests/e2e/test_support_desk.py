"""End to end: the support desk of `python main.py run`, against the fake Bot API over HTTP.

A forum supergroup is registered with the fake; the bot checks it at start-up (getChat,
getChatMember), opens a topic per customer and relays both ways through its outbox sender.
Each test runs on SQLite, and on PostgreSQL too with --postgres / TEST_POSTGRES_URL.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import create_engine
from tests.fake_bot_api import Call, FakeBotAPI

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:TEST"
GROUP = -100_777_000_111
CUSTOMER = 555_000_222
AGENT = 555_000_999
STARTUP = 60.0  # the first getUpdates: interpreter start, imports, migrations
STEP = 15.0  # one hop through the bot (and its outbox sender)


def _env(api_url: str, database_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOT_", "DATABASE_", "SUPPORT_", "SENDER_", "OUTBOX_", "FLOOD_"))
    }
    env.update(
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=api_url,
        DATABASE_URL=database_url,
        SUPPORT_CHAT_ID=str(GROUP),
        SUPPORT_MODE="topics",
        SUPPORT_LANGUAGE="en",
        # Pacing is tested in tests/; here a dialogue should not wait for the 20/min budget.
        SENDER_GROUP_PER_MINUTE="6000",
        SENDER_PRIVATE_PER_SECOND="50",
        SENDER_BURST="20",
        FLOOD_MAX_MESSAGES="50",  # a customer here writes faster than any person
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN) as fake:
        fake.add_group(GROUP, is_forum=True, title="Support")
        yield fake


@pytest.fixture
async def database_url(db_url: str, tmp_path: Path) -> str:
    """A fresh database for the bot: a SQLite file, or the emptied PostgreSQL database."""
    if db_url == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'desk.db'}"
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()
    return db_url


class BotProcess:
    """`python main.py run` in tmp_path, its log in a file (a pipe could fill up and block)."""

    def __init__(self, api: FakeBotAPI, tmp_path: Path, database_url: str) -> None:
        self.api, self.tmp_path, self.database_url = api, tmp_path, database_url
        self.proc: asyncio.subprocess.Process | None = None
        self.runs = 0
        self._engine: AsyncEngine | None = None

    async def start(self) -> None:
        self.runs += 1
        mark = len(self.api.calls)
        with (self.tmp_path / f"bot-{self.runs}.log").open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                str(ROOT / "main.py"),
                "run",
                cwd=self.tmp_path,  # no stray .env
                env=_env(self.api.url, self.database_url),
                stdout=log,
                stderr=log,
            )
        await self.api.wait_for("getUpdates", timeout=STARTUP, after=mark)

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self.proc.wait(), timeout=30)
        self.proc = None

    async def stop(self, sig: signal.Signals = signal.SIGINT) -> None:
        """``sig`` (SIGINT: Ctrl-C; SIGTERM: a service manager) and a clean exit: no
        traceback in any run's log."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(sig)
            await asyncio.wait_for(self.proc.wait(), timeout=30)
            assert self.proc.returncode == 0, self.logs()
        assert "Traceback" not in self.logs(), self.logs()

    def logs(self) -> str:
        return "\n".join(
            (self.tmp_path / f"bot-{n}.log").read_text(errors="replace")
            for n in range(1, self.runs + 1)
        )

    async def outbox(self, kind: str) -> list[tuple[str, int]]:
        """(status, attempts) of the bot's outbox rows of ``kind``, oldest first."""
        if self._engine is None:
            self._engine = create_engine(self.database_url)
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT status, attempts FROM outbox WHERE kind = :kind ORDER BY id"),
                {"kind": kind},
            )
            return [(str(status), int(attempts)) for status, attempts in rows]

    async def close(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        if self._engine is not None:
            await self._engine.dispose()


@pytest.fixture
async def bot(api: FakeBotAPI, tmp_path: Path, database_url: str) -> AsyncIterator[BotProcess]:
    process = BotProcess(api, tmp_path, database_url)
    try:
        yield process
    finally:
        await process.close()


def _text_to(chat_id: int, needle: str) -> Callable[[Call], bool]:
    return lambda c: c.params.get("chat_id") == chat_id and needle in str(c.params.get("text"))


def _ok(predicate: Callable[[Call], bool]) -> Callable[[Call], bool]:
    return lambda c: c.status == 200 and predicate(c)


def _plain(text: object) -> str:
    """Numbers without grouping separators (Fluent may print 555000222 as 555,000,222)."""
    return re.sub(r"(?<=\d)[,\u00a0\u202f ](?=\d{3}\b)", "", str(text))


def _card_of(user_id: int) -> Callable[[Call], bool]:
    """The ticket card: the customer line of views/locales/*/support.ftl `card-customer`."""
    return _ok(
        lambda c: (
            c.params.get("chat_id") == GROUP and f"id {user_id} ·" in _plain(c.params.get("text"))
        )
    )


def _copied(to_chat: int, from_chat: int, message_id: int) -> Callable[[Call], bool]:
    return _ok(
        lambda c: (
            c.params.get("chat_id") == to_chat
            and c.params.get("from_chat_id") == from_chat
            and c.params.get("message_id") == message_id
        )
    )


def _message_id(update: dict[str, Any]) -> int:
    return int(update["message"]["message_id"])


def _say(api: FakeBotAPI, user_id: int, text: str, **group: Any) -> int:
    """Push a message from ``user_id``; its message id (in its chat)."""
    update = api.user_message(
        user_id, text, first_name="Ann" if user_id == CUSTOMER else "Bo", **group
    )
    api.push_update(update)
    return _message_id(update)


def _in_topic(thread_id: int) -> dict[str, Any]:
    return {"chat_id": GROUP, "message_thread_id": thread_id, "is_topic_message": True}


async def _open_ticket(api: FakeBotAPI) -> tuple[Call, Call]:
    """/human: the customer's place in line, and the card in a new topic."""
    mark = len(api.calls)
    _say(api, CUSTOMER, "/human")
    await api.wait_for("sendMessage", _ok(_text_to(CUSTOMER, "in line")), timeout=STEP, after=mark)
    card = await api.wait_for("sendMessage", _card_of(CUSTOMER), timeout=STEP, after=mark)
    topic = await api.wait_for("createForumTopic", timeout=0, after=mark)
    assert topic.status == 200 and topic.params["chat_id"] == GROUP
    return topic, card


async def test_a_ticket_from_handoff_to_rating_and_a_reopen_in_a_new_topic(
    api: FakeBotAPI, bot: BotProcess
) -> None:
    await bot.start()
    checks = {c.method for c in api.calls}
    assert {"getChat", "getMe", "getChatMember"} <= checks  # the start-up check of the group

    _say(api, CUSTOMER, "/start")
    await api.wait_for("sendMessage", _text_to(CUSTOMER, "Hi Ann"), timeout=STEP)

    # Handoff: a topic for the customer, then the card posted into it.
    topic, card = await _open_ticket(api)
    thread = int(topic.result["message_thread_id"])
    assert topic.params["chat_id"] == GROUP
    assert card.params.get("message_thread_id") == thread
    assert topic.at <= card.at
    assert api.topic(GROUP, thread).name.endswith(f"#{_ticket_id(card)}")

    # The customer writes: copied into the topic.
    mark = len(api.calls)
    asked = _say(api, CUSTOMER, "where is my parcel?")
    copy_in = await api.wait_for(
        "copyMessage", _copied(GROUP, CUSTOMER, asked), timeout=STEP, after=mark
    )
    assert copy_in.params.get("message_thread_id") == thread

    # An agent answers in the topic: copied to the customer.
    mark = len(api.calls)
    answer = _say(api, AGENT, "It left our warehouse today.", **_in_topic(thread))
    copy_out = await api.wait_for(
        "copyMessage", _copied(CUSTOMER, GROUP, answer), timeout=STEP, after=mark
    )
    assert "message_thread_id" not in copy_out.params

    # The agent closes the ticket: the customer is asked for a rating with five stars.
    mark = len(api.calls)
    _say(api, AGENT, "/close", **_in_topic(thread))
    stars = await api.wait_for(
        "sendMessage", _ok(_text_to(CUSTOMER, "How did we do?")), timeout=STEP, after=mark
    )
    buttons = stars.params["reply_markup"]["inline_keyboard"][0]
    ticket = _ticket_id(card)
    assert [b["callback_data"] for b in buttons] == [f"rate:{ticket}:{n}" for n in range(1, 6)]

    # Five stars: a toast, the stars removed, a thank-you with a Skip button.
    mark = len(api.calls)
    api.push_update(api.callback_query(CUSTOMER, buttons[4]["callback_data"], stars.result))
    toast = await api.wait_for("answerCallbackQuery", timeout=STEP, after=mark)
    assert toast.params.get("text") == "⭐" * 5
    thanks = await api.wait_for(
        "sendMessage", _ok(_text_to(CUSTOMER, "Thank you for rating us")), timeout=STEP, after=mark
    )
    edit = await api.wait_for("editMessageReplyMarkup", timeout=STEP, after=mark)
    assert edit.params["message_id"] == stars.result["message_id"]
    assert "reply_markup" not in edit.params  # the stars are gone
    note = await api.wait_for(
        "sendMessage",
        _ok(_text_to(GROUP, "rated this conversation 5/5")),
        timeout=STEP,
        after=mark,
    )
    assert note.params.get("message_thread_id") == thread
    skip = thanks.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    mark = len(api.calls)
    api.push_update(api.callback_query(CUSTOMER, skip, thanks.result))
    await api.wait_for("answerCallbackQuery", timeout=STEP, after=mark)

    # An operator deletes the topic; the customer writes again within the reopen window:
    # the ticket reopens, a new topic is made, the card goes first, then the message.
    api.delete_topic(GROUP, thread)
    mark = len(api.calls)
    again = _say(api, CUSTOMER, "one more thing: can I change the address?")
    await api.wait_for(
        "sendMessage", _ok(_text_to(CUSTOMER, "reopened")), timeout=STEP, after=mark
    )
    copy_again = await api.wait_for(
        "copyMessage", _copied(GROUP, CUSTOMER, again), timeout=STEP, after=mark
    )
    new_topics = [c for c in api.calls[mark:] if c.method == "createForumTopic"]
    assert len(new_topics) == 1 and new_topics[0].status == 200
    new_thread = int(new_topics[0].result["message_thread_id"])
    assert new_thread != thread
    assert copy_again.params.get("message_thread_id") == new_thread
    assert not api.topic(GROUP, new_thread).deleted
    new_card = await api.wait_for("sendMessage", _card_of(CUSTOMER), timeout=STEP, after=mark)
    assert new_card.params.get("message_thread_id") == new_thread
    assert new_card.at <= copy_again.at
    assert _ticket_id(new_card) == ticket  # reopened, not a new ticket
    # Nothing of the ticket was lost with the old topic: every group post after the
    # re-creation went to the new one.
    created_at = new_topics[0].at
    posts = [
        c
        for c in api.calls[mark:]
        if c.params.get("chat_id") == GROUP
        and c.at > created_at
        and c.method in ("sendMessage", "copyMessage")
    ]
    assert posts and all(
        c.status == 200 and c.params.get("message_thread_id") == new_thread for c in posts
    ), posts

    await bot.stop()


def _ticket_id(card: Call) -> int:
    title = _plain(card.params["text"]).split("\n", 1)[0]  # "🆕 Ticket #1 · new"
    return int(title.split("#", 1)[1].split()[0])


async def test_relays_queued_before_a_kill_9_go_out_once_after_a_restart(
    api: FakeBotAPI, bot: BotProcess
) -> None:
    await bot.start()
    _, card = await _open_ticket(api)
    thread = int(card.params["message_thread_id"])

    # Telegram throttles the group: the first relay gets a 429 and the group's rows wait,
    # stored in the outbox, while the customer writes three messages. Nothing of the group
    # can be in flight until the pause ends, so any duplicate below would be the bot's.
    api.fail_next("copyMessage", error_code=429, retry_after=5, chat_id=GROUP)
    mark = len(api.calls)
    sent = [_say(api, CUSTOMER, f"message {n}") for n in (1, 2, 3)]
    await api.wait_for("copyMessage", lambda c: c.status == 429, timeout=STEP, after=mark)
    queued = await bot.outbox("relay_in")
    for _ in range(200):  # until the sender has put the throttled row back
        if queued == [("pending", 0)] * 3:
            break
        await asyncio.sleep(0.05)
        queued = await bot.outbox("relay_in")
    assert queued == [("pending", 0)] * 3, queued

    # The customer sends /help, whose answer Telegram is slow to take, then two more
    # messages, which wait behind it (a chat's updates are handled in order). The bot dies
    # once its next getUpdates has confirmed all three to Telegram, none of them handled.
    slow = api.hold("sendMessage", chat_id=CUSTOMER)
    _say(api, CUSTOMER, "/help")
    await asyncio.wait_for(slow.arrived.wait(), STEP)
    mark = len(api.calls)
    updates = [api.user_message(CUSTOMER, f"message {n}") for n in (4, 5)]
    last_update = max(api.push_update(u) for u in updates)
    sent += [_message_id(u) for u in updates]
    await api.wait_for(
        "getUpdates", lambda c: int(c.params.get("offset", 0)) > last_update, after=mark
    )
    await bot.kill()
    slow.release()  # Telegram takes the /help answer of a bot that is gone

    # One more while the bot is down; then it starts again on the same database.
    sent.append(_say(api, CUSTOMER, "message 6"))
    await bot.start()
    for message_id in sent:
        await api.wait_for("copyMessage", _copied(GROUP, CUSTOMER, message_id), timeout=STEP)
    await asyncio.sleep(0.5)  # time for a duplicate to show up, if there were one
    await bot.stop()

    assert "replaying 3 update(s)" in bot.logs()  # /help and messages 4 and 5
    copies = [c for c in api.calls_of("copyMessage") if c.params["chat_id"] == GROUP]
    assert [c.status for c in copies] == [429] + [200] * 6
    assert [c.params["message_id"] for c in copies[1:]] == sent  # each once, in order
    assert all(c.params.get("message_thread_id") == thread for c in copies)
    assert len([c for c in api.calls if _card_of(CUSTOMER)(c)]) == 1
    assert len(api.calls_of("createForumTopic")) == 1
    assert await bot.outbox("relay_in") == [("sent", 1)] * 6


async def test_a_burst_of_messages_reaches_the_agents_in_order(
    api: FakeBotAPI, bot: BotProcess
) -> None:
    await bot.start()
    await _open_ticket(api)
    mark = len(api.calls)
    sent: list[int] = []
    for burst in range(6):  # batches of getUpdates, while the sender is relaying
        sent += [_say(api, CUSTOMER, f"part {burst}.{n} of my question") for n in range(4)]
        await asyncio.sleep(0.03)
    for message_id in sent:
        await api.wait_for(
            "copyMessage", _copied(GROUP, CUSTOMER, message_id), timeout=STEP, after=mark
        )
    await bot.stop()
    copies = [c for c in api.calls[mark:] if c.method == "copyMessage"]
    assert [c.params["message_id"] for c in copies] == sent


async def test_an_agent_teaches_the_faq_and_the_next_customer_is_answered(
    api: FakeBotAPI, bot: BotProcess
) -> None:
    """The learning loop in the real process: a question the FAQ does not know goes to a
    ticket; the agent answers and closes; one tap on "new entry from my reply"; another
    customer asking the same way gets the agent's answer from the bot, without a restart."""
    question = "can I bring my dog to your shop"
    reply = "Dogs are welcome in all our stores, on a lead."
    await bot.start()
    mark = len(api.calls)
    _say(api, CUSTOMER, question)
    first = await api.wait_for(
        "sendMessage", _ok(_text_to(CUSTOMER, "")), timeout=STEP, after=mark
    )
    assert reply not in str(first.params.get("text"))
    topic, card = await _open_ticket(api)
    thread = int(topic.result["message_thread_id"])

    mark = len(api.calls)
    answer = _say(api, AGENT, reply, **_in_topic(thread))
    await api.wait_for("copyMessage", _copied(CUSTOMER, GROUP, answer), timeout=STEP, after=mark)

    # The close offers the lesson in the topic: the matcher's guesses and a new entry.
    mark = len(api.calls)
    _say(api, AGENT, "/close", **_in_topic(thread))
    offer = await api.wait_for(
        "sendMessage", _ok(_text_to(GROUP, "Teach the FAQ")), timeout=STEP, after=mark
    )
    assert question in str(offer.params["text"])
    buttons = [b for row in offer.params["reply_markup"]["inline_keyboard"] for b in row]
    new_entry = next(b for b in buttons if b["callback_data"].startswith("teachnew:"))
    assert new_entry["callback_data"] == f"teachnew:{_ticket_id(card)}"

    mark = len(api.calls)
    api.push_update(api.callback_query(AGENT, new_entry["callback_data"], offer.result))
    await api.wait_for("answerCallbackQuery", timeout=STEP, after=mark)
    done = await api.wait_for(
        "editMessageText",
        _ok(lambda c: "New FAQ entry" in str(c.params.get("text"))),
        timeout=STEP,
        after=mark,
    )
    assert done.params["message_id"] == offer.result["message_id"]

    # Another customer, same question: the bot answers with the agent's words.
    other = CUSTOMER + 1
    mark = len(api.calls)
    _say(api, other, question)
    got = await api.wait_for("sendMessage", _ok(_text_to(other, reply)), timeout=STEP, after=mark)
    assert got.params["chat_id"] == other
    assert not [c for c in api.calls[mark:] if c.method == "createForumTopic"]
    await bot.stop()
