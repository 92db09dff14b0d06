"""Business hours: reading specs, open or not, the next opening and open time between."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from support.hours import END_OF_DAY, BusinessHours, HoursError, parse_hours

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
NINE_SIX = ((time(9), time(18)),)
CLOSED: tuple[tuple[time, time], ...] = ()


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def desk() -> BusinessHours:
    """The default scenario: Shanghai, weekdays and Saturday, Christmas off."""
    return parse_hours("mon-fri 09:00-18:00; sat 10:00-16:00", "2026-12-25", "Asia/Shanghai")


@pytest.mark.parametrize(
    ("spec", "weekly"),
    [
        (
            "mon-fri 09:00-18:00; sat 10:00-16:00",
            (NINE_SIX,) * 5 + (((time(10), time(16)),), CLOSED),
        ),
        (
            "  MON - Fri 9:00 - 12:00 , 13:00-18:00 ;",
            (((time(9), time(12)), (time(13), time(18))),) * 5 + (CLOSED,) * 2,
        ),
        (
            "mon-fri 09:00-12:00 13:00-18:00",
            (((time(9), time(12)), (time(13), time(18))),) * 5 + (CLOSED,) * 2,
        ),
        (
            "fri-mon 10:00-16:00",
            (((time(10), time(16)),),) + (CLOSED,) * 3 + (((time(10), time(16)),),) * 3,
        ),
        (
            "mon,wed, fri 09:00-18:00",
            (NINE_SIX, CLOSED, NINE_SIX, CLOSED, NINE_SIX, CLOSED, CLOSED),
        ),
        ("sun-sun 09:00-18:00", (CLOSED,) * 6 + (NINE_SIX,)),
        ("Tuesday 09:00-18:00", (CLOSED, NINE_SIX) + (CLOSED,) * 5),
        ("sun 22:00-24:00", (CLOSED,) * 6 + (((time(22), END_OF_DAY),),)),
        # adjacent and overlapping intervals, and a day given twice, become one interval
        ("mon 09:00-12:00,12:00-15:00; mon 14:00-18:00", (NINE_SIX,) + (CLOSED,) * 6),
        (
            "mon 13:00-18:00; mon-tue 09:00-10:00",
            (((time(9), time(10)), (time(13), time(18))), ((time(9), time(10)),)) + (CLOSED,) * 5,
        ),
        (
            "mon－fri ０９：００-１８：００；sat 10:00-16:00",
            (NINE_SIX,) * 5 + (((time(10), time(16)),), CLOSED),
        ),
        ("", (((time(0), END_OF_DAY),),) * 7),
        ("   ", (((time(0), END_OF_DAY),),) * 7),
    ],
)
def test_specs_that_parse(spec: str, weekly: tuple[tuple[tuple[time, time], ...], ...]) -> None:
    assert parse_hours(spec, "", "UTC").weekly == weekly


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("mnd 09:00-18:00", "bad day 'mnd' in 'mnd 09:00-18:00' (use mon, tue, ... sun)"),
        (
            "mon-fri 09:00-18:00; Satu 10:00-16:00",
            "bad day 'Satu' in 'Satu 10:00-16:00' (use mon, tue, ... sun)",
        ),
        ("mon-xyz 09:00-18:00", "bad day 'xyz' in 'mon-xyz 09:00-18:00' (use mon, tue, ... sun)"),
        (
            "mon-tue-wed 09:00-18:00",
            "bad day range 'mon-tue-wed' in 'mon-tue-wed 09:00-18:00' (e.g. mon-fri)",
        ),
        ("mon- 09:00-18:00", "bad day range 'mon-' in 'mon- 09:00-18:00' (e.g. mon-fri)"),
        (
            "09:00-18:00",
            "no days before the hours in '09:00-18:00' "
            "(e.g. 'mon-fri 09:00-18:00; sat 10:00-16:00')",
        ),
        ("mon-fri", "no hours in 'mon-fri' (e.g. 'mon-fri 09:00-18:00; sat 10:00-16:00')"),
        (" ; ", "no days or hours in ' ; ' (e.g. 'mon-fri 09:00-18:00; sat 10:00-16:00')"),
        (
            "mon 9-18",
            "bad hours '9-18' in 'mon 9-18' (use HH:MM-HH:MM, e.g. 09:00-18:00)",
        ),
        (
            "mon 09:00",
            "bad hours '09:00' in 'mon 09:00' (use HH:MM-HH:MM, e.g. 09:00-18:00)",
        ),
        (
            "mon 09:00-18:00 tue 10:00-12:00",
            "day 'tue' after the hours in 'mon 09:00-18:00 tue 10:00-12:00': separate entries "
            "with ';' (e.g. 'mon-fri 09:00-18:00; sat 10:00-16:00')",
        ),
        (
            "mon 09:00-25:00",
            "bad time '25:00' in 'mon 09:00-25:00' "
            "(hours 00-23, minutes 00-59; 24:00 only as an end)",
        ),
        (
            "mon 09:60-10:00",
            "bad time '09:60' in 'mon 09:60-10:00' "
            "(hours 00-23, minutes 00-59; 24:00 only as an end)",
        ),
        (
            "mon 24:00-24:00",
            "hours '24:00-24:00' in 'mon 24:00-24:00' start at 24:00; 24:00 can only end them",
        ),
        (
            "mon 10:00-10:00",
            "hours '10:00-10:00' in 'mon 10:00-10:00' are empty: "
            "the end must come after the start",
        ),
        (
            "fri 22:00-02:00",
            "hours '22:00-02:00' in 'fri 22:00-02:00' end before they start; split a night at "
            "midnight, e.g. 'fri 22:00-24:00; sat 00:00-02:00'",
        ),
        (
            "Sat-Sun, wed 22:00-02:00",
            "hours '22:00-02:00' in 'Sat-Sun, wed 22:00-02:00' end before they start; split a "
            "night at midnight, e.g. 'sat-sun,wed 22:00-24:00; sun-mon,thu 00:00-02:00'",
        ),
    ],
)
def test_bad_specs_name_the_bad_part(spec: str, message: str) -> None:
    with pytest.raises(HoursError) as caught:
        parse_hours(spec, "", "UTC")
    assert str(caught.value) == message


def test_holidays_and_time_zone() -> None:
    hours = parse_hours("mon 09:00-10:00", " 2026-12-25 ,2027-01-01,, 2026-12-25 ", SHANGHAI)
    assert hours.holidays == {date(2026, 12, 25), date(2027, 1, 1)}
    assert hours.tz is SHANGHAI
    assert parse_hours("", "", " Asia/Shanghai ").tz == SHANGHAI


@pytest.mark.parametrize(
    ("holidays", "tz", "message"),
    [
        (
            "2026-12-25, 25/12/2026",
            "UTC",
            "bad holiday '25/12/2026' "
            "(use YYYY-MM-DD dates separated by commas, e.g. 2026-12-25,2027-01-01)",
        ),
        ("2026-02-30", "UTC", "bad holiday '2026-02-30': there is no such date"),
        (
            "",
            "Asia/Shanghia",
            "unknown time zone 'Asia/Shanghia' (use a name like Asia/Shanghai or UTC)",
        ),
        (
            "",
            "../etc/passwd",
            "unknown time zone '../etc/passwd' (use a name like Asia/Shanghai or UTC)",
        ),
        ("", "America", "unknown time zone 'America' (use a name like Asia/Shanghai or UTC)"),
        ("", " ", "no time zone given (use a name like Asia/Shanghai or UTC)"),
    ],
)
def test_bad_holidays_and_time_zones(holidays: str, tz: str, message: str) -> None:
    with pytest.raises(HoursError) as caught:
        parse_hours("", holidays, tz)
    assert str(caught.value) == message


# 2026-11-20 is a Friday; Shanghai is UTC+8 all year.
@pytest.mark.parametrize(
    ("at", "is_open", "next_open"),
    [
        pytest.param(utc(2026, 11, 20, 2), True, utc(2026, 11, 20, 2), id="friday 10:00"),
        pytest.param(utc(2026, 11, 20, 1), True, utc(2026, 11, 20, 1), id="opening instant"),
        pytest.param(
            utc(2026, 11, 20, 0, 59, 59), False, utc(2026, 11, 20, 1), id="a second early"
        ),
        pytest.param(utc(2026, 11, 20, 10), False, utc(2026, 11, 21, 2), id="closing instant"),
        # UTC still says Friday 17:00 (open in UTC terms), but it is Saturday 01:00 locally
        pytest.param(utc(2026, 11, 20, 17), False, utc(2026, 11, 21, 2), id="saturday local"),
        pytest.param(utc(2026, 11, 21, 3), True, utc(2026, 11, 21, 3), id="saturday 11:00"),
        pytest.param(utc(2026, 11, 21, 8), False, utc(2026, 11, 23, 1), id="over sunday"),
        pytest.param(utc(2026, 11, 22, 16, 30), False, utc(2026, 11, 23, 1), id="monday 00:30"),
        pytest.param(utc(2026, 12, 25, 2), False, utc(2026, 12, 26, 2), id="holiday"),
        pytest.param(utc(2026, 12, 24, 10), False, utc(2026, 12, 26, 2), id="holiday eve"),
    ],
)
def test_shanghai_desk(at: datetime, is_open: bool, next_open: datetime) -> None:
    hours = desk()
    assert hours.is_open(at) is is_open
    assert hours.next_open(at) == next_open
    assert hours.next_open(at).utcoffset() == timedelta(0)
    assert not hours.always_open


def test_next_open_returns_the_instant_itself_when_open() -> None:
    at = datetime(2026, 11, 20, 10, 30, tzinfo=SHANGHAI)
    assert desk().next_open(at) is at


@pytest.mark.parametrize(
    ("at", "is_open", "next_open"),
    [
        (utc(2026, 11, 20, 12), True, utc(2026, 11, 20, 12)),  # friday
        (utc(2026, 11, 22, 12), True, utc(2026, 11, 22, 12)),  # sunday
        (utc(2026, 11, 23, 15, 59), True, utc(2026, 11, 23, 15, 59)),  # monday
        (utc(2026, 11, 23, 16), False, utc(2026, 11, 27, 10)),  # monday closing -> friday
        (utc(2026, 11, 25, 12), False, utc(2026, 11, 27, 10)),  # wednesday
    ],
)
def test_day_range_wraps_around_the_week(at: datetime, is_open: bool, next_open: datetime) -> None:
    hours = parse_hours("fri-mon 10:00-16:00", "", "UTC")
    assert hours.is_open(at) is is_open
    assert hours.next_open(at) == next_open


@pytest.mark.parametrize(
    ("at", "is_open", "next_open"),
    [
        (utc(2026, 11, 22, 21, 59), False, utc(2026, 11, 22, 22)),  # sunday
        (utc(2026, 11, 22, 23, 59, 59, 999999), True, utc(2026, 11, 22, 23, 59, 59, 999999)),
        (utc(2026, 11, 23), True, utc(2026, 11, 23)),  # sunday 24:00 is monday 00:00
        (utc(2026, 11, 23, 9), True, utc(2026, 11, 23, 9)),
        (utc(2026, 11, 23, 12), True, utc(2026, 11, 23, 12)),  # 09:00-12:00 meets 12:00-18:00
        (utc(2026, 11, 23, 18), False, utc(2026, 11, 29, 22)),
    ],
)
def test_24_00_and_touching_intervals_are_continuous(
    at: datetime, is_open: bool, next_open: datetime
) -> None:
    hours = parse_hours(
        "sun 22:00-24:00; mon 00:00-09:00, 09:00-12:00; mon 12:00-18:00", "", "UTC"
    )
    assert hours.is_open(at) is is_open
    assert hours.next_open(at) == next_open
    assert hours.open_seconds_between(utc(2026, 11, 22), utc(2026, 11, 24)) == 20 * 3600


def test_new_york_spring_forward() -> None:
    # 2027-03-14: at 02:00 EST (07:00Z) clocks jump to 03:00 EDT. 02:30 does not exist and is
    # read with the offset before the jump: 07:30Z, i.e. 03:30 EDT.
    hours = parse_hours("sun 02:30-05:00; mon-fri 09:00-17:00", "", "America/New_York")
    assert hours.next_open(utc(2027, 3, 14, 6)) == utc(2027, 3, 14, 7, 30)
    assert not hours.is_open(utc(2027, 3, 14, 7, 15))  # 03:15 EDT
    assert hours.is_open(utc(2027, 3, 14, 7, 30))
    assert hours.is_open(utc(2027, 3, 14, 8, 59))
    assert not hours.is_open(utc(2027, 3, 14, 9))  # 05:00 EDT
    assert hours.open_seconds_between(utc(2027, 3, 14), utc(2027, 3, 15)) == 90 * 60
    # friday 09:00 is 14:00Z (EST), monday 09:00 is 13:00Z (EDT)
    assert hours.next_open(utc(2027, 3, 12, 13)) == utc(2027, 3, 12, 14)
    assert hours.next_open(utc(2027, 3, 14, 10)) == utc(2027, 3, 15, 13)


@pytest.mark.parametrize(
    ("spec", "holidays", "day", "seconds"),
    [
        ("", "", date(2027, 3, 14), 23 * 3600),  # spring forward
        ("mon-sun 00:00-24:00", "2030-01-01", date(2027, 3, 14), 23 * 3600),
        ("", "", date(2027, 11, 7), 25 * 3600),  # fall back
        ("sun 01:00-02:00", "", date(2027, 11, 7), 2 * 3600),  # 01:00 EDT to 02:00 EST
        ("", "", date(2027, 3, 15), 24 * 3600),
    ],
)
def test_a_new_york_day_is_as_long_as_it_really_is(
    spec: str, holidays: str, day: date, seconds: int
) -> None:
    hours = parse_hours(spec, holidays, NEW_YORK)
    start = datetime.combine(day, time(0), tzinfo=NEW_YORK)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=NEW_YORK)
    assert hours.open_seconds_between(start, end) == seconds


def test_always_open() -> None:
    hours = parse_hours("", "", "Asia/Shanghai")
    assert hours.always_open
    assert parse_hours("mon-sun 00:00-24:00", "", "UTC").always_open
    at = utc(2026, 11, 21, 20)
    assert hours.is_open(at)
    assert hours.next_open(at) is at
    assert hours.open_seconds_between(at, at + timedelta(days=3)) == 3 * 86400


def test_empty_spec_with_holidays_is_open_except_on_them() -> None:
    hours = parse_hours("", "2026-12-25", "Asia/Shanghai")
    assert not hours.always_open
    assert hours.is_open(utc(2026, 12, 24, 15, 59))  # 23:59 on the 24th
    assert not hours.is_open(utc(2026, 12, 24, 16))
    assert hours.next_open(utc(2026, 12, 25, 3)) == utc(2026, 12, 25, 16)
    assert hours.open_seconds_between(utc(2026, 12, 24), utc(2026, 12, 27)) == 2 * 86400


@pytest.mark.parametrize(
    ("start", "end", "seconds"),
    [
        # friday 17:00 -> monday 10:00: 1h friday + 6h saturday + 1h monday
        (utc(2026, 11, 20, 9), utc(2026, 11, 23, 2), 8 * 3600),
        # the same across christmas: thursday 1h, friday closed, 6h saturday, 1h monday
        (utc(2026, 12, 24, 9), utc(2026, 12, 28, 2), 8 * 3600),
        (utc(2026, 11, 21, 8), utc(2026, 11, 23, 1), 0),  # saturday close to monday open
        (utc(2026, 11, 20, 2), utc(2026, 11, 20, 2, 0, 1, 500000), 1.5),
        (utc(2026, 11, 23, 2), utc(2026, 11, 20, 2), 0),  # backwards
        (utc(2026, 11, 16), utc(2026, 11, 30), 2 * (5 * 9 + 6) * 3600),  # two weeks
    ],
)
def test_open_seconds_between(start: datetime, end: datetime, seconds: float) -> None:
    assert desk().open_seconds_between(start, end) == seconds


def test_never_open_gives_up_with_a_clear_error() -> None:
    hours = BusinessHours(tz=SHANGHAI, weekly=(CLOSED,) * 7, holidays=frozenset())
    with pytest.raises(HoursError) as caught:
        hours.next_open(utc(2026, 11, 20, 2))
    assert str(caught.value) == (
        "the desk does not open in the 400 days after 2026-11-20 10:00 (Asia/Shanghai): "
        "check the hours and holidays"
    )
    assert not hours.is_open(utc(2026, 11, 20, 2))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        desk().is_open(datetime(2026, 11, 20, 10))  # noqa: DTZ001
