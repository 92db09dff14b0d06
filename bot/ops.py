"""Operations: the probes and the metrics a deployment watches (docs/operations.md).

GET /healthz  200 {"status": "ok"} while the process serves requests.
GET /readyz   200 {"database": "ok", "telegram": "ok"} when every dependency answers, else 503
              with the one that failed marked "failed" (or "timeout"); never the error's text.
GET /metrics  Prometheus text format: counters kept by this process (updates, sends, FAQ
              outcomes, handler latency) and backlog gauges counted in the database at the
              scrape (inbox, outbox, open tickets, tickets waiting past the first-response
              target).

Counters are per process: with several replicas, Prometheus sums them. The gauges are read
from the shared database, so every replica reports the same backlog (use max, not sum).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.models import InboxUpdate, OutboxMessage, Ticket

log = logging.getLogger(__name__)

SEND_RESULTS = ("ok", "429", "403", "error")
# Handling an update: most take milliseconds; a model-backed FAQ answer tens of them.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True, slots=True)
class Backlog:
    """What waits in the database, counted at a scrape."""

    inbox_pending: int
    outbox: dict[str, int]  # pending | sending
    tickets_open: int
    tickets_past_sla: int


async def count_backlog(
    sessions: async_sessionmaker[AsyncSession], now: datetime, *, seconds: float
) -> Backlog:
    """Four COUNTs on indexed columns, bounded by `seconds` (by the server too on PostgreSQL)."""
    async with asyncio.timeout(seconds + 1), sessions() as session:
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text(f"SET LOCAL statement_timeout = {int(seconds * 1000)}"))
        inbox = await session.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.status == "pending")
        )
        outbox = {"pending": 0, "sending": 0}
        for status, count in await session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.status.in_(tuple(outbox)))
            .group_by(OutboxMessage.status)
        ):
            outbox[status] = int(count)
        open_ = await session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.state != "closed")
        )
        late = await session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.state != "closed", Ticket.sla_due_at < now)
        )
        await session.rollback()
    return Backlog(int(inbox or 0), outbox, int(open_ or 0), int(late or 0))


class _BacklogCollector(Collector):
    """Yields the backlog counted just before the scrape (no database work in here: the
    registry calls collectors synchronously)."""

    def __init__(self) -> None:
        self.backlog: Backlog | None = None
        self.database_up = False

    def describe(self) -> Iterable[Metric]:
        return []  # names vary with what was counted: no duplicate check needed

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "shopbot_database_up", "1 when the scrape could count the backlog in the database"
        )
        up.add_metric([], 1.0 if self.database_up else 0.0)
        yield up
        b = self.backlog
        if b is None or not self.database_up:
            return
        inbox = GaugeMetricFamily(
            "shopbot_inbox_depth", "Updates stored and not yet handled", labels=["status"]
        )
        inbox.add_metric(["pending"], b.inbox_pending)
        yield inbox
        outbox = GaugeMetricFamily(
            "shopbot_outbox_depth",
            "Outbox rows waiting to be sent (pending) or claimed by a sender (sending)",
            labels=["status"],
        )
        for status, count in b.outbox.items():
            outbox.add_metric([status], count)
        yield outbox
        yield GaugeMetricFamily(
            "shopbot_tickets_open", "Support tickets not closed", value=b.tickets_open
        )
        yield GaugeMetricFamily(
            "shopbot_tickets_past_sla",
            "Open tickets whose customer has waited past the first-response target "
            "(SUPPORT_FIRST_RESPONSE_SLA_SECONDS, in support hours)",
            value=b.tickets_past_sla,
        )


class Metrics:
    """The process's metrics, in a registry of their own (one per App: tests don't leak)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "shopbot_updates",
            "Telegram updates handled, by type and outcome (ok, failed, ignored: no handler)",
            ["update_type", "outcome"],
            registry=self.registry,
        )
        self.update_seconds = Histogram(
            "shopbot_update_handling_seconds",
            "Time to handle one update, middlewares and handler included",
            ["update_type"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.sends = Counter(
            "shopbot_sends",
            "Outbox sends by result: ok, 429 (rate limited), 403 (blocked / not allowed), error",
            ["result"],
            registry=self.registry,
        )
        self.faq = Counter(
            "shopbot_faq_outcomes",
            "Customers' free-text questions by outcome (answer, clarify, no_match, human, ...)",
            ["outcome"],
            registry=self.registry,
        )
        for result in SEND_RESULTS:  # present from the first scrape, at 0
            self.sends.labels(result)
        self.backlog = _BacklogCollector()
        self.registry.register(self.backlog)

    def sent(self, result: str) -> None:
        self.sends.labels(result).inc()

    def faq_outcome(self, outcome: str) -> None:
        self.faq.labels(outcome).inc()

    def handled(self, update_type: str, outcome: str, seconds: float) -> None:
        self.updates.labels(update_type, outcome).inc()
        self.update_seconds.labels(update_type).observe(seconds)


class UpdateMetrics(BaseMiddleware):
    """Counts every update fed to the Dispatcher (polling or webhook) and times it. The
    first of the app's outer middlewares: inside aiogram's error middleware, so a handler's
    exception is seen here before the errors router apologises for it."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        kind = event.event_type if isinstance(event, Update) else "unknown"
        started = time.perf_counter()
        outcome = "failed"
        try:
            result = await handler(event, data)
            outcome = "ignored" if result is UNHANDLED else "ok"
            return result
        finally:
            self.metrics.handled(kind, outcome, time.perf_counter() - started)


# --- readiness -----------------------------------------------------------------------------

Check = Callable[[], Awaitable[None]]


def database_check(engine: AsyncEngine) -> Check:
    async def check() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    return check


class TelegramCheck:
    """getMe with a short timeout; a success is trusted for `ttl` seconds, so probes every
    few seconds from several load balancers don't become Bot API traffic."""

    def __init__(
        self,
        bot: Bot,
        *,
        ttl: float = 30.0,
        request_timeout: int = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot = bot
        self.ttl = ttl
        self.request_timeout = request_timeout
        self.clock = clock
        self.ok_at: float | None = None

    async def __call__(self) -> None:
        if self.ok_at is not None and self.clock() - self.ok_at < self.ttl:
            return
        self.ok_at = None
        await self.bot.get_me(request_timeout=self.request_timeout)
        self.ok_at = self.clock()


@dataclass
class Readiness:
    """Named checks run together, each bounded by `timeout`. Another dependency (Redis)
    joins with `add`."""

    checks: dict[str, Check] = field(default_factory=dict)
    timeout: float = 5.0

    def add(self, name: str, check: Check) -> None:
        self.checks[name] = check

    async def _one(self, name: str, check: Check) -> str:
        try:
            async with asyncio.timeout(self.timeout):
                await check()
        except TimeoutError:
            log.warning("readiness: %s did not answer within %.0f s", name, self.timeout)
            return "timeout"
        except Exception as exc:
            # The type only: drivers' messages can hold URLs, hosts and passwords.
            log.warning("readiness: %s failed (%s)", name, type(exc).__name__)
            return "failed"
        return "ok"

    async def run(self) -> dict[str, str]:
        names = list(self.checks)
        results = await asyncio.gather(*(self._one(n, self.checks[n]) for n in names))
        return dict(zip(names, results, strict=True))


# --- routes --------------------------------------------------------------------------------


@dataclass
class Ops:
    metrics: Metrics
    readiness: Readiness
    sessions: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime]
    scrape_timeout: float = 2.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


OPS = web.AppKey("ops", Ops)


async def get_healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def get_readyz(request: web.Request) -> web.Response:
    results = await request.app[OPS].readiness.run()
    ready = all(v == "ok" for v in results.values())
    return web.json_response(results, status=200 if ready else 503)


async def get_metrics(request: web.Request) -> web.Response:
    ops = request.app[OPS]
    async with ops.lock:  # one scrape at a time: the backlog it counted is the one it shows
        try:
            ops.metrics.backlog.backlog = await count_backlog(
                ops.sessions, ops.clock(), seconds=ops.scrape_timeout
            )
            ops.metrics.backlog.database_up = True
        except Exception as exc:
            log.warning("metrics: the backlog could not be counted (%s)", type(exc).__name__)
            ops.metrics.backlog.database_up = False
        body = generate_latest(ops.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_ops_routes(app: web.Application, ops: Ops) -> None:
    app[OPS] = ops
    app.router.add_get("/healthz", get_healthz)
    app.router.add_get("/readyz", get_readyz)
    app.router.add_get("/metrics", get_metrics)
