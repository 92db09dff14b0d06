"""Matcher latency: index build time and per-query p50/p99 at 1,000 and 10,000 phrasings.

Two modes:

``--semantic``: the hybrid matcher (faq/hybrid.py, the model included) on one core. The
FAQ is the three shop FAQs of the repository (shop, cosmetics, electronics; ids prefixed),
filled up to N phrasings with Bitext entries as below; the questions are the test sets' own
(tests/data/shop_dev.csv, shop_holdout.csv, faqs/cosmetics.csv, faqs/electronics.csv:
typos, mixed zh/en, long rambling messages, out-of-scope ones). Reports the start-up with
an empty and with a warm embedding cache, p50/p99 over all questions, and how many took
each route (rule, lexical fast path, model).

Default (lexical matcher only):

Synthetic-but-realistic KBs: English phrasings sampled from the Bitext 20k file (grouped by
intent into entries of 10 phrasings, so 1k phrasings -> ~100 entries, 10k -> ~1,000 entries)
plus ~10% Chinese phrasings derived from the shop KB's zh questions (with common chat
prefixes/suffixes). Queries: 2,000 Bitext utterances not in the KB + 200 Chinese/mixed ones.
Single thread, after one warm-up pass over 200 queries.

    python bench/matcher_latency.py [--sizes 1000 10000] [--seed 0] [--semantic]
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from faq.kb import load_kb, parse_kb  # noqa: E402
from faq.matcher import Matcher  # noqa: E402

DATA = Path("/work/shared/datasets/bitext-customer-support/bitext_customer_support_20k.csv")
ZH_PREFIX = ("", "", "亲，", "请问", "你好，", "在吗 ", "老板 ", "急！")
ZH_SUFFIX = ("", "", "？", "，谢谢", "呢", "啊", "。。", " 急")


def load_utterances() -> dict[str, list[str]]:
    by_intent: dict[str, list[str]] = defaultdict(list)
    seen: set[str] = set()
    with DATA.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            u = row["utterance"].strip()
            if u and u.lower() not in seen:
                seen.add(u.lower())
                by_intent[row["intent"].strip()].append(u)
    return by_intent


def zh_questions() -> list[str]:
    path = ROOT / "faq/knowledge/shop.yaml"
    if not path.exists():
        return ["我的订单到哪了", "多久发货", "怎么退货", "运费多少", "可以开发票吗"]
    kb = load_kb(path)
    return [q for e in kb.entries for q in e.questions.get("zh", ())]


def make_kb(
    n: int, rng: random.Random, pool: list[tuple[str, str]], zh: list[str]
) -> dict[str, object]:
    n_zh = n // 10
    sample = rng.sample(pool, n - n_zh)
    by_intent: dict[str, list[str]] = defaultdict(list)
    for u, intent in sample:
        by_intent[intent].append(u)
    entries: list[dict[str, object]] = []
    for intent in sorted(by_intent):
        utts = by_intent[intent]
        entries.extend(
            {
                "id": f"{intent}_{k // 10}",
                "topic": "other",
                "questions": {"en": utts[k : k + 10]},
                "answer": {"en": "..."},
            }
            for k in range(0, len(utts), 10)
        )
    zh_q = [rng.choice(ZH_PREFIX) + rng.choice(zh) + rng.choice(ZH_SUFFIX) for _ in range(n_zh)]
    entries.extend(
        {
            "id": f"zh_{k // 10}",
            "topic": "other",
            "questions": {"zh": zh_q[k : k + 10]},
            "answer": {"zh": "..."},
        }
        for k in range(0, n_zh, 10)
    )
    return {"entries": entries}


SHOP_SETS = (
    (
        "shop",
        "faq/knowledge/shop.yaml",
        ("tests/data/shop_dev.csv", "tests/data/shop_holdout.csv"),
    ),
    ("cosmetics", "tests/data/faqs/cosmetics.yaml", ("tests/data/faqs/cosmetics.csv",)),
    ("electronics", "tests/data/faqs/electronics.yaml", ("tests/data/faqs/electronics.csv",)),
)


def shop_entries_and_questions() -> tuple[list[dict[str, object]], list[str]]:
    entries: list[dict[str, object]] = []
    questions: list[str] = []
    for name, kb_path, case_paths in SHOP_SETS:
        for path in case_paths:
            with (ROOT / path).open(encoding="utf-8") as fh:
                questions.extend(row["question"] for row in csv.DictReader(fh))
        if not kb_path:
            continue
        kb = load_kb(ROOT / kb_path)
        entries.extend(
            {
                "id": f"{name[:4]}_{e.id}"[:32],
                "topic": e.topic,
                "questions": {lang: list(qs) for lang, qs in e.questions.items()},
                "answer": dict(e.answer),
                **({"action": e.action} if e.action and name == "shop" else {}),
            }
            for e in kb.entries
        )
    return entries, questions


def semantic(sizes: list[int], rng: random.Random, pool: list[tuple[str, str]]) -> int:
    from faq.embedding import load_embedder
    from faq.hybrid import HybridMatcher

    embedder = load_embedder(threads=1, on_unavailable=lambda why: print(f"no model: {why}"))
    if embedder is None:
        return 1
    shop, questions = shop_entries_and_questions()
    zh = zh_questions()
    print(
        f"{'phrasings':>9} {'entries':>7} {'cold s':>7} {'warm s':>7} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'max ms':>7} {'model p50':>9} {'model p99':>9}  routes"
    )
    for n in sizes:
        n_shop = sum(len(e.all_questions()) for e in parse_kb({"entries": shop}).entries)
        filler = make_kb(max(0, n - n_shop), rng, pool, zh)["entries"]
        assert isinstance(filler, list)
        kb = parse_kb({"entries": shop + filler}, source=f"shops+bitext-{n}")
        cache = ROOT / "data" / "bench-embeddings" / str(n)
        t0 = time.perf_counter()
        HybridMatcher(kb, embedder, cache_dir=cache)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        matcher = HybridMatcher(kb, embedder, cache_dir=cache)
        warm = time.perf_counter() - t0
        for q in questions[:50]:
            matcher.match(q)
        times: list[float] = []
        model_times: list[float] = []
        routes: dict[str, int] = defaultdict(int)
        for q in questions:
            t = time.perf_counter()
            r = matcher.match(q)
            ms = (time.perf_counter() - t) * 1000
            times.append(ms)
            routes[r.route] += 1
            if r.route == "semantic":
                model_times.append(ms)
        times.sort()
        model_times.sort()
        n_phr = sum(len(qs) for e in kb.entries for qs in e.questions.values())
        shares = " ".join(f"{k} {v / len(questions):.0%}" for k, v in sorted(routes.items()))
        print(
            f"{n_phr:>9} {len(kb.entries):>7} {cold:>7.1f} {warm:>7.2f} {_pct(times, 0.5):>7.2f} "
            f"{_pct(times, 0.99):>7.2f} {times[-1]:>7.2f} {_pct(model_times, 0.5):>9.2f} "
            f"{_pct(model_times, 0.99):>9.2f}  {shares} (of {len(questions)} questions)"
        )
    return 0


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--semantic", action="store_true", help="the hybrid matcher (model included)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    by_intent = load_utterances()
    pool = [(u, i) for i, us in by_intent.items() for u in us]
    rng.shuffle(pool)
    if args.semantic:
        return semantic(args.sizes, rng, pool[2000:])
    queries_en = [u for u, _ in pool[:2000]]
    kb_pool = pool[2000:]
    zh = zh_questions()
    queries_zh = [
        rng.choice(ZH_PREFIX) + rng.choice(zh) + rng.choice(ZH_SUFFIX) for _ in range(150)
    ]
    queries_zh += [f"我的{w}到哪了" for w in ("order", "package", "refund", "parcel")] * 10
    queries_zh += ["想问下 invoice 怎么开", "return 要几天"] * 5
    queries = queries_en + queries_zh
    print(
        f"{'phrasings':>9} {'entries':>7} {'build s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'mean ms':>7} {'4096-char ms':>12}"
    )
    for n in args.sizes:
        data = make_kb(n, rng, kb_pool, zh)
        kb = parse_kb(data, source=f"synthetic-{n}")
        t0 = time.perf_counter()
        matcher = Matcher(kb)
        build_s = time.perf_counter() - t0
        for q in queries[:200]:
            matcher.match(q)
        times: list[float] = []
        for q in queries:
            t = time.perf_counter()
            matcher.match(q)
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        p50 = times[len(times) // 2]
        p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
        long_text = (" ".join(queries_en[:200]))[:4096]
        t = time.perf_counter()
        matcher.match(long_text)
        long_ms = (time.perf_counter() - t) * 1000
        n_phr = sum(len(qs) for e in kb.entries for qs in e.questions.values())
        print(
            f"{n_phr:>9} {len(kb.entries):>7} {build_s:>8.2f} {p50:>7.3f} {p99:>7.3f} "
            f"{times[-1]:>7.3f} {statistics.fmean(times):>7.3f} {long_ms:>12.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
