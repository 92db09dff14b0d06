"""After-sales figures for managers, over the support report's windows (today, 7d, 30d).

One read fetches the cases touching the last 30 days; each window is computed from those rows
in Python, so the numbers are the same on SQLite and PostgreSQL. The windows are
`support.stats.report_windows`, so these figures sit under the desk's own in `/stats support`.

What each figure counts, for a window `[since, now]`:

- `opened`: cases with `created_at` in the window.
- `approved`: cases approved in the window (`decided_at` in it, and the case is now
  `approved` or `refunded`: a case refunded since still counts as an approval).
- `rejected`: cases rejected in the window (`decided_at` in it, state `rejected`).
- `refunded`: cases closed as done in the window (`resolved_at` in it, state `refunded`): the
  refund was paid or the exchange sent; `exchanges` is how many of them were exchanges.
- `resolution_p50`: cases that reached a final state in the window (refunded, or rejected),
  from `created_at` to that state (`resolved_at`, or `decided_at` for a rejection), in wall
  seconds; nearest-rank median (`support.stats.percentile`), so one of the observed values.
- `resolution_rate`: of the cases *opened* in the window, the share that are resolved by
  `now`. Resolved means final: `refunded` (refund paid or exchange sent) or `rejected`. A case
  that is `open` or only `approved` (the customer is still sending the parcel back) is not
  resolved. `None` when no case was opened in the window. The shop's target is
  `RESOLUTION_TARGET`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from orders.returns import CaseStatus, Resolution
from storage.models import AfterSalesCase
from support.stats import percentile, report_windows

RESOLUTION_TARGET = 0.98  # the shop's goal for `resolution_rate`


@dataclass(frozen=True, slots=True)
class AfterSalesFigures:
    label: str  # "today" | "7d" | "30d", as in support.stats.WindowFigures
    since: datetime  # window start (aware UTC)
    opened: int
    approved: int
    rejected: int
    refunded: int  # refund paid or exchange sent
    exchanges: int  # of `refunded`, the exchanges
    resolution_p50: float | None  # seconds, opened -> refunded or rejected
    resolution_rate: float | None  # opened in the window and resolved by now / opened


@dataclass(frozen=True, slots=True)
class _Case:
    created_at: datetime
    status: str
    exchange: bool
    decided_at: datetime | None
    resolved_at: datetime | None

    @property
    def final_at(self) -> datetime | None:
        """When the case reached its final state (refunded or rejected); None if not yet."""
        if self.status == CaseStatus.REFUNDED:
            return self.resolved_at
        if self.status == CaseStatus.REJECTED:
            return self.decided_at
        return None


async def after_sales_stats(
    session: AsyncSession, *, now: datetime, tz: ZoneInfo
) -> tuple[AfterSalesFigures, ...]:
    """Figures for the windows of `support.stats.report_windows(now, tz)`, in that order.

    A read: the transaction is rolled back before returning, so no connection is held.
    """
    windows = report_windows(now, tz)  # refuses a naive `now`
    now = now.astimezone(UTC)
    earliest = min(since for _, since in windows)
    rows = (
        await session.execute(
            select(
                AfterSalesCase.created_at,
                AfterSalesCase.status,
                AfterSalesCase.resolution,
                AfterSalesCase.decided_at,
                AfterSalesCase.resolved_at,
            ).where(
                or_(
                    AfterSalesCase.created_at >= earliest,
                    AfterSalesCase.decided_at >= earliest,
                    AfterSalesCase.resolved_at >= earliest,
                )
            )
        )
    ).all()
    await session.rollback()  # a read: end it before the caller talks to Telegram
    cases = [
        _Case(
            created_at=created_at,
            status=status,
            exchange=resolution == Resolution.EXCHANGE,
            decided_at=decided_at,
            resolved_at=resolved_at,
        )
        for created_at, status, resolution, decided_at, resolved_at in rows
    ]
    return tuple(_window(label, since, now, cases) for label, since in windows)


def _window(
    label: str, since: datetime, now: datetime, cases: Sequence[_Case]
) -> AfterSalesFigures:
    def inside(at: datetime | None) -> bool:
        return at is not None and since <= at <= now

    opened = resolved_of_opened = approved = rejected = refunded = exchanges = 0
    durations: list[float] = []
    for c in cases:
        final_at = c.final_at
        if inside(c.created_at):
            opened += 1
            resolved_of_opened += final_at is not None and final_at <= now
        if inside(c.decided_at):
            approved += c.status in (CaseStatus.APPROVED, CaseStatus.REFUNDED)
            rejected += c.status == CaseStatus.REJECTED
        if c.status == CaseStatus.REFUNDED and inside(c.resolved_at):
            refunded += 1
            exchanges += c.exchange
        if final_at is not None and inside(final_at):
            durations.append((final_at - c.created_at).total_seconds())
    return AfterSalesFigures(
        label=label,
        since=since,
        opened=opened,
        approved=approved,
        rejected=rejected,
        refunded=refunded,
        exchanges=exchanges,
        resolution_p50=percentile(durations, 50),
        resolution_rate=resolved_of_opened / opened if opened else None,
    )
