"""One leader among the replicas for the work that wants a single owner (the scheduler's
jobs): a Redis key taken with SET NX PX (a lease), renewed by its holder every third of the
lease, deleted on stop. A holder that dies stops renewing; the key expires and another
replica takes it at its next try. Without Redis the process is always the leader (one
process, as before). The database guards stay: the lease is an economy, not a guarantee
(a holder paused longer than its lease may overlap the next one for a moment)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

LEADER_KEY = "shopbot:leader"

# Renew or release only while the key is still ours (another may hold it by now).
_IF_OURS = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call({}) else return 0 end"
_RENEW = _IF_OURS.format("'pexpire', KEYS[1], ARGV[2]")
_RELEASE = _IF_OURS.format("'del', KEYS[1]")


class Leader:
    def __init__(self, redis: Redis | None, *, key: str = LEADER_KEY, lease: float = 15.0) -> None:
        self.redis = redis
        self.key = key
        self.lease = lease
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._until = 0.0  # loop time until which the lease we hold is good
        self._task: asyncio.Task[None] | None = None

    @property
    def is_leader(self) -> bool:
        if self.redis is None:
            return True
        # A lease we could not renew is not trusted past its end, even before we learn why.
        return asyncio.get_running_loop().time() < self._until

    async def start(self) -> None:
        """Try once now (so a lone replica leads at once), then keep trying or renewing."""
        if self.redis is None or self._task is not None:
            return
        await self.tick()
        self._task = asyncio.create_task(self._run(), name="leader")

    async def tick(self) -> bool:
        """Renew the lease we hold, or take it when free; True when we lead afterwards."""
        assert self.redis is not None
        loop = asyncio.get_running_loop()
        started = loop.time()
        ms = int(self.lease * 1000)
        was = self.is_leader
        try:
            if was:
                held = bool(await self.redis.eval(_RENEW, 1, self.key, self.token, ms))  # type: ignore[misc]
            else:
                held = bool(await self.redis.set(self.key, self.token, nx=True, px=ms))
        except (RedisError, OSError) as exc:
            log.warning("leader lease: Redis unreachable (%s)", type(exc).__name__)
            return self.is_leader
        self._until = started + self.lease if held else 0.0
        if held != was:
            log.info("leader: %s", "this replica leads" if held else "another replica leads")
        return held

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            await self.tick()

    async def stop(self) -> None:
        """Stop renewing and hand the lease over at once (deleted if still ours)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.redis is None or not self._until:
            return
        self._until = 0.0
        try:
            await self.redis.eval(_RELEASE, 1, self.key, self.token)  # type: ignore[misc]
        except (RedisError, OSError) as exc:
            log.warning("leader lease not released (%s): it expires", type(exc).__name__)
