"""The matcher in use, swapped whole when the FAQ grows (no restart).

`LiveMatcher` keeps the FAQ as loaded from YAML (`base`) and what was learned since (from
the desk, stored in the database by the caller): phrasings added to entries, and whole new
entries written from an agent's reply (`Learned`). `relearn` builds a new matcher from
both and swaps it in with one assignment: a question being matched keeps the matcher it
started with, the next one gets the new. Building runs wherever the caller runs it (a
thread, so the event loop keeps serving) and never touches the one in use until it is
complete; a failed build leaves the old matcher in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Protocol

from faq.kb import LANGS, TOPICS, Entry, KnowledgeBase, valid_id
from faq.matcher import MatchResult

__all__ = [
    "FaqMatcher",
    "Learned",
    "LearnedEntry",
    "LearnedPhrasing",
    "LiveMatcher",
    "merge_learned",
    "phrasing_key",
]


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
    """A customer's question added to an entry (YAML or learned) as one more phrasing."""

    entry_id: str
    lang: str
    text: str


@dataclass(frozen=True, slots=True)
class LearnedEntry:
    """An entry written from an agent's reply: the customer's question and the answer, both
    in the customer's language (`Entry.answer_for` falls back for the other one)."""

    id: str
    topic: str
    lang: str
    question: str
    answer: str


@dataclass(frozen=True, slots=True)
class Learned:
    """Everything learned since the YAML was written, in the order it was learned."""

    phrasings: tuple[LearnedPhrasing, ...] = ()
    entries: tuple[LearnedEntry, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.phrasings or self.entries)


def phrasing_key(text: str) -> str:
    """What makes two phrasings the same: case and runs of spaces do not count."""
    return " ".join(text.casefold().split())


def _as_learned(learned: Learned | Iterable[LearnedPhrasing]) -> Learned:
    return learned if isinstance(learned, Learned) else Learned(phrasings=tuple(learned))


def _new_entries(base: KnowledgeBase, entries: Iterable[LearnedEntry]) -> list[Entry]:
    """Learned entries as KB entries; one whose id is not a valid KB id, is taken (by the
    YAML, which may have grown since, or an earlier learned entry), whose topic or language
    the FAQ does not know, or without a question or an answer, is dropped."""
    taken = {e.id for e in base.entries}
    out: list[Entry] = []
    for e in entries:
        question, answer = e.question.strip(), e.answer.strip()
        if (
            e.id in taken
            or not valid_id(e.id)
            or e.topic not in TOPICS
            or e.lang not in LANGS
            or not question
            or not answer
        ):
            continue
        taken.add(e.id)
        out.append(
            Entry(
                id=e.id,
                topic=e.topic,
                questions=MappingProxyType({e.lang: (question,)}),
                answer=MappingProxyType({e.lang: answer}),
            )
        )
    return out


def merge_learned(
    base: KnowledgeBase, learned: Learned | Iterable[LearnedPhrasing]
) -> KnowledgeBase:
    """`base` with the learned entries appended and each learned phrasing added to its entry
    (in order, without duplicates: a phrasing the entry already has, compared case- and
    space-insensitively, is skipped). Phrasings of entries that no longer exist, or in a
    language the entry has no answer in (the FAQ's contract: an entry asked in a language
    answers in it), are dropped: the YAML may have changed since they were learned.
    Nothing learned: `base` itself."""
    learned = _as_learned(learned)
    added = _new_entries(base, learned.entries)
    extra: dict[str, dict[str, list[str]]] = {}
    for p in learned.phrasings:
        if p.lang not in LANGS or not p.text.strip():
            continue
        extra.setdefault(p.entry_id, {}).setdefault(p.lang, []).append(p.text.strip())
    if not extra and not added:
        return base
    entries: list[Entry] = []
    for entry in (*base.entries, *added):
        more = {
            lang: texts
            for lang, texts in extra.get(entry.id, {}).items()
            if entry.answer.get(lang)
        }
        if not more:
            entries.append(entry)
            continue
        questions = {lang: list(qs) for lang, qs in entry.questions.items()}
        for lang, texts in more.items():
            have = questions.setdefault(lang, [])
            seen = {phrasing_key(q) for q in have}
            for t in texts:
                if phrasing_key(t) not in seen:
                    seen.add(phrasing_key(t))
                    have.append(t)
        frozen = MappingProxyType({k: tuple(v) for k, v in questions.items()})
        entries.append(replace(entry, questions=frozen))
    return replace(base, entries=tuple(entries))


class LiveMatcher:
    """A matcher that can be rebuilt with what was learned while the bot runs."""

    def __init__(
        self,
        base: KnowledgeBase,
        build: Callable[[KnowledgeBase], FaqMatcher],
        learned: Learned | Iterable[LearnedPhrasing] = (),
    ) -> None:
        self.base = base
        self._build = build
        self.learned: Learned = _as_learned(learned)
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

    def relearn(self, learned: Learned | Iterable[LearnedPhrasing]) -> bool:
        """Rebuild with `learned` (all of it, not a delta); False when it is unchanged."""
        learned = _as_learned(learned)
        if learned == self.learned:
            return False
        built = self._build(merge_learned(self.base, learned))
        self.current, self.learned = built, learned
        return True
