"""The copy guard (placeholder until the checker lands)."""

from __future__ import annotations

import html
from dataclasses import dataclass


@dataclass(frozen=True)
class Hit:
    word: str
    start: int
    end: int


@dataclass(frozen=True)
class CopyGuard:
    words: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()

    def check(self, text: str) -> list[Hit]:
        return []

    def mark(self, text: str) -> str:
        return html.escape(text)


def build_guard(extra_words: str = "", extra_allowed: str = "") -> CopyGuard:
    return CopyGuard()
