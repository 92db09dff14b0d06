"""The scheduler: a few fixed jobs with stable ids. Jobs are thin: open a session, call a
function, log the outcome. What must survive restarts lives in database rows, not here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import App
from bot.leader import Leader
from campaigns import automations, broadcasts, sales
from community import announce, drops
from orders import notices
from orders.purchases import PurchasePoints, credit_delivered
from storage import inbox, outbox
from storage.queries import prune_processed_updates
from support import learning
from support.sla import run_due

log = logging.getLogger(__name__)

# Telegram keeps an unconfirmed update for 24 hours; two days of ids cover every repeat.
KEEP_UPDATE_IDS = timedelta(days=2)


# Delivered outbox rows are kept a week for questions like "did the customer get it?".
KEEP_OUTBOX = timedelta(days=7)


async def prune_update_ids(app: App) -> int:
    async with app.session_factory() as session:
        removed = await prune_processed_updates(session, before=app.clock() - KEEP_UPDATE_IDS)
        await inbox.prune(session, before=app.clock() - KEEP_UPDATE_IDS)
        sent = await outbox.prune(session, before=app.clock() - KEEP_OUTBOX)
    log.info("pruned %d old update ids and %d delivered outbox rows", removed, sent)
    return removed


async def support_sla(app: App) -> int:
    async with app.session_factory() as session:
        raised = await run_due(session, app.desk, app.clock())
    if raised:
        log.info("SLA: %d ticket(s) re-alerted", raised)
    return raised


async def relearn_faq(app: App) -> bool:
    """What another process taught the FAQ (a tap handled there): when the learned rows'
    stamp changed, rebuild the matcher in use from them; True when it changed. A tap
    handled here has rebuilt it already (support.learning), so then nothing changes."""
    async with app.session_factory() as session:
        stamp = await learning.learned_stamp(session)
        if stamp == app.learned_stamp:
            return False
        changed = await learning.reload(session, app.matcher)
    if changed is None:  # the rebuild failed (logged): try again at the next run
        return False
    app.learned_stamp = stamp
    if changed:
        log.info("FAQ relearned: %d learned phrasings, %d learned entries", stamp[0], stamp[2])
    return changed


async def start_drops(app: App) -> list[int]:
    """Scheduled drops whose time has come go live and are posted in the group."""
    chat_id = app.community.chat_id
    async with app.session_factory() as session:
        started = await drops.start_due(session, now=app.clock())
        if chat_id is not None:
            for drop_id in started:
                await announce.queue_post(
                    session, drop_id=drop_id, chat_id=chat_id, now=app.clock()
                )
            await session.commit()
    if started:
        log.info("drops started: %s", started)
    return started


async def sale_posts(app: App) -> None:
    """Sale lifecycle posts whose time has come go to the outbox (or are skipped when stale);
    the rows are the schedule, so a restart or a second process changes nothing."""
    async with app.session_factory() as session:
        await sales.run_due(session, policy=app.campaigns, now=app.clock())


async def broadcast_progress(app: App) -> list[int]:
    """Redraw running broadcasts' progress messages; finish and report completed ones."""
    async with app.session_factory() as session:
        finished = await broadcasts.tick(session, now=app.clock())
    if finished:
        log.info("broadcasts finished: %s", finished)
    return finished


def automation_texts(app: App, kind: str) -> list[str]:
    """The automation's message in every language, as recipients will read it."""
    coupon = automations.coupon_of(app.campaigns, kind)
    days = app.campaigns.automations.coupon_days
    return [
        app.catalogue.for_lang(lang)(f"auto-{kind}", coupon=coupon, days=days)
        for lang in app.catalogue.languages
    ]


async def run_automations(app: App) -> list[automations.AutomationRun]:
    """The daily welcome and win-back messages. A text the copy guard flags is not sent:
    the admins are told which words to change (an automation has nobody to confirm it)."""
    now = app.clock()
    cleared: list[str] = []
    async with app.session_factory() as session:
        for kind in automations.enabled(app.campaigns):
            words = sorted(
                {
                    hit.word
                    for text in automation_texts(app, kind)
                    for hit in app.campaigns.guard.check(text)
                }
            )
            if not words:
                cleared.append(kind)
                continue
            log.error("automation %s held by the copy guard: %s", kind, ", ".join(words))
            t = app.catalogue.for_lang(app.settings.default_language)
            for admin in app.settings.admin_ids:
                await announce.queue_notice(
                    session,
                    chat_id=admin,
                    text=t("auto-held", automation=kind, words=", ".join(words)),
                    now=now,
                )
        await session.commit()
        runs = await automations.run(session, app.campaigns, now=now, kinds=cleared)
    for r in runs:
        log.info("automation %s: %d recipient(s), %d capped", r.kind, r.recipients, r.capped)
    return runs


async def late_orders(app: App) -> int:
    """Orders past their ETA and not delivered: each owner is told once (orders.notices)."""
    async with app.session_factory() as session:
        queued = await notices.flag_late(session, now=app.clock())
    if queued:
        log.info("late orders: %d notice(s) queued", queued)
        app.wake_sender()
    return queued


_RUNNING: set[asyncio.Task[Any]] = set()


async def tracked(
    job: Callable[[App], Awaitable[Any]], app: App, leader: Leader | None = None
) -> Any:
    """Run a job, known to `finish_jobs` while it runs (a job cut off by the event loop's
    end would die with a CancelledError traceback in the log). With a `leader`, a replica
    that does not lead skips the run: one replica runs the shared jobs at a time."""
    if leader is not None and not leader.is_leader:
        return None
    task = asyncio.current_task()
    assert task is not None
    _RUNNING.add(task)
    try:
        return await job(app)
    finally:
        _RUNNING.discard(task)


async def finish_jobs(grace: float = 10.0) -> None:
    """Let the jobs already running finish (up to `grace` seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    await asyncio.sleep(0)  # a run submitted just now starts and registers itself
    while _RUNNING and (left := deadline - loop.time()) > 0:
        await asyncio.wait(set(_RUNNING), timeout=left)


async def stop_scheduler(scheduler: AsyncIOScheduler, grace: float = 10.0) -> None:
    """Stop starting jobs, let the running ones finish, then shut the scheduler down.

    APScheduler 3's asyncio executor cancels every unfinished job at `shutdown()`, so a
    job caught mid-query would die with a CancelledError traceback (and its work undone):
    pause first, wait, and only then shut down."""
    if not scheduler.running:
        return
    scheduler.pause()
    await finish_jobs(grace)
    scheduler.shutdown(wait=False)


async def purchase_points(app: App) -> int:
    s = app.settings
    rule = PurchasePoints(
        s.purchase_points_per_unit, timedelta(days=s.purchase_points_window_days)
    )
    credited = await credit_delivered(
        app.session_factory, rule, now=app.clock(), tiers=app.community.tiers
    )
    if credited:
        log.info("purchase points: %d delivered order(s) credited", credited)
    return credited


def _every(
    scheduler: AsyncIOScheduler,
    job: Callable[[App], Awaitable[Any]],
    app: App,
    *,
    seconds: int,
    job_id: str,
    leader: Leader | None = None,
) -> None:
    """A job that looks at database rows every few seconds: one run at a time, and a run
    missed by a busy loop is dropped (the next one sees the same rows)."""
    scheduler.add_job(
        tracked,
        "interval",
        seconds=seconds,
        args=[job, app, leader],
        id=job_id,
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=60,
    )


def create_scheduler(app: App, leader: Leader | None = None) -> AsyncIOScheduler:
    """The jobs; with a `leader` (REDIS_URL, several replicas) only the leading replica runs
    them, except relearn-faq, which rebuilds this process's own matcher."""
    scheduler = AsyncIOScheduler(timezone=app.settings.tz)
    scheduler.add_job(
        tracked,
        "cron",
        hour=4,
        minute=17,
        args=[prune_update_ids, app, leader],
        id="prune-update-ids",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=3600,
    )
    _every(scheduler, start_drops, app, seconds=5, job_id="start-drops", leader=leader)
    _every(scheduler, sale_posts, app, seconds=5, job_id="sale-posts", leader=leader)
    _every(
        scheduler, broadcast_progress, app, seconds=3, job_id="broadcast-progress", leader=leader
    )
    _every(scheduler, relearn_faq, app, seconds=5, job_id="relearn-faq")
    _every(scheduler, late_orders, app, seconds=300, job_id="late-orders", leader=leader)
    if automations.enabled(app.campaigns):
        at = app.campaigns.automations.at
        scheduler.add_job(
            tracked,
            "cron",
            hour=at.hour,
            minute=at.minute,
            args=[run_automations, app, leader],
            id="automations",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
        )
        # Started after today's time (a restart, a deploy): catch up once. Each user is
        # reached once whatever the number of runs, so a second run today only finds
        # users who qualified since the first.
        local = app.clock().astimezone(app.campaigns.tz)
        if local.time() >= at:
            scheduler.add_job(
                tracked,
                "date",
                run_date=app.clock() + timedelta(seconds=60),
                args=[run_automations, app, leader],
                id="automations-catch-up",
                replace_existing=True,
            )
    if app.settings.purchase_points_per_unit > 0:
        _every(
            scheduler, purchase_points, app, seconds=60, job_id="purchase-points", leader=leader
        )
    if app.desk.enabled:
        # The timers live in the tickets' rows, so this job only has to look often.
        _every(scheduler, support_sla, app, seconds=15, job_id="support-sla", leader=leader)
    return scheduler
