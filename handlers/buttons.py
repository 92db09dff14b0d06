"""Tapped data read strictly, so a forged or stale tap is answered, never a traceback.

aiogram's `CallbackData.filter()` lets pydantic read the numbers in callback data: it takes
"+5", " 5", "5_000" and "1.0", and ints past 64 bits that then fail in the database. Here
every int field goes through storage.numbers (plain ASCII digits, 1..2**63-1 unless the
field's bounds say otherwise); data that does not read cleanly does not match `Tapped`, and
`StaleButton` (registered after the handlers) answers it politely.
"""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery
from pydantic import ValidationError

from storage.numbers import INT64_MAX, NumberError, read_int

Bounds = tuple[int, int]


def read_button(
    cls: type[CallbackData], data: str, bounds: dict[str, Bounds] | None = None
) -> CallbackData | None:
    """`data` unpacked as `cls`, each int field read by storage.numbers within its bounds
    (default 1..2**63-1); None if it is not such data."""
    parts = data.split(cls.__separator__)
    names = list(cls.model_fields)
    if parts[0] != cls.__prefix__ or len(parts) != len(names) + 1:
        return None
    values: dict[str, Any] = {}
    for name, raw in zip(names, parts[1:], strict=True):
        if cls.model_fields[name].annotation is int:
            low, high = (bounds or {}).get(name, (1, INT64_MAX))
            try:
                values[name] = read_int(raw, low=low, high=high)
            except NumberError:
                return None
        else:
            values[name] = raw
    try:
        return cls(**values)
    except ValidationError:
        return None


class Tapped(Filter):
    """Taps carrying `cls` data that reads cleanly; the handler gets it as `callback_data`."""

    def __init__(self, cls: type[CallbackData], **bounds: Bounds) -> None:
        self.cls = cls
        self.bounds = bounds

    async def __call__(self, query: CallbackQuery) -> bool | dict[str, Any]:
        button = read_button(self.cls, query.data or "", self.bounds)
        return False if button is None else {"callback_data": button}


class StaleButton(Filter):
    """Taps whose data has the prefix of one of `classes` (whatever follows): registered
    after the handlers of those classes, it catches what they did not accept."""

    def __init__(self, *classes: type[CallbackData]) -> None:
        self.prefixes = tuple(cls.__prefix__ + cls.__separator__ for cls in classes)
        self.bare = frozenset(cls.__prefix__ for cls in classes)

    async def __call__(self, query: CallbackQuery) -> bool:
        data = query.data or ""
        return data in self.bare or data.startswith(self.prefixes)
