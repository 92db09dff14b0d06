"""Order-status questions per second through the production Dispatcher, 100,000 orders.

The production ``create_dispatcher(build_app(settings))`` on a fresh SQLite file (migrations
applied), a Bot on ``LocalSession``, and pre-built bound updates: customers asking about
their orders in the ways issue 12 lists, a quarter each:

- "where is my order" / "我的订单到哪了" without a number (their recent orders: a card or a list);
- "order <id> status" with one of their own order numbers (the order card);
- "查一下订单<id>" with one of their own numbers, in Chinese;
- "order <id> status" with someone else's number (the same "can't find" as an unknown one).

The orders table holds ``--orders`` orders (default 100,000) of ``--customers`` customers,
each order with three logistics events; a tenth of the customers own their orders through a
shared phone number instead of their Telegram id. Runs sequentially (one ``feed_update``
after another) and concurrently (``asyncio.gather`` batches); reports questions/s and p50/p99
latency, and checks that every question got one reply and one ``faq_interactions`` row.

    python bench/order_status.py [--orders 100000] [--customers 20000] [--questions 2000]
                                 [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiogram import Bot, Dispatcher  # noqa: E402
from aiogram.methods import SendMessage  # noqa: E402
from aiogram.types import Update  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from bench.pipeline import ErrorCounter, machine_line, pct, versions_line  # noqa: E402
from bot.app import App, build_app, create_bot, create_dispatcher  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.local import LocalSession  # noqa: E402
from storage.models import CustomerPhone, FaqInteraction, Order, User  # noqa: E402

TOKEN = "123456789:AAbenchbenchbenchbenchbenchbenchbench"  # noqa: S105 (a fake token)
FIRST_USER = 800_000_000
T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
STATUSES = ("paid", "shipped", "in_transit", "delivered")
CHUNK = 5_000


def order_id(i: int) -> str:
    return f"SO{880000 + i}"


async def fill(app: App, orders: int, customers: int, seed: int) -> dict[int, list[str]]:
    """The orders, the users and their shared phones; customer index -> their order ids."""
    rng = random.Random(seed)
    owned: dict[int, list[str]] = {c: [] for c in range(customers)}
    by_phone = {c for c in range(customers) if c % 10 == 0}
    async with app.session_factory() as s:
        users = [
            {"id": FIRST_USER + c, "first_name": f"c{c}", "first_seen": T0, "last_seen": T0}
            for c in range(customers)
        ]
        for i in range(0, len(users), CHUNK):
            await s.execute(insert(User), users[i : i + CHUNK])
        await s.execute(
            insert(CustomerPhone),
            [
                {"phone": f"86138{c:08d}", "user_id": FIRST_USER + c, "shared_at": T0}
                for c in sorted(by_phone)
            ],
        )
        rows: list[dict[str, Any]] = []
        for i in range(orders):
            c = rng.randrange(customers)
            owned[c].append(order_id(i))
            at = T0 + dt.timedelta(minutes=i)
            rows.append(
                {
                    "order_id": order_id(i),
                    "telegram_id": None if c in by_phone else FIRST_USER + c,
                    "phone": f"86138{c:08d}",
                    "status": rng.choice(STATUSES),
                    "carrier": "SF Express",
                    "tracking_number": f"SF{i:010d}",
                    "items": "Linen shirt (M) x1",
                    "amount_minor": 19900,
                    "currency": "CNY",
                    "paid_at": at,
                    "shipped_at": at + dt.timedelta(days=1),
                    "eta": at + dt.timedelta(days=4),
                    "events": [
                        {"at": (at + dt.timedelta(hours=h)).isoformat(), "text": text}
                        for h, text in ((20, "Picked up"), (30, "In transit"), (50, "Arrived"))
                    ],
                    "created_at": at,
                    "updated_at": at,
                }
            )
            if len(rows) == CHUNK:
                await s.execute(insert(Order), rows)
                rows = []
        if rows:
            await s.execute(insert(Order), rows)
        await s.commit()
    return owned


def questions(
    owned: dict[int, list[str]], n: int, seed: int, first_update: int, bot: Bot
) -> list[Update]:
    rng = random.Random(seed + 1)
    customers = [c for c, ids in owned.items() if ids]
    out: list[Update] = []
    date = int(time.time())
    for k in range(n):
        c = rng.choice(customers)
        kind = k % 4
        if kind == 0:
            text = rng.choice(("where is my order", "我的订单到哪了", "has my parcel shipped?"))
        elif kind == 1:
            text = f"order {rng.choice(owned[c])} status"
        elif kind == 2:
            text = f"查一下订单{rng.choice(owned[c])}"
        else:
            other = rng.choice(customers)
            while other == c:
                other = rng.choice(customers)
            text = f"order {rng.choice(owned[other])} status"
        uid = FIRST_USER + c
        raw = {
            "update_id": first_update + k,
            "message": {
                "message_id": k + 1,
                "date": date,
                "chat": {"id": uid, "type": "private", "first_name": f"c{c}"},
                "from": {"id": uid, "is_bot": False, "first_name": f"c{c}", "language_code": "en"},
                "text": text,
            },
        }
        out.append(Update.model_validate(raw, context={"bot": bot}))
    return out


async def sequential(
    dp: Dispatcher, bot: Bot, updates: Sequence[Update]
) -> tuple[float, list[float]]:
    lat: list[float] = []
    t0 = time.perf_counter()
    for u in updates:
        s = time.perf_counter()
        await dp.feed_update(bot, u)
        lat.append(time.perf_counter() - s)
    return time.perf_counter() - t0, lat


async def concurrent(
    dp: Dispatcher, bot: Bot, updates: Sequence[Update], batch: int
) -> tuple[float, list[float]]:
    lat: list[float] = []

    async def one(u: Update, start: float) -> None:
        await dp.feed_update(bot, u)
        lat.append(time.perf_counter() - start)

    t0 = time.perf_counter()
    for i in range(0, len(updates), batch):
        start = time.perf_counter()
        await asyncio.gather(*(one(u, start) for u in updates[i : i + batch]))
    return time.perf_counter() - t0, lat


async def main(args: argparse.Namespace) -> int:
    tmp = tempfile.TemporaryDirectory(prefix="bench-orders-")
    settings = Settings(
        bot_token=TOKEN,
        database_url=f"sqlite+aiosqlite:///{Path(tmp.name) / 'bench.db'}",
        flood_max_messages=10**9,
        faq_semantic="off",
        _env_file=None,
    )
    app = await build_app(settings)
    session = LocalSession()
    bot = create_bot(settings, session=session)
    dp = create_dispatcher(app)
    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)
    logging.getLogger().setLevel(logging.WARNING)

    print(f"date:     {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}")
    print(f"machine:  {machine_line()}")
    print(f"versions: {versions_line()}")
    t_fill = time.perf_counter()
    owned = await fill(app, args.orders, args.customers, args.seed)
    print(
        f"database: sqlite, {args.orders} orders of {args.customers} customers "
        f"(filled in {time.perf_counter() - t_fill:.1f}s, not timed)"
    )
    n, warm = args.questions, args.warmup
    all_updates = questions(owned, warm + 2 * n, args.seed, 1, bot)
    warmup, seq, conc = all_updates[:warm], all_updates[warm : warm + n], all_updates[warm + n :]
    for u in warmup:
        await dp.feed_update(bot, u)
    sent0 = len(session.sent(SendMessage))
    seq_s, seq_lat = await sequential(dp, bot, seq)
    conc_s, conc_lat = await concurrent(dp, bot, conc, args.concurrency)
    replies = len(session.sent(SendMessage)) - sent0
    async with app.session_factory() as s:
        recorded = await s.scalar(
            select(func.count())
            .select_from(FaqInteraction)
            .where(FaqInteraction.outcome.in_(("order", "order_missing")))
        )
    for name, seconds, lat in (
        ("sequential", seq_s, seq_lat),
        (f"concurrent ({args.concurrency})", conc_s, conc_lat),
    ):
        print(
            f"{name:16} {n / seconds:8.0f} questions/s   p50 {pct(lat, 50) * 1000:6.2f} ms   "
            f"p99 {pct(lat, 99) * 1000:6.2f} ms"
        )
    ok = replies == 2 * n and recorded == warm + 2 * n and errors.count == 0
    print(
        f"check:    {replies} replies for {2 * n} questions, {recorded} recorded, "
        f"{errors.count} errors logged{'' if ok else ' -- FAILED'}"
    )
    if errors.first:
        print(errors.first)
    await bot.session.close()
    await app.close()
    tmp.cleanup()
    return 0 if ok else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--orders", type=int, default=100_000)
    p.add_argument("--customers", type=int, default=20_000)
    p.add_argument("--questions", type=int, default=2_000, help="per run (sequential, concurrent)")
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--seed", type=int, default=12)
    return p.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse_args())))
