"""Telegram's send limits shared by every replica, in Redis (REDIS_URL).

Each process paces its own sends (bot/sender.py `Pacer`, `SendWindow`); with several
replicas each would spend Telegram's whole budget. `SharedRate` reserves every counted send
(COUNTED in bot/sender.py) in Redis before it leaves: one budget for the bot overall and one
per chat (about 1 a second in a private chat, 20 a minute in a group), the same numbers as
the local pacer (SENDER_*). The reservation is GCRA (the generic cell rate algorithm): each
budget keeps the theoretical time its next send is due; a send may leave once every budget
it draws on allows it, and moves each of them on by one interval. One Lua script does the
reading and the writing, so two replicas never take the same place, and it reads Redis's
clock, so replicas whose clocks differ still agree.

A reservation is a place in a queue: the caller sleeps for the delay it is given and then
sends. While a chat's own budget holds a send back, `reserve` waits without taking anything.
A 429 (`block`) pushes the budgets it names past `retry_after` for every replica (the
database's rate_pauses keep doing the same for claims).

If Redis cannot be reached the send goes on with the local pacing only (logged once a
minute): a Redis outage must not stop customers' answers; the local limits still hold per
process.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import secrets
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# KEYS[1]: the bot's budget, KEYS[2] (optional): the chat's. ARGV: per key its interval and
# its tolerance (burst - 1 intervals), in microseconds. The chat's budget only ever delays:
# when it is what holds the send back, nothing is taken and the answer is how long to wait
# before asking again (negative); otherwise both are taken at the bot's next place and the
# answer is the delay until it (zero or positive). Taking the bot's place for a time the
# chat imposes would leave the bot's places before it unused.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tats, allowed = {}, {}
for i = 1, #KEYS do
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  tats[i] = tat
  allowed[i] = math.max(now, tat - tonumber(ARGV[2 * i]))
end
local at = allowed[1]
if #KEYS == 2 and allowed[2] > at then
  return now - allowed[2] - 1
end
for i = 1, #KEYS do
  local nxt = math.max(tats[i], at) + tonumber(ARGV[2 * i - 1])
  local ttl = math.ceil((nxt - now) / 1000) + 60000
  redis.call('SET', KEYS[i], string.format('%d', nxt), 'PX', ttl)
end
return at - now
"""

# KEYS: the budgets; ARGV[1]: seconds, then each key's tolerance (microseconds). Nothing
# may leave on them before now + seconds.
_BLOCK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_ = now + tonumber(ARGV[1]) * 1000000
for i = 1, #KEYS do
  local tat = until_ + tonumber(ARGV[i + 1])
  if tonumber(redis.call('GET', KEYS[i]) or 0) < tat then
    local ttl = math.ceil((tat - now) / 1000) + 60000
    redis.call('SET', KEYS[i], string.format('%d', tat), 'PX', ttl)
  end
end
return 0
"""


# The last guard, as SendWindow's but for all replicas: at most ARGV[1] sends in any ARGV[2]
# microseconds, counted when they leave (a sorted set of send times, KEYS[1]). 0 and the
# send counted, or how long to wait before asking again (microseconds). Reservations are
# times; a replica whose event loop stalls sends late, together with the sends placed after
# it: this is what keeps those from going over the limit.
_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit, span = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - span)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(span / 1000) + 1000)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tonumber(oldest[2]) + span - now + 1
"""


@dataclass(frozen=True, slots=True)
class Budget:
    per_second: float
    burst: int

    def args(self) -> tuple[int, int]:
        interval = 1_000_000 / self.per_second
        return round(interval), round(interval * (max(1, self.burst) - 1))


class SharedRate:
    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        global_per_second: float,
        private_per_second: float,
        group_per_minute: float,
        burst: int,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.all = Budget(global_per_second, burst)
        self.private = Budget(private_per_second, burst)
        # No burst at a per-minute limit, as in the local pacer.
        self.group = Budget(group_per_minute / 60, 1 if group_per_minute <= 60 else burst)
        self._reserve = redis.register_script(_RESERVE)
        self._block = redis.register_script(_BLOCK)
        self._admit = redis.register_script(_ADMIT)
        self._sends = itertools.count()
        self._me = secrets.token_hex(4)
        self._warned = -math.inf

    def _budgets(self, chat_id: int | None, overall: bool = True) -> list[tuple[str, Budget]]:
        budgets = [(f"{self.prefix}:all", self.all)] if overall else []
        if chat_id is not None:
            budget = self.group if chat_id < 0 else self.private
            budgets.append((f"{self.prefix}:chat:{chat_id}", budget))
        return budgets

    async def reserve(self, chat_id: int | None, *, overall: bool = True) -> float:
        """Take the next place for a send to `chat_id`, waiting first while the chat's own
        budget holds it back; seconds to wait before sending (0 when Redis is unreachable:
        the local pacing alone then holds). `overall=False`: the chat's budget only (a
        topic or an edit in a group spends the group's turn, not the bot's bulk limit)."""
        budgets = self._budgets(chat_id, overall)
        if not budgets:
            return 0.0
        keys = [k for k, _ in budgets]
        args = [n for _, budget in budgets for n in budget.args()]
        while True:
            try:
                answer = int(await self._reserve(keys=keys, args=args))
            except (RedisError, OSError) as exc:
                self._complain(exc)
                return 0.0
            if answer >= 0:
                return answer / 1_000_000
            await asyncio.sleep(-answer / 1_000_000)

    async def block(self, chat_id: int | None, seconds: float) -> None:
        """After a 429: nothing leaves on these budgets for `seconds`, on any replica. A
        group's 429 blocks that group only; a private chat's also the bot's whole budget."""
        budgets = self._budgets(chat_id)
        if chat_id is not None and chat_id < 0:
            budgets = budgets[1:]
        try:
            await self._block(
                keys=[k for k, _ in budgets], args=[seconds, *(b.args()[1] for _, b in budgets)]
            )
        except (RedisError, OSError) as exc:
            self._complain(exc)

    async def admit(self, limit: int, span: float) -> None:
        """Wait until fewer than `limit` sends left, on all replicas, in the last `span`
        seconds; the send is counted as it is let through."""
        while True:
            try:
                wait = int(
                    await self._admit(
                        keys=[f"{self.prefix}:sent"],
                        args=[limit, round(span * 1_000_000), f"{self._me}:{next(self._sends)}"],
                    )
                )
            except (RedisError, OSError) as exc:
                self._complain(exc)
                return
            if wait <= 0:
                return
            await asyncio.sleep(wait / 1_000_000)

    def _complain(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._warned >= 60:
            self._warned = now
            log.warning(
                "shared send limits: Redis unreachable (%s); pacing this process alone",
                type(exc).__name__,
            )
