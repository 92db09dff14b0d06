"""The scheduler's fixed jobs are registered once, with stable ids, and do their work."""

from __future__ import annotations

from datetime import timedelta

from bot.app import App
from bot.scheduler import create_scheduler, prune_update_ids
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
