"""End to end: two `python main.py run` replicas on PostgreSQL and Redis, on the webhook.

The HTTP fake Bot API stands for Telegram and for the load balancer in front of the replicas:
it delivers each update to the next replica in turn with the webhook's secret, and delivers
again (to the next one) an update that got no 200. Telegram's overall limit is enforced by
the fake (30 messages a second; 429 above it).

- A customer's handoff and an admin's /sale dialogue go back and forth between the
  replicas: each step lands on the other replica than the last (the dialogue's state is in
  Redis, the ticket in the database).
- A broadcast is sent by both replicas at once, each pacing itself at 25 a second: together
  they stay under Telegram's 30 (the budget is shared in Redis), each subscriber once.
- One replica is killed with -9 in the middle of a burst of customer questions: every
  question is answered (the other replica takes the deliveries that got no 200, and the
  updates the dead one had stored or claimed once their lease runs out).

Needs PostgreSQL (--postgres / TEST_POSTGRES_URL) and Redis (TEST_REDIS_URL); CI has both.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select

from campaigns import broadcasts
from campaigns.schedule import MarketingRules
from campaigns.segments import Segment
from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.models import InboxUpdate, OutboxMessage, Sale, Ticket, User
from tests.conftest import _postgres_url, _reset_postgres
from tests.fake_bot_api import Call, FakeBotAPI

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:REPLICAS"
SECRET = "replica-secret_1"
PATH = "/tg/hook"
GROUP = -100_777_000_111  # the support group (forum)
COMMUNITY = -100_777_000_222
ADMIN = 900_000_031
FIRST = 740_000_000
SUBSCRIBERS = 300
MARK = "Replica broadcast"
STARTUP = 90.0


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def pg(request: pytest.FixtureRequest, redis_url: str) -> str:
    """An empty PostgreSQL database at the latest migration (and an empty Redis)."""
    url = _postgres_url(request.config)
    if not url:
        pytest.skip("no --postgres / TEST_POSTGRES_URL")
    await _reset_postgres(url)
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    return url


class Replica:
    """`python main.py run` in webhook mode on its own port; its log in a file."""

    def __init__(
        self, api: FakeBotAPI, home: Path, database_url: str, redis_url: str, name: str
    ) -> None:
        self.api, self.home, self.database_url, self.name = api, home, database_url, name
        self.redis_url = redis_url
        self.port = _free_port()
        self.proc: asyncio.subprocess.Process | None = None
        self.runs = 0
        home.mkdir(exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    def env(self) -> dict[str, str]:
        keep = ("BOT_", "DATABASE_", "SUPPORT_", "SENDER_", "OUTBOX_", "FLOOD_", "WEBHOOK_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(keep)}
        env.update(
            BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=self.api.url,
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            # What Telegram is told; the fake delivers to each replica's own port.
            WEBHOOK_URL=f"http://127.0.0.1:9{PATH}",
            WEBHOOK_SECRET=SECRET,
            WEBHOOK_LEASE_SECONDS="10",
            HTTP_PORT=str(self.port),
            SUPPORT_CHAT_ID=str(GROUP),
            SUPPORT_MODE="topics",
            SUPPORT_LANGUAGE="en",
            COMMUNITY_CHAT_ID=str(COMMUNITY),
            COMMUNITY_LANGUAGE="en",
            ADMIN_IDS=str(ADMIN),
            TIMEZONE="Asia/Shanghai",
            FAQ_SEMANTIC="off",
            SENDER_GLOBAL_PER_SECOND="25",
            SENDER_BURST="3",
            SENDER_GROUP_PER_MINUTE="600",  # the desk's pacing is tested elsewhere
            OUTBOX_LEASE_SECONDS="10",
            FLOOD_MAX_MESSAGES="50",
            PYTHONUNBUFFERED="1",
        )
        return env

    def log_path(self, run: int) -> Path:
        return self.home / f"{self.name}-{run}.log"

    async def start(self) -> None:
        self.runs += 1
        with self.log_path(self.runs).open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, str(ROOT / "main.py"), "run", cwd=self.home, env=self.env(),
                stdout=log, stderr=log,
            )  # fmt: skip
        deadline = time.monotonic() + STARTUP
        while "webhook set" not in self.log_path(self.runs).read_text(errors="replace"):
            assert self.proc.returncode is None, self.logs()
            assert time.monotonic() < deadline, self.logs()
            await asyncio.sleep(0.2)

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self.proc.wait(), 30)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.proc.wait(), 60)
            assert self.proc.returncode == 0, self.logs()

    def logs(self) -> str:
        return "\n".join(
            self.log_path(n).read_text(errors="replace") for n in range(1, self.runs + 1)
        )


@contextlib.asynccontextmanager
async def two_replicas(
    pg: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[tuple[FakeBotAPI, list[Replica]]]:
    async with FakeBotAPI(token=TOKEN, rate_limit_per_s=30) as api:
        api.add_group(GROUP, is_forum=True, title="Support")
        api.add_group(COMMUNITY, is_forum=False, title="Community")
        replicas = [Replica(api, tmp_path / n, pg, redis_url, n) for n in ("a", "b")]
        try:
            await asyncio.gather(*(r.start() for r in replicas))
            api.webhook_targets = [r.url for r in replicas]
            yield api, replicas
        finally:
            for r in replicas:
                with contextlib.suppress(Exception):
                    await r.stop()
            for r in replicas:
                if r.proc is not None and r.proc.returncode is None:
                    r.proc.kill()
                    await r.proc.wait()
        for r in replicas:
            assert "Traceback" not in r.logs(), r.logs()


def _to(chat: int) -> Callable[[Call], bool]:
    return lambda c: c.params.get("chat_id") == chat


def _markup(call: Call) -> dict[str, Any]:
    raw = call.params.get("reply_markup")
    return json.loads(raw) if isinstance(raw, str) else (raw or {})


async def _reply(api: FakeBotAPI, user: int, after: int, expect: str, wait: float = 30) -> Call:
    """The bot's first message or edit to `user` after `after` whose text or buttons hold
    `expect`."""
    deadline = time.monotonic() + wait
    while True:
        for call in api.calls[after:]:
            shown = str(call.params.get("text")) + json.dumps(_markup(call), ensure_ascii=False)
            if (
                call.method in ("sendMessage", "editMessageText", "editMessageReplyMarkup")
                and call.params.get("chat_id") == user
                and expect in shown
            ):
                return call
        seen = [str(c.params.get("text"))[:60] for c in api.calls[after:] if _to(user)(c)]
        assert time.monotonic() < deadline, f"no {expect!r} to {user}; got {seen}"
        await asyncio.sleep(0.05)


async def _say(api: FakeBotAPI, user: int, text: str, expect: str) -> Call:
    """The user writes; the bot's answer holding `expect` (from whichever replica)."""
    mark = len(api.calls)
    await api.deliver(api.user_message(user, text))
    return await _reply(api, user, mark, expect)


async def _tap(api: FakeBotAPI, user: int, label: str, expect: str) -> Call:
    """The user taps the button whose label holds `label` on the bot's latest message to
    them that has one; the bot's answer holding `expect`."""
    for call in reversed(api.calls):
        if call.params.get("chat_id") != user or call.status != 200:
            continue
        for row in _markup(call).get("inline_keyboard", []):
            for button in row:
                if label in button["text"]:
                    mark = len(api.calls)
                    message = call.result if isinstance(call.result, dict) else {}
                    await api.deliver(api.callback_query(user, button["callback_data"], message))
                    return await _reply(api, user, mark, expect)
    raise AssertionError(f"no button {label!r} in the messages to {user}")


async def test_a_handoff_and_a_sale_dialogue_hop_between_replicas(
    pg: str, redis_url: str, tmp_path: Path
) -> None:
    async with two_replicas(pg, redis_url, tmp_path) as (api, replicas):
        # A customer: the handoff lands on one replica, the next words on the other.
        customer = 760_000_001
        mark = len(api.calls)
        await api.deliver(api.user_message(customer, "/human"))
        topic = await api.wait_for("createForumTopic", _to(GROUP), after=mark, timeout=30)
        mark = len(api.calls)
        await api.deliver(api.user_message(customer, "The zip broke on day two"))
        relayed = await api.wait_for("copyMessage", _to(GROUP), after=mark, timeout=30)
        assert relayed.params["message_thread_id"] == topic.result["message_thread_id"]

        # An admin plans a sale; each step goes to the other replica than the last.
        await _say(api, ADMIN, "/sale", "1/8")
        await _say(api, ADMIN, "Down jacket", "2/8")
        await _say(api, ADMIN, "399 799", "3/8")
        await _tap(api, ADMIN, "Skip", "4/8")
        await _tap(api, ADMIN, "Skip", "5/8")
        await _tap(api, ADMIN, "Skip", "6/8")
        await _say(api, ADMIN, "tomorrow 8pm", "7/8")
        await _say(api, ADMIN, "2h", "8/8")
        await _tap(api, ADMIN, "Done", "Publish?")
        await _tap(api, ADMIN, "Publish", "Sale #1")
        # Twelve steps, each one delivery answered 200 at once, in turn to replica a and b.
        assert api.deliveries == 12
    engine = create_engine(pg)
    try:
        async with create_session_factory(engine)() as s:
            [sale] = (await s.scalars(select(Sale))).all()
            assert (sale.product, sale.price, sale.original_price) == ("Down jacket", "399", "799")
            assert await s.scalar(select(func.count()).select_from(Ticket)) == 1
            statuses = Counter((await s.scalars(select(InboxUpdate.status))).all())
            assert set(statuses) == {"done"}
    finally:
        await engine.dispose()


async def _seed_broadcast(url: str) -> int:
    """SUBSCRIBERS customers and a broadcast to all of them, started (its rows queued)."""
    engine = create_engine(url)
    try:
        now = datetime.now(UTC)
        day_ago = now - timedelta(days=1)
        async with create_session_factory(engine)() as session:
            await session.execute(
                insert(User),
                [
                    {
                        "id": FIRST + i,
                        "first_name": f"U{i}",
                        "language_code": "en",
                        "first_seen": day_ago,
                        "last_seen": day_ago,
                        "started_at": day_ago,
                    }
                    for i in range(SUBSCRIBERS)
                ],
            )
            await session.commit()
            bid = await broadcasts.create(
                session, text=f"{MARK}: new arrivals", created_by=ADMIN, now=now, segment=Segment()
            )
            started = await broadcasts.start(
                session, bid, rules=MarketingRules(tz=ZoneInfo("UTC"), daily_cap=0), now=now
            )
            assert started is not None and started.total == SUBSCRIBERS
        return bid
    finally:
        await engine.dispose()


def _answered(api: FakeBotAPI, chats: range, mark: str = "") -> Counter[int]:
    """Accepted messages per chat in `chats` (holding `mark`)."""
    got: Counter[int] = Counter()
    for call in api.calls:
        chat = call.params.get("chat_id")
        if (
            call.method == "sendMessage"
            and call.status == 200
            and isinstance(chat, int)
            and chat in chats
            and mark in str(call.params.get("text"))
        ):
            got[chat] += 1
    return got


async def _until(done: Callable[[], bool], wait: float, what: str) -> None:
    deadline = time.monotonic() + wait
    while not done():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.1)


async def test_a_broadcast_sent_by_both_replicas_stays_under_telegrams_limit(
    pg: str, redis_url: str, tmp_path: Path
) -> None:
    """Each replica paces itself at 25 a second; Telegram (the fake) allows 30. Unshared,
    the two would send 50 a second and meet 429s; sharing the budget in Redis, they send
    25 a second together, each subscriber once."""
    subscribers = range(FIRST, FIRST + SUBSCRIBERS)
    async with two_replicas(pg, redis_url, tmp_path) as (api, _):
        await _seed_broadcast(pg)
        await _until(
            lambda: len(_answered(api, subscribers, MARK)) == SUBSCRIBERS, 90, "not all sent"
        )
        await asyncio.sleep(1.5)  # a late duplicate would show up now
        got = _answered(api, subscribers, MARK)
        sends = sorted(c.at for c in api.calls if c.method == "sendMessage")
    assert api.rejected_429 == 0
    assert set(got.values()) == {1} and len(got) == SUBSCRIBERS
    assert (sends[-1] - sends[0]) >= (SUBSCRIBERS - 3) / 25 - 0.5  # 25 a second, together
    engine = create_engine(pg)
    try:
        async with engine.connect() as conn:
            workers = await conn.scalar(
                select(func.count(func.distinct(OutboxMessage.claimed_by))).where(
                    OutboxMessage.kind == broadcasts.KIND
                )
            )
    finally:
        await engine.dispose()
    assert workers == 2  # both replicas sent part of it


async def test_a_replica_killed_mid_burst_loses_no_question(
    pg: str, redis_url: str, tmp_path: Path
) -> None:
    """80 customers ask at once, 8 deliveries in flight; replica a is killed with -9 after
    the first answers. Deliveries it no longer answers go to b (the fake retries, as
    Telegram does); what a had stored or claimed, b handles once the claim's lease (10 s
    here) has run out. Every question is answered; a question a had answered but not yet
    marked done may be answered twice (docs/deploy.md)."""
    customers = range(770_000_000, 770_000_080)
    async with two_replicas(pg, redis_url, tmp_path) as (api, replicas):
        questions = [api.user_message(c, "how long is shipping") for c in customers]
        slots = asyncio.Semaphore(8)

        async def ask(update: dict[str, Any]) -> None:
            async with slots:
                await api.deliver(update, timeout=60)

        asking = asyncio.gather(*(ask(q) for q in questions))
        await _until(lambda: len(_answered(api, customers)) >= 15, 60, "no answers")
        await replicas[0].kill()
        await asyncio.wait_for(asking, 90)
        await _until(lambda: len(_answered(api, customers)) == len(customers), 60, "lost")
        got = _answered(api, customers)
    engine = create_engine(pg)
    try:
        async with engine.connect() as conn:
            statuses = Counter((await conn.execute(select(InboxUpdate.status))).scalars().all())
    finally:
        await engine.dispose()
    assert len(got) == len(customers)  # nothing lost
    assert sum(n - 1 for n in got.values()) <= 8  # at most what was in hand at the kill
    assert set(statuses) == {"done"} and sum(statuses.values()) == len(customers)
