"""The one reader of typed ids and numbers."""

from __future__ import annotations

import pytest

from storage.numbers import INT64_MAX, NumberError, read_id, read_int


@pytest.mark.parametrize(
    ("text", "kwargs", "expected"),
    [
        ("42", {}, 42),
        (" 7 ", {}, 7),
        ("+20", {"signed": True}, 20),
        ("-5", {"signed": True, "low": -10}, -5),
        (str(INT64_MAX), {}, INT64_MAX),
    ],
)
def test_reads_plain_numbers(text: str, kwargs: dict[str, int], expected: int) -> None:
    assert read_int(text, **kwargs) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("²", "not_a_number"),
        ("١٢", "not_a_number"),
        ("１２", "not_a_number"),
        ("", "not_a_number"),
        ("1.5", "not_a_number"),
        ("-3", "not_a_number"),  # unsigned by default
        ("99999999999999999999", "too_large"),
        ("9223372036854775808", "too_large"),
        ("0", "too_small"),
    ],
)
def test_refuses_what_is_not_an_id(text: str, problem: str) -> None:
    with pytest.raises(NumberError) as err:
        read_id(text)
    assert err.value.problem == problem


def test_bounds_are_the_callers() -> None:
    with pytest.raises(NumberError) as err:
        read_int("1001", low=1, high=1000)
    assert (err.value.problem, err.value.high) == ("too_large", 1000)
