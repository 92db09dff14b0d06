"""Times a manager types, read in the shop's time zone from an injected `now` (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from campaigns.when import WhenError, read_when
from tests.conftest import T0

SHANGHAI = ZoneInfo("Asia/Shanghai")
# T0 is Friday 2026-11-20, 10:00 in Shanghai.


def shop(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The forms that were already read.
        ("2026-12-04 20:00", shop(12, 4, 20)),
        ("2026-12-04T20:00", shop(12, 4, 20)),
        ("2026/12/04 20:00", shop(12, 4, 20)),
        ("12-04 20:00", shop(12, 4, 20)),
        ("11-19 20:00", shop(11, 19, 20, year=2027)),  # passed this year: the next one
        ("20:00", shop(11, 20, 20)),
        ("09:00", shop(11, 21, 9)),  # passed today: tomorrow
        # Days in Chinese.
        ("今天 20:00", shop(11, 20, 20)),
        ("明天 20:00", shop(11, 21, 20)),
        ("明天20:00", shop(11, 21, 20)),
        ("明天 20：00", shop(11, 21, 20)),
        ("后天 9:30", shop(11, 22, 9, 30)),
        ("今晚8点", shop(11, 20, 20)),
        ("今晚 8 点", shop(11, 20, 20)),
        ("明天下午3点", shop(11, 21, 15)),
        ("明晚8点半", shop(11, 21, 20, 30)),
        ("明天上午10点15分", shop(11, 21, 10, 15)),
        ("明早9点", shop(11, 21, 9)),
        ("明天中午12点", shop(11, 21, 12)),
        ("明天20点", shop(11, 21, 20)),
        ("明晚八点", shop(11, 21, 20)),
        ("今晚十点半", shop(11, 20, 22, 30)),
        ("晚上8点", shop(11, 20, 20)),
        ("12月4日 20:00", shop(12, 4, 20)),
        ("12月4号晚上8点", shop(12, 4, 20)),
        # Weekdays: the first one from today on; 下周 is the next week (Monday to Sunday).
        ("周五 20:00", shop(11, 20, 20)),
        ("周六 20:00", shop(11, 21, 20)),
        ("星期日 10:00", shop(11, 22, 10)),
        ("周天 10:00", shop(11, 22, 10)),
        ("本周四 10:00", shop(11, 19, 10)),  # this week's: passed, the caller refuses it
        ("下周日晚上九点", shop(11, 29, 21)),
        ("后天晚上二十一点", shop(11, 22, 21)),
        ("周一 10:00", shop(11, 23, 10)),
        ("下周一 10:00", shop(11, 23, 10)),
        ("下周五 20:00", shop(11, 27, 20)),
        ("下星期三下午2点", shop(11, 25, 14)),
        # English.
        ("today 20:00", shop(11, 20, 20)),
        ("tomorrow 8pm", shop(11, 21, 20)),
        ("tomorrow 8:30 pm", shop(11, 21, 20, 30)),
        ("Tomorrow at 8:30PM", shop(11, 21, 20, 30)),
        ("tomorrow 12pm", shop(11, 21, 12)),
        ("tomorrow 12am", shop(11, 21, 0)),
        ("tonight 9", shop(11, 20, 21)),
        ("tonight 9pm", shop(11, 20, 21)),
        ("fri 20:00", shop(11, 20, 20)),
        ("sat 10am", shop(11, 21, 10)),
        ("next monday 10am", shop(11, 23, 10)),
        ("Next Fri 8 pm", shop(11, 27, 20)),
        ("8pm", shop(11, 20, 20)),
        ("9am", shop(11, 21, 9)),  # passed today: tomorrow
        # A named day is that day, even when the time has passed: the caller says so.
        ("今天 9:00", shop(11, 20, 9)),
        ("fri 9am", shop(11, 20, 9)),
    ],
)
def test_times_are_read(text: str, expected: datetime) -> None:
    assert read_when(text, now=T0, tz=SHANGHAI) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("明天8点", "ambiguous"),  # morning or evening?
        ("周五 3点", "ambiguous"),
        ("今晚12点", "ambiguous"),
        ("今晚3点", "ambiguous"),
        ("tomorrow 8", "ambiguous"),
        ("", "unreadable"),
        ("tomorrow", "unreadable"),
        ("明天", "unreadable"),
        ("next friday", "unreadable"),
        ("yesterday 8pm", "unreadable"),
        ("25:00", "unreadable"),
        ("明天 25:00", "unreadable"),
        ("明天 8:60", "unreadable"),
        ("tomorrow 13pm", "unreadable"),
        ("明天上午15点", "unreadable"),
        ("明天²点", "unreadable"),
        ("明天 ２０:００", "unreadable"),  # full-width digits: not read half-way
        ("明天 ٢٠:٠٠", "unreadable"),
        ("明天 99999999999999999999:00", "unreadable"),
        ("2026-13-01 10:00", "unreadable"),
        ("02-30 10:00", "unreadable"),
        ("周八 10:00", "unreadable"),
    ],
)
def test_times_that_are_refused(text: str, problem: str) -> None:
    with pytest.raises(WhenError) as refused:
        read_when(text, now=T0, tz=SHANGHAI)
    assert refused.value.problem == problem


def test_clock_times_and_dates_without_a_year_follow_after() -> None:
    after = shop(12, 4, 20)  # e.g. the start, for the end
    assert read_when("22:00", now=T0, tz=SHANGHAI, after=after) == shop(12, 4, 22)
    assert read_when("10:00", now=T0, tz=SHANGHAI, after=after) == shop(12, 5, 10)
    # Named days still count from today.
    assert read_when("明天 22:00", now=T0, tz=SHANGHAI, after=after) == shop(11, 21, 22)
    # Without roll_year a date without a year stays in after's year.
    got = read_when("01-02 10:00", now=T0, tz=SHANGHAI, after=after, roll_year=False)
    assert got == shop(1, 2, 10)
