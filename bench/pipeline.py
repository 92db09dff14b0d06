"""Full-pipeline throughput against a bare aiogram Dispatcher, as a ratio measured in one run.

Pipeline: the production ``create_dispatcher(build_app(settings))`` on a fresh SQLite file
(migrations applied), a Bot on ``LocalSession`` and pre-built *bound* updates, each a distinct
free-text question (zh and en phrasings from the KB with small variations, plus off-topic
ones) from one of many users: middlewares, the FAQ matcher, the database writes and the reply
(a SendMessage recorded by LocalSession).

Bare: ``Dispatcher()`` with one router with one async handler that does nothing, the same Bot,
the same number of pre-built updates.

Both run in the same process, interleaved per round after a warm-up, sequentially (one
``feed_update`` after another) and concurrently (``asyncio.gather`` in batches); medians over
the rounds are reported. At the end the database is checked: one ``faq_interactions`` row and
one SendMessage per pipeline update.

    python bench/pipeline.py [--updates 2000] [--concurrency 50] [--rounds 5] [--users 500]
                             [--database-url postgresql+asyncpg://...] [--profile out.prof]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import logging
import os
import platform
import pstats
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiogram import Bot, Dispatcher, Router  # noqa: E402
from aiogram.methods import SendMessage  # noqa: E402
from aiogram.types import Message, Update  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from bot.app import App, build_app, create_bot, create_dispatcher  # noqa: E402
from bot.config import DEFAULT_FAQ_PATH, Settings  # noqa: E402
from bot.local import LocalSession  # noqa: E402
from faq import KnowledgeBase, load_kb, normalize, wants_human  # noqa: E402
from storage.models import FaqInteraction, ProcessedUpdate  # noqa: E402

TOKEN = "123456789:AAbenchbenchbenchbenchbenchbenchbench"  # noqa: S105 (a fake token)
FIRST_USER_ID = 700_000_000

EN_PREFIX = (
    "",
    "",
    "",
    "hi, ",
    "hello ",
    "hey, ",
    "excuse me, ",
    "quick question: ",
    "Hi there! ",
)
EN_SUFFIX = ("", "", "?", "??", " please", " thanks", " thx", " asap", "!")
ZH_PREFIX = ("", "", "", "亲，", "请问", "你好，", "在吗 ", "老板 ", "急！", "您好 ")
ZH_SUFFIX = ("", "", "？", "，谢谢", "呢", "啊", "。。", " 急", "～")
# Questions the shop's FAQ does not cover (they end as clarify / no-match, and after two
# misses in a row as a recorded handoff: the slower path of `ask`).
OFF_TOPIC = (
    "do you sell bicycles",
    "what's the weather like in Shanghai tomorrow",
    "can I bring my dog to the store",
    "who designed your logo",
    "is the CEO married",
    "do you have a physical shop in Berlin",
    "what is the meaning of life",
    "recommend me a good movie",
    "are you a robot or a cat",
    "how tall is the Eiffel tower",
    "can you write my homework",
    "do you sponsor football teams",
    "你们卖自行车吗",
    "明天上海天气怎么样",
    "你们老板是谁",
    "给我讲个笑话",
    "你喜欢吃火锅吗",
    "附近有什么好吃的",
    "你们公司有多少员工",
    "可以帮我写作业吗",
    "你们招聘吗",
    "今天星期几",
)
OFF_TOPIC_SHARE = 0.15
USER_LANGS = ("en", "zh-hans", "zh", "en", None, "ru")


# ------------------------------------------------------------------ workload


def _typo(rng: random.Random, s: str) -> str:
    """Swap two adjacent letters inside one longer English word."""
    words = s.split(" ")
    idx = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not idx:
        return s
    i = rng.choice(idx)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def _vary(rng: random.Random, base: str) -> str:
    if any("\u4e00" <= ch <= "\u9fff" for ch in base):
        return rng.choice(ZH_PREFIX) + base.rstrip("？?。") + rng.choice(ZH_SUFFIX)
    s = base.rstrip("?!. ")
    r = rng.random()
    if r < 0.35:
        s = s.lower()
    elif r < 0.45:
        s = s[:1].upper() + s[1:]
    if rng.random() < 0.15:
        s = _typo(rng, s)
    return rng.choice(EN_PREFIX) + s + rng.choice(EN_SUFFIX)


class QuestionPool:
    """Distinct realistic questions: every one is new to the process (no warm caches)."""

    def __init__(self, kb: KnowledgeBase, seed: int) -> None:
        self.rng = random.Random(seed)
        self.kb_questions = [q for e in kb.entries for _lang, q in e.all_questions()]
        self.seen: set[str] = set()

    def _candidate(self) -> str:
        if self.rng.random() < OFF_TOPIC_SHARE:
            return _vary(self.rng, self.rng.choice(OFF_TOPIC))
        return _vary(self.rng, self.rng.choice(self.kb_questions))

    def take(self, n: int) -> list[str]:
        out: list[str] = []
        tries = 0
        while len(out) < n:
            tries += 1
            q = self._candidate()
            if tries > 50 * n:  # the space is exhausted: allow repeats, still valid work
                self.seen.clear()
            # An explicit request for a human takes a path without an faq_interactions row
            # (and is not a "FAQ question"): keep the workload to questions.
            if q in self.seen or wants_human(q) or not normalize(q).strip() or q.startswith("/"):
                continue
            self.seen.add(q)
            out.append(q)
        return out


@dataclass
class UpdateFactory:
    bot: Bot
    users: int
    seed: int
    next_update_id: int = 1

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        self.langs = [rng.choice(USER_LANGS) for _ in range(self.users)]
        self.names = [
            rng.choice(("Ann", "李雷", "Bob", "韩梅梅", "Chen", "Dana")) for _ in range(self.users)
        ]
        self.rng = rng
        self.message_ids: Counter[int] = Counter()
        self.date = int(time.time())

    def build(self, questions: Sequence[str]) -> list[Update]:
        """Bound Update objects (validated once, here, not in the timed loop)."""
        out: list[Update] = []
        for q in questions:
            u = self.rng.randrange(self.users)
            uid = FIRST_USER_ID + u
            self.message_ids[uid] += 1
            user: dict[str, Any] = {"id": uid, "is_bot": False, "first_name": self.names[u]}
            if self.langs[u] is not None:
                user["language_code"] = self.langs[u]
            raw = {
                "update_id": self.next_update_id,
                "message": {
                    "message_id": self.message_ids[uid],
                    "date": self.date,
                    "chat": {"id": uid, "type": "private", "first_name": self.names[u]},
                    "from": user,
                    "text": q,
                },
            }
            self.next_update_id += 1
            out.append(Update.model_validate(raw, context={"bot": self.bot}))
        return out


# ------------------------------------------------------------------ runners


@dataclass
class Run:
    seconds: float
    latencies: list[float]

    def rate(self, n: int) -> float:
        return n / self.seconds


async def run_sequential(dp: Dispatcher, bot: Bot, updates: Sequence[Update]) -> Run:
    lat: list[float] = []
    clock = time.perf_counter
    t0 = clock()
    for upd in updates:
        s = clock()
        await dp.feed_update(bot, upd)
        lat.append(clock() - s)
    return Run(clock() - t0, lat)


async def run_concurrent(dp: Dispatcher, bot: Bot, updates: Sequence[Update], batch: int) -> Run:
    """Batches of `batch` updates at once; latency = from the batch's start to completion."""
    lat: list[float] = []
    clock = time.perf_counter

    async def one(upd: Update, start: float) -> None:
        await dp.feed_update(bot, upd)
        lat.append(clock() - start)

    t0 = clock()
    for i in range(0, len(updates), batch):
        start = clock()
        await asyncio.gather(*(one(u, start) for u in updates[i : i + batch]))
    return Run(clock() - t0, lat)


def bare_dispatcher() -> Dispatcher:
    dp = Dispatcher()
    router = Router(name="bare")

    @router.message()
    async def empty(message: Message) -> None:
        return None

    dp.include_router(router)
    return dp


def pct(values: Sequence[float], p: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


# ------------------------------------------------------------------ environment


def machine_line() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores ({usable} usable), {system}"


def versions_line() -> str:
    parts = [f"Python {platform.python_version()}"]
    for pkg in ("aiogram", "SQLAlchemy", "aiosqlite", "pydantic", "asyncpg", "rapidfuzz"):
        try:
            parts.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            continue
    parts.append(f"SQLite {sqlite3.sqlite_version}")
    return ", ".join(parts)


class ErrorCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if self.first is None:
            self.first = self.format(record)[:2000]


# ------------------------------------------------------------------ main


async def db_counts(engine: AsyncEngine) -> tuple[int, int, int]:
    async with engine.connect() as conn:
        inter = (await conn.execute(select(func.count()).select_from(FaqInteraction))).scalar_one()
        processed = (
            await conn.execute(select(func.count()).select_from(ProcessedUpdate))
        ).scalar_one()
        max_id = (await conn.execute(select(func.max(ProcessedUpdate.update_id)))).scalar_one()
    return int(inter), int(processed), int(max_id or 0)


async def outcome_mix(engine: AsyncEngine, since_id: int) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(FaqInteraction.outcome, func.count())
            .where(FaqInteraction.id > since_id)
            .group_by(FaqInteraction.outcome)
        )
        mix = {str(o): int(c) for o, c in rows}
        handoffs = (await conn.execute(text("SELECT count(*) FROM tickets"))).scalar_one()
    mix["(tickets opened)"] = int(handoffs)
    return mix


async def main(args: argparse.Namespace) -> int:
    tmp = tempfile.TemporaryDirectory(prefix="bench-pipeline-")
    db_url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp.name) / 'bench.db'}"
    settings = Settings(
        bot_token=TOKEN,
        database_url=db_url,
        faq_path=args.faq,
        flood_max_messages=10**9,
        faq_semantic=args.semantic,
        faq_embedding_cache=Path(tmp.name) / "emb" if args.cold_cache else args.embedding_cache,
        _env_file=None,
    )
    app: App = await build_app(settings)
    pipe_dp = create_dispatcher(app)
    bare_dp = bare_dispatcher()
    session = LocalSession()
    bot = create_bot(settings, session=session)

    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)
    logging.getLogger().setLevel(logging.WARNING)

    inter0, processed0, max_update = await db_counts(app.engine)
    async with app.engine.connect() as conn:
        last_inter = (await conn.execute(select(func.max(FaqInteraction.id)))).scalar_one() or 0

    kb = load_kb(args.faq)
    pool = QuestionPool(kb, args.seed)
    factory = UpdateFactory(bot, args.users, args.seed, next_update_id=max_update + 1)
    n, c, rounds = args.updates, args.concurrency, args.rounds
    warm = min(n, args.warmup)

    print(f"date:     {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}")
    print(f"machine:  {machine_line()}")
    print(f"versions: {versions_line()}")
    where = "given URL" if args.database_url else "fresh file in a temp dir, migrated"
    print(f"database: {app.engine.dialect.name} ({where})")
    kind = "hybrid (embedding model)" if app.matcher.uses_model else "lexical"
    print(f"matcher:  {kind} (--semantic {args.semantic})")
    print(
        f"workload: {n} updates per run, {args.users} users, {rounds} rounds, "
        f"concurrency {c} (gather batches), warm-up {warm}, KB {len(kb.entries)} entries, "
        f"loop {type(asyncio.get_running_loop()).__name__}"
    )

    t_build = time.perf_counter()
    # Pre-build everything (distinct texts and update ids for every pipeline run).
    plan: list[tuple[str, str, list[Update]]] = []
    pipeline_updates = 0
    for mode in ("seq", "conc"):
        plan.append(("warm-" + mode, "pipe", factory.build(pool.take(warm))))
        plan.append(("warm-" + mode, "bare", factory.build(pool.take(warm))))
        pipeline_updates += warm
    for r in range(rounds):
        # Alternate which side goes first each round to cancel drift (heat, GC, WAL growth).
        order = ("pipe", "bare") if r % 2 == 0 else ("bare", "pipe")
        for mode in ("seq", "conc"):
            for side in order:
                plan.append((f"{r}-{mode}", side, factory.build(pool.take(n))))
                if side == "pipe":
                    pipeline_updates += n
    built = sum(len(p[2]) for p in plan)
    print(f"built {built} bound updates in {time.perf_counter() - t_build:.1f}s (not timed)")

    by_round: dict[tuple[str, str, str], float] = {}  # (round, side, mode) -> upd/s
    pipe_lat: dict[str, list[float]] = {"seq": [], "conc": []}
    for tag, side, updates in plan:
        r_idx, mode = tag.split("-", 1)
        dp = pipe_dp if side == "pipe" else bare_dp
        if mode == "seq":
            run = await run_sequential(dp, bot, updates)
        else:
            run = await run_concurrent(dp, bot, updates, c)
        if r_idx == "warm":
            continue
        by_round[(r_idx, side, mode)] = run.rate(len(updates))
        if side == "pipe":
            pipe_lat[mode].extend(run.latencies)
        if args.verbose:
            print(f"  round {r_idx} {mode:4} {side}: {run.rate(len(updates)):10.0f} upd/s")

    rates: dict[tuple[str, str], list[float]] = {}
    ratios: dict[str, list[float]] = {"seq": [], "conc": []}
    for r in range(rounds):
        for mode in ("seq", "conc"):
            pipe, bare = by_round[(str(r), "pipe", mode)], by_round[(str(r), "bare", mode)]
            rates.setdefault(("pipe", mode), []).append(pipe)
            rates.setdefault(("bare", mode), []).append(bare)
            ratios[mode].append(pipe / bare)

    med = statistics.median
    print()
    print(f"{'':26}{'sequential':>14}{f'concurrent ({c})':>18}")
    for side, label in (("bare", "bare Dispatcher, upd/s"), ("pipe", "full pipeline, upd/s")):
        print(f"{label:26}{med(rates[(side, 'seq')]):14.0f}{med(rates[(side, 'conc')]):18.0f}")
    print(
        f"{'ratio pipeline/bare':26}{med(ratios['seq']):14.4f}{med(ratios['conc']):18.4f}"
        f"   (median of per-round ratios; 1/{1 / med(ratios['seq']):.0f} and "
        f"1/{1 / med(ratios['conc']):.0f})"
    )
    print(f"{'  per round (seq)':26}" + " ".join(f"{x:.4f}" for x in ratios["seq"]))
    print(f"{'  per round (conc)':26}" + " ".join(f"{x:.4f}" for x in ratios["conc"]))
    print(
        f"{'pipeline latency p50 ms':26}{pct(pipe_lat['seq'], 50) * 1e3:14.2f}"
        f"{pct(pipe_lat['conc'], 50) * 1e3:18.2f}"
    )
    print(
        f"{'pipeline latency p99 ms':26}{pct(pipe_lat['seq'], 99) * 1e3:14.2f}"
        f"{pct(pipe_lat['conc'], 99) * 1e3:18.2f}"
    )
    print("  (concurrent latency: from the batch's arrival to the update's completion)")

    if args.profile:
        prof_updates = factory.build(pool.take(n))
        pipeline_updates += n
        profiler = cProfile.Profile()
        profiler.enable()
        run = await run_sequential(pipe_dp, bot, prof_updates)
        profiler.disable()
        profiler.dump_stats(args.profile)
        print(
            f"\nprofile: {n} sequential pipeline updates, {run.rate(n):.0f} upd/s under "
            f"cProfile, written to {args.profile}"
        )
        print_profile(args.profile, n)

    # ---- correctness
    inter1, processed1, _ = await db_counts(app.engine)
    sent = len(session.sent(SendMessage))
    inter = inter1 - inter0
    processed = processed1 - processed0
    ok = inter == pipeline_updates == sent == processed and errors.count == 0
    print()
    print(
        f"check: pipeline updates {pipeline_updates}, faq_interactions rows {inter}, "
        f"processed_updates rows {processed}, SendMessage requests {sent}, "
        f"other requests {len(session.requests) - sent}, errors logged {errors.count} "
        f"-> {'OK' if ok else 'MISMATCH'}"
    )
    print(f"outcomes: {await outcome_mix(app.engine, int(last_inter))}")
    if errors.first:
        print(f"first error: {errors.first}")
    await bot.session.close()
    await app.close()
    tmp.cleanup()
    return 0 if ok else 1


CATEGORIES: tuple[tuple[str, str], ...] = (
    ("/faq/", "faq matcher (project)"),
    ("rapidfuzz", "faq matcher (rapidfuzz)"),
    ("/sqlalchemy/", "SQLAlchemy"),
    ("/aiosqlite/", "aiosqlite (main-thread side)"),
    ("/asyncpg/", "asyncpg"),
    ("/pydantic", "pydantic"),
    ("/aiogram/", "aiogram"),
    ("/fluent", "fluent (texts)"),
    ("/work/main/", "project code (bot, handlers, support, storage)"),
    ("/asyncio/", "asyncio event loop"),
    ("threading.py", "threading (futures, locks)"),
    ("/concurrent/", "threading (futures, locks)"),
)


def _category(filename: str, funcname: str) -> str:
    if filename == "~":
        if "poll" in funcname or "select" in funcname:
            return "idle in epoll (waiting for DB thread)"
        if "sqlite3" in funcname:
            return "sqlite3 C calls (main thread)"
        return "builtins / C calls"
    for needle, name in CATEGORIES:
        if needle in filename:
            return name
    return "other Python (stdlib, typing...)"


def print_profile(path: str, n: int) -> None:
    st = pstats.Stats(path)
    raw: dict[Any, Any] = st.stats  # type: ignore[attr-defined]
    by_cat: Counter[str] = Counter()
    total = 0.0
    for (filename, _line, funcname), (_cc, _nc, tt, _ct, _callers) in raw.items():
        by_cat[_category(filename, funcname)] += tt
        total += tt
    print(f"\nown time by area, per update (total {total / n * 1e6:.0f} us/update):")
    for cat, tt in by_cat.most_common():
        print(f"  {cat:48} {tt / n * 1e6:8.0f} us  {tt / total:6.1%}")
    print("\ntop functions by own time:")
    st.sort_stats("tottime").print_stats(25)
    print("top functions by cumulative time:")
    st.sort_stats("cumulative").print_stats(40)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--updates", type=int, default=2000, help="updates per run (default 2000)")
    p.add_argument("--concurrency", type=int, default=50, help="gather batch size (default 50)")
    p.add_argument("--rounds", type=int, default=5, help="rounds; medians are reported")
    p.add_argument("--users", type=int, default=500, help="distinct users (default 500)")
    p.add_argument("--warmup", type=int, default=300, help="warm-up updates per side and mode")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--faq", type=Path, default=DEFAULT_FAQ_PATH, help="knowledge base YAML")
    p.add_argument(
        "--database-url",
        default=None,
        help="default: a fresh SQLite file in a temp dir; or postgresql+asyncpg://... "
        "(rows are counted as differences, the database is not wiped)",
    )
    p.add_argument(
        "--semantic",
        choices=("auto", "on", "off"),
        default="off",
        help="FAQ matcher: on = hybrid (the embedding model), off = lexical (default)",
    )
    p.add_argument("--embedding-cache", type=Path, default=Path("data/faq-embeddings"))
    p.add_argument("--cold-cache", action="store_true", help="embed the FAQ anew (not timed)")
    p.add_argument("--profile", metavar="FILE", help="also cProfile one sequential pipeline run")
    p.add_argument("-v", "--verbose", action="store_true", help="print every round")
    return p.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse_args())))
