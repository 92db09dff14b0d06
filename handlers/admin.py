"""Admin commands in a private chat with the bot (ADMIN_IDS)."""

from __future__ import annotations

import html
from datetime import datetime, timedelta

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from campaigns import automations
from handlers.filters import IsAdmin
from support.insights import unanswered_questions
from support.stats import WindowFigures, format_duration, support_stats
from support.tickets import DeskPolicy
from views.texts import Texts

SHOWN = 10
QUESTION_CHARS = 80


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def render_stats(t: Texts, windows: tuple[WindowFigures, ...]) -> str:
    def d(seconds: float | None) -> str:
        return format_duration(seconds, t.lang)

    lines = [t("stats-title")]
    for w in windows:
        lines += [
            "",
            f"<b>{t(f'stats-window-{w.label}')}</b>",
            t(
                "stats-block",
                opened=w.opened,
                closed=w.closed,
                frt50=d(w.first_response_p50),
                frt90=d(w.first_response_p90),
                res50=d(w.resolution_p50),
                sla=_pct(w.sla_hit_rate),
                csat="—" if w.csat_avg is None else f"{w.csat_avg:.2f}★",
                rated=w.csat_rated,
                asked=w.csat_asked,
                handoff=_pct(w.handoff_rate),
            ),
        ]
        for a in w.agents:
            lines.append(
                t(
                    "stats-agent",
                    name=html.escape(a.name),
                    first=a.first_responses,
                    frt50=d(a.first_response_p50),
                    closed=a.closed,
                    csat="—" if a.csat_avg is None else f"{a.csat_avg:.2f}★",
                )
            )
    return "\n".join(lines)


def render_campaign_stats(t: Texts, figures: list[automations.CampaignStats]) -> str:
    if not figures:
        return t("cstats-none")
    lines = [t("cstats-title")]
    lines.extend(
        t(
            "cstats-line",
            kind=t(f"cstats-kind-{f.kind}"),
            broadcasts=f.broadcasts,
            sent=f.sent,
            blocked=f.blocked,
            claimed=f.claimed,
            claim_rate=_pct(f.claimed / f.sent if f.sent else None),
            came_back=f.came_back,
            back_rate=_pct(f.came_back / f.sent if f.sent else None),
        )
        for f in figures
    )
    return "\n".join(lines)


def create_router(admin_ids: tuple[int, ...], policy: DeskPolicy) -> Router:
    """Admin commands; they work in a private chat and in the support group."""
    router = Router(name=__name__)
    router.message.filter(IsAdmin())

    @router.message(Command("stats"))
    async def cmd_stats(
        message: Message,
        command: CommandObject,
        session: AsyncSession,
        settings: Settings,
        texts: Texts,
        now: datetime,
    ) -> None:
        what = (command.args or "support").strip().lower()
        if what == "campaigns":
            since = now - timedelta(days=30)
            figures = await automations.stats(session, since=since)
            await session.rollback()
            await message.reply(render_campaign_stats(texts, figures), parse_mode="HTML")
            return
        if what != "support":
            await message.reply(texts("stats-usage"))
            return
        t = texts
        windows = await support_stats(
            session,
            now=now,
            tz=settings.tz,
            sla_seconds=policy.sla_seconds,
            hours=policy.hours,
        )
        await message.reply(render_stats(t, windows), parse_mode="HTML")

    @router.message(Command("unanswered"))
    async def cmd_unanswered(
        message: Message, session: AsyncSession, texts: Texts, now: datetime
    ) -> None:
        gaps = await unanswered_questions(session, since=now - timedelta(days=7), limit=SHOWN)
        if not gaps:
            await message.answer(texts("unanswered-none"))
            return
        lines = [texts("unanswered-title", count=len(gaps))]
        for g in gaps:
            question = " ".join(g.question.split())
            if len(question) > QUESTION_CHARS:
                question = question[: QUESTION_CHARS - 1] + "…"
            lines.append(
                texts(
                    "unanswered-line", times=g.times, question=question, guess=g.best_guess or "-"
                )
            )
        lines.append(texts("unanswered-footer"))
        await message.answer("\n".join(lines))

    return router
