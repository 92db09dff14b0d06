"""Fit the matcher's score weights and logistic confidence calibration (offline).

Tuning data only: the Bitext *tuning* half built by bench/bitext_eval.py (same seed) and, when
present, the shop dev set (tests/data/shop_dev.csv on faq/knowledge/shop.yaml). Never the
Bitext held-out half or the shop holdout.

1. Grid-search the four similarity weights (W_PW, W_PC, W_EW, W_EC, summing to 1) for the best
   mean top-1 accuracy over the datasets (re-ranking each query's candidate list).
2. With those weights, fit conf = sigmoid(CONF_COEFS . confidence_features(...)) (see
   faq.matcher.confidence_features: log score, log margin, known share, log coverage, sibling
   topics, query length, script) by Newton's method (L2 1e-3), label = "the top entry is the
   expected one" (out-of-scope questions are always negatives); each dataset gets the same
   total weight.
3. Print precision / coverage / out-of-scope-answered per answer threshold, to choose defaults.
Copy the printed constants into faq/matcher.py.

    python bench/fit_confidence.py
"""

from __future__ import annotations

import itertools
import math
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bitext_eval import build  # noqa: E402
from faq.evaluate import EvalCase, load_cases  # noqa: E402
from faq.human import wants_human  # noqa: E402
from faq.kb import load_kb  # noqa: E402
from faq.matcher import Matcher, ScoredEntry, confidence_features  # noqa: E402
from faq.sizing import advise  # noqa: E402


@dataclass
class Row:
    expected: str | None
    ranked: tuple[tuple[str, str, ScoredEntry], ...]  # (entry id, topic, scores)
    known: float
    n_content: int
    zh_share: float
    handoff_id: str | None


def collect(matcher: Matcher, cases: list[EvalCase]) -> list[Row]:
    rows: list[Row] = []
    kb = matcher.kb
    for c in cases:
        if advise(c.question, kb.size_chart) is not None and kb.get("size_recommendation"):
            continue  # answered by the size rule, not by the scores
        if kb.handoff_entry() is not None and wants_human(c.question):
            continue
        a = matcher.analyze(c.question)
        ranked = tuple(
            (kb.entries[r.entry_index].id, kb.entries[r.entry_index].topic, r) for r in a.ranked
        )
        ho = kb.handoff_entry()
        rows.append(
            Row(c.expected, ranked, a.known, a.n_content, a.zh_share, ho.id if ho else None)
        )
    return rows


def rescore(row: Row, w: tuple[float, float, float, float]) -> list[tuple[float, str, str, float]]:
    """(score, entry id, topic, coverage), best first, under the weights ``w``."""
    out = [
        (
            w[0] * r.phrase_word
            + w[1] * r.phrase_char
            + w[2] * r.entry_word
            + w[3] * r.entry_char,
            eid,
            topic,
            r.coverage,
        )
        for eid, topic, r in row.ranked
    ]
    out.sort(reverse=True)
    return out


def features(row: Row, w: tuple[float, float, float, float]) -> tuple[list[float], int] | None:
    ranked = rescore(row, w)
    if not ranked:
        return None
    s1, top_id, top_topic, cov = ranked[0]
    s2 = ranked[1][0] if len(ranked) > 1 else 0.0
    siblings = len(ranked) > 1 and ranked[1][2] == top_topic
    label = int(row.expected is not None and top_id == row.expected)
    x = confidence_features(s1, s1 - s2, row.known, cov, siblings, row.n_content, row.zh_share)
    return list(x), label


def solve(a: list[list[float]], b: list[float]) -> list[float]:
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for col in range(n):
        piv = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[piv] = m[piv], m[col]
        for r in range(n):
            if r != col:
                f = m[r][col] / m[col][col]
                for k in range(col, n + 1):
                    m[r][k] -= f * m[col][k]
    return [m[i][n] / m[i][i] for i in range(n)]


def fit_logistic(xs: list[list[float]], ys: list[int], ws: list[float]) -> list[float]:
    d = len(xs[0])
    beta = [0.0] * d
    for _ in range(50):
        grad = [0.0] * d
        hess = [[0.0] * d for _ in range(d)]
        for x, y, sw in zip(xs, ys, ws, strict=True):
            z = sum(b * v for b, v in zip(beta, x, strict=True))
            p = 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))
            for i in range(d):
                grad[i] += sw * (y - p) * x[i]
                for j in range(d):
                    hess[i][j] += sw * p * (1 - p) * x[i] * x[j]
        for i in range(d):
            grad[i] -= 1e-3 * beta[i]
            hess[i][i] += 1e-3
        step = solve(hess, grad)
        beta = [b + s for b, s in zip(beta, step, strict=True)]
        if max(abs(s) for s in step) < 1e-7:
            break
    return beta


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="fit_conf_"))
    build(tmp, seed=0, per_intent=5, n_oos=4)
    datasets: list[tuple[str, Matcher, list[EvalCase]]] = []
    bkb = load_kb(tmp / "kb.yaml")
    datasets.append(("bitext-tuning", Matcher(bkb), load_cases(tmp / "tuning.csv", bkb)))
    shop_dev = ROOT / "tests/data/shop_dev.csv"
    if shop_dev.exists():
        skb = load_kb(ROOT / "faq/knowledge/shop.yaml")
        datasets.append(("shop-dev", Matcher(skb), load_cases(shop_dev, skb)))
    data = {name: collect(m, cases) for name, m, cases in datasets}

    # Each similarity keeps at least 0.05: a weight of 0 would be fitted to these two sets'
    # quirks (e.g. Bitext has few typos the char group would catch).
    grid = [x / 20 for x in range(1, 21)]
    best_w, best_acc = (0.35, 0.25, 0.25, 0.15), -1.0
    for a, b, c in itertools.product(grid, grid, grid):
        d = 1.0 - a - b - c
        if d < 0.05 - 1e-9:
            continue
        w = (a, b, c, max(0.0, d))
        accs = []
        for rows in data.values():
            covered = [r for r in rows if r.expected is not None]
            ok = sum(1 for r in covered if (rs := rescore(r, w)) and rs[0][1] == r.expected)
            accs.append(ok / max(1, len(covered)))
        acc = sum(accs) / len(accs)
        if acc > best_acc + 1e-9:
            best_acc, best_w = acc, w
    print(f"weights W_PW, W_PC, W_EW, W_EC = {best_w}  mean top-1 {best_acc:.4f}")

    xs: list[list[float]] = []
    ys: list[int] = []
    ws: list[float] = []
    for rows in data.values():
        feats_rows = [f for r in rows if (f := features(r, best_w)) is not None]
        for x, y in feats_rows:
            xs.append(x)
            ys.append(y)
            ws.append(1.0 / len(feats_rows))
    beta = fit_logistic(xs, ys, ws)
    print("CONF_COEFS = (" + ", ".join(f"{b:.3f}" for b in beta) + ")")

    for name, drows in data.items():
        print(f"\n{name}: threshold -> precision / coverage / out-of-scope answered")
        feats = [(f, r) for r in drows if (f := features(r, best_w)) is not None]
        for t in (0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9):
            ans = ok = oos = oos_ans = cov = 0
            conf: float
            for (x, y), r in feats:
                conf = 1 / (1 + math.exp(-sum(b * v for b, v in zip(beta, x, strict=True))))
                if r.handoff_id is not None and rescore(r, best_w)[0][1] == r.handoff_id:
                    conf = min(conf, t - 1e-9)  # the matcher never answers the handoff entry
                if r.expected is None:
                    oos += 1
                    oos_ans += int(conf >= t)
                    continue
                cov += 1
                if conf >= t:
                    ans += 1
                    ok += y
            print(f"  {t:.2f}: {ok / max(1, ans):.3f} / {ans / max(1, cov):.3f} / {oos_ans}/{oos}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
