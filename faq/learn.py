"""`python main.py faq learn`: labelled questions become phrasings of their entries.

Each `question,expected` row of a CSV (the `faq eval` format) whose `expected` is an entry
of the KB is added to that entry, in the question's language (`detect_lang`); the new FAQ
is written in the YAML contract `load_kb` reads. Rows that cannot be added are skipped and
counted: `expected` empty or not an entry id, the question already there (case and spaces
aside), or no answer in the question's language (the contract wants one)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from faq.evaluate import CaseError, EvalCase, load_cases
from faq.kb import KBError, KnowledgeBase, dump_kb, load_kb
from faq.live import LearnedPhrasing, merge_learned, phrasing_key
from faq.normalize import detect_lang

__all__ = ["LearnSummary", "learn_cases", "run_learn_cli"]


@dataclass(frozen=True, slots=True)
class LearnSummary:
    added: int = 0
    entries: int = 0  # entries that got at least one phrasing
    not_an_entry: int = 0  # expected empty (out of scope) or not an entry id of the KB
    known: int = 0  # the entry has that phrasing already
    no_answer: int = 0  # the entry has no answer in the question's language

    @property
    def skipped(self) -> int:
        return self.not_an_entry + self.known + self.no_answer

    def line(self) -> str:
        why = [
            f"{n} {what}"
            for n, what in (
                (self.not_an_entry, "without an entry id of the FAQ"),
                (self.known, "already in their entry"),
                (self.no_answer, "in a language their entry does not answer"),
            )
            if n
        ]
        skipped = f"; skipped {self.skipped} ({', '.join(why)})" if why else ""
        return f"added {self.added} phrasing(s) to {self.entries} entries{skipped}"


def learn_cases(
    kb: KnowledgeBase, cases: Iterable[EvalCase]
) -> tuple[KnowledgeBase, LearnSummary]:
    """`kb` with each labelled question added to its entry, and what happened to each."""
    learned: list[LearnedPhrasing] = []
    seen: dict[str, set[str]] = {
        e.id: {phrasing_key(q) for _, q in e.all_questions()} for e in kb.entries
    }
    not_an_entry = known = no_answer = 0
    for case in cases:
        entry = kb.get(case.expected) if case.expected else None
        if entry is None:
            not_an_entry += 1
            continue
        lang = detect_lang(case.question)
        key = phrasing_key(case.question)
        if key in seen[entry.id]:
            known += 1
        elif not entry.answer.get(lang):
            no_answer += 1
        else:
            seen[entry.id].add(key)
            learned.append(LearnedPhrasing(entry.id, lang, case.question.strip()))
    summary = LearnSummary(
        added=len(learned),
        entries=len({p.entry_id for p in learned}),
        not_an_entry=not_an_entry,
        known=known,
        no_answer=no_answer,
    )
    return merge_learned(kb, learned), summary


def run_learn_cli(kb_path: str, cases_path: str, out_path: str) -> int:
    """Entry point for `main.py faq learn`: 0 on success, 2 on a bad KB, cases or output."""
    try:
        kb = load_kb(kb_path)
        cases = load_cases(cases_path)  # ids checked here: unknown ones are skipped
    except KBError as exc:
        print(f"error: bad knowledge base {kb_path}: " + "; ".join(exc.problems), file=sys.stderr)
        return 2
    except CaseError as exc:
        print(f"error: bad cases file: {exc}", file=sys.stderr)
        return 2
    merged, summary = learn_cases(kb, cases)
    header = f"{Path(kb_path).name} with the labelled questions of {Path(cases_path).name}"
    try:
        Path(out_path).write_text(
            dump_kb(merged, header=f"Written by `python main.py faq learn`: {header}."),
            encoding="utf-8",
        )
    except OSError as exc:
        print(f"error: cannot write {out_path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"{summary.line()}; wrote {out_path}")
    return 0
