"""Times a manager types, in Chinese or English, read in the shop's time zone (pure).

A time is an optional day followed by a time of day:

- days: ``2026-12-04``, ``12-04`` (also with ``/``), ``12月4日``/``12月4号``;
  今天 明天 后天, 今晚 明晚 (evening), 今早 明早 (morning); today, tonight, tomorrow,
  the day after tomorrow; weekdays 周五 / 星期五 / 礼拜五, fri / friday: the first such day
  from today on (today included); 下周一 / next monday: that day in the next week
  (weeks run Monday to Sunday); 本周五 / this friday: that day in this week;
- times of day: ``20:00`` (24-hour), ``8pm``, ``8:30 pm``, ``10am``; 8点, 8点半, 8点15(分),
  20点, 八点, 十点半; with 上午 早上 中午 下午 傍晚 晚上 凌晨 before them.

A named day is that day even when the time has already passed (the caller refuses a past
start); without a day, a time of day is the first one after `after`, and a date without a
year is in `after`'s year (the next one when it has passed and `roll_year`).

Numbers are ASCII digits (or Chinese numerals): ``²``, ``２`` and ``٢`` are refused rather
than half-read. A time that could be morning or evening (明天8点, tomorrow 8) is refused
as ambiguous, so that nobody's sale starts twelve hours off.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from storage.numbers import NumberError, read_int

Problem = Literal["unreadable", "ambiguous"]
# Parts of the day, from the words that name them.
Period = Literal["am", "pm", "noon", "evening", "night"]


class WhenError(ValueError):
    """`text` is not a time (`unreadable`), or could be two (`ambiguous`)."""

    def __init__(self, text: str, problem: Problem) -> None:
        super().__init__(f"{text[:40]!r}: {problem}")
        self.problem: Problem = problem


_ZH_DAYS: dict[str, tuple[int, Period | None]] = {
    "今天": (0, None),
    "今日": (0, None),
    "明天": (1, None),
    "明日": (1, None),
    "后天": (2, None),
    "後天": (2, None),
    "今晚": (0, "evening"),
    "今夜": (0, "evening"),
    "明晚": (1, "evening"),
    "今早": (0, "am"),
    "明早": (1, "am"),
}
_EN_DAYS: dict[str, tuple[int, Period | None]] = {
    "the day after tomorrow": (2, None),
    "day after tomorrow": (2, None),
    "today": (0, None),
    "tonight": (0, "evening"),
    "tomorrow": (1, None),
    "tmrw": (1, None),
    "tmr": (1, None),
}
_ZH_PERIODS: dict[str, Period] = {
    "上午": "am",
    "早上": "am",
    "早晨": "am",
    "早": "am",
    "中午": "noon",
    "下午": "pm",
    "傍晚": "evening",
    "晚上": "evening",
    "晚": "evening",
    "夜里": "evening",
    "凌晨": "night",
}
_ZH_WEEKDAYS = "一二三四五六日"
_EN_WEEKDAYS = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5, "sun": 6, "sunday": 6,
}  # fmt: skip
_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip

_NUM = r"[0-9]+|[零〇一二两三四五六七八九十]+"
_DATE = re.compile(r"(?:([0-9]{4})-)?([0-9]{1,2})-([0-9]{1,2})(?:t|\s+|(?=[^0-9:]))")
_ZH_DATE = re.compile(r"(?:([0-9]{4})年)?([0-9]{1,2})月([0-9]{1,2})[日号號]")
_ZH_WEEKDAY = re.compile(r"(下个?|本|这个?|這個?)?(?:周|週|星期|礼拜|禮拜)([一二三四五六日天])")
_EN_WEEKDAY = re.compile(r"(?:(next|this)\s+)?([a-z]+)\b")
_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})\s*(am|pm|a\.m\.|p\.m\.)?")
_EN_HOUR = re.compile(r"([0-9]{1,2})\s*(am|pm|a\.m\.|p\.m\.)?")
_ZH_HOUR = re.compile(rf"({_NUM})\s*[点點时時]\s*(?:(半|整|{_NUM})\s*分?)?")


def _number(text: str, high: int) -> int:
    """ASCII digits (through read_int) or a Chinese numeral up to 99, in [0, high]."""
    if text.isascii():
        return read_int(text, low=0, high=high)
    tens, ten, ones = text.partition("十")
    if ten:  # 十, 十二, 二十, 二十三
        value = (_ZH_DIGITS.get(tens, -99) if tens else 1) * 10
        value += _ZH_DIGITS.get(ones, -99) if ones else 0
    else:
        value = _ZH_DIGITS.get(text, -1)
    if not 0 <= value <= high:
        raise NumberError(text, "not_a_number", 0, high)
    return value


CalendarDate = tuple[int | None, int, int]  # year (None: not said), month, day


def _take_day(s: str, today: date) -> tuple[date | None, CalendarDate | None, Period | None, str]:
    """The day at the start of `s`: (a named day, a calendar date (year or None, month,
    day), the part of the day the word implies, the rest)."""
    for match in (_DATE.match(s), _ZH_DATE.match(s)):
        if match:
            year = read_int(match.group(1), low=1, high=9999) if match.group(1) else None
            month, day = (read_int(g, low=1, high=31) for g in match.groups()[1:3])
            return None, (year, month, day), None, s[match.end() :]
    for word, (days, period) in (*_ZH_DAYS.items(), *_EN_DAYS.items()):
        if s.startswith(word) and not (word.isascii() and s[len(word) :][:1].isalpha()):
            return today + timedelta(days=days), None, period, s[len(word) :]
    monday = today - timedelta(days=today.weekday())
    match = _ZH_WEEKDAY.match(s)
    if match:
        weekday = _ZH_WEEKDAYS.index(match.group(2).replace("天", "日"))
        return _weekday(today, monday, weekday, match.group(1)), None, None, s[match.end() :]
    match = _EN_WEEKDAY.match(s)
    if match and match.group(2) in _EN_WEEKDAYS:
        weekday = _EN_WEEKDAYS[match.group(2)]
        return _weekday(today, monday, weekday, match.group(1)), None, None, s[match.end() :]
    return None, None, None, s


def _weekday(today: date, monday: date, weekday: int, which: str | None) -> date:
    if which is None:  # the first one from today on
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    if which == "next" or which.startswith("下"):
        return monday + timedelta(days=7 + weekday)
    return monday + timedelta(days=weekday)  # this week's, even when it has passed


def _take_period(s: str) -> tuple[Period | None, str]:
    for word, period in _ZH_PERIODS.items():
        if s.startswith(word):
            return period, s[len(word) :]
    return None, s


def _hour(hour: int, period: Period | None, *, clock: bool) -> int | None:
    """The 24-hour hour of `hour` said in `period`, None when it could be two; ValueError
    when they contradict. `clock`: written as HH:MM (24-hour unless a period is said)."""
    if period is None:
        if clock or hour == 0 or hour >= 12:
            return hour
        return None  # 8点: morning or evening?
    if period == "am":
        if hour == 12:
            return 0
        if hour > 12:
            raise ValueError("a morning hour after noon")
        return hour
    if period == "pm":
        if hour == 0:
            raise ValueError("midnight is not in the afternoon")
        return hour if hour >= 12 else hour + 12
    if period == "noon":
        if hour in (11, 12, 13):
            return hour
        if hour in (1, 2):
            return hour + 12
        raise ValueError("not around noon")
    if period == "night":  # 凌晨
        if hour == 12:
            return 0
        if hour > 6:
            raise ValueError("not in the small hours")
        return hour
    # The evening: 6 to 11 (or 18 to 23); 12 and the small hours could be either day.
    if 5 <= hour <= 11:
        return hour + 12
    if 17 <= hour <= 23:
        return hour
    return None


def _take_time(s: str, period: Period | None) -> tuple[int, int, bool]:
    """(hour, minute, whether it is ambiguous) of the time of day that is all of `s`."""
    match = _CLOCK.fullmatch(s)
    if match:
        hour, minute = read_int(match.group(1), high=23), read_int(match.group(2), high=59)
        meridiem = match.group(3)
        clock = True
    else:
        match = _EN_HOUR.fullmatch(s)
        if match:
            hour, minute, meridiem = read_int(match.group(1), high=23), 0, match.group(2)
            clock = False
        else:
            match = _ZH_HOUR.fullmatch(s)
            if match is None:
                raise ValueError("no time of day")
            hour, meridiem, clock = _number(match.group(1), 23), None, False
            tail = match.group(2)
            minute = 30 if tail == "半" else 0 if tail in (None, "整") else _number(tail, 59)
    if meridiem is not None:
        said: Period = "am" if meridiem.startswith("a") else "pm"
        if period is not None and {said, period} not in ({"am"}, {"pm"}, {"pm", "evening"}):
            raise ValueError("two parts of the day")
        if hour == 0 or hour > 12:
            raise ValueError("12-hour time out of range")
        period, clock = said, False
    hour24 = _hour(hour, period, clock=clock)
    return (hour, minute, True) if hour24 is None else (hour24, minute, False)


def read_when(
    text: str,
    *,
    now: datetime,
    tz: ZoneInfo,
    after: datetime | None = None,
    roll_year: bool = True,
) -> datetime:
    """The time `text` names (module docstring), in `now`'s time zone; WhenError when it
    names none or could name two. `now` anchors today, tomorrow and the weekdays; `after`
    (default `now`) the times and dates said without a day or a year."""
    s = " ".join(text.strip().lower().replace("：", ":").replace("/", "-").split())
    local_now = now.astimezone(tz)
    local_after = (after or now).astimezone(tz)
    try:
        day, on_date, implied, rest = _take_day(s, local_now.date())
        rest = rest.strip()
        rest = rest[3:] if rest.startswith("at ") else rest
        period, rest = _take_period(rest)
        if implied and period and period != implied and {implied, period} != {"evening", "pm"}:
            raise ValueError("two parts of the day")  # 明晚上午8点
        hour, minute, ambiguous = _take_time(rest.strip(), period or implied)
        if ambiguous:
            raise WhenError(text, "ambiguous")
        at_time = time(hour, minute)
        if day is not None:
            at = datetime.combine(day, at_time, tzinfo=tz)
        elif on_date is not None:
            year, month, dom = on_date
            at = datetime(year or local_after.year, month, dom, hour, minute, tzinfo=tz)
            if year is None and roll_year and at <= local_after:
                at = at.replace(year=at.year + 1)
        else:
            at = datetime.combine(local_after.date(), at_time, tzinfo=tz)
            if at <= local_after:
                at = datetime.combine(local_after.date() + timedelta(days=1), at_time, tzinfo=tz)
    except ValueError as exc:  # NumberError, a date that does not exist, or no match
        if isinstance(exc, WhenError):
            raise
        raise WhenError(text, "unreadable") from exc
    return at.astimezone(now.tzinfo)
