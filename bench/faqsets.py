"""Shared by the FAQ benches: an FAQ cut to its first phrasings (as a new shop writes it)."""

from __future__ import annotations

import dataclasses

from faq.kb import KnowledgeBase


def trim(kb: KnowledgeBase, n: int) -> KnowledgeBase:
    """`kb` with at most `n` phrasings per entry and language (its first ones); 0: as is."""
    if not n:
        return kb
    entries = tuple(
        dataclasses.replace(e, questions={lang: qs[:n] for lang, qs in e.questions.items()})
        for e in kb.entries
    )
    return dataclasses.replace(kb, entries=entries)
