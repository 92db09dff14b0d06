"""Matcher latency: index build time and per-query p50/p99 at 1,000 and 10,000 phrasings.

Synthetic-but-realistic KBs: English phrasings sampled from the Bitext 20k file (grouped by
intent into entries of 10 phrasings, so 1k phrasings -> ~100 entries, 10k -> ~1,000 entries)
plus ~10% Chinese phrasings derived from the shop KB's zh questions (with common chat
prefixes/suffixes). Queries: 2,000 Bitext utterances not in the KB + 200 Chinese/mixed ones.
Single thread, after one warm-up pass over 200 queries.

    python bench/matcher_latency.py [--sizes 1000 10000] [--seed 0]
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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    by_intent = load_utterances()
    pool = [(u, i) for i, us in by_intent.items() for u in us]
    rng.shuffle(pool)
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
