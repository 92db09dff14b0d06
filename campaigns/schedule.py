"""Times of day and offsets in settings, and the marketing rules built from them (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_OFFSET = re.compile(r"(\d{1,5})\s*([mhd])")
_UNIT = {"m": 1, "h": 60, "d": 24 * 60}


def parse_clock(spec: str) -> time:
    """`"10:00"` -> 10:00; raises ValueError naming the expected form."""
    match = _CLOCK.fullmatch(spec.strip())
    if match is None:
        raise ValueError(f"{spec!r} is not a time of day like 10:00")
    return time(int(match.group(1)), int(match.group(2)))


def parse_offsets(spec: str) -> tuple[int, ...]:
    """`"24h,1h"` -> (1440, 60): minutes, largest first, without repeats. Empty: none."""
    minutes: set[int] = set()
    for part in (p.strip().lower() for p in spec.replace("，", ",").split(",")):
        if not part:
            continue
        match = _OFFSET.fullmatch(part)
        if match is None or int(match.group(1)) == 0:
            raise ValueError(f"{part!r} is not an offset like 24h, 90m or 2d")
        minutes.add(int(match.group(1)) * _UNIT[match.group(2)])
    if any(m > 30 * 24 * 60 for m in minutes):
        raise ValueError("a teaser can be at most 30 days before the start")
    return tuple(sorted(minutes, reverse=True))


def parse_quiet_hours(spec: str) -> tuple[time, time] | None:
    """`"22:00-08:00"` -> (22:00, 08:00); empty -> None (no quiet hours)."""
    spec = spec.strip()
    if not spec:
        return None
    start, sep, end = spec.replace("–", "-").partition("-")
    if not sep:
        raise ValueError(f"{spec!r} is not a range like 22:00-08:00")
    first, last = parse_clock(start), parse_clock(end)
    if first == last:
        raise ValueError("the quiet hours start and end at the same time")
    return first, last


@dataclass(frozen=True)
class MarketingRules:
    """When marketing messages may go out, and how many a user gets a day."""

    tz: ZoneInfo
    quiet_hours: tuple[time, time] | None = None
    daily_cap: int = 1  # per user per rolling 24 h; 0: no cap

    def quiet_until(self, now: datetime) -> datetime | None:
        """The end of the quiet hours when `now` (UTC) falls in them, else None."""
        if self.quiet_hours is None:
            return None
        start, end = self.quiet_hours
        local = now.astimezone(self.tz)
        t = local.time().replace(tzinfo=None)
        inside = start <= t < end if start < end else (t >= start or t < end)
        if not inside:
            return None
        day = local.date() if t < end else local.date() + timedelta(days=1)
        return datetime.combine(day, end, tzinfo=self.tz).astimezone(UTC)

    @property
    def cap_window(self) -> timedelta:
        return timedelta(hours=24)
