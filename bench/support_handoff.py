"""Handoff latency of the support desk: a customer's /human to the ticket card in the group.

The bot runs as in production, `python main.py run` in a subprocess, long-polling a fake
Bot API (tests/fake_bot_api.py) served in this process, with a support group registered
(a forum in topics mode, a plain supergroup in reply mode). Each user first sends /start
(waited for until all are answered, not timed); then all users' /human updates are pushed
at once (T0) and the bot has to open the tickets, answer each customer with their place in
line and, through its outbox sender, post each ticket's card in the group: in topics mode
createForumTopic and then sendMessage into that topic, in reply mode one sendMessage.

Per ticket: T0 -> takeable, when an agent can take it: it is on the queue board (a
sendMessage or editMessageText in the group with its Take button) or its card is posted.
The run stops when every ticket is takeable (and every customer has their answer), unless
--all-cards (then wait for every card, background ones too) or --take (then an agent taps
Take on every ticket of the board at once: tap -> that ticket's card in its topic). With a
group limit it fails past --goal seconds (60) or on any 429.

Per user: T0 -> the card (the fake's arrival time of the sendMessage whose text has the
card's `id <user_id>` line) and T0 -> the "you're #n in line" reply. Both clocks are the
fake's (`FakeBotAPI.clock`, time.monotonic), read in this process.

`--group-per-minute N` makes the fake answer 429 past N posts/edits a minute in the group
(createForumTopic counts) and sets the bot's SENDER_GROUP_PER_MINUTE to N; 0 (the default)
means no limit on either side (SENDER_GROUP_PER_MINUTE=100000, SENDER_GLOBAL_PER_SECOND=1000,
SENDER_BURST=100). With Telegram's 20 a minute, the 2N group calls of N customers in topics
mode end no sooner than floor((2N - 1) / 20) minutes after T0 (each 60 s window filled at
once), (2N - 1) * 3 s when evenly spaced; use --users 20 for that run.

    python bench/support_handoff.py [--mode topics|reply] [--users 200] [--group-per-minute N]
                                    [--all-cards | --take] [--goal 60]
                                    [--database-url postgresql+asyncpg://...] [--keep-log]

With --database-url the server gets a fresh database for the run (CREATE DATABASE, dropped
at the end), so the given database itself is not touched.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import re
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy.engine import make_url  # noqa: E402

from tests.fake_bot_api import Call, FakeBotAPI  # noqa: E402

TOKEN = "123456789:AAbenchbenchbenchbenchbenchbenchbench"  # noqa: S105 (a fake token)
GROUP = -100_500_000_001
FIRST_USER_ID = 710_000_000
# views/locales/*/support.ftl card-customer: "👤 { $name }{ $username } · id { $user_id } · ..."
# (Fluent may group the digits: 710,000,001.)
CARD_ID = re.compile(r"· id (\d[\d,\u00a0\u202f ]*\d) ·")
# The ticket's number on its card ("card-title": "{ $icon } Ticket #{ $id } · ...").
CARD_TICKET = re.compile(r"Ticket #(\d[\d,\u00a0\u202f ]*\d|\d)")
# A Take button on the queue board (views/callbacks.py TakeTicket: "desk:<ticket>:take").
TAKE_DATA = re.compile(r"^desk:(\d+):take$")
AGENT = 720_000_001


def take_buttons(params: dict[str, object]) -> list[int]:
    """The ticket ids of the Take buttons in a call's inline keyboard."""
    markup = params.get("reply_markup")
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    found: list[int] = []
    for buttons in rows:
        for button in buttons:
            match = TAKE_DATA.match(str(button.get("callback_data", "")))
            if match:
                found.append(int(match.group(1)))
    return found


def digits(text: str) -> int:
    return int(re.sub(r"\D", "", text))


@dataclass
class Observed:
    """What the fake saw after T0."""

    cards: dict[int, Call] = field(default_factory=dict)  # user -> first card
    replies: dict[int, Call] = field(default_factory=dict)  # user -> "#n in line"
    duplicate_cards: int = 0
    topics: list[Call] = field(default_factory=list)  # createForumTopic answered 200
    group_429: int = 0
    seen: int = 0
    # A ticket is takeable once it is on the queue board with a Take button, or has its card.
    takeable: dict[int, float] = field(default_factory=dict)  # ticket -> fake's time
    card_of: dict[int, int] = field(default_factory=dict)  # ticket -> user
    board_posts: int = 0  # the board's sendMessage and editMessageText calls
    board: Call | None = None  # the latest board as sent or edited
    group_calls: int = 0  # every group call answered 200

    def scan(self, calls: list[Call], users: set[int]) -> None:
        for call in calls[self.seen :]:
            chat = call.params.get("chat_id")
            if call.status == 429 and chat == GROUP:
                self.group_429 += 1
            if call.status != 200:
                continue
            if chat == GROUP:
                self.group_calls += 1
            takes = take_buttons(call.params) if chat == GROUP else []
            if takes and call.method in ("sendMessage", "editMessageText"):
                self.board_posts += 1
                self.board = call
                for ticket in takes:
                    self.takeable.setdefault(ticket, call.at)
            if call.method == "createForumTopic" and chat == GROUP:
                self.topics.append(call)
            elif call.method == "sendMessage" and chat == GROUP:
                text = str(call.params.get("text", ""))
                match = CARD_ID.search(text)
                if match:
                    user = digits(match.group(1))
                    if user in self.cards:
                        self.duplicate_cards += 1
                    else:
                        self.cards[user] = call
                    number = CARD_TICKET.search(text)
                    if number:
                        ticket = digits(number.group(1))
                        self.card_of[ticket] = user
                        self.takeable.setdefault(ticket, call.at)
            elif (
                call.method == "sendMessage"
                and chat in users
                and chat not in self.replies
                and "in line" in str(call.params.get("text", ""))
            ):
                self.replies[chat] = call
        self.seen = len(calls)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest rank on the sorted values."""
    s = sorted(values)
    if not s:
        return math.nan
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]


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
    return f"{cpu}, {usable} usable cores, {platform.system()} {platform.release()}"


def versions_line() -> str:
    parts = [f"Python {platform.python_version()}"]
    for pkg in ("aiogram", "SQLAlchemy", "aiosqlite", "asyncpg", "aiohttp"):
        try:
            parts.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            continue
    parts.append(f"SQLite {sqlite3.sqlite_version}")
    return ", ".join(parts)


@asynccontextmanager
async def fresh_database(url: str | None, workdir: Path) -> AsyncIterator[str]:
    """A SQLite file in `workdir`, or a new database on the given PostgreSQL server."""
    if url is None:
        yield f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        return
    import asyncpg  # type: ignore[import-untyped]

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit("--database-url: give a postgresql+asyncpg:// URL (SQLite is default)")
    name = f"bench_handoff_{os.getpid()}_{int(time.time())}"
    admin_dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield parsed.set(database=name).render_as_string(hide_password=False)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def bot_env(args: argparse.Namespace, api_url: str, database_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOT_", "DATABASE_", "SUPPORT_", "SENDER_", "OUTBOX_", "FLOOD_"))
    }
    env.update(
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=api_url,
        DATABASE_URL=database_url,
        SUPPORT_CHAT_ID=str(GROUP),
        SUPPORT_MODE=args.mode,
        SUPPORT_LANGUAGE="en",
        LOG_LEVEL=args.log_level,
        PYTHONUNBUFFERED="1",
    )
    if args.group_per_minute:
        env["SENDER_GROUP_PER_MINUTE"] = str(args.group_per_minute)
    else:
        env.update(
            SENDER_GROUP_PER_MINUTE="100000", SENDER_GLOBAL_PER_SECOND="1000", SENDER_BURST="100"
        )
    if args.burst is not None:
        env["SENDER_BURST"] = str(args.burst)
    return env


async def wait_until(
    api: FakeBotAPI, after: int, done: Callable[[], bool], what: str, seconds: float
) -> None:
    """Until `done()`, checked at each sendMessage the bot makes from `calls[after]` on."""
    try:
        await api.wait_for("sendMessage", lambda _: done(), timeout=seconds, after=after)
    except TimeoutError:
        raise TimeoutError(f"{what}: not done within {seconds:.0f} s") from None


def predicted_last_card(users: int, ops_per_user: int, per_minute: int) -> tuple[float, float]:
    """Seconds to the last card at `per_minute` group calls: evenly spaced from T0, and at
    best (each 60 s window filled at once, as Telegram's limit allows)."""
    calls = users * ops_per_user
    return (calls - 1) * 60.0 / per_minute, (calls - 1) // per_minute * 60.0


def row(label: str, values: Sequence[float]) -> str:
    ms = [v * 1000 for v in values]
    if not ms:
        return f"{label:28}" + f"{'-':>10}" * 4 + f"{0:8d}"
    stats = [percentile(ms, 50), percentile(ms, 90), percentile(ms, 99), max(ms)]
    return f"{label:28}" + "".join(f"{x:10.0f}" for x in stats) + f"{len(ms):8d}"


async def run(args: argparse.Namespace) -> int:
    users = [FIRST_USER_ID + i for i in range(args.users)]
    user_set = set(users)
    limit = args.group_per_minute or None
    workdir = Path(tempfile.mkdtemp(prefix="bench-handoff-"))
    log_path = workdir / "bot.log"
    failures: list[str] = []
    async with (
        FakeBotAPI(token=TOKEN, group_per_minute=limit) as api,
        fresh_database(args.database_url, workdir) as database_url,
    ):
        api.add_group(GROUP, is_forum=args.mode == "topics", title="Support")
        print(f"machine:  {machine_line()}")
        print(f"versions: {versions_line()}")
        db_name = make_url(database_url).get_backend_name()
        print(
            f"setup:    {args.users} users, {args.mode} mode, {db_name}, group limit "
            f"{f'{limit}/min (fake and bot)' if limit else 'none'}, work dir {workdir}"
        )
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
            await api.wait_for("getUpdates", timeout=120)

            # Every user greets the bot first (not timed).
            mark = len(api.calls)
            for uid in users:
                api.push_update(api.user_message(uid, "/start", first_name=f"U{uid % 10_000}"))
            greeted: set[int] = set()
            scanned = mark

            def all_greeted() -> bool:
                nonlocal scanned
                for call in api.calls[scanned:]:
                    if call.method == "sendMessage" and call.status == 200:
                        greeted.add(call.params.get("chat_id", 0))
                scanned = len(api.calls)
                return user_set <= greeted

            started = time.monotonic()
            await wait_until(api, mark, all_greeted, "/start answers", 120)
            print(f"/start:   {args.users} answered in {time.monotonic() - started:.1f} s")

            # All handoffs at once.
            seen = Observed(seen=len(api.calls))
            t0 = api.clock()
            for uid in users:
                api.push_update(api.user_message(uid, "/human", first_name=f"U{uid % 10_000}"))
            push_time = api.clock() - t0

            def all_takeable() -> bool:
                seen.scan(api.calls, user_set)
                return len(seen.takeable) >= len(users) and len(seen.replies) >= len(users)

            def all_cards() -> bool:
                seen.scan(api.calls, user_set)
                return len(seen.cards) >= len(users) and len(seen.replies) >= len(users)

            taps: list[float] = []
            try:
                await wait_until(api, seen.seen, all_takeable, "takeable", args.timeout)
                takeable_at = api.clock()
                if args.take:
                    taps = await take_all(api, seen, user_set, args.timeout)
                elif args.all_cards:
                    await wait_until(api, seen.seen, all_cards, "cards", args.timeout)
            except TimeoutError as exc:
                failures.append(str(exc))
                takeable_at = api.clock()
            await asyncio.sleep(args.settle)  # a duplicate would show up now
            seen.scan(api.calls, user_set)
        finally:
            if bot.returncode is None:
                bot.send_signal(signal.SIGINT)
                try:
                    await asyncio.wait_for(bot.wait(), timeout=30)
                except TimeoutError:
                    bot.kill()
                    await bot.wait()
                    failures.append("the bot did not stop within 30 s of SIGINT")
        log_text = log_path.read_text(errors="replace")
        rejected_429 = api.rejected_429

    card_s = [seen.cards[u].at - t0 for u in users if u in seen.cards]
    reply_s = [seen.replies[u].at - t0 for u in users if u in seen.replies]
    take_s = [at - t0 for at in seen.takeable.values()]
    print(f"T0:       {args.users} /human updates pushed in {push_time * 1000:.1f} ms")
    print()
    print(f"{'ms from T0':28}{'p50':>10}{'p90':>10}{'p99':>10}{'max':>10}{'n':>8}")
    print(row("'#n in line' reply", reply_s))
    print(row("takeable (board or card)", take_s))
    print(row("ticket card in the group", card_s))
    if args.take and taps:
        print(row("Take tap -> card in topic", taps))
    if card_s:
        rate = len(card_s) / max(card_s)
        print(f"{'cards per second (to last)':28}{rate:10.1f}")
    print()

    # Checks.
    topics_ok = len(seen.topics)
    threads = Counter(
        c.params.get("message_thread_id") for c in seen.cards.values() if args.mode == "topics"
    )
    created = {int(c.result["message_thread_id"]) for c in seen.topics}
    print(f"cards:            {len(seen.cards)} / {args.users}")
    print(f"duplicate cards:  {seen.duplicate_cards}")
    print(f"'in line' replies:{len(seen.replies):5d} / {args.users}")
    if args.mode == "topics":
        print(f"topics created:   {topics_ok}")
        if (
            (args.all_cards or args.take)
            and len(threads) != len(seen.cards)
            or set(threads) != created
        ):
            failures.append("cards and created topics do not match one to one")
    print(f"429s from fake:   {rejected_429} (group calls answered 429: {seen.group_429})")
    print(
        f"takeable:         {len(seen.takeable)} / {args.users} tickets, all within "
        f"{takeable_at - t0:.1f} s; board posts and edits: {seen.board_posts}; group calls "
        f"by then and after: {seen.group_calls}"
    )
    if len(card_s) <= 50 and take_s:
        print("takeable at (s): " + " ".join(f"{x:.1f}" for x in sorted(take_s)))
    if limit:
        ops = 2 if args.mode == "topics" else 1
        steady, best = predicted_last_card(args.users, ops, limit)
        last = max(card_s) if card_s else math.nan
        print(
            f"last card:        {last:.1f} s after T0; predicted at {limit} group calls a "
            f"minute ({ops} per customer): {steady:.0f} s evenly spaced, {best:.0f} s at best"
        )
        if len(card_s) <= 50:
            print("card times (s):   " + " ".join(f"{x:.1f}" for x in sorted(card_s)))
    tracebacks = log_text.count("Traceback")
    print(f"bot log:          {tracebacks} tracebacks, exit code {bot.returncode}")
    if len(seen.takeable) != args.users:
        failures.append(f"{args.users - len(seen.takeable)} tickets never takeable")
    if args.goal and take_s and max(take_s) > args.goal:
        failures.append(f"the last ticket was takeable after {max(take_s):.1f} s > {args.goal} s")
    if limit and rejected_429:
        failures.append(f"{rejected_429} 429s")
    waited_cards = args.all_cards or args.take
    if waited_cards and len(seen.cards) != args.users:
        failures.append(f"{args.users - len(seen.cards)} cards missing")
    if seen.duplicate_cards:
        failures.append(f"{seen.duplicate_cards} duplicate cards")
    if waited_cards and args.mode == "topics" and topics_ok != args.users:
        failures.append(f"{topics_ok} topics created for {args.users} customers")
    if args.mode == "reply" and topics_ok:
        failures.append("topics created in reply mode")
    if tracebacks or bot.returncode != 0:
        failures.append("the bot logged a traceback or did not exit cleanly")
    if failures:
        print("FAILED: " + "; ".join(failures))
    else:
        print("OK")
    if args.keep_log or failures:
        print(f"bot log kept: {log_path}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failures else 0


async def take_all(
    api: FakeBotAPI, seen: Observed, users: set[int], seconds: float
) -> list[float]:
    """An agent taps Take on every ticket of the latest board at once; per tap, the seconds
    until that ticket's card is in the group (its topic, in topics mode)."""
    assert seen.board is not None
    message = seen.board.result if isinstance(seen.board.result, dict) else {}
    tickets = take_buttons(seen.board.params)
    tapped: dict[int, float] = {}
    for ticket in tickets:
        tapped[ticket] = api.clock()
        api.push_update(api.callback_query(AGENT, f"desk:{ticket}:take", message))

    def carded() -> bool:
        seen.scan(api.calls, users)
        return all(t in seen.card_of for t in tickets)

    await wait_until(api, seen.seen, carded, "cards of the taken tickets", seconds)
    return [seen.cards[seen.card_of[t]].at - tapped[t] for t in tickets]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--mode", choices=("topics", "reply"), default="topics")
    p.add_argument("--users", type=int, default=200, help="simultaneous handoffs (default 200)")
    p.add_argument(
        "--group-per-minute",
        type=int,
        default=0,
        help="the group's limit on the fake and in the bot; 0 = none (default)",
    )
    p.add_argument("--burst", type=int, help="SENDER_BURST (default: 100 unlimited, else bot's)")
    p.add_argument(
        "--database-url",
        help="postgresql+asyncpg://... server to make a fresh database on "
        "(default: a SQLite file in a temp dir)",
    )
    p.add_argument(
        "--goal", type=float, default=60.0, help="every ticket takeable within this (s; 0: none)"
    )
    p.add_argument(
        "--all-cards",
        action="store_true",
        help="then wait until every ticket's card is in the group (the background ones too)",
    )
    p.add_argument(
        "--take",
        action="store_true",
        help="then an agent taps Take on every ticket on the board at once: tap -> card",
    )
    p.add_argument("--timeout", type=float, default=900, help="seconds to wait for each stage")
    p.add_argument("--settle", type=float, default=1.0, help="seconds to watch for duplicates")
    p.add_argument("--log-level", default="INFO", help="the bot's LOG_LEVEL (default INFO)")
    p.add_argument("--keep-log", action="store_true", help="keep the temp dir with the bot log")
    args = p.parse_args(argv)
    if args.users < 1 or args.group_per_minute < 0:
        p.error("--users must be >= 1 and --group-per-minute >= 0")
    return args


if __name__ == "__main__":
    raise SystemExit(asyncio.run(run(parse_args())))
