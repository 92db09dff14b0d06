"""Long polling that loses nothing, even on kill -9.

aiogram's own polling moves the offset as soon as it has handed an update to a task, so
updates still being handled when the process dies are gone (Telegram considers them
delivered). Here each batch from getUpdates is stored first (storage/inbox.py), and only
then is the next getUpdates allowed to confirm it. At start, stored updates that were
never finished are handled again.

Each chat's updates are handled in order (one queue per chat; chats run in parallel,
at most `concurrency` at once), so messages and album parts reach the desk in order.
A replayed update may run its handler a second time: the desk's writes are idempotent
(unique source message ids, outbox dedupe keys); an FAQ answer could be repeated.

The webhook (bot/webhook.py) hands its updates to the same machinery (`schedule`). Its
replicas share the inbox, so with a `lease` each update is claimed in the database before it
is handled (storage/inbox.py `claim`): a replica replaying another replica's in-flight update
finds it claimed and leaves it, and `sweep_until` picks up what a dead replica left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import GetUpdates
from aiogram.types import Update
from aiogram.utils.backoff import Backoff, BackoffConfig
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.logs import describe, unreadable
from storage import inbox

log = logging.getLogger(__name__)

BACKOFF = BackoffConfig(min_delay=1.0, max_delay=5.0, factor=1.3, jitter=0.1)


def chat_key(payload: dict[str, Any]) -> int:
    """What an update is ordered by: its chat, or for a button tap the member who tapped.

    Messages of one chat are handled in order. Taps are keyed by the tapping member, not the
    chat of the message the button sits on: a thousand members tapping Claim under one drop
    post in a group are a thousand independent requests (each guarded by the database), and
    keyed by the group they would wait for each other one by one. One member's taps stay in
    order. 0 when the update names neither.
    """
    for value in payload.values():
        if isinstance(value, dict):
            chat = value.get("chat")
            if isinstance(chat, dict) and "id" in chat:
                return int(chat["id"])
            sender = value.get("from")
            if isinstance(sender, dict) and "id" in sender:
                return int(sender["id"])
    return 0


class InboxPoller:
    def __init__(
        self,
        dp: Dispatcher,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime],
        concurrency: int = 64,
        polling_timeout: int = 30,
        lease: timedelta | None = None,
    ) -> None:
        self.dp = dp
        self.bot = bot
        self.sf = session_factory
        self.clock = clock
        self.polling_timeout = polling_timeout
        self.slots = asyncio.Semaphore(concurrency)
        self.tails: dict[int, asyncio.Task[None]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        # Webhook replicas: claim each update before handling it; a claim older than this is
        # its owner's death (see the module docstring). None: one process, no claims.
        self.lease = lease

    async def _claim(self, update_id: int) -> bool:
        if self.lease is None:
            return True
        now = self.clock()
        try:
            async with self.sf() as session:
                mine = await inbox.claim(
                    session, update_id, now=now, claimed_before=now - self.lease
                )
        except Exception:
            log.exception("update %s: could not be claimed; it will be replayed", update_id)
            return False
        if not mine:
            log.debug("update %s: handled by another process", update_id)
        return mine

    async def handle(
        self, update_id: int, payload: dict[str, Any], update: Update | None = None
    ) -> None:
        ok = False
        try:
            async with self.slots:
                if not await self._claim(update_id):
                    return
                if update is None:
                    update = Update.model_validate(
                        {"update_id": update_id, **payload}, context={"bot": self.bot}
                    )
                await self.dp.feed_update(self.bot, update, from_inbox=True)
                ok = True
        except ValidationError as exc:
            log.error("update %s failed: %s", update_id, unreadable(exc))
        except Exception:
            log.exception("update %s failed", update_id)
        try:
            async with self.sf() as session:
                status = await inbox.finish(session, update_id, now=self.clock(), ok=ok)
            if status == "failed":
                log.error("update %s failed 3 times; given up (kept in inbox_updates)", update_id)
        except Exception:
            log.exception(
                "update %s: could not record the outcome; it will be replayed", update_id
            )

    def schedule(
        self, update_id: int, payload: dict[str, Any], update: Update | None = None
    ) -> None:
        key = chat_key(payload)
        before = self.tails.get(key)

        async def run() -> None:
            if before is not None:
                with contextlib.suppress(Exception):
                    await before
            await self.handle(update_id, payload, update)

        task = asyncio.create_task(run())
        self.tails[key] = task
        self.tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self.tasks.discard(t)
            if self.tails.get(key) is t:
                del self.tails[key]

        task.add_done_callback(done)

    async def resume(self, *, received_before: datetime | None = None) -> int:
        """Schedule what was stored but never finished: pending updates (received before
        `received_before`, when given) and claims older than the lease (any claim without a
        lease: polling is one process, so a claim left over is from a dead one)."""
        now = self.clock()
        async with self.sf() as session:
            left = await inbox.pending(
                session,
                received_before=received_before,
                claimed_before=now - self.lease if self.lease is not None else now,
            )
        for update_id, payload in left:
            self.schedule(update_id, payload)
        return len(left)

    async def replay(self) -> int:
        """Handle what a previous run stored but never finished."""
        left = await self.resume()
        if left:
            log.warning("replaying %d update(s) interrupted by the last stop", left)
        await self.drain()
        return left

    async def sweep_until(self, stop: asyncio.Event, every: float) -> None:
        """Every `every` seconds until `stop`, schedule what another process stored or
        claimed more than a lease ago and never finished (it died). Ends at `stop` without
        being cancelled: no read is cut in half."""
        assert self.lease is not None, "sweeping is for claimed (webhook) updates"
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            if stop.is_set():
                return
            try:
                found = await self.resume(received_before=self.clock() - self.lease)
            except Exception:
                log.exception("the inbox sweep failed; trying again in %.0f s", every)
                continue
            if found:
                log.warning("%d update(s) left unfinished by a stopped process: handling", found)

    async def drain(self) -> None:
        # asyncio.wait, not gather: a stop that cancels the waiter must not cancel the
        # updates being handled (a cancel mid-commit leaves the work half done).
        while self.tasks:
            await asyncio.wait(set(self.tasks))

    async def poll_once(self, offset: int | None) -> int | None:
        """One getUpdates; store the batch, hand it out; returns the next offset."""
        allowed = self.dp.resolve_used_update_types()
        updates = await self.bot(
            GetUpdates(offset=offset, timeout=self.polling_timeout, allowed_updates=allowed),
            request_timeout=self.polling_timeout + 30,
        )
        if not updates:
            return offset
        batch = [
            (
                u.update_id,
                u.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"update_id"}),
            )
            for u in updates
        ]
        # A stop (cancel) that comes while the batch is written lets the write finish: a
        # write cut in half leaves its connection to the garbage collector, and the updates
        # stored but not handed out are replayed at the next start.
        storing = asyncio.ensure_future(self._store(batch))
        try:
            new = await asyncio.shield(storing)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await storing
            raise
        for (update_id, payload), update in zip(batch, updates, strict=True):
            if update_id in new:
                self.schedule(update_id, payload, update)
        return updates[-1].update_id + 1

    async def _store(self, batch: list[tuple[int, dict[str, Any]]]) -> set[int]:
        async with self.sf() as session:
            return set(await inbox.store(session, batch, now=self.clock()))

    async def run_until(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set, then let the updates in hand finish."""
        polling = asyncio.create_task(self.run(), name="inbox-polling")
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({polling, stopping}, return_when=asyncio.FIRST_COMPLETED)
        polling.cancel()
        stopping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
        await self.drain()

    async def run(self) -> None:
        await self.replay()
        backoff = Backoff(config=BACKOFF)
        offset: int | None = None
        while True:
            try:
                offset = await self.poll_once(offset)
                backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("getUpdates failed (%s); retrying", describe(exc))
                await backoff.asleep()
