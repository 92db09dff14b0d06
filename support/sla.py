"""First-response SLA: tickets waiting past their due time re-alert the group.

Each alert level is claimed by a conditional UPDATE on `sla_alert_level`, so two scheduler
runs (or two processes) never alert twice for the same level. The first alerts mention the
online agents; from `escalate_after` on they mention the admins too. Everything the job
needs is in the rows, so a restart resumes the timers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Agent, Ticket
from support.tickets import DeskPolicy, event, group_note, refresh_card


async def run_due(session: AsyncSession, policy: DeskPolicy, now: datetime) -> int:
    """Raise every due alert once; returns how many were raised. Commits."""
    if not policy.enabled or not policy.is_open(now):
        return 0  # out of hours: overdue tickets alert again when the desk opens
    due = (
        await session.execute(
            select(Ticket.id, Ticket.sla_alert_level, Ticket.sla_due_at)
            .where(Ticket.next_alert_at <= now, Ticket.state != "closed")
            .order_by(Ticket.next_alert_at)
            .limit(200)
        )
    ).all()
    if not due:
        await session.rollback()
        return 0
    online = (await session.execute(select(Agent.user_id, Agent.name).where(Agent.online))).all()
    raised = 0
    for ticket_id, level, sla_due_at in due:
        due_at = sla_due_at or now
        claimed = await session.execute(
            update(Ticket)
            .where(
                Ticket.id == ticket_id,
                Ticket.sla_alert_level == level,
                Ticket.state != "closed",
                Ticket.next_alert_at <= now,
            )
            .values(
                sla_alert_level=level + 1,
                next_alert_at=now + timedelta(seconds=policy.realert_seconds),
            )
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]
            continue
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        if ticket.sla_breached_at is None:
            ticket.sla_breached_at = now
        escalate = level + 1 >= policy.escalate_after
        mention_ids = [a.user_id for a in online]
        if escalate or not mention_ids:
            mention_ids += [a for a in policy.admin_ids if a not in mention_ids]
        if ticket.assignee_id is not None and ticket.assignee_id not in mention_ids:
            mention_ids.insert(0, ticket.assignee_id)
        waited = int((now - (ticket.last_customer_at or ticket.opened_at)).total_seconds())
        event(session, ticket_id, "sla_alert", now, None, level=level + 1)
        await group_note(
            session,
            policy,
            ticket,
            "sla-alert",
            now,
            priority=1,
            # One note per level of one waiting period (the claim above already ensures it;
            # the key also stops a replayed run).
            dedupe_key=f"sla:{ticket_id}:{int(due_at.timestamp())}:{level + 1}",
            minutes=max(1, waited // 60),
            level=level + 1,
            mentions=mention_ids,
        )
        await refresh_card(session, policy, ticket, now)
        raised += 1
    await session.commit()
    return raised
