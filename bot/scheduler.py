"""The scheduler: a few fixed jobs with stable ids. Jobs are thin: open a session, call a
function, log the outcome. What must survive restarts lives in database rows, not here."""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import App
from community import announce, drops
from storage import inbox, outbox
from storage.queries import prune_processed_updates
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
        raised = await run_due(session, app.policy, app.clock())
    if raised:
        log.info("SLA: %d ticket(s) re-alerted", raised)
    return raised


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


def create_scheduler(app: App) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=app.settings.tz)
    scheduler.add_job(
        prune_update_ids,
        "cron",
        hour=4,
        minute=17,
        args=[app],
        id="prune-update-ids",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=3600,
    )
    scheduler.add_job(
        start_drops,
        "interval",
        seconds=5,
        args=[app],
        id="start-drops",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=60,
    )
    if app.policy.enabled:
        # The timers live in the tickets' rows, so this job only has to look often.
        scheduler.add_job(
            support_sla,
            "interval",
            seconds=15,
            args=[app],
            id="support-sla",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=60,
        )
    return scheduler
