"""Group commit for Claim taps: the taps waiting at one moment are settled in one transaction.

A popular drop brings hundreds of taps a second. Claimed one by one, each pays its own
transaction (the member's refresh, the claim's statements, the commit) behind SQLite's
single writer, or the drop row's lock on PostgreSQL. Here a tap joins a queue and waits;
one writer task (started by the first tap, ended when the queue is empty) takes everything
waiting, refreshes those members and settles their claims of one drop with a handful of
statements (`drops.claim_many`), commits once and answers each tap. Taps that arrive while
it writes form the next batch, so the batches grow with the load and stay at one tap when
it is quiet.

The rules stay those of `drops.claim_from_post`, guarded by the database:
- never over-issued, one code per member up to the drop's limit: the same conditional
  statements decide, and a batch that cannot be settled as a whole (another process took
  codes meanwhile, a member's other tap elsewhere won, a drop paid with points) is rolled
  back and its taps claimed one by one, each in its own transaction, so one tap's failure
  never fails the others;
- first come, first served: within a batch, codes go in order of arrival at the queue.
  Across processes (replicas) the order is the database's, batch by batch: best effort;
- a member's second tap waiting in the same batch waits for the next one, so it gets the
  answer a second tap gets ("you have it already");
- the code's delivery (outbox) is written in the claim's transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from community import drops
from community.drops import BatchClaim
from storage.queries import TgUser, upsert_user, upsert_users

log = logging.getLogger(__name__)

MAX_BATCH = 20  # taps settled in one transaction
# A member refreshed by a tap within this time is not refreshed again (last_seen is then at
# most this stale, which segments measured in days do not notice), as for other group taps.
REFRESH_EVERY = timedelta(minutes=5)
MAX_REMEMBERED = 100_000


@dataclass(slots=True)
class _Tap:
    drop_id: int
    user: TgUser
    chat_id: int | None
    now: datetime
    answer: asyncio.Future[BatchClaim] = field(repr=False)


class ClaimQueue:
    """One per process (the Dispatcher's `claims`)."""

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], *, max_batch: int = MAX_BATCH
    ) -> None:
        self.session_factory = session_factory
        self.max_batch = max_batch
        self._waiting: deque[_Tap] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._refreshed: dict[int, tuple[datetime, TgUser]] = {}

    def _stale(self, taps: list[_Tap], now: datetime) -> list[TgUser]:
        """The members of `taps` to refresh: not refreshed by this queue lately, or
        changed (name, Telegram language) since."""
        stale: dict[int, TgUser] = {}
        for tap in taps:
            hit = self._refreshed.get(tap.user.id)
            if hit is None or hit[1] != tap.user or now - hit[0] > REFRESH_EVERY:
                stale[tap.user.id] = tap.user
        return list(stale.values())

    def _remember(self, users: list[TgUser], now: datetime) -> None:
        if len(self._refreshed) > MAX_REMEMBERED:
            self._refreshed.clear()
        for user in users:
            self._refreshed[user.id] = (now, user)

    async def claim(
        self, *, drop_id: int, user: TgUser, chat_id: int | None, now: datetime
    ) -> BatchClaim:
        """A tap on Claim under the drop's post in `chat_id` by `user` (refreshed with the
        claim, like the update's middleware would): the claim and the member's stored
        language. Raises what the database raised for this tap."""
        tap = _Tap(drop_id, user, chat_id, now, asyncio.get_running_loop().create_future())
        self._waiting.append(tap)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="claim-queue")
        # The writer answers every tap it takes; shielded, so a cancelled tap (shutdown)
        # does not cancel a claim that may already be committed.
        return await asyncio.shield(tap.answer)

    async def _drain(self) -> None:
        while self._waiting:
            batch = self._next_batch()
            try:
                await self._settle(batch)
            except Exception as exc:  # each waiting tap gets the error
                log.exception("claim batch failed")
                for tap in batch:
                    if not tap.answer.done():
                        tap.answer.set_exception(exc)

    def _next_batch(self) -> list[_Tap]:
        """Up to max_batch waiting taps, one per (drop, member): a member's repeat tap
        stays in the queue, in its place, for the next batch."""
        batch: list[_Tap] = []
        later: list[_Tap] = []
        seen: set[tuple[int, int]] = set()
        while self._waiting and len(batch) < self.max_batch:
            tap = self._waiting.popleft()
            key = (tap.drop_id, tap.user.id)
            if key in seen:
                later.append(tap)
            else:
                seen.add(key)
                batch.append(tap)
        self._waiting.extendleft(reversed(later))
        return batch

    async def _settle(self, batch: list[_Tap]) -> None:
        by_drop: dict[int, list[_Tap]] = {}
        for tap in batch:
            by_drop.setdefault(tap.drop_id, []).append(tap)
        for drop_id, taps in by_drop.items():
            now = max(t.now for t in taps)
            settled: list[BatchClaim] | None = None
            stale = self._stale(taps, now)
            try:
                async with self.session_factory() as session:
                    await upsert_users(session, stale, now=now)
                    settled = await drops.claim_many(
                        session,
                        drop_id=drop_id,
                        users=[t.user.id for t in taps],
                        chat_id=taps[0].chat_id,
                        now=now,
                    )
            except Exception:  # e.g. a member's tap in another process: claim one by one
                log.warning(
                    "claim batch of drop %s rolled back; claiming one by one",
                    drop_id,
                    exc_info=True,
                )
            if settled is not None:
                self._remember(stale, now)
                for tap, answer in zip(taps, settled, strict=True):
                    tap.answer.set_result(answer)
                continue
            for tap in taps:  # one by one, each in its own transaction
                try:
                    tap.answer.set_result(await self._one(tap))
                except Exception as exc:  # this tap's error, not the batch's
                    tap.answer.set_exception(exc)

    async def _one(self, tap: _Tap) -> BatchClaim:
        async with self.session_factory() as session:
            seen = await upsert_user(
                session,
                user_id=tap.user.id,
                username=tap.user.username,
                first_name=tap.user.first_name,
                language_code=tap.user.language_code,
                now=tap.now,
            )
            result = await drops.claim_from_post(
                session,
                drop_id=tap.drop_id,
                user_id=tap.user.id,
                chat_id=tap.chat_id,
                now=tap.now,
            )
        return BatchClaim(result, seen.language)
