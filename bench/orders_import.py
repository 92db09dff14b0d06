"""`python main.py orders import` on a realistic export: N orders (100,000 by default).

Writes N rows into a CSV (the contract's header; a year of orders, most delivered, some
shipped, paid, cancelled or refunded; a Telegram id on 60%, a phone on 70%, a few logistics
fields), then times the command, `main.main(["orders", "import", FILE])`, in this process
(migrations, reading, checking, writing, notices for the few recent events; the interpreter's
start and imports are timed once apart, as a real process importing a header-only file):

1. `fresh`: into an empty database (every order created);
2. `resend`: the same file again (every order unchanged);
3. `changed`: a file in which 10% of the orders moved on (shipped -> delivered, paid ->
   shipped), the rest identical.

Each phase runs `--runs` times (fresh database each time for `fresh`); the median is
reported as rows per second. SQLite by default; `--database-url postgresql+asyncpg://...`
runs it on PostgreSQL (its schema is dropped and re-created first: use a throwaway one).

    python bench/orders_import.py [--rows 100000] [--runs 1] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

import bot.app  # noqa: E402, F401 (imported before the clock starts, as the start-up is timed apart)
import main as main_module  # noqa: E402
from orders.records import HEADER  # noqa: E402
from storage.engine import create_engine  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PRODUCTS = ["T-shirt", "Hoodie", "Mug", "Tote bag", "Phone case", "Sticker pack", "Cap",
            "Notebook", "Socks", "Keychain", "保温杯", "帆布包", "手机壳"]  # fmt: skip
CARRIERS = ["SF Express", "ZTO", "YTO", "JD Logistics", "EMS"]


def rows(n: int, now: datetime, seed: int = 12) -> list[list[str]]:
    """A year of orders. Shipping and delivery follow payment by hours and days even for the
    last week's orders, so some of those lie slightly ahead of now (a shop clock that runs
    ahead); with the ones of the last day they are the recent events that queue notices
    (about 0.6% of the rows), so the notice path is part of the timing."""
    rnd = random.Random(seed)
    out: list[list[str]] = []
    for i in range(n):
        paid = now - timedelta(days=rnd.uniform(0, 365))
        status = rnd.choices(
            ["delivered", "shipped", "in_transit", "paid", "pending", "cancelled", "refunded"],
            [70, 6, 4, 8, 2, 6, 4],
        )[0]
        shipped = paid + timedelta(hours=rnd.uniform(4, 48))
        delivered = shipped + timedelta(days=rnd.uniform(1, 5))
        sent = status in ("shipped", "in_transit", "delivered", "refunded")
        items = "; ".join(
            f"{rnd.choice(PRODUCTS)} x{rnd.randint(1, 3)}" for _ in range(rnd.randint(1, 4))
        )
        out.append(
            [
                f"SO{20250000 + i}",
                str(rnd.randint(10**8, 8 * 10**9)) if rnd.random() < 0.6 else "",
                f"+86 13{rnd.randint(0, 9)}{rnd.randint(10**7, 10**8 - 1)}"
                if rnd.random() < 0.7
                else "",
                status,
                rnd.choice(CARRIERS) if sent else "",
                f"SF{rnd.randint(10**11, 10**12 - 1)}" if sent else "",
                items,
                f"{rnd.randint(990, 99900) / 100:.2f}",
                "CNY",
                paid.isoformat(timespec="seconds"),
                shipped.isoformat(timespec="seconds") if sent else "",
                delivered.isoformat(timespec="seconds") if status == "delivered" else "",
                (shipped + timedelta(days=3)).date().isoformat() if sent else "",
            ]
        )
    return out


def moved_on(data: list[list[str]], share: float, now: datetime, seed: int = 13) -> int:
    """Move `share` of the orders one step on (in place); how many moved."""
    rnd = random.Random(seed)
    moved = 0
    status_col, shipped_col, delivered_col = (
        HEADER.index("status"), HEADER.index("shipped_at"), HEADER.index("delivered_at"),
    )  # fmt: skip
    for row in data:
        if rnd.random() >= share:
            continue
        if row[status_col] in ("shipped", "in_transit"):
            row[status_col] = "delivered"
            row[delivered_col] = now.isoformat(timespec="seconds")
        elif row[status_col] == "paid":
            row[status_col] = "shipped"
            row[shipped_col] = now.isoformat(timespec="seconds")
        else:
            row[HEADER.index("items")] += "; gift x1"
        moved += 1
    return moved


def write(path: Path, data: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(data)


def import_in_process(path: Path, url: str) -> tuple[float, str]:
    os.environ["DATABASE_URL"] = url
    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = main_module.main(["orders", "import", str(path)])
    took = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"import failed ({code})")
    return took, out.getvalue().strip()


def start_up(path: Path, url: str) -> float:
    """The real command, as a process, on a file with the header only."""
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    proc = subprocess.run(  # noqa: S603 (our own script)
        [sys.executable, str(ROOT / "main.py"), "orders", "import", str(path)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"import failed ({proc.returncode}):\n{proc.stderr}")
    return time.perf_counter() - started


async def reset_postgres(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def fresh_database(url: str | None, folder: Path, run: int) -> str:
    if url is None:
        return f"sqlite+aiosqlite:///{folder / f'bench-{run}.db'}"
    asyncio.run(reset_postgres(url))
    return url


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=1, help="runs of each phase; the median counts")
    ap.add_argument("--database-url", help="postgresql+asyncpg://... (default: SQLite)")
    args = ap.parse_args()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = rows(args.rows, now)
        first = folder / "orders.csv"
        write(first, data)
        moved = moved_on(data, 0.10, now)
        second = folder / "orders-changed.csv"
        write(second, data)
        size = first.stat().st_size / 1e6
        print(f"{args.rows:,} rows, {size:.1f} MB; {moved:,} moved on in the second file")
        print(f"python {platform.python_version()}, {os.cpu_count()} cores")
        empty = folder / "empty.csv"
        write(empty, [])
        started = start_up(empty, fresh_database(args.database_url, folder, -1))
        os.environ["LOG_LEVEL"] = "WARNING"
        times: dict[str, list[float]] = {"fresh": [], "resend": [], "changed": []}
        for run in range(args.runs):
            url = fresh_database(args.database_url, folder, run)
            for phase, path in (("fresh", first), ("resend", first), ("changed", second)):
                seconds, said = import_in_process(path, url)
                times[phase].append(seconds)
                print(f"  run {run + 1} {phase:8} {seconds:6.1f} s  {said}")
        backend = "PostgreSQL" if args.database_url else "SQLite"
        print(f"{backend}, median of {args.runs} run(s):")
        for phase, took in times.items():
            median = statistics.median(took)
            print(f"  {phase:8} {median:6.1f} s  {args.rows / median:8,.0f} rows/s")
        print(f"  plus the process's start-up (Python, imports): {started:.1f} s")


if __name__ == "__main__":
    main()
