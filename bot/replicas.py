"""What several replicas share through Redis (REDIS_URL): the dialogues' FSM state and data,
and the scheduler's leader. Without REDIS_URL: memory and always the leader (one process)."""

from __future__ import annotations

from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.config import ConfigError, Settings
from bot.leader import LEADER_KEY, Leader

# Dialogue drafts left unfinished are forgotten after a week (the memory storage kept them
# until the process ended).
DIALOGUE_TTL = 7 * 24 * 3600


async def open_redis(url: str) -> Redis:
    """A client that has answered PING. A bad URL or a server that is not there is one
    ConfigError naming REDIS_URL (never the password)."""
    try:
        client = Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10)
    except ValueError as exc:
        raise ConfigError(f"REDIS_URL: not a usable Redis URL ({exc})") from None
    try:
        await client.ping()  # type: ignore[misc]
    except (RedisError, OSError) as exc:
        await client.aclose()
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"REDIS_URL: cannot reach Redis ({detail})") from None
    return client


def fsm_storage(redis: Redis | None) -> BaseStorage:
    """Where the dialogues keep their state: Redis (any replica continues, a restart loses
    nothing) or this process's memory."""
    if redis is None:
        return MemoryStorage()
    return RedisStorage(
        redis,
        key_builder=DefaultKeyBuilder(prefix="shopbot-fsm", with_destiny=True),
        state_ttl=DIALOGUE_TTL,
        data_ttl=DIALOGUE_TTL,
    )


class Replicas:
    """Built once at start from the settings; `close` at the end."""

    def __init__(self, redis: Redis | None, *, bot_id: str = "") -> None:
        self.redis = redis
        self.storage = fsm_storage(redis)
        # Per bot: two shops' bots may share one Redis (their FSM keys carry the bot id too).
        self.leader = Leader(redis, key=f"shopbot:{bot_id}:leader" if bot_id else LEADER_KEY)

    @classmethod
    async def open(cls, settings: Settings) -> Replicas:
        url = settings.redis_url
        token = settings.bot_token.get_secret_value() if settings.bot_token else ""
        return cls(
            await open_redis(url.get_secret_value()) if url is not None else None,
            bot_id=token.partition(":")[0],
        )

    async def close(self) -> None:
        await self.leader.stop()
        if self.redis is not None:
            await self.redis.aclose()
