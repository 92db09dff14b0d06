"""The polling inbox: updates are stored before they are confirmed and replayed after a crash."""

from __future__ import annotations

import asyncio
import random
from typing import Any, cast

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.types import CallbackQuery, Message, Update
from sqlalchemy import select

from bot.app import App, create_bot
from bot.local import LocalSession
from bot.polling import InboxPoller, chat_key
from storage import inbox
from storage.models import InboxUpdate


def _message(update_id: int, chat: int, text: str) -> tuple[int, dict[str, Any]]:
    return update_id, {
        "message": {
            "message_id": update_id,
            "date": 1,
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "C"},
            "text": text,
        }
    }


def _recording_dispatcher(seen: list[tuple[int, str]]) -> Dispatcher:
    router = Router()

    @router.message()
    async def record(message: Message) -> None:
        await asyncio.sleep(random.random() / 200)  # handlers finish out of order
        seen.append((message.chat.id, message.text or ""))

    dp = Dispatcher()
    dp.include_router(router)
    return dp


def _tap(update_id: int, member: int, data: str) -> tuple[int, dict[str, Any]]:
    return update_id, {
        "callback_query": {
            "id": str(update_id),
            "from": {"id": member, "is_bot": False, "first_name": "M"},
            "chat_instance": "g",
            "data": data,
            "message": {
                "message_id": 1,
                "date": 1,
                "chat": {"id": -100, "type": "supergroup", "title": "Community"},
                "text": "drop",
            },
        }
    }


async def test_taps_of_different_members_under_one_post_do_not_wait_for_each_other(
    app: App,
) -> None:
    """A drop post in a group: member 1's slow tap does not hold back member 2's, while each
    member's own taps are still handled in the order they came."""
    release = asyncio.Event()
    seen: list[tuple[int, str]] = []
    router = Router()

    @router.callback_query()
    async def record(query: CallbackQuery) -> None:
        if query.data == "slow":
            await release.wait()
        seen.append((query.from_user.id, query.data or ""))
        if len(seen) == 2:
            release.set()  # member 2 finished while member 1's first tap was still waiting

    dp = Dispatcher()
    dp.include_router(router)
    batch = [_tap(1, 1, "slow"), _tap(2, 1, "second"), _tap(3, 2, "fast"), _tap(4, 2, "x")]
    async with app.session_factory() as s:
        await inbox.store(s, batch, now=app.clock())
    bot = create_bot(app.settings, session=LocalSession())
    poller = InboxPoller(dp, bot, app.session_factory, clock=app.clock)
    assert await asyncio.wait_for(poller.replay(), 10) == 4
    assert seen[:2] == [(2, "fast"), (2, "x")]
    assert seen[2:] == [(1, "slow"), (1, "second")]
    await bot.session.close()


async def test_a_batch_is_stored_once(app: App) -> None:
    batch = [_message(1, 10, "a"), _message(2, 10, "b")]
    async with app.session_factory() as s:
        assert await inbox.store(s, batch, now=app.clock()) == [1, 2]
        assert await inbox.store(s, batch, now=app.clock()) == []  # Telegram sent it again


async def test_unfinished_updates_are_replayed_once_in_chat_order(app: App) -> None:
    """A crash after storing: the next start handles each stored update exactly once."""
    batch = [_message(i, 10 + i % 3, f"m{i}") for i in range(1, 31)]
    async with app.session_factory() as s:
        await inbox.store(s, batch, now=app.clock())
    seen: list[tuple[int, str]] = []
    bot = create_bot(app.settings, session=LocalSession())
    poller = InboxPoller(_recording_dispatcher(seen), bot, app.session_factory, clock=app.clock)
    assert await poller.replay() == 30
    assert sorted(seen) == sorted((10 + i % 3, f"m{i}") for i in range(1, 31))
    for chat in (10, 11, 12):  # each chat's messages in the order they came
        texts = [t for c, t in seen if c == chat]
        assert texts == sorted(texts, key=lambda t: int(t[1:]))
    async with app.session_factory() as s:
        rows = (await s.scalars(select(InboxUpdate))).all()
        assert {r.status for r in rows} == {"done"} and all(r.payload is None for r in rows)
    assert await poller.replay() == 0
    await bot.session.close()


async def test_a_failing_update_is_retried_then_given_up(app: App) -> None:
    async with app.session_factory() as s:
        await inbox.store(s, [_message(7, 10, "x")], now=app.clock())
        for expected in ("pending", "pending", "failed"):
            assert await inbox.finish(s, 7, now=app.clock(), ok=False) == expected
        assert await inbox.pending(s) == []


def test_chat_key_finds_the_chat_or_the_sender() -> None:
    assert chat_key(_message(1, 55, "hi")[1]) == 55
    query = {"callback_query": {"id": "1", "from": {"id": 77}, "message": {"chat": {"id": -5}}}}
    assert chat_key(query) == 77  # a tap belongs to the member, not to the group
    assert chat_key({"callback_query": {"id": "1", "from": {"id": 77}}}) == 77
    assert chat_key({"poll": {"id": "x"}}) == 0


async def test_a_stop_while_a_batch_is_written_lets_the_write_finish(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM in the middle of storing a batch: the batch is stored whole (and replayed at
    the next start), not cut off mid-write with its connection left to the collector."""
    batch = [_message(1, 10, "a"), _message(2, 11, "b")]
    updates = [Update.model_validate({"update_id": i, **p}) for i, p in batch]

    class OneBatch:
        """Answers the first getUpdates with the batch, then waits like a long poll."""

        calls = 0

        async def __call__(self, method: Any, request_timeout: int | None = None) -> Any:
            self.calls += 1
            if self.calls == 1:
                return updates
            await asyncio.Event().wait()
            return []

    writing, go_on = asyncio.Event(), asyncio.Event()
    real_store = inbox.store

    async def slow_store(*args: Any, **kwargs: Any) -> list[int]:
        writing.set()
        await go_on.wait()
        return await real_store(*args, **kwargs)

    monkeypatch.setattr(inbox, "store", slow_store)
    seen: list[tuple[int, str]] = []
    poller = InboxPoller(
        _recording_dispatcher(seen),
        cast(Bot, OneBatch()),
        app.session_factory,
        clock=app.clock,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(poller.run_until(stop))
    await asyncio.wait_for(writing.wait(), 5)
    stop.set()
    await asyncio.sleep(0.05)  # the stop reaches the poller mid-write
    go_on.set()
    await asyncio.wait_for(running, 5)
    async with app.session_factory() as s:
        stored = list(await s.scalars(select(InboxUpdate.update_id)))
    assert sorted(stored) == [1, 2]  # written whole; handed out at the next start
    assert app.engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_stop_during_the_replay_lets_the_replayed_updates_finish(app: App) -> None:
    """SIGTERM while the start-up replay is handling stored updates: the handlers finish
    and their updates are recorded done, not cancelled halfway through their work."""
    async with app.session_factory() as s:
        await inbox.store(s, [_message(1, 10, "a"), _message(2, 11, "b")], now=app.clock())
    entered, gate = asyncio.Event(), asyncio.Event()
    seen: list[tuple[int, str]] = []
    router = Router()

    @router.message()
    async def slow(message: Message) -> None:
        entered.set()
        await gate.wait()
        seen.append((message.chat.id, message.text or ""))

    dp = Dispatcher()
    dp.include_router(router)
    bot = create_bot(app.settings, session=LocalSession())
    poller = InboxPoller(dp, bot, app.session_factory, clock=app.clock)
    stop = asyncio.Event()
    running = asyncio.create_task(poller.run_until(stop))
    await asyncio.wait_for(entered.wait(), 5)
    stop.set()
    await asyncio.sleep(0.05)  # the stop reaches the poller mid-replay
    gate.set()
    await asyncio.wait_for(running, 10)
    assert sorted(seen) == [(10, "a"), (11, "b")]
    async with app.session_factory() as s:
        assert await inbox.pending(s) == []
    await bot.session.close()
