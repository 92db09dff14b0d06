"""Fit the hybrid matcher's fusion weights and confidence (faq/hybrid.py), offline.

Tuning FAQs only (each with its own questions):
  - shop:      faq/knowledge/shop.yaml (14 phrasings per language) + tests/data/shop_dev.csv
  - shop3:     the same FAQ cut to its first 3 phrasings per language + shop_dev.csv
  - cosmetics: tests/data/faqs/cosmetics.yaml (3 phrasings) + cosmetics.csv
  - home:      tests/data/faqs/home.yaml (3 phrasings) + home.csv
Never: shop_holdout.csv, electronics and pets, which docs/BENCHMARKS.md reports as held
out. `--leave-one-out` also fits on all but one and reports on that one.

1. Every question goes through the lexical matcher; rule answers (size numbers, asking for a
   person) are left out, the rest get their Evidence (the model's cosines per entry).
2. Grid-search (W_SQ, W_SA, W_LEX) for the best mean top-1 over the tuning FAQs.
3. Fit conf = sigmoid(SEM_COEFS . SemanticFeatures) by Newton's method (L2), label = "the
   best entry is the expected one" (out-of-scope questions are negatives), on the questions
   the lexical fast path does not answer; each FAQ weighs the same.
4. Print precision / coverage / out-of-scope answered per threshold, pooled and per FAQ and
   language, with the fast path and the off-topic guard as the matcher applies them.
Copy the printed constants into faq/hybrid.py.

    python bench/fit_semantic.py [--leave-one-out]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.faqsets import trim  # noqa: E402
from faq.embedding import load_embedder  # noqa: E402
from faq.evaluate import load_cases  # noqa: E402
from faq.hybrid import (  # noqa: E402
    FAST_THRESHOLD,
    OFF_TOPIC_CAP,
    Evidence,
    HybridMatcher,
    fuse,
    semantic_confidence,
)
from faq.kb import KnowledgeBase, load_kb  # noqa: E402
from faq.normalize import detect_lang  # noqa: E402

CACHE = ROOT / "data" / "faq-embeddings" / "fit"


@dataclass
class Row:
    lang: str
    expected: int  # entry index, -1 out of scope
    fast: bool  # answered by the lexical fast path
    fast_entry: int
    ev: Evidence


def tuning_sets() -> dict[str, tuple[KnowledgeBase, Path]]:
    shop = load_kb(ROOT / "faq/knowledge/shop.yaml")
    return {
        "shop": (shop, ROOT / "tests/data/shop_dev.csv"),
        "shop3": (trim(shop, 3), ROOT / "tests/data/shop_dev.csv"),
        "cosmetics": (
            load_kb(ROOT / "tests/data/faqs/cosmetics.yaml"),
            ROOT / "tests/data/faqs/cosmetics.csv",
        ),
        "home": (
            load_kb(ROOT / "tests/data/faqs/home.yaml"),
            ROOT / "tests/data/faqs/home.csv",
        ),
    }


def collect(name: str, kb: KnowledgeBase, cases_path: Path) -> list[Row]:
    embedder = load_embedder(on_unavailable=lambda why: sys.exit(f"model unavailable: {why}"))
    assert embedder is not None
    hybrid = HybridMatcher(kb, embedder, cache_dir=CACHE / name)
    index = {e.id: i for i, e in enumerate(kb.entries)}
    rows: list[Row] = []
    for case in load_cases(cases_path, kb):
        lexical, analysis = hybrid.lexical.match_detailed(case.question)
        if lexical.route == "rule":
            continue
        fast = lexical.outcome.value == "answer" and lexical.confidence >= FAST_THRESHOLD
        ev = hybrid.evidence(case.question, lexical, analysis)
        rows.append(
            Row(
                lang=detect_lang(case.question),
                expected=index[case.expected] if case.expected else -1,
                fast=fast,
                fast_entry=index[lexical.entry.id] if lexical.entry is not None else -1,
                ev=ev,
            )
        )
    return rows


def top1(rows: list[Row], w: tuple[float, float, float]) -> float:
    covered = [r for r in rows if r.expected >= 0]
    return sum(fuse(r.ev, w).order[0] == r.expected for r in covered) / len(covered)


def fit_logistic(x: np.ndarray, y: np.ndarray, wt: np.ndarray, l2: float = 1e-2) -> np.ndarray:
    """Newton's method on standardised features (so the L2 penalty treats them alike);
    returns the coefficients for the raw features (column 0 is the intercept)."""
    mu = x[:, 1:].mean(0)
    sd = x[:, 1:].std(0) + 1e-9
    x = np.column_stack([x[:, 0], (x[:, 1:] - mu) / sd])
    b = np.zeros(x.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(x @ b)))
        g = x.T @ (wt * (p - y)) + l2 * b
        h = (x.T * (wt * p * (1 - p))) @ x + l2 * np.eye(len(b))
        step = np.linalg.solve(h, g)
        b -= step
        if np.abs(step).max() < 1e-9:
            break
    raw = np.empty_like(b)
    raw[1:] = b[1:] / sd
    raw[0] = b[0] - float(np.sum(b[1:] * mu / sd))
    return raw


def decide(
    r: Row, w: tuple[float, float, float], coefs: np.ndarray
) -> tuple[int, float, tuple[int, ...]]:
    """(entry, confidence, buttons) as HybridMatcher.match decides them."""
    s = fuse(r.ev, w)
    if r.fast:
        return r.fast_entry, 1.0, (r.fast_entry,)
    conf = semantic_confidence(s.features, tuple(coefs))
    if r.ev.off_topic >= s.features.sq:
        conf = min(conf, OFF_TOPIC_CAP)
    return s.order[0], conf, s.order


def table(label: str, rows: list[Row], w: tuple[float, float, float], coefs: np.ndarray) -> None:
    for t in (0.6, 0.7, 0.75, 0.8, 0.85, 0.9):
        parts = []
        for lang in ("en", "zh"):
            sub = [r for r in rows if r.lang == lang]
            cov = [r for r in sub if r.expected >= 0]
            oos = [r for r in sub if r.expected < 0]
            ans = right = helped = oos_ans = 0
            for r in cov:
                e, c, buttons = decide(r, w, coefs)
                if c >= t:
                    ans += 1
                    right += e == r.expected
                    helped += e == r.expected
                else:
                    helped += r.expected in buttons
            for r in oos:
                oos_ans += decide(r, w, coefs)[1] >= t
            parts.append(
                f"{lang} cov {ans / max(1, len(cov)):.0%} prec {right / max(1, ans):.1%} "
                f"self {helped / max(1, len(cov)):.0%} oos {oos_ans}/{len(oos)}"
            )
        print(f"  {label:10s} t={t:.2f}  " + " | ".join(parts))


def fit(
    data: dict[str, list[Row]], names: list[str]
) -> tuple[tuple[float, float, float], np.ndarray]:
    grid = [x / 10 for x in range(0, 11)]
    best_w, best = (0.8, 0.6, 0.1), -1.0
    for a, b, c in itertools.product(grid, grid, (0.0, 0.05, 0.1, 0.15, 0.2, 0.3)):
        if a + b == 0:
            continue
        score = sum(top1(data[n], (a, b, c)) for n in names) / len(names)
        if score > best + 1e-9:
            best_w, best = (a, b, c), score
    xs, ys, wts = [], [], []
    for n in names:
        rest = [r for r in data[n] if not r.fast]
        for r in rest:
            s = fuse(r.ev, best_w)
            xs.append(s.features.vector())
            ys.append(float(s.order[0] == r.expected))
            wts.append(1.0 / len(rest))
    wt = np.array(wts) * len(wts) / sum(wts)
    coefs = fit_logistic(np.array(xs), np.array(ys), wt)
    print(f"fitted on {', '.join(names)}: top-1 {best:.3f} at W = {best_w}")
    return best_w, coefs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--leave-one-out", action="store_true")
    args = ap.parse_args()
    data = {name: collect(name, kb, cases) for name, (kb, cases) in tuning_sets().items()}
    names = list(data)
    if args.leave_one_out:
        groups = {"shop3": ["shop", "shop3"], "cosmetics": ["cosmetics"], "home": ["home"]}
        for held in groups:
            w, coefs = fit(data, [n for n in names if n not in groups[held]])
            table(held, data[held], w, coefs)
    w, coefs = fit(data, names)
    for n in names:
        table(n, data[n], w, coefs)
    print(f"W_SQ = {w[0]}\nW_SA = {w[1]}\nW_LEX = {w[2]}")
    print("SEM_COEFS: tuple[float, ...] = (" + ", ".join(f"{c:.3f}" for c in coefs) + ")")
    shares = (f"{n} {sum(r.fast for r in data[n]) / len(data[n]):.0%}" for n in names)
    print(f"(fast path share: {', '.join(shares)})")


if __name__ == "__main__":
    main()
