"""Broadcasts as managers and recipients read them: the dialogue's segment screen and
preview summary, the start, the /broadcasts list, the live progress and the final report."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from campaigns import broadcasts
from campaigns.broadcasts import (
    BroadcastDraft,
    BroadcastError,
    Launched,
    PreviewFacts,
    Progress,
    Summary,
)
from campaigns.segments import Segment
from community.tiers import Tier
from orders.rfm import RfmRules
from views.texts import Texts

BAR = 10  # cells of the progress bar
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}
SNIPPET = 40  # characters of a broadcast's text in the /broadcasts list
_TAG = re.compile(r"<[^>]+>")


def duration(seconds: float) -> str:
    """`75` -> "1:15", `3725` -> "1:02:05"."""
    s = max(int(seconds), 0)
    hours, rest = divmod(s, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def bar(done: int, total: int) -> str:
    filled = BAR if total <= 0 else min(BAR, done * BAR // total)
    return "▰" * filled + "▱" * (BAR - filled)


def percent(done: int, total: int) -> int:
    return 100 if total <= 0 else min(100, done * 100 // total)


def render_progress(t: Texts, broadcast_id: int, p: Progress, now: datetime) -> str:
    lines = [
        t("bc-progress-title", id=broadcast_id),
        f"{bar(p.done, p.total)} {percent(p.done, p.total)}%",
        t(
            "bc-progress-counts",
            sent=p.sent,
            failed=p.failed + p.unknown,
            blocked=p.blocked,
            left=p.pending,
        ),
    ]
    if p.started_at is not None and p.done and p.pending:
        elapsed = (now - p.started_at).total_seconds()
        if elapsed > 0:
            lines.append(t("bc-progress-eta", time=duration(p.pending * elapsed / p.done)))
    return "\n".join(lines)


def render_report(t: Texts, broadcast_id: int, p: Progress) -> str:
    took = (
        (p.finished_at - p.started_at).total_seconds()
        if p.finished_at is not None and p.started_at is not None
        else 0.0
    )
    key = "bc-report-cancelled" if p.status == broadcasts.CANCELLED else "bc-report-done"
    return "\n".join(
        [
            t(key, id=broadcast_id),
            f"{bar(p.done, p.total)} {percent(p.done, p.total)}%",
            t(
                "bc-report-counts",
                total=p.total,
                sent=p.sent,
                failed=p.failed,
                blocked=p.blocked,
                unknown=p.unknown,
                cancelled=p.cancelled,
                capped=p.capped,
            ),
            t("bc-report-duration", time=duration(took)),
        ]
    )


def with_footer(t: Texts, text: str) -> str:
    return f"{text}\n\n{t('bc-footer')}" if text.strip() else t("bc-footer")


def describe_segment(
    t: Texts, seg: Segment, tiers: Sequence[Tier], rfm: RfmRules | None = None
) -> str:
    """The filters chosen, e.g. "new, language 中文", or "all subscribers"; the order
    groups with their thresholds (`rfm`, None: the defaults)."""
    parts: list[str] = []
    if seg.new:
        parts.append(t("bc-seg-new"))
    if seg.active:
        parts.append(t("bc-seg-active"))
    if seg.dormant:
        parts.append(t("bc-seg-dormant"))
    if seg.tier_min is not None:
        name = tiers[seg.tier_min].label(t.lang) if seg.tier_min < len(tiers) else seg.tier_min
        parts.append(t("bc-seg-tier", tier=str(name)))
    if seg.streak_min is not None:
        parts.append(t("bc-seg-streak", days=seg.streak_min))
    if seg.language is not None:
        parts.append(t("bc-seg-language", language=LANGUAGE_NAMES.get(seg.language, "?")))
    rules = rfm or RfmRules()
    limits = {
        "recent": rules.recent_days,
        "sleeping": rules.sleeping_days,
        "window": rules.window_days,
        "orders": rules.frequent_orders,
        "spend": rules.big_spend,
        "currency": rules.currency,
    }
    for on, key in (
        (seg.high_value, "bc-seg-high-value"),
        (seg.at_risk, "bc-seg-at-risk"),
        (seg.sleeping, "bc-seg-sleeping"),
    ):
        if on:
            parts.append(t(key, **limits))
    return ", ".join(parts) if parts else t("bc-seg-all")


def render_segment(
    t: Texts, seg: Segment, tiers: Sequence[Tier], count: int, rfm: RfmRules | None = None
) -> str:
    """The segment step: the filters and the recipients they reach now."""
    return "\n".join(
        [
            t("bc-segment-title"),
            t("bc-segment-filters", filters=describe_segment(t, seg, tiers, rfm)),
            t("bc-segment-count", count=count),
        ]
    )


def render_preview(t: Texts, facts: PreviewFacts, draft: BroadcastDraft) -> str:
    """Under the preview (HTML): how many get it, the coupon, the copy guard's verdict."""
    lines = [t("bc-preview-title"), t("bc-preview-summary", count=facts.count)]
    if draft.coupon:
        lines.append(t("bc-preview-coupon", discount=html.escape(draft.coupon)))
    if facts.hits:
        lines += ["", t("bc-guard-hits"), facts.marked]
    else:
        lines.append(t("bc-guard-ok"))
    return "\n".join(lines)


def render_started(t: Texts, launched: Launched, tz: ZoneInfo) -> str:
    """The confirmation that becomes the progress message."""
    bid = launched.broadcast_id
    lines = [t("bc-started", id=bid, total=launched.total, capped=launched.capped)]
    if launched.quiet_until is not None:
        lines.append(t("bc-quiet", time=launched.quiet_until.astimezone(tz).strftime("%H:%M")))
    if launched.total == 0:
        lines.append(t("bc-nothing-queued", id=bid))
    return "\n".join(lines)


def render_list(t: Texts, listed: Sequence[Summary], tz: ZoneInfo) -> str:
    """/broadcasts: the recent ones, one a line, with a snippet of their text."""
    if not listed:
        return t("bc-list-empty")
    lines = [t("bc-list-title")]
    for b in listed:
        snippet = html.unescape(_TAG.sub("", b.text)).replace("\n", " ").strip()
        lines.append(
            t(
                "bc-list-line",
                id=b.id,
                date=b.created_at.astimezone(tz).strftime("%m-%d %H:%M"),
                status=b.status,
                sent=b.sent,
                total=b.total,
                text=snippet[:SNIPPET] + ("…" if len(snippet) > SNIPPET else ""),
            )
        )
    return "\n".join(lines)


# Each refusal's words: the sentence it goes in (None: alone), and the reason's key.
_REFUSALS: dict[str, tuple[str | None, str]] = {
    broadcasts.GUARD: (None, "bc-guard-hits"),
    broadcasts.NOBODY: (None, "bc-nobody"),
    broadcasts.NO_CONTENT: ("bc-error", "bc-why-no-content"),
    broadcasts.TOO_MANY_BUTTONS: ("bc-error", "bc-why-too-many-buttons"),
    broadcasts.BAD_BUTTON: ("bc-error", "bc-why-bad-button"),
    broadcasts.COUPON_TOO_LARGE: ("bc-coupon-failed", "bc-why-coupon-too-large"),
    broadcasts.COUPON_NOT_STORED: ("bc-coupon-failed", "bc-why-coupon-not-stored"),
}


def render_refusal(t: Texts, error: BroadcastError) -> str:
    """Why a broadcast (or its coupon) could not be made, in the reader's language."""
    sentence, key = _REFUSALS.get(error.reason, ("bc-error", "bc-why-unknown"))
    reason = t(key, limit=error.limit or 0)
    return reason if sentence is None else t(sentence, reason=reason)
