"""The matcher in use, swapped whole when the FAQ grows (no restart).

`LiveMatcher` keeps the FAQ as loaded from YAML (`base`) and the phrasings learned since
(from the desk, stored in the database by the caller). `relearn` builds a new matcher from
both and swaps it in with one assignment: a question being matched keeps the matcher it
started with, the next one gets the new. Building runs wherever the caller runs it (a
thread, so the event loop keeps serving) and never touches the one in use until it is
complete; a failed build leaves the old matcher in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from faq.kb import LANGS, Entry, KnowledgeBase
from faq.matcher import MatchResult

__all__ = ["FaqMatcher", "LearnedPhrasing", "LiveMatcher", "merge_learned"]


class FaqMatcher(Protocol):
    """What the bot needs of a matcher: its FAQ, its thresholds, and `match`."""

    @property
    def kb(self) -> KnowledgeBase: ...

    @property
    def answer_threshold(self) -> float: ...

    @property
    def clarify_threshold(self) -> float: ...

    @property
    def uses_model(self) -> bool:
        """True when `match` runs an embedding model (slow: call it off the event loop)."""
        ...

    def match(self, text: str) -> MatchResult: ...


@dataclass(frozen=True, slots=True)
class LearnedPhrasing:
    entry_id: str
    lang: str
    text: str


def merge_learned(base: KnowledgeBase, learned: Iterable[LearnedPhrasing]) -> KnowledgeBase:
    """`base` with each learned phrasing added to its entry (in order, without duplicates:
    a phrasing the entry already has, compared case- and space-insensitively, is skipped).
    Phrasings of entries that no longer exist, or in a language the FAQ does not use, are
    dropped: the YAML may have changed since they were learned."""
    extra: dict[str, dict[str, list[str]]] = {}
    for p in learned:
        if p.lang not in LANGS or not p.text.strip():
            continue
        extra.setdefault(p.entry_id, {}).setdefault(p.lang, []).append(p.text.strip())
    if not extra:
        return base
    entries: list[Entry] = []
    for entry in base.entries:
        more = extra.get(entry.id)
        if not more:
            entries.append(entry)
            continue
        questions = {lang: list(qs) for lang, qs in entry.questions.items()}
        for lang, texts in more.items():
            have = questions.setdefault(lang, [])
            seen = {_key(q) for q in have}
            for t in texts:
                if _key(t) not in seen:
                    seen.add(_key(t))
                    have.append(t)
        entries.append(replace(entry, questions={k: tuple(v) for k, v in questions.items()}))
    return replace(base, entries=tuple(entries))


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


class LiveMatcher:
    """A matcher that can be rebuilt with learned phrasings while the bot runs."""

    def __init__(
        self,
        base: KnowledgeBase,
        build: Callable[[KnowledgeBase], FaqMatcher],
        learned: Sequence[LearnedPhrasing] = (),
    ) -> None:
        self.base = base
        self._build = build
        self.learned: tuple[LearnedPhrasing, ...] = tuple(learned)
        self.current: FaqMatcher = build(merge_learned(base, self.learned))

    @property
    def kb(self) -> KnowledgeBase:
        return self.current.kb

    @property
    def answer_threshold(self) -> float:
        return self.current.answer_threshold

    @property
    def clarify_threshold(self) -> float:
        return self.current.clarify_threshold

    @property
    def uses_model(self) -> bool:
        return self.current.uses_model

    def match(self, text: str) -> MatchResult:
        return self.current.match(text)

    def relearn(self, learned: Sequence[LearnedPhrasing]) -> bool:
        """Rebuild with `learned` (the whole list, not a delta); False when it is unchanged."""
        learned = tuple(learned)
        if learned == self.learned:
            return False
        built = self._build(merge_learned(self.base, learned))
        self.current, self.learned = built, learned
        return True
