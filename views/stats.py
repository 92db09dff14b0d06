"""Managers' reports: /stats (support desk, community, marketing). /unanswered: views.learning."""

from __future__ import annotations

import html
from collections.abc import Sequence

from campaigns.automations import CampaignStats
from community.stats import CommunityFigures
from community.tiers import Tier
from orders.stats import RESOLUTION_TARGET, AfterSalesFigures
from support.stats import WindowFigures, format_duration
from views.texts import Texts


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _stars(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}★"


def render_support_stats(
    t: Texts,
    windows: tuple[WindowFigures, ...],
    after_sales: Sequence[AfterSalesFigures] = (),
) -> str:
    """The desk's figures a window; under each, the after-sales figures of the same window."""

    def d(seconds: float | None) -> str:
        return format_duration(seconds, t.lang)

    returns = {a.label: a for a in after_sales}
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
                csat=_stars(w.csat_avg),
                rated=w.csat_rated,
                asked=w.csat_asked,
                handoff=_pct(w.handoff_rate),
            ),
        ]
        lines.extend(
            t(
                "stats-agent",
                name=html.escape(a.name),
                first=a.first_responses,
                frt50=d(a.first_response_p50),
                closed=a.closed,
                csat=_stars(a.csat_avg),
            )
            for a in w.agents
        )
        if (r := returns.get(w.label)) is not None:
            lines.append(
                t(
                    "stats-after-sales",
                    opened=r.opened,
                    approved=r.approved,
                    rejected=r.rejected,
                    refunded=r.refunded,
                    exchanges=r.exchanges,
                    res50=d(r.resolution_p50),
                    rate=_pct(r.resolution_rate),
                    target=_pct(RESOLUTION_TARGET),
                )
            )
    return "\n".join(lines)


def _tier_name(tiers: Sequence[Tier], index: int, lang: str) -> str:
    return tiers[index].label(lang) if 0 <= index < len(tiers) else f"#{index}"


def render_community_stats(
    t: Texts, windows: Sequence[CommunityFigures], tiers: Sequence[Tier]
) -> str:
    """Members, tiers and live streaks (from the first figures), then one block a window."""
    lines = [t("community-stats-title")]
    if windows:
        now = windows[0]
        median = "—" if now.median_streak is None else f"{now.median_streak:g}"
        lines.append(
            t(
                "community-stats-standing",
                members=now.members,
                streaks=now.active_streaks,
                longest=now.longest_streak,
                median=median,
            )
        )
        names = " · ".join(
            f"{html.escape(_tier_name(tiers, index, t.lang))} {count}"
            for index, count in sorted(now.tier_counts.items())
        )
        lines.append(t("community-stats-tiers", tiers=names or "—"))
    for w in windows:
        lines += [
            "",
            f"<b>{t(f'stats-window-{w.label}')}</b>",
            t(
                "community-stats-block",
                checkins=w.checkins,
                checkers=w.distinct_checkers,
                issued=w.points_issued,
                spent=w.points_spent,
                claimed=w.drops_claimed,
                redeemed=w.codes_redeemed,
            ),
        ]
    return "\n".join(lines)


def render_campaign_stats(t: Texts, figures: list[CampaignStats]) -> str:
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
