"""The one sender: takes due outbox rows, sends them at Telegram's limits, records the outcome.

- Rows are claimed by a conditional UPDATE (storage/outbox.py): two senders never send the
  same row; rows of one lane go out in order.
- Pacing is per process: a global token bucket (bulk limit) and one bucket per chat (about
  1/s in a private chat, 20/min in a group). A row without a token goes back to `pending`
  for the time the bucket needs, without counting an attempt.
- Failures are classified once, here: 429 waits exactly `retry_after` and pauses the chat
  for every sender; network errors and 5xx back off; a 403 from a customer is handed to the
  kind's owner; any other 400 fails the row, which the owner may report.
- Crash window: a send Telegram accepted just before the process died is sent again when its
  lease expires. That is the only source of a duplicate; marking rows sent first would lose
  messages instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import outbox
from storage.outbox import Claimed

log = logging.getLogger(__name__)

Deliver = Callable[[Claimed], Awaitable[None]]
OnProblem = Callable[[Claimed, str], Awaitable[None]]


class RetryLater(Exception):  # noqa: N818 (an instruction, not an error)
    """Raised by a kind's deliverer: put the row back, to be sent at `at` (or at once)."""

    def __init__(self, reason: str, *, after: float = 0.0, count_attempt: bool = False) -> None:
        super().__init__(reason)
        self.after = after
        self.count_attempt = count_attempt


class Drop(Exception):  # noqa: N818
    """Raised by a deliverer: the row has become pointless (e.g. its message is gone)."""


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.stamp = now

    def _fill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_time(self, now: float) -> float:
        self._fill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._fill(now)
        self.tokens -= 1

    def block_for(self, seconds: float, now: float) -> None:
        """After a 429: no tokens until `seconds` have passed."""
        self._fill(now)
        self.tokens = min(self.tokens, -seconds * self.rate)


@dataclass
class Pacer:
    global_per_second: float = 25.0
    private_per_second: float = 1.0
    group_per_minute: float = 20.0
    burst: int = 3
    clock: Callable[[], float] = time.monotonic
    chats: dict[int, TokenBucket] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.all = TokenBucket(self.global_per_second, self.burst, self.clock())

    def bucket(self, chat_id: int) -> TokenBucket:
        b = self.chats.get(chat_id)
        if b is None:
            if chat_id < 0:
                # No burst at a per-minute limit: 3 at once plus the steady rate would go
                # over it within the first minute (measured: one 429 at 20/min).
                burst = 1 if self.group_per_minute <= 60 else self.burst
                b = TokenBucket(self.group_per_minute / 60, burst, self.clock())
            else:
                b = TokenBucket(self.private_per_second, self.burst, self.clock())
            if len(self.chats) > 50_000:  # forget idle private chats now and then
                self.chats = {k: v for k, v in self.chats.items() if k < 0}
            self.chats[chat_id] = b
        return b

    def reserve(self, chat_id: int | None) -> float:
        """0 and a token taken from each bucket, or how long to wait before trying again."""
        now = self.clock()
        buckets = [self.all] + ([self.bucket(chat_id)] if chat_id is not None else [])
        wait = max(b.wait_time(now) for b in buckets)
        if wait > 0:
            return wait
        for b in buckets:
            b.take(now)
        return 0.0

    def blocked(self, chat_id: int | None, seconds: float) -> None:
        now = self.clock()
        if chat_id is not None:
            self.bucket(chat_id).block_for(seconds, now)
        if chat_id is None or chat_id > 0:
            self.all.block_for(seconds, now)


@dataclass
class Route:
    deliver: Deliver
    on_blocked: OnProblem | None = None  # 403 from a private chat: the user blocked the bot
    on_failed: OnProblem | None = None  # the row failed for good


class Sender:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime],
        pacer: Pacer | None = None,
        lease: timedelta = timedelta(seconds=60),
        give_up_after: timedelta = timedelta(hours=24),
        batch: int = 50,
        concurrency: int = 16,
        worker: str | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.pacer = pacer or Pacer()
        self.lease = lease
        self.give_up_after = give_up_after
        self.batch = batch
        self.semaphore = asyncio.Semaphore(concurrency)
        self.worker = worker or f"{os.uname().nodename}:{os.getpid()}"
        self.routes: dict[str, Route] = {}
        self.wakeup = asyncio.Event()

    def route(
        self,
        kind: str,
        deliver: Deliver,
        *,
        on_blocked: OnProblem | None = None,
        on_failed: OnProblem | None = None,
    ) -> None:
        self.routes[kind] = Route(deliver, on_blocked, on_failed)

    def wake(self) -> None:
        self.wakeup.set()

    async def run_once(self) -> int:
        """Claim and send one batch; returns how many rows were handled."""
        now = self.clock()
        async with self.session_factory() as session:
            rows = await outbox.claim(session, worker=self.worker, now=now, lease=self.lease)
        if not rows:
            return 0
        ready: list[Claimed] = []
        for row in rows:
            wait = self.pacer.reserve(row.chat_id)
            if wait > 0:
                async with self.session_factory() as session:
                    await outbox.retry_later(
                        session,
                        row.id,
                        at=now + timedelta(seconds=wait),
                        error=None,
                        count_attempt=False,
                    )
            else:
                ready.append(row)
        await asyncio.gather(*(self._guarded(row) for row in ready))
        return len(rows)

    async def drain(self, max_rounds: int = 100) -> int:
        """Send everything due now (tests and the shell)."""
        total = 0
        for _ in range(max_rounds):
            n = await self.run_once()
            if not n:
                break
            total += n
        return total

    async def run_forever(self, idle: float = 0.5) -> None:
        while True:
            try:
                n = await self.run_once()
            except Exception:
                log.exception("outbox sender: claim failed; retrying shortly")
                n = 0
                await asyncio.sleep(2)
            if n:
                continue
            self.wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), timeout=idle)

    async def _guarded(self, row: Claimed) -> None:
        async with self.semaphore:
            try:
                await self._send(row)
            except Exception:  # recording failed (database down?): the lease expires, retry
                log.exception("outbox row %s (%s): could not record the outcome", row.id, row.kind)

    async def _send(self, row: Claimed) -> None:
        route = self.routes.get(row.kind)
        if route is None:
            await self._record_failed(row, f"no deliverer for kind {row.kind!r}", None)
            return
        try:
            await route.deliver(row)
        except RetryLater as exc:
            await self._retry(row, exc.after, str(exc), count=exc.count_attempt)
        except Drop as exc:
            async with self.session_factory() as session:
                await outbox.mark_dropped(session, row.id, reason=str(exc), now=self.clock())
        except TelegramRetryAfter as exc:
            log.warning("429 for chat %s: waiting %s s", row.chat_id, exc.retry_after)
            self.pacer.blocked(row.chat_id, exc.retry_after)
            until = self.clock() + timedelta(seconds=exc.retry_after)
            async with self.session_factory() as session:
                await outbox.pause(session, f"chat:{row.chat_id}", until=until)
                if row.chat_id is None or row.chat_id > 0:
                    await outbox.pause(session, "global", until=until)
            await self._retry(row, exc.retry_after, "429", count=False)
        except TelegramForbiddenError as exc:
            if row.chat_id is not None and row.chat_id > 0:
                async with self.session_factory() as session:
                    await outbox.mark_dropped(session, row.id, reason="blocked", now=self.clock())
                if route.on_blocked is not None:
                    await route.on_blocked(row, exc.message)
            else:
                log.error(
                    "the bot cannot post in chat %s (%s): check that it is a member and an "
                    "admin there (SUPPORT_CHAT_ID / COMMUNITY_CHAT_ID)",
                    row.chat_id,
                    exc.message,
                )
                async with self.session_factory() as session:
                    await outbox.pause(
                        session, f"chat:{row.chat_id}", until=self.clock() + timedelta(minutes=5)
                    )
                await self._retry(row, 300, exc.message, count=True)
        except TelegramBadRequest as exc:
            if "message is not modified" in exc.message:
                async with self.session_factory() as session:
                    await outbox.mark_sent(session, row.id, now=self.clock())
                return
            await self._record_failed(row, exc.message, route)
        except TelegramMigrateToChat as exc:
            log.error("chat %s became %s: update the setting", row.chat_id, exc.migrate_to_chat_id)
            await self._record_failed(row, f"chat moved to {exc.migrate_to_chat_id}", route)
        except TelegramUnauthorizedError as exc:
            log.critical("Telegram rejected the bot token: %s", exc.message)
            await self._retry(row, 60, exc.message, count=False)
        except (TelegramNetworkError, TelegramServerError, OSError, TimeoutError) as exc:
            await self._network_retry(row, f"{type(exc).__name__}: {exc}", route)
        except Exception as exc:
            log.exception("outbox row %s (%s) failed unexpectedly", row.id, row.kind)
            await self._network_retry(row, f"{type(exc).__name__}: {exc}", route)
        else:
            async with self.session_factory() as session:
                await outbox.mark_sent(session, row.id, now=self.clock())

    async def _retry(self, row: Claimed, after: float, error: str, *, count: bool) -> None:
        async with self.session_factory() as session:
            await outbox.retry_later(
                session,
                row.id,
                at=self.clock() + timedelta(seconds=after),
                error=error,
                count_attempt=count,
            )

    async def _network_retry(self, row: Claimed, error: str, route: Route) -> None:
        if self.clock() - row.created_at > self.give_up_after:
            await self._record_failed(row, f"gave up: {error}", route)
            return
        delay = outbox.backoff(row.attempts).total_seconds()
        log.info("outbox row %s: %s; retry in %.1f s", row.id, error, delay)
        await self._retry(row, delay, error, count=True)

    async def _record_failed(self, row: Claimed, error: str, route: Route | None) -> None:
        log.warning("outbox row %s (%s) failed: %s", row.id, row.kind, error)
        async with self.session_factory() as session:
            await outbox.mark_failed(session, row.id, error=error, now=self.clock())
        if route is not None and route.on_failed is not None:
            await route.on_failed(row, error)
