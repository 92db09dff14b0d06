"""Managers' reports in a private chat with the bot (ADMIN_IDS): /stats, /unanswered.

Typed in a group (the community's, the support desk's), they get a one-line pointer to the
private chat instead: the figures are for managers, not for whoever is in the group."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import automations
from community.policy import CommunityPolicy
from community.stats import community_stats
from faq import LiveMatcher
from handlers.filters import IsAdmin, PrivateChat
from handlers.learning import send_page
from orders.stats import after_sales_stats
from support.stats import support_stats
from support.tickets import DeskPolicy
from views.stats import (
    render_campaign_stats,
    render_community_stats,
    render_support_stats,
)
from views.texts import Texts

COMMUNITY_WINDOWS = (1, 7, 30)  # days: today, the last 7 and the last 30 shop days

REPORTS = ("stats", "unanswered")

router = Router(name=__name__)
reports = Router(name=f"{__name__}.reports")
reports.message.filter(PrivateChat(), IsAdmin())
elsewhere = Router(name=f"{__name__}.elsewhere")
elsewhere.message.filter(IsAdmin())
router.include_routers(reports, elsewhere)


@reports.message(Command("stats"))
async def cmd_stats(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    desk: DeskPolicy,
    community: CommunityPolicy,
    texts: Texts,
    now: datetime,
) -> None:
    """/stats: the support desk (with after-sales), then the community; or one of support,
    community, campaigns."""
    what = (command.args or "").strip().lower()
    if what == "campaigns":
        figures = await automations.stats(session, since=now - timedelta(days=30))
        await message.reply(render_campaign_stats(texts, figures), parse_mode="HTML")
        return
    if what not in ("", "support", "community"):
        await message.reply(texts("admin-stats-usage"))
        return
    if what in ("", "support"):
        windows = await support_stats(
            session, now=now, tz=community.tz, sla_seconds=desk.sla_seconds, hours=desk.hours
        )
        after_sales = await after_sales_stats(session, now=now, tz=community.tz)
        text = render_support_stats(texts, windows, after_sales)
        await message.reply(text, parse_mode="HTML")
    if what in ("", "community"):
        members = [
            await community_stats(session, now=now, tz=community.tz, days=days)
            for days in COMMUNITY_WINDOWS
        ]
        text = render_community_stats(texts, members, community.tiers)
        await message.reply(text, parse_mode="HTML")


@reports.message(Command("unanswered"))
async def cmd_unanswered(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    matcher: LiveMatcher,
    texts: Texts,
    now: datetime,
) -> None:
    """Triage: each question with buttons to teach the FAQ, ignore it, or hand it to an agent."""
    await send_page(bot, message.chat.id, session, matcher, texts, now, offset=0)


@elsewhere.message(Command(*REPORTS))
async def cmd_report_in_group(message: Message, texts: Texts) -> None:
    await message.reply(texts("admin-private-only"))
