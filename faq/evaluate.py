"""Offline evaluation of the matcher on a CSV of ``question,expected`` cases."""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from faq.embedding import DEFAULT_CACHE_DIR
from faq.factory import ModelRequired, SemanticMode, choose_matcher
from faq.kb import LANGS, KBError, KnowledgeBase, load_kb
from faq.live import FaqMatcher
from faq.matcher import Outcome
from faq.normalize import detect_lang

__all__ = [
    "CaseError",
    "EvalCase",
    "EvalReport",
    "by_language",
    "evaluate",
    "load_cases",
    "run_eval_cli",
]


class CaseError(Exception):
    """The cases file is missing or malformed."""


@dataclass(frozen=True)
class EvalCase:
    question: str
    expected: str | None  # None: not covered by the KB, the right outcome is a handoff


@dataclass(frozen=True)
class Miss:
    question: str
    expected: str | None
    got: str | None
    outcome: str
    confidence: float


@dataclass(frozen=True)
class EvalReport:
    cases: int
    covered: int
    answered: int  # covered cases with outcome ANSWER
    correct: int  # answered and right
    top1_correct: int  # covered cases whose best entry is right, whatever the outcome
    clarified: int  # covered cases with outcome CLARIFY
    clarify_hit: int  # ...whose candidates include the expected entry
    out_of_scope: int
    out_of_scope_answered: int
    p50_ms: float
    p99_ms: float
    accuracy: float
    coverage: float
    precision: float
    out_of_scope_answer_rate: float
    misses: tuple[Miss, ...] = field(default=())

    @property
    def self_service(self) -> float:
        """(right answers + clarifications whose buttons hold the right entry) / covered."""
        return _ratio(self.correct + self.clarify_hit, self.covered)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("misses")
        return data


def _ratio(num: int, den: int) -> float:
    return round(num / den, 4) if den else 0.0


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    idx = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[idx]


def evaluate(matcher: FaqMatcher, cases: Sequence[EvalCase]) -> EvalReport:
    """Run every case through ``matcher`` and compute the metrics (see EvalReport)."""
    covered = answered = correct = top1 = clarified = clarify_hit = 0
    oos = oos_answered = 0
    times: list[float] = []
    misses: list[Miss] = []
    for case in cases:
        t0 = time.perf_counter()
        res = matcher.match(case.question)
        times.append((time.perf_counter() - t0) * 1000.0)
        got = res.entry.id if res.entry is not None else None
        if case.expected is None:
            oos += 1
            if res.outcome is Outcome.ANSWER:
                oos_answered += 1
                misses.append(Miss(case.question, None, got, res.outcome.value, res.confidence))
            continue
        covered += 1
        if got == case.expected:
            top1 += 1
        if res.outcome is Outcome.ANSWER:
            answered += 1
            if got == case.expected:
                correct += 1
            else:
                misses.append(
                    Miss(case.question, case.expected, got, res.outcome.value, res.confidence)
                )
        elif res.outcome is Outcome.CLARIFY:
            clarified += 1
            if any(c.entry.id == case.expected for c in res.candidates):
                clarify_hit += 1
    times.sort()
    return EvalReport(
        cases=len(cases),
        covered=covered,
        answered=answered,
        correct=correct,
        top1_correct=top1,
        clarified=clarified,
        clarify_hit=clarify_hit,
        out_of_scope=oos,
        out_of_scope_answered=oos_answered,
        p50_ms=round(_percentile(times, 0.50), 3),
        p99_ms=round(_percentile(times, 0.99), 3),
        accuracy=_ratio(top1, covered),
        coverage=_ratio(answered, covered),
        precision=_ratio(correct, answered),
        out_of_scope_answer_rate=_ratio(oos_answered, oos),
        misses=tuple(misses),
    )


def load_cases(path: str | Path, kb: KnowledgeBase | None = None) -> list[EvalCase]:
    """Read ``question,expected`` rows; ``expected`` ids must exist in ``kb`` when given."""
    p = Path(path)
    try:
        with p.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            fields = [f.strip() for f in reader.fieldnames or []]
            missing = [c for c in ("question", "expected") if c not in fields]
            if missing:
                raise CaseError(
                    f"{p}: missing column(s) {', '.join(missing)} (need question,expected)"
                )
            reader.fieldnames = fields
            rows = list(reader)
    except FileNotFoundError:
        raise CaseError(f"{p}: file not found") from None
    except IsADirectoryError:
        raise CaseError(f"{p}: not a file") from None
    except UnicodeDecodeError:
        raise CaseError(f"{p}: file is not valid UTF-8") from None
    except csv.Error as exc:
        raise CaseError(f"{p}: malformed CSV: {exc}") from None
    cases: list[EvalCase] = []
    unknown: list[str] = []
    for line, row in enumerate(rows, start=2):
        question = (row.get("question") or "").strip()
        expected = (row.get("expected") or "").strip() or None
        if not question:
            continue
        if expected is not None and kb is not None and kb.get(expected) is None:
            unknown.append(f"line {line}: {expected!r}")
        cases.append(EvalCase(question, expected))
    if unknown:
        shown = "; ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise CaseError(f"{p}: expected id(s) not in the KB: {shown}")
    if not cases:
        raise CaseError(f"{p}: no cases")
    return cases


def format_report(report: EvalReport, *, max_misses: int = 15) -> str:
    r = report
    lines = [
        f"cases: {report.cases} (covered {report.covered}, out of scope {report.out_of_scope})",
        f"top-1 accuracy (covered): {r.accuracy:.1%} ({r.top1_correct}/{r.covered})",
        f"coverage (answered/covered): {report.coverage:.1%} ({report.answered}/{report.covered})",
        f"precision (correct/answered): {r.precision:.1%} ({r.correct}/{r.answered})",
        f"clarify: {report.clarified} (right entry among the buttons: {report.clarify_hit})",
        f"out of scope answered: {report.out_of_scope_answered}/{report.out_of_scope}"
        f" ({report.out_of_scope_answer_rate:.1%})",
        f"latency: p50 {report.p50_ms:.3f} ms, p99 {report.p99_ms:.3f} ms",
    ]
    if report.misses:
        lines.append(f"wrong answers ({len(report.misses)}, first {max_misses}):")
        lines.extend(
            f"  {m.question!r}: expected {m.expected or '(handoff)'}, "
            f"got {m.got} @ {m.confidence:.2f}"
            for m in report.misses[:max_misses]
        )
    return "\n".join(lines)


def by_language(matcher: FaqMatcher, cases: Sequence[EvalCase]) -> dict[str, EvalReport]:
    """A report per language present (by `detect_lang` of the question): the goals are
    per language."""
    reports: dict[str, EvalReport] = {}
    for lang in LANGS:
        subset = [c for c in cases if detect_lang(c.question) == lang]
        if subset:
            reports[lang] = evaluate(matcher, subset)
    return reports


def language_lines(matcher: FaqMatcher, cases: Sequence[EvalCase]) -> list[str]:
    """One line per language for `faq eval`'s text output."""
    return [
        f"  {lang}: {r.cases} cases; coverage {r.coverage:.1%}, precision {r.precision:.1%}, "
        f"self-service {r.self_service:.1%}, "
        f"out of scope answered {r.out_of_scope_answer_rate:.1%} "
        f"({r.out_of_scope_answered}/{r.out_of_scope})"
        for lang, r in by_language(matcher, cases).items()
    ]


def run_eval_cli(
    kb_path: str,
    cases_path: str,
    *,
    as_json: bool,
    answer_threshold: float | None = None,
    clarify_threshold: float | None = None,
    semantic: SemanticMode = "auto",
    cache_dir: str | Path | None = DEFAULT_CACHE_DIR,
) -> int:
    """Entry point for ``main.py faq eval``: 0 on success, 2 on a bad KB / cases file or
    settings. Runs the matcher the bot would run (`semantic`: auto, on, off)."""
    try:
        kb = load_kb(kb_path)
        cases = load_cases(cases_path, kb)
    except KBError as exc:
        print(f"error: bad knowledge base {kb_path}: " + "; ".join(exc.problems), file=sys.stderr)
        return 2
    except CaseError as exc:
        print(f"error: bad cases file: {exc}", file=sys.stderr)
        return 2
    try:
        choice = choose_matcher(
            semantic,
            cache_dir=cache_dir,
            answer_threshold=answer_threshold,
            clarify_threshold=clarify_threshold,
        )
        matcher = choice.build(kb)
    except (ValueError, ModelRequired) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = evaluate(matcher, cases)
    print(f"kb: {kb_path} ({len(kb.entries)} entries)  cases: {cases_path}")
    print(f"matcher: {choice.why}")
    print(
        f"thresholds: answer {matcher.answer_threshold:.2f}, "
        f"clarify {matcher.clarify_threshold:.2f}"
    )
    print(format_report(report))
    print("by language:")
    print("\n".join(language_lines(matcher, cases)))
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False, sort_keys=True))
    return 0
