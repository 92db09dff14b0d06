"""The scheduler's fixed jobs are registered once, with stable ids, and do their work."""

from __future__ import annotations

from datetime import UTC, time, timedelta

from sqlalchemy import func, select

from bot.app import App
from bot.scheduler import (
    create_scheduler,
    finish_jobs,
    prune_update_ids,
    run_automations,
    tracked,
)
from campaigns.policy import AutomationRules
from storage.models import Broadcast, OutboxMessage, User
from storage.queries import mark_update_processed


async def test_prune_job_is_registered_and_prunes(app: App) -> None:
    scheduler = create_scheduler(app)
    job = scheduler.get_job("prune-update-ids")
    assert job is not None and job.max_instances == 1
    async with app.session_factory() as s:
        await mark_update_processed(s, 1, app.clock() - timedelta(days=5))
        await mark_update_processed(s, 2, app.clock())
        await s.commit()
    assert await prune_update_ids(app) == 1


async def test_campaign_jobs_are_registered_and_automations_only_when_on(app: App) -> None:
    import dataclasses

    ids = {job.id for job in create_scheduler(app).get_jobs()}
    assert {"sale-posts", "broadcast-progress", "late-orders"} <= ids
    assert "automations" not in ids
    on = dataclasses.replace(
        app.campaigns,
        automations=AutomationRules(welcome=True, welcome_coupon="¥20 off", at=time(0, 0)),
    )
    ids = {job.id for job in create_scheduler(dataclasses.replace(app, campaigns=on)).get_jobs()}
    # Started after the day's time (00:00): the day's run is caught up once.
    assert {"automations", "automations-catch-up"} <= ids


async def test_a_flagged_automation_text_is_held_and_the_admins_are_told(app: App) -> None:
    import dataclasses

    on = dataclasses.replace(
        app.campaigns,
        automations=AutomationRules(welcome=True, welcome_coupon="全网最低价 ¥20 off"),
        admin_ids=(900,),
    )
    held = dataclasses.replace(
        app, campaigns=on, settings=app.settings.model_copy(update={"admin_ids": (900,)})
    )
    async with app.session_factory() as s:
        s.add(
            User(
                id=5,
                first_name="New",
                first_seen=app.clock(),
                last_seen=app.clock(),
                started_at=app.clock(),
            )
        )
        await s.commit()
    assert await run_automations(held) == []
    async with app.session_factory() as s:
        notices = (
            await s.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == 900))
        ).all()
        assert len(notices) == 1
        assert "全网最低" in str((notices[0].payload or {})["text"])
        assert await s.scalar(select(func.count()).select_from(Broadcast)) == 0


async def test_finish_jobs_waits_for_a_running_job(app: App) -> None:
    import asyncio

    done: list[int] = []

    async def slow(_: App) -> None:
        await asyncio.sleep(0.2)
        done.append(1)

    task = asyncio.create_task(tracked(slow, app))
    await asyncio.sleep(0)
    await finish_jobs()
    assert done == [1] and task.done()


async def test_stopping_the_scheduler_lets_a_running_job_finish(app: App) -> None:
    """APScheduler's executor cancels unfinished jobs at shutdown; a job caught mid-run
    must finish instead (a cancelled one left a traceback and its work undone)."""
    import asyncio
    from datetime import datetime

    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.scheduler import stop_scheduler

    started = asyncio.Event()
    outcome: list[str] = []

    async def slow(_: App) -> None:
        started.set()
        try:
            await asyncio.sleep(0.3)
            outcome.append("finished")
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(tracked, "date", run_date=datetime.now(UTC), args=[slow, app])
    scheduler.start()
    await asyncio.wait_for(started.wait(), 5)
    await stop_scheduler(scheduler)
    assert outcome == ["finished"]
    await asyncio.sleep(0.05)  # AsyncIOScheduler.shutdown runs via call_soon_threadsafe
    assert not scheduler.running


async def test_a_replica_that_does_not_lead_skips_the_shared_jobs_but_relearns(
    app: App, redis_url: str
) -> None:
    from redis.asyncio import Redis

    from bot.leader import Leader

    redis = Redis.from_url(redis_url)
    first, second = Leader(redis, lease=5), Leader(redis, lease=5)
    await first.start()
    await second.start()
    try:
        ran: list[str] = []

        async def job(_: App) -> str:
            ran.append("ran")
            return "done"

        assert await tracked(job, app, second) is None
        assert await tracked(job, app, first) == "done"
        assert await tracked(job, app) == "done"  # no leader: one process, always runs
        assert ran == ["ran", "ran"]
        jobs = {j.id: j for j in create_scheduler(app, second).get_jobs()}
        assert jobs["relearn-faq"].args[2] is None  # each replica rebuilds its own matcher
        assert jobs["start-drops"].args[2] is second
        assert jobs["prune-update-ids"].args[2] is second
    finally:
        await first.stop()
        await second.stop()
        await redis.aclose()
