"""A broadcast to 10,000 subscribers at Telegram's bulk limit, through the real bot process.

The bot runs as in production, `python main.py run` in a subprocess, against the fake Bot API
(tests/fake_bot_api.py) served in this process with `rate_limit_per_s` = the limit (30, as
Telegram's): sends over it in any sliding second get 429 with retry_after=1. Before the bot
starts, a fresh database (migrated by storage.migrate) gets `--users` users who started the
bot, and one broadcast to all of them is created and started with the campaigns API
(`campaigns.broadcasts.create` + `start`: one recipient row and one outbox row each). The
bot's outbox sender then delivers it through the broadcast deliverer (bot/broadcasts.py),
paced by SENDER_GLOBAL_PER_SECOND and SENDER_BURST (default: burst = 1% of the limit, at
least 1, and rate = limit - burst, so rate + burst = the limit: 29/s and 1 at 30/s).
`--plain` queues plain `notice` outbox rows instead (the sender alone, no broadcast rows).

Measured on the fake's side (its clock, time.monotonic, at each request's arrival), from
the first accepted broadcast message:
- the rate: the median of the per-second counts of accepted messages after the warm-up
  (`--warmup`, 10 s), and overall = (accepted - 1) / (last - first), both as a share of
  the limit; the busiest sliding second of all sends (the fake's own window);
- 429s in total and after the warm-up; duplicates (a user who got the broadcast twice);
  how many users got it; the recipients' final statuses in the database.

    python bench/broadcast.py [--users 10000] [--limit 30] [--rate R] [--burst B] [--plain]
                              [--warmup 10] [--database-url postgresql+asyncpg://...]

`--limit 300` scales the run down tenfold in time (say so when you report it). With
--database-url the server gets a fresh database for the run (CREATE DATABASE, dropped at the
end), so the given database itself is not touched.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import gc
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.support_handoff import fresh_database, machine_line, versions_line  # noqa: E402
from campaigns import broadcasts  # noqa: E402
from campaigns.schedule import MarketingRules  # noqa: E402
from campaigns.segments import Segment  # noqa: E402
from storage import outbox  # noqa: E402
from storage.engine import create_engine, create_session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import BroadcastRecipient, OutboxMessage, User  # noqa: E402
from tests.fake_bot_api import SEND_METHODS, FakeBotAPI  # noqa: E402

TOKEN = "123456789:AAbenchbenchbenchbenchbenchbenchbench"  # noqa: S105 (a fake token)
ADMIN = 700_000_000
FIRST_USER_ID = 720_000_000
MARK = "Bench broadcast"


async def seed(database_url: str, users: Sequence[int], *, plain: bool) -> tuple[float, int]:
    """Migrate, add the subscribers and queue the broadcast; (seconds, rows queued)."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        sf = create_session_factory(engine)
        now = datetime.now(UTC)
        day_ago = now - timedelta(days=1)
        async with sf() as session:
            people = [
                {
                    "id": uid,
                    "first_name": f"U{uid % 100_000}",
                    "language_code": "en",
                    "first_seen": day_ago,
                    "last_seen": day_ago,
                    "started_at": day_ago,
                }
                for uid in users
            ]
            for i in range(0, len(people), 2000):
                await session.execute(insert(User), people[i : i + 2000])
            await session.commit()
        t0 = time.perf_counter()
        async with sf() as session:
            if plain:
                for uid in users:
                    await outbox.enqueue(
                        session,
                        kind="notice",
                        lane=f"u:{uid}",
                        chat_id=uid,
                        payload={"text": f"{MARK}: plain notice"},
                        now=now,
                    )
                await session.commit()
                queued = len(users)
            else:
                bid = await broadcasts.create(
                    session,
                    text=f"{MARK}: <b>20% off</b> everything this weekend",
                    created_by=ADMIN,
                    now=now,
                    segment=Segment(),
                )
                started = await broadcasts.start(
                    session, bid, rules=MarketingRules(tz=ZoneInfo("UTC"), daily_cap=0), now=now
                )
                assert started is not None
                queued = started.total
        return time.perf_counter() - t0, queued
    finally:
        await engine.dispose()


async def final_states(database_url: str) -> tuple[dict[str, int], dict[str, int]]:
    """Recipient statuses (empty with --plain) and outbox statuses, from the database."""
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as s:
            r = BroadcastRecipient
            recipients = (await s.execute(select(r.status, func.count()).group_by(r.status))).all()
            o = OutboxMessage
            rows = (await s.execute(select(o.status, func.count()).group_by(o.status))).all()
        return {k: int(v) for k, v in recipients}, {k: int(v) for k, v in rows}
    finally:
        await engine.dispose()


def pacing(args: argparse.Namespace) -> tuple[float, int]:
    burst = args.burst if args.burst is not None else max(1, round(args.limit / 100))
    rate = args.rate if args.rate is not None else args.limit - burst
    return rate, burst


def bot_env(args: argparse.Namespace, api_url: str, database_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("BOT_", "DATABASE_", "SUPPORT_", "SENDER_", "OUTBOX_", "FLOOD_", "MARKETING_")
        )
        and k not in ("ADMIN_IDS", "COMMUNITY_CHAT_ID", "CHANNEL_ID")
    }
    rate, burst = pacing(args)
    env.update(
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=api_url,
        DATABASE_URL=database_url,
        ADMIN_IDS=str(ADMIN),
        SENDER_GLOBAL_PER_SECOND=str(rate),
        SENDER_BURST=str(burst),
        LOG_LEVEL=args.log_level,
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass
class Seen:
    """What the fake saw, scanned incrementally."""

    users: set[int]
    got: dict[int, float] = field(default_factory=dict)  # user -> first accepted broadcast
    accepted: list[float] = field(default_factory=list)  # every accepted broadcast message
    sends: list[float] = field(default_factory=list)  # every accepted send (the fake's window)
    rejected: list[float] = field(default_factory=list)  # every 429
    duplicates: int = 0
    other_errors: Counter[int] = field(default_factory=Counter)
    scanned: int = 0

    def scan(self, api: FakeBotAPI) -> None:
        calls = api.calls
        for call in calls[self.scanned :]:
            if call.status == 429:
                self.rejected.append(call.at)
                continue
            if call.method not in SEND_METHODS:
                continue
            if call.status != 200:
                self.other_errors[call.status] += 1
                continue
            self.sends.append(call.at)
            chat = call.params.get("chat_id")
            text = str(call.params.get("text") or call.params.get("caption") or "")
            if isinstance(chat, int) and chat in self.users and MARK in text:
                self.accepted.append(call.at)
                if chat in self.got:
                    self.duplicates += 1
                else:
                    self.got[chat] = call.at
        self.scanned = len(calls)


def busiest_second(times: list[float]) -> int:
    ordered = sorted(times)
    return max(
        (bisect.bisect_left(ordered, t + 1.0) - i for i, t in enumerate(ordered)), default=0
    )


async def run(args: argparse.Namespace) -> int:
    users = [FIRST_USER_ID + i for i in range(args.users)]
    rate, burst = pacing(args)
    workdir = Path(tempfile.mkdtemp(prefix="bench-broadcast-"))
    log_path = workdir / "bot.log"
    failures: list[str] = []
    seen = Seen(users=set(users))
    print(f"date:     {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine:  {machine_line()}")
    print(f"versions: {versions_line()}")
    async with (
        FakeBotAPI(token=TOKEN, rate_limit_per_s=args.limit) as api,
        fresh_database(args.database_url, workdir) as database_url,
    ):
        db_name = make_url(database_url).get_backend_name()
        scaled = "" if args.limit == 30 else " (scaled: Telegram's is 30/s)"
        print(
            f"setup:    {args.users} recipients, {'plain notices' if args.plain else 'broadcast'}"
            f", {db_name}; fake limit {args.limit:g}/s{scaled}, 429 retry_after=1; "
            f"bot SENDER_GLOBAL_PER_SECOND={rate:g} SENDER_BURST={burst}"
        )
        seconds, queued = await seed(database_url, users, plain=args.plain)
        print(f"queued:   {queued} outbox rows in {seconds:.1f} s (before the bot starts)")
        with log_path.open("wb") as log:
            bot = await asyncio.create_subprocess_exec(
                sys.executable,
                str(ROOT / "main.py"),
                "run",
                cwd=workdir,
                env=bot_env(args, api.url, database_url),
                stdout=log,
                stderr=log,
            )
        try:
            expected = args.users / rate
            deadline = time.monotonic() + 120 + 2 * expected
            last_progress, last_count = time.monotonic(), 0
            while len(seen.got) < args.users:
                await asyncio.sleep(0.5)
                seen.scan(api)
                # The fake stands in for Telegram's servers: keep this process's garbage
                # collector from pausing it (a pause stamps the requests that arrive during
                # it late, bunched, and its window then answers 429s the bot did not earn).
                gc.freeze()
                if len(seen.got) != last_count:
                    last_progress, last_count = time.monotonic(), len(seen.got)
                if bot.returncode is not None:
                    failures.append(f"the bot exited with {bot.returncode}")
                    break
                if time.monotonic() > deadline or time.monotonic() - last_progress > 60:
                    failures.append(f"stalled at {len(seen.got)} of {args.users}")
                    break
            await asyncio.sleep(args.settle)  # a duplicate would show up now
            seen.scan(api)
        finally:
            if bot.returncode is None:
                bot.send_signal(signal.SIGINT)
                try:
                    await asyncio.wait_for(bot.wait(), timeout=30)
                except TimeoutError:
                    bot.kill()
                    await bot.wait()
                    failures.append("the bot did not stop within 30 s of SIGINT")
        recipients, rows = await final_states(database_url)
    log_text = log_path.read_text(errors="replace")

    acc = sorted(seen.accepted)
    if len(acc) < 2:
        print("FAILED: fewer than 2 messages arrived")
        print(f"bot log kept: {log_path}")
        return 1
    first, last = acc[0], acc[-1]
    warm = first + args.warmup
    # Per-second counts over whole seconds after the warm-up (the last partial second left out).
    bins = Counter(int(t - first) for t in acc)
    full_seconds = [bins.get(s, 0) for s in range(int(args.warmup), int(last - first))]
    after = [t for t in acc if t >= warm]
    overall = (len(acc) - 1) / (last - first)
    after_rate = (len(after) - 1) / (after[-1] - after[0]) if len(after) > 1 else float("nan")
    median = statistics.median(full_seconds) if full_seconds else float("nan")
    late_429 = sum(1 for t in seen.rejected if t >= warm)
    print()
    print(f"duration: {last - first:.1f} s from the first to the last accepted message")
    if full_seconds:
        print(
            f"rate after {args.warmup:g} s warm-up: median {median:g}/s per second "
            f"({median / args.limit:.1%} of the limit), min {min(full_seconds)}, "
            f"max {max(full_seconds)} over {len(full_seconds)} s; "
            f"{after_rate:.2f}/s to the last ({after_rate / args.limit:.1%})"
        )
    print(f"overall:  {overall:.2f}/s ({overall / args.limit:.1%} of the limit)")
    print(
        f"busiest sliding second (all sends): {busiest_second(seen.sends)} (limit {args.limit:g})"
    )
    print(f"429s:     {len(seen.rejected)} in total, {late_429} after the warm-up")
    print(f"arrived:  {len(seen.got)} of {args.users}; duplicates {seen.duplicates}")
    if seen.other_errors:
        print(f"other errors: {dict(seen.other_errors)}")
    if recipients:
        print(f"recipients: {dict(sorted(recipients.items()))}")
    print(f"outbox:   {dict(sorted(rows.items()))}")
    tracebacks = log_text.count("Traceback")
    print(f"bot log:  {tracebacks} tracebacks, exit code {bot.returncode}")

    if len(seen.got) != args.users:
        failures.append(f"{args.users - len(seen.got)} users did not get it")
    if seen.duplicates:
        failures.append(f"{seen.duplicates} duplicates")
    if late_429:
        failures.append(f"{late_429} 429s after the warm-up")
    if full_seconds and median < 0.95 * args.limit:
        failures.append(f"median rate {median / args.limit:.1%} < 95% of the limit")
    if tracebacks or bot.returncode != 0:
        failures.append("the bot logged a traceback or did not exit cleanly")
    print("FAILED: " + "; ".join(failures) if failures else "OK")
    if args.keep_log or failures:
        print(f"bot log kept: {log_path}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failures else 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--users", type=int, default=10_000, help="recipients (default 10000)")
    p.add_argument("--limit", type=float, default=30, help="the fake's limit a second (30)")
    p.add_argument("--rate", type=float, help="SENDER_GLOBAL_PER_SECOND (default limit - burst)")
    p.add_argument("--burst", type=int, help="SENDER_BURST (default 1%% of the limit, >= 1)")
    p.add_argument("--plain", action="store_true", help="plain notice rows, not a broadcast")
    p.add_argument("--warmup", type=float, default=10.0, help="seconds left out (default 10)")
    p.add_argument(
        "--database-url",
        help="postgresql+asyncpg://... server to make a fresh database on "
        "(default: a SQLite file in a temp dir)",
    )
    p.add_argument("--settle", type=float, default=3.0, help="seconds to watch for duplicates")
    p.add_argument("--log-level", default="WARNING", help="the bot's LOG_LEVEL (WARNING)")
    p.add_argument("--keep-log", action="store_true", help="keep the temp dir with the bot log")
    args = p.parse_args(argv)
    if args.users < 2 or args.limit <= 0:
        p.error("--users must be >= 2 and --limit > 0")
    return args


if __name__ == "__main__":
    raise SystemExit(asyncio.run(run(parse_args())))
