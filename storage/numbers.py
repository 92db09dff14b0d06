"""Ids and numbers people type, read in one place, and the bounds the database holds.

Every id and count a person types (a command argument, a dialogue answer) and every number
in callback data goes through `read_int`: plain ASCII digits only (so `²`, `٣` and `１`
are refused rather than half-accepted by `str.isdigit`), within the bounds the caller
names, never past what a 64-bit column stores.
"""

from __future__ import annotations

from typing import Literal

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

Problem = Literal["not_a_number", "too_small", "too_large"]


class NumberError(ValueError):
    """`text` is not a whole number within [low, high]; `problem` says which."""

    def __init__(self, text: str, problem: Problem, low: int, high: int) -> None:
        super().__init__(f"{text[:40]!r}: {problem} (expected {low}..{high})")
        self.text = text
        self.problem: Problem = problem
        self.low = low
        self.high = high


def read_int(
    text: str, *, low: int = INT64_MIN, high: int = INT64_MAX, signed: bool = False
) -> int:
    """`text` (spaces around it ignored; a leading + or - when `signed`) as an int in
    [low, high], else NumberError."""
    raw = text.strip()
    digits = raw[1:] if signed and raw[:1] in ("+", "-") else raw
    if not digits or len(digits) > 19 or not (digits.isascii() and digits.isdigit()):
        problem: Problem = "not_a_number"
        if digits.isascii() and digits.isdigit():  # 20 digits and more: a real but huge number
            problem = "too_small" if raw.startswith("-") else "too_large"
        raise NumberError(text, problem, low, high)
    value = int(raw)
    if value < low:
        raise NumberError(text, "too_small", low, high)
    if value > high:
        raise NumberError(text, "too_large", low, high)
    return value


def read_id(text: str) -> int:
    """A database or Telegram id: 1 .. 2**63-1."""
    return read_int(text, low=1, high=INT64_MAX)
