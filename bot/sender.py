"""The one sender: takes due outbox rows, sends them at Telegram's limits, records the outcome.

- Rows are claimed by a conditional UPDATE (storage/outbox.py): two senders never send the
  same row; rows of one lane go out in order.
- Pacing is per process: a global token bucket (bulk limit) and one bucket per chat (about
  1/s in a private chat, 20/min in a group). A claimed row books the next free slot of both
  buckets; when that slot comes within `horizon` (2 s) the row waits for it in the process,
  holding its lease, otherwise it goes back to `pending` for the time the buckets need,
  without counting an attempt. `run_forever` claims only as many rows as the global bucket
  can send within the horizon, and claims the next ones while earlier ones are still being
  sent (a bounded number in flight), so the bucket never idles while a claim runs: a
  10,000-message broadcast goes out at the global rate (bench/broadcast.py).
- `attach(bot)` moves the wait for the slot into the request itself (a session middleware,
  `SendWindow`), so that a deliverer's own database work before its call cannot make the
  call late and bunch it with the next ones (Telegram counts arrivals: bunched sends meet
  429s a second later); the same middleware never lets more than rate + burst messages
  leave in any second, whoever sends them.
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
import math
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.logs import describe
from bot.ratelimit import SharedRate
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


class ObsoleteRow(Exception):  # noqa: N818
    """Raised by a deliverer: the row has become pointless (e.g. its message is gone)."""


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up.

    Tokens may go negative: a booked slot takes its token at once, so the next booking
    comes `1 / rate` later. `booked` counts the bookings whose send has not started yet;
    a 429 (`block_for`) voids them (`generation` changes) and gives their tokens back.
    """

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.stamp = now
        self.booked = 0
        self.generation = 0

    def _fill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_time(self, now: float) -> float:
        self._fill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._fill(now)
        self.tokens -= 1

    def room(self, now: float, horizon: float) -> int:
        """How many slots can still be booked to start within `horizon` seconds."""
        self._fill(now)
        return max(0, math.floor(self.tokens + self.rate * horizon + 1e-9))

    def time_to_room(self, slots: int, now: float, horizon: float) -> float:
        """Seconds until `room(..., horizon)` reaches `slots` (0 if it has)."""
        self._fill(now)
        return max(0.0, (slots - self.tokens - self.rate * horizon) / self.rate)

    def block_for(self, seconds: float, now: float) -> None:
        """After a 429: no tokens until `seconds` have passed; bookings so far are void."""
        self._fill(now)
        self.tokens = min(self.tokens + self.booked, -seconds * self.rate)
        self.booked = 0
        self.generation += 1


@dataclass(frozen=True)
class BookedSlot:
    """A booked slot: the send may start at `at` (the pacer's clock) if no 429 voided it."""

    at: float
    marks: tuple[tuple[TokenBucket, int], ...]  # each bucket and its generation when booked

    def valid(self) -> bool:
        return all(bucket.generation == gen for bucket, gen in self.marks)


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
            if len(self.chats) > 50_000:  # forget private chats whose bucket is full again
                now = self.clock()
                self.chats = {
                    k: v
                    for k, v in self.chats.items()
                    if k < 0 or v.booked or v.tokens + (now - v.stamp) * v.rate < v.burst
                }
            self.chats[chat_id] = b
        return b

    def _buckets(self, chat_id: int | None) -> list[TokenBucket]:
        return [self.all] + ([self.bucket(chat_id)] if chat_id is not None else [])

    def reserve(self, chat_id: int | None) -> float:
        """0 and a token taken from each bucket, or how long to wait before trying again."""
        now = self.clock()
        buckets = self._buckets(chat_id)
        wait = max(b.wait_time(now) for b in buckets)
        if wait > 0:
            return wait
        for b in buckets:
            b.take(now)
        return 0.0

    def book(self, chat_id: int | None, horizon: float) -> BookedSlot | float:
        """The next free slot of the global bucket and the chat's, booked (tokens taken) if
        it starts within `horizon` seconds; otherwise how long to wait (nothing taken).

        A booked send must call `begin` when its slot has come, or `cancel`.
        """
        now = self.clock()
        buckets = self._buckets(chat_id)
        wait = max(b.wait_time(now) for b in buckets)
        if wait > horizon + 1e-9:  # the tolerance `room` has: what it counts can be booked
            return wait
        for b in buckets:
            b.take(now)
            b.booked += 1
        return BookedSlot(now + wait, tuple((b, b.generation) for b in buckets))

    def begin(self, ticket: BookedSlot) -> bool:
        """The booked send starts now: True, or False if a 429 voided the booking since (its
        remaining tokens are given back; book again)."""
        if not ticket.valid():
            self.cancel(ticket)
            return False
        for b, _ in ticket.marks:
            b.booked -= 1
        return True

    def cancel(self, ticket: BookedSlot) -> None:
        """The booked send will not happen: give back what a 429 has not voided already."""
        now = self.clock()
        for b, gen in ticket.marks:
            if b.generation == gen:
                b._fill(now)
                b.tokens = min(b.burst, b.tokens + 1)
                b.booked -= 1

    def room(self, horizon: float) -> int:
        """How many sends the global bucket can still book within `horizon` seconds."""
        return self.all.room(self.clock(), horizon)

    def time_to_room(self, slots: int, horizon: float) -> float:
        return self.all.time_to_room(slots, self.clock(), horizon)

    def blocked(self, chat_id: int | None, seconds: float) -> None:
        now = self.clock()
        if chat_id is not None:
            self.bucket(chat_id).block_for(seconds, now)
        if chat_id is None or chat_id > 0:
            self.all.block_for(seconds, now)


# The calls that count toward Telegram's bulk limit (about 30 messages a second).
COUNTED = frozenset(
    {
        "sendMessage", "sendPhoto", "sendVideo", "sendAnimation", "sendAudio", "sendDocument",
        "sendVoice", "sendVideoNote", "sendSticker", "sendLocation", "sendVenue", "sendContact",
        "sendPoll", "sendDice", "sendInvoice", "sendMediaGroup", "sendPaidMedia",
        "copyMessage", "copyMessages", "forwardMessage", "forwardMessages",
    }
)  # fmt: skip


# Calls Telegram counts against a group's ~20 posts a minute though they are not messages
# (creating a topic "is sending a message", and edits share the budget): in a group they
# wait for the row's booked slot like a send, or the slot would be given back unused.
GROUP_TURNS = frozenset(
    {
        "createForumTopic", "editForumTopic", "editMessageText", "editMessageCaption",
        "editMessageMedia", "editMessageReplyMarkup",
    }
)  # fmt: skip


def _in_a_group(method: TelegramMethod[Any]) -> bool:
    chat_id = getattr(method, "chat_id", None)
    return isinstance(chat_id, int) and chat_id < 0


class SendWindow(BaseRequestMiddleware):
    """The request middleware of `Sender.attach`: each counted send (COUNTED) waits for its
    booked slot right before its request, then passes a last guard, at most `limit`
    messages in any `span` seconds, counted when the request leaves.

    Waiting here rather than before the deliverer runs keeps the deliverer's own work (its
    database writes before the call) out of the timing: a send held up on the way would
    otherwise leave together with the next ones, and a second later the window Telegram
    counts would hold more than the rate. The guard catches what still bunches (a busy event
    loop); `span` a little over a second absorbs the request's own jitter on the way.
    """

    def __init__(
        self,
        limit: int,
        *,
        span: float = 1.02,
        clock: Callable[[], float] = time.monotonic,
        on_send: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.limit = max(1, limit)
        self.span = span
        self.clock = clock
        self.on_send = on_send
        self.stamps: deque[float] = deque()
        self.waited = 0  # sends the guard held back, for tests and a look in the shell
        self.shared: SharedRate | None = None  # the replicas' common budgets (REDIS_URL)

    def delay(self) -> float:
        """0 and the send counted now, or how long to wait before asking again."""
        now = self.clock()
        while self.stamps and now - self.stamps[0] >= self.span:
            self.stamps.popleft()
        if len(self.stamps) < self.limit:
            self.stamps.append(now)
            return 0.0
        return self.stamps[0] + self.span - now

    async def pass_guard(self) -> None:
        wait = self.delay()
        if wait > 0:
            self.waited += 1
            while wait > 0:
                await asyncio.sleep(wait)
                wait = self.delay()

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        if name in COUNTED:
            if self.on_send is not None:
                await self.on_send()
            if self.shared is not None:
                chat = getattr(method, "chat_id", None)
                delay = await self.shared.reserve(chat if isinstance(chat, int) else None)
                if delay > 0:
                    await asyncio.sleep(delay)
                await self.shared.admit(self.limit, self.span)
            await self.pass_guard()
        elif name in GROUP_TURNS and _in_a_group(method):
            if self.on_send is not None:
                await self.on_send()  # the group's turn; not in the bulk limit
            if self.shared is not None:
                chat = getattr(method, "chat_id", None)
                if isinstance(chat, int):
                    delay = await self.shared.reserve(chat, overall=False)
                    if delay > 0:
                        await asyncio.sleep(delay)
        return await make_request(bot, method)


@dataclass
class _Slot:
    """The booked slot of the row being delivered (a context variable: one per send task),
    taken by the first counted request the deliverer makes."""

    ticket: BookedSlot | None
    chat_id: int | None


_SLOT: ContextVar[_Slot | None] = ContextVar("outbox_slot", default=None)


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
        horizon: float = 2.0,
        max_in_flight: int | None = None,
        lead: float = 0.3,
        worker: str | None = None,
        on_result: Callable[[str], None] | None = None,
    ) -> None:
        self.session_factory = session_factory
        # Told each send's result once: ok, 429, 403 or error (the metrics count them).
        self.on_result = on_result or (lambda result: None)
        self.clock = clock
        self.pacer = pacer or Pacer()
        self.lease = lease
        self.give_up_after = give_up_after
        self.batch = batch
        self.concurrency = concurrency
        self.semaphore = asyncio.Semaphore(concurrency)  # sends talking to Telegram at once
        # A row waits for its slot holding its lease: keep the wait well inside the lease.
        self.horizon = max(0.0, min(horizon, lease.total_seconds() / 4))
        # Rows claimed by run_forever and not finished yet (waiting for a slot or sending).
        self.max_in_flight = max_in_flight or 2 * max(batch, concurrency)
        self.worker = worker or f"{os.uname().nodename}:{os.getpid()}"
        self.routes: dict[str, Route] = {}
        self.wakeup = asyncio.Event()
        self._stopping = False
        self._waiting: set[asyncio.Task[None]] = set()  # in flight, before their slot
        self.window = SendWindow(
            math.floor(self.pacer.global_per_second + self.pacer.burst + 1e-9),
            on_send=self._take_slot,
        )
        self.attached = False  # see attach()
        self.lead = lead

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

    def stop(self) -> None:
        """Ask `run_forever` to return: it claims nothing more, lets a claim under way
        commit, then lands the rows in flight. Cancelling it instead can cut a commit
        in half (the pool then logs the cancelled connection reset as an error)."""
        self._stopping = True
        self.wakeup.set()

    def share(self, shared: SharedRate) -> None:
        """Every counted send on the attached bot also takes its place in the budgets all
        replicas share (bot/ratelimit.py); call with `attach`."""
        self.window.shared = shared

    def attach(self, bot: Bot) -> None:
        """Pace at the request: the deliverers' counted calls on `bot` wait there for their
        row's slot (and pass the send window), and a deliverer starts `lead` seconds before
        its slot, so that its database work before the call does not make the call late.
        Without it (tests, the shell) a row waits for its slot before its deliverer runs."""
        if not self.attached:
            bot.session.middleware(self.window)
            self.attached = True
            # A deliverer now holds its place from `lead` before its slot until its outcome
            # is recorded: let every row in flight have one, or the last ones start late.
            self.semaphore = asyncio.Semaphore(max(self.concurrency, self.max_in_flight))

    async def _claim(self, limit: int) -> list[Claimed]:
        async with self.session_factory() as session:
            return await outbox.claim(
                session, worker=self.worker, now=self.clock(), lease=self.lease, limit=limit
            )

    def _book(self, rows: list[Claimed]) -> list[Awaitable[None]]:
        """Book a slot for each row, in claim order: the sends, and the give-backs of the rows
        whose slot is further off than the horizon."""
        jobs: list[Awaitable[None]] = []
        for row in rows:
            booked = self.pacer.book(row.chat_id, self.horizon)
            if isinstance(booked, BookedSlot):
                jobs.append(self._when_due(row, booked))
            else:
                jobs.append(self._give_back(row, booked))
        return jobs

    async def run_once(self) -> int:
        """Claim one batch and send it (each row at its slot); returns how many rows were
        handled. Rows whose slot is further off than the horizon go back to the table."""
        rows = await self._claim(max(1, min(self.batch, self.pacer.room(self.horizon))))
        if rows:
            await asyncio.gather(*self._book(rows))
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

    def _chunk(self) -> int:
        """The fewest rows worth a claim while the bucket is busy: half a horizon's worth."""
        return max(1, min(self.batch, int(self.pacer.global_per_second * self.horizon / 2)))

    async def _pump(self, flying: set[asyncio.Task[None]]) -> bool:
        """Wait for room (global slots within the horizon, in-flight places), claim as many
        rows as fit and start them; True when the claim was full (more may be due)."""
        chunk = min(self._chunk(), self.max_in_flight)
        while flying and len(flying) > self.max_in_flight - chunk:
            await asyncio.wait(flying, return_when=asyncio.FIRST_COMPLETED)
        wait = self.pacer.time_to_room(chunk, self.horizon)
        if wait > 0:
            await asyncio.sleep(wait)
        if self._stopping:
            return False
        room = min(self.pacer.room(self.horizon), self.max_in_flight - len(flying))
        limit = max(1, min(self.batch, room))
        rows = await self._claim(limit)
        for job in self._book(rows):
            task: asyncio.Task[None] = asyncio.ensure_future(job)
            flying.add(task)
            task.add_done_callback(self._landed(flying))
        return len(rows) >= limit

    def _landed(self, flying: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
        def done(task: asyncio.Task[None]) -> None:
            flying.discard(task)
            self._waiting.discard(task)
            self.wakeup.set()  # the row's lane may have a next row due now

        return done

    async def run_forever(self, idle: float = 0.5) -> None:
        """Send until `stop()` (or a cancel): claims overlap the sends of earlier claims."""
        flying: set[asyncio.Task[None]] = set()
        try:
            while not self._stopping:
                self.wakeup.clear()
                try:
                    full = await self._pump(flying)
                except Exception:
                    log.exception("outbox sender: claim failed; retrying shortly")
                    await asyncio.sleep(2)
                    continue
                if full:
                    continue
                if self._stopping:
                    break
                # asyncio.timeout, not wait_for: on 3.11 wait_for drops a cancel that comes
                # in the same instant as the wakeup, and the sender would never stop.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(idle):
                        await self.wakeup.wait()
        finally:
            await self._land(flying)

    async def close(self, running: asyncio.Task[None], grace: float = 30.0) -> None:
        """Stop the `run_forever` task `running` and wait for it; cancel it only if it has
        not returned within `grace` seconds."""
        self.stop()
        done, _ = await asyncio.wait({running}, timeout=grace)
        if not done:
            log.warning("outbox sender: not stopped after %.0f s; cancelling it", grace)
            running.cancel()
        for outcome in await asyncio.gather(running, return_exceptions=True):
            if isinstance(outcome, Exception):
                log.error("outbox sender stopped with %r", outcome)

    async def _land(self, flying: set[asyncio.Task[None]], grace: float = 10.0) -> None:
        """On the way out: rows still waiting for their slot go back at once; sends already
        talking to Telegram may finish (a cut-off send is sent again after its lease)."""
        for task in list(self._waiting & flying):
            task.cancel()
        if flying:
            await asyncio.wait(set(flying), timeout=grace)
        for task in list(flying):
            task.cancel()
        if flying:
            await asyncio.gather(*flying, return_exceptions=True)

    async def _when_due(self, row: Claimed, ticket: BookedSlot) -> None:
        """Wait for the booked slot (less the lead when attached), then deliver; rebook if a
        429 voided the slot meanwhile."""
        me = asyncio.current_task()
        if me is not None:
            self._waiting.add(me)
        lead = self.lead if self.attached else 0.0
        held: BookedSlot | None = ticket
        try:
            while held is not None:
                delay = held.at - lead - self.pacer.clock()
                if delay > 0:
                    await asyncio.sleep(delay)
                if self.attached and held.valid():
                    break  # the request takes the slot (SendWindow)
                if not self.attached and self.pacer.begin(held):
                    held = None
                    break
                if self.attached:
                    self.pacer.cancel(held)
                booked = self.pacer.book(row.chat_id, self.horizon)
                if not isinstance(booked, BookedSlot):
                    held = None  # given back above
                    await self._give_back(row, booked)
                    return
                held = booked
        except asyncio.CancelledError:
            if held is not None:
                self.pacer.cancel(held)
            await self._give_back(row, 0.0)
            raise
        finally:
            if me is not None:
                self._waiting.discard(me)
        slot = _Slot(held, row.chat_id)
        token = _SLOT.set(slot)
        try:
            await self._guarded(row)
        finally:
            _SLOT.reset(token)
            if slot.ticket is not None:  # the deliverer made no counted call
                self.pacer.cancel(slot.ticket)

    async def _take_slot(self) -> None:
        """In the request (SendWindow): wait for the row's booked slot; RetryLater when a
        429 since pushed it beyond the horizon."""
        slot = _SLOT.get()
        if slot is None or slot.ticket is None:
            return
        ticket, slot.ticket = slot.ticket, None
        while True:
            delay = ticket.at - self.pacer.clock()
            if delay > 0:
                try:
                    await asyncio.sleep(delay)
                except asyncio.CancelledError:
                    self.pacer.cancel(ticket)
                    raise
            if self.pacer.begin(ticket):
                return
            booked = self.pacer.book(slot.chat_id, self.horizon)
            if not isinstance(booked, BookedSlot):
                raise RetryLater("paused after a 429", after=booked)
            ticket = booked

    async def _give_back(self, row: Claimed, wait: float) -> None:
        """Not this row's turn: pending again in `wait` seconds, no attempt counted."""
        try:
            async with self.session_factory() as session:
                await outbox.retry_later(
                    session,
                    row.id,
                    at=self.clock() + timedelta(seconds=wait),
                    error=None,
                    count_attempt=False,
                )
        except Exception:  # the lease expires and the row comes back anyway
            log.exception("outbox row %s (%s): could not put it back", row.id, row.kind)

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
        except ObsoleteRow as exc:
            async with self.session_factory() as session:
                await outbox.mark_dropped(session, row.id, reason=str(exc), now=self.clock())
        except TelegramRetryAfter as exc:
            self.on_result("429")
            log.warning("429 for chat %s: waiting %s s", row.chat_id, exc.retry_after)
            self.pacer.blocked(row.chat_id, exc.retry_after)
            if self.window.shared is not None:
                await self.window.shared.block(row.chat_id, exc.retry_after)
            until = self.clock() + timedelta(seconds=exc.retry_after)
            async with self.session_factory() as session:
                await outbox.pause(session, f"chat:{row.chat_id}", until=until)
                if row.chat_id is None or row.chat_id > 0:
                    await outbox.pause(session, "global", until=until)
            await self._retry(row, exc.retry_after, "429", count=False)
        except TelegramForbiddenError as exc:
            self.on_result("403")
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
                self.on_result("ok")
                async with self.session_factory() as session:
                    await outbox.mark_sent(session, row.id, now=self.clock())
                return
            self.on_result("error")
            await self._record_failed(row, exc.message, route)
        except TelegramMigrateToChat as exc:
            self.on_result("error")
            log.error("chat %s became %s: update the setting", row.chat_id, exc.migrate_to_chat_id)
            await self._record_failed(row, f"chat moved to {exc.migrate_to_chat_id}", route)
        except TelegramUnauthorizedError as exc:
            self.on_result("error")
            log.critical("Telegram rejected the bot token: %s", exc.message)
            await self._retry(row, 60, exc.message, count=False)
        except (TelegramNetworkError, TelegramServerError, OSError, TimeoutError) as exc:
            self.on_result("error")
            await self._network_retry(row, f"{type(exc).__name__}: {exc}", route)
        except ClientDecodeError as exc:
            # Telegram's answer could not be read. The error quotes it (the message sent, a
            # customer's words when it was a relay): the log and the row get its fields only.
            self.on_result("error")
            log.error("outbox row %s (%s): %s", row.id, row.kind, describe(exc))
            await self._network_retry(row, describe(exc), route)
        except Exception as exc:
            self.on_result("error")
            log.exception("outbox row %s (%s) failed unexpectedly", row.id, row.kind)
            await self._network_retry(row, f"{type(exc).__name__}: {exc}", route)
        else:
            self.on_result("ok")
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
