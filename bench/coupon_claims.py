"""10,000 distinct members tap Claim on a 1,000-unit drop, through the production Dispatcher.

The bot is `create_dispatcher(build_app(settings))` on a fresh database with a Bot on
`LocalSession` (the fake Bot API in process: every answerCallbackQuery is recorded).
The drop is created live; 10,000 callback updates from distinct users in the community
group are pre-built (bound to the bot) and fed with `feed_update`, `--concurrency` at a
time. `--inbox` feeds them as the polling inbox does in production (already
de-duplicated: the middleware skips its update-id insert).

Reported: taps per second over the whole run, winners per second (the 1,000 successful
claims over the time to sell out), the time to sell out (from the first tap to the answer
of the last winner), the process's CPU time, tap latency p50/p99, and checks: exactly
1,000 codes issued to 1,000 distinct members, the drop sold out, every other tap answered
"sold out".

    python bench/coupon_claims.py [--taps 10000] [--quantity 1000] [--concurrency 50]
                                  [--inbox] [--database-url postgresql+asyncpg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiogram.methods import AnswerCallbackQuery  # noqa: E402
from aiogram.types import Update  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from bot.app import build_app, create_bot, create_dispatcher  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.local import LocalSession  # noqa: E402
from community import drops  # noqa: E402
from storage.engine import create_engine  # noqa: E402
from storage.models import CouponCode, CouponDrop  # noqa: E402


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def machine() -> str:
    versions = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("aiogram", "SQLAlchemy", "aiosqlite")
    )
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}, "
        f"{versions}, SQLite {sqlite3.sqlite_version}"
    )


GROUP = -1001000000001
FIRST_USER = 10_000_000
BENCH_TOKEN = "123456:BENCH"  # noqa: S105 (never leaves the process: LocalSession)


async def reset_postgres(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def tap(update_id: int, user_id: int, data: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": str(update_id),
            "from": {"id": user_id, "is_bot": False, "first_name": f"m{user_id}",
                     "language_code": "zh"},
            "chat_instance": "bench",
            "data": data,
            "message": {"message_id": 7, "date": 1, "chat": {"id": GROUP, "type": "supergroup",
                        "title": "Community"}, "text": "drop"},
        },
    }  # fmt: skip


async def main(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="bench-claims-"))
    url = args.database_url or f"sqlite+aiosqlite:///{work / 'claims.db'}"
    if url.startswith("postgresql"):
        await reset_postgres(url)
    settings = load_settings(
        _env_file=None,
        bot_token=BENCH_TOKEN,
        database_url=url,
        community_chat_id=GROUP,
        admin_ids=(1,),
    )
    app = await build_app(settings)
    local = LocalSession()
    bot = create_bot(settings, session=local)
    dp = create_dispatcher(app)
    async with app.session_factory() as session:
        drop = await drops.create_drop(
            session,
            title="Bench",
            discount="10 off",
            quantity=args.quantity,
            starts_at=app.clock(),
            created_by=1,
            now=app.clock(),
        )
    data = f"claim:{drop.id}"
    updates = [
        Update.model_validate(tap(i + 1, FIRST_USER + i, data), context={"bot": bot})
        for i in range(args.taps)
    ]
    latencies: list[float] = []
    done_at: dict[str, float] = {}  # callback query id -> when its update was handled
    gate = asyncio.Semaphore(args.concurrency)
    extra = {"from_inbox": True} if args.inbox else {}
    start_len = len(local.requests)

    async def one(update: Update) -> None:
        async with gate:
            t0 = time.perf_counter()
            await dp.feed_update(bot, update, **extra)
            t1 = time.perf_counter()
            latencies.append(t1 - t0)
            assert update.callback_query is not None
            done_at[update.callback_query.id] = t1

    t_start, cpu_start = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(u) for u in updates))
    wall, cpu = time.perf_counter() - t_start, time.process_time() - cpu_start

    answers = [m for m in local.requests[start_len:] if isinstance(m, AnswerCallbackQuery)]
    outcomes = Counter(a.text for a in answers)
    # The winners are the taps answered with a link (the toast opens the bot's chat).
    won = [done_at[a.callback_query_id] - t_start for a in answers if a.url]
    sell_out = max(won) if won else float("nan")
    async with app.session_factory() as session:
        issued = await session.scalar(
            select(func.count()).select_from(CouponCode).where(CouponCode.user_id.is_not(None))
        )
        members = await session.scalar(
            select(func.count(func.distinct(CouponCode.user_id))).where(
                CouponCode.drop_id == drop.id
            )
        )
        final = await session.get(CouponDrop, drop.id)
    await bot.session.close()
    await app.close()

    db = "postgresql" if url.startswith("postgresql") else "sqlite"
    print(machine())
    print(
        f"setup: {args.taps} distinct members, drop of {args.quantity}, {db}, "
        f"concurrency {args.concurrency}, {'inbox path' if args.inbox else 'plain feed_update'}"
    )
    print(f"taps/s (all taps):      {args.taps / wall:8.0f}   ({wall:.2f} s)")
    print(f"CPU time of the process: {cpu:7.2f} s   (all threads; on a shared machine)")
    p50, p99 = pct(latencies, 50) * 1000, pct(latencies, 99) * 1000
    print(f"tap latency p50 / p99:  {p50:.1f} / {p99:.1f} ms")
    print(f"winners/s:              {len(won) / sell_out:8.0f}   ({len(won)} winners)")
    print(f"time to sell out:       {sell_out:8.2f} s   (start to the last winner's answer)")
    print(f"answers:                {dict(outcomes)}")
    ok = (
        issued == args.quantity
        and members == args.quantity
        and final is not None
        and final.status == "sold_out"
        and len(answers) == args.taps
        and len(outcomes) == 2
        and len(won) == args.quantity
    )
    print(f"issued {issued}, distinct members {members}, status {final.status if final else '?'}")
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--taps", type=int, default=10_000)
    p.add_argument("--quantity", type=int, default=1_000)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--inbox", action="store_true")
    p.add_argument("--database-url")
    return p.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse_args())))
