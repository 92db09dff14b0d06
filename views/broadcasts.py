"""A broadcast's live progress message and final report."""

from __future__ import annotations

from datetime import datetime

from campaigns import broadcasts
from campaigns.broadcasts import Progress
from views.texts import Texts

BAR = 10  # cells of the progress bar


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


