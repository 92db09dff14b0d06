"""Business hours of the support desk: when a person can answer, and for how long it was open.

A spec is written by a manager, e.g. ``mon-fri 09:00-18:00; sat 10:00-16:00``:

* entries are separated by ``;``; each is days followed by one or more intervals;
* days are ``mon`` … ``sun`` (full names work too), a range ``mon-fri`` (``fri-mon`` wraps
  around the week) or a list ``mon,wed,fri``; case and spaces do not matter;
* intervals are ``HH:MM-HH:MM`` separated by commas or spaces; ``24:00`` may end one;
  an interval cannot cross midnight: ``fri 22:00-24:00; sat 00:00-02:00``;
* a day given twice gets both sets of intervals; a day not given is closed;
* an empty spec means open all day, every day (holidays still close the desk).

Full-width characters (``０９：００``, ``；``) are read as their ASCII forms.

Holidays are ISO dates ``2026-12-25,2027-01-01``, closed all day in the desk's time zone.

Wall times become instants through the time zone with ``fold=0``, as :mod:`zoneinfo` does:
a time skipped by a daylight-saving jump (02:30 on the spring-forward night in New York)
is read with the offset before the jump, i.e. it rolls forward by the size of the jump, and
a repeated time means its first occurrence. Every answer here (``is_open``, ``next_open``,
``open_seconds_between``) is computed from the same instants, so they always agree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
END_OF_DAY = time.max
"""An interval's end of ``END_OF_DAY`` is ``24:00``: open until the next local midnight."""
SEARCH_DAYS = 400
"""``next_open`` gives up after this many days without an opening."""

Interval = tuple[time, time]

_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_INDEX = {name: i for names in (DAY_NAMES, _FULL_NAMES) for i, name in enumerate(names)}
_ALL_DAY: tuple[Interval, ...] = ((time(0), END_OF_DAY),)
_INTERVAL = re.compile(r"([0-9]{1,2}):([0-9]{2})-([0-9]{1,2}):([0-9]{2})")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_EXAMPLE = "e.g. 'mon-fri 09:00-18:00; sat 10:00-16:00'"


class HoursError(ValueError):
    """Hours, holidays or a time zone that cannot be used; the message is for a person."""


@dataclass(frozen=True, slots=True)
class BusinessHours:
    tz: ZoneInfo
    weekly: tuple[tuple[Interval, ...], ...]
    """Index 0 is Monday … 6 Sunday; each day's intervals are sorted and do not touch.
    An end of :data:`END_OF_DAY` means 24:00."""
    holidays: frozenset[date]

    @property
    def always_open(self) -> bool:
        """Open all day every day and no holidays (e.g. an empty spec)."""
        return not self.holidays and all(day == _ALL_DAY for day in self.weekly)

    def is_open(self, at: datetime) -> bool:
        """Whether the desk is open at the aware instant `at`."""
        instant = _utc(at)
        for start, end in self._spans(instant, days=2):
            if start > instant:
                return False
            if instant < end:
                return True
        return False

    def next_open(self, at: datetime) -> datetime:
        """`at` itself if the desk is open then, else the next opening instant, in UTC.

        Intervals that touch (12:00-… after …-12:00, or Monday's 24:00 and Tuesday's 00:00)
        are one stretch of open time. Raises HoursError if nothing opens in SEARCH_DAYS days.
        """
        instant = _utc(at)
        for start, end in self._spans(instant, days=SEARCH_DAYS):
            if end <= instant:
                continue
            return at if start <= instant else start
        local = instant.astimezone(self.tz)
        raise HoursError(
            f"the desk does not open in the {SEARCH_DAYS} days after "
            f"{local:%Y-%m-%d %H:%M} ({self.tz.key}): check the hours and holidays"
        )

    def open_seconds_between(self, start: datetime, end: datetime) -> float:
        """Seconds the desk was open between two aware instants; 0.0 if `end` <= `start`."""
        begin, finish = _utc(start), _utc(end)
        if finish <= begin:
            return 0.0
        if self.always_open:
            return (finish - begin).total_seconds()
        total = timedelta()
        for span_start, span_end in self._spans(begin, days=(finish - begin).days + 3):
            if span_start >= finish:
                break
            overlap = min(span_end, finish) - max(span_start, begin)
            if overlap > timedelta():
                total += overlap
        return total.total_seconds()

    def _spans(self, since: datetime, days: int) -> Iterator[tuple[datetime, datetime]]:
        """Open stretches as UTC instants, in order, touching ones merged, for the local days
        from the one before `since` to `days` days after it."""
        first = since.astimezone(self.tz).date() - timedelta(days=1)
        pending: tuple[datetime, datetime] | None = None
        for n in range(days + 2):
            for start, end in self._day_spans(first + timedelta(days=n)):
                if pending is None:
                    pending = (start, end)
                elif start <= pending[1]:
                    pending = (pending[0], max(pending[1], end))
                else:
                    yield pending
                    pending = (start, end)
        if pending is not None:
            yield pending

    def _day_spans(self, day: date) -> list[tuple[datetime, datetime]]:
        if day in self.holidays:
            return []
        spans = []
        for opens, closes in self.weekly[day.weekday()]:
            start = self._instant(day, opens)
            if closes == END_OF_DAY:
                end = self._instant(day + timedelta(days=1), time(0))
            else:
                end = self._instant(day, closes)
            if start < end:  # empty when both ends fall in a daylight-saving jump
                spans.append((start, end))
        return sorted(spans)

    def _instant(self, day: date, wall: time) -> datetime:
        return datetime.combine(day, wall, tzinfo=self.tz).astimezone(UTC)


def parse_hours(spec: str, holidays: str, tz: str | ZoneInfo) -> BusinessHours:
    """Read a weekly spec, a holiday list and a time zone (see the module's docstring).

    Raises HoursError naming the part that is wrong.
    """
    return BusinessHours(
        tz=_zone(tz), weekly=_parse_weekly(spec), holidays=_parse_holidays(holidays)
    )


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"business hours need an aware datetime, got {at!r}")
    return at.astimezone(UTC)


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    name = tz.strip()
    if not name:
        raise HoursError("no time zone given (use a name like Asia/Shanghai or UTC)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise HoursError(
            f"unknown time zone {name!r} (use a name like Asia/Shanghai or UTC)"
        ) from None


def _parse_weekly(spec: str) -> tuple[tuple[Interval, ...], ...]:
    text = unicodedata.normalize("NFKC", spec).strip()
    if not text:
        return (_ALL_DAY,) * 7
    entries = [entry.strip() for entry in text.split(";")]
    if not any(entries):
        raise HoursError(f"no days or hours in {spec!r} ({_EXAMPLE})")
    per_day: list[list[Interval]] = [[] for _ in DAY_NAMES]
    for entry in entries:
        if entry:
            days, intervals = _parse_entry(entry)
            for day in days:
                per_day[day].extend(intervals)
    return tuple(_merge(intervals) for intervals in per_day)


def _parse_entry(entry: str) -> tuple[set[int], list[Interval]]:
    digit = re.search(r"[0-9]", entry)
    if digit is None:
        raise HoursError(f"no hours in {entry!r} ({_EXAMPLE})")
    days_text, hours_text = entry[: digit.start()].strip(), entry[digit.start() :]
    if not days_text:
        raise HoursError(f"no days before the hours in {entry!r} ({_EXAMPLE})")
    days_text = re.sub(r"\s*([,-])\s*", r"\1", days_text)
    days = _parse_days(days_text, entry)
    intervals = [
        _parse_interval(token, entry, days_text)
        for token in re.split(r"[,\s]+", re.sub(r"\s*-\s*", "-", hours_text))
        if token
    ]
    return days, intervals


def _parse_days(days_text: str, entry: str) -> set[int]:
    days: set[int] = set()
    for item in re.split(r"[,\s]+", days_text):
        if not item:
            continue
        parts = item.split("-")
        if len(parts) == 1:
            days.add(_day(item, entry))
        elif len(parts) == 2 and all(parts):
            first, last = _day(parts[0], entry), _day(parts[1], entry)
            days.update((first + n) % 7 for n in range((last - first) % 7 + 1))
        else:
            raise HoursError(f"bad day range {item!r} in {entry!r} (e.g. mon-fri)")
    return days


def _day(name: str, entry: str) -> int:
    index = _DAY_INDEX.get(name.lower())
    if index is None:
        raise HoursError(f"bad day {name!r} in {entry!r} (use mon, tue, ... sun)")
    return index


def _parse_interval(token: str, entry: str, days_text: str) -> Interval:
    match = _INTERVAL.fullmatch(token)
    if match is None:
        if token[:3].lower() in _DAY_INDEX:
            raise HoursError(
                f"day {token!r} after the hours in {entry!r}: separate entries with ';' "
                f"({_EXAMPLE})"
            )
        raise HoursError(f"bad hours {token!r} in {entry!r} (use HH:MM-HH:MM, e.g. 09:00-18:00)")
    start_h, start_m, end_h, end_m = match.groups()
    if int(start_h) == 24 and start_m == "00":
        raise HoursError(f"hours {token!r} in {entry!r} start at 24:00; 24:00 can only end them")
    opens = _clock(start_h, start_m, entry)
    closes = END_OF_DAY if (int(end_h), end_m) == (24, "00") else _clock(end_h, end_m, entry)
    if closes == opens:
        raise HoursError(
            f"hours {token!r} in {entry!r} are empty: the end must come after the start"
        )
    if closes < opens:
        day = days_text.lower()
        next_day = re.sub(r"[a-z]+", lambda m: DAY_NAMES[(_DAY_INDEX[m[0]] + 1) % 7], day)
        raise HoursError(
            f"hours {token!r} in {entry!r} end before they start; split a night at midnight, "
            f"e.g. '{day} {opens:%H:%M}-24:00; {next_day} 00:00-{closes:%H:%M}'"
        )
    return opens, closes


def _clock(hours: str, minutes: str, entry: str) -> time:
    h, m = int(hours), int(minutes)
    if h > 23 or m > 59:
        raise HoursError(
            f"bad time '{hours}:{minutes}' in {entry!r} (hours 00-23, minutes 00-59; "
            "24:00 only as an end)"
        )
    return time(h, m)


def _merge(intervals: list[Interval]) -> tuple[Interval, ...]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _parse_holidays(holidays: str) -> frozenset[date]:
    days: set[date] = set()
    for item in re.split(r"[,;\s]+", unicodedata.normalize("NFKC", holidays)):
        if not item:
            continue
        if not _ISO_DATE.fullmatch(item):
            raise HoursError(
                f"bad holiday {item!r} (use YYYY-MM-DD dates separated by commas, "
                "e.g. 2026-12-25,2027-01-01)"
            )
        try:
            days.add(date.fromisoformat(item))
        except ValueError:
            raise HoursError(f"bad holiday {item!r}: there is no such date") from None
    return frozenset(days)
