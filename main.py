"""Command line: run | shell | faq eval | faq learn | faq export | faq unanswered |
orders import | orders link | db upgrade."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from typing import TYPE_CHECKING

from bot.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from faq import Learned
    from orders.intake import IntakeResult
    from orders.records import OrderRecord
    from support.insights import Gap

# Loggers that write SQL parameters, i.e. what customers wrote: aiosqlite logs every call
# with its arguments at DEBUG, SQLAlchemy every statement at INFO. Only with LOG_SQL=true:
# then SQLAlchemy's statements at INFO, aiosqlite's calls at LOG_LEVEL=DEBUG.
SQL_LOGGERS = {"sqlalchemy.engine": logging.INFO, "aiosqlite": logging.NOTSET}


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        from bot.logs import JsonFormatter

        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler])
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    for name, asked in SQL_LOGGERS.items():
        logging.getLogger(name).setLevel(asked if settings.log_sql else logging.WARNING)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="main.py", description="Shop customer-service bot")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "run", help="run the bot in Telegram (long polling; the webhook when WEBHOOK_URL is set)"
    )
    sh = sub.add_parser("shell", help="chat with the bot in this terminal, without Telegram")
    sh.add_argument("--lang", choices=["zh", "en"], default="zh", help="your Telegram language")
    sh.add_argument("--user-id", type=int, default=1, help="customer id to chat as")
    sh.add_argument(
        "--database-url",
        default="sqlite+aiosqlite:///data/shell.db",
        help="database for the shell's conversations (kept apart from the bot's by default)",
    )
    faq = sub.add_parser("faq", help="FAQ tools").add_subparsers(dest="faq_command", required=True)
    ev = faq.add_parser("eval", help="evaluate the matcher on labelled questions")
    ev.add_argument("--kb", required=True, help="knowledge base YAML")
    ev.add_argument("--cases", required=True, help="CSV with columns question,expected")
    ev.add_argument("--json", action="store_true", help="end with one JSON line of metrics")
    ev.add_argument("--answer-threshold", type=float)
    ev.add_argument("--clarify-threshold", type=float)
    ev.add_argument(
        "--semantic",
        choices=("auto", "on", "off"),
        default="auto",
        help="auto: the embedding model when installed (as the bot); on: require it; off: lexical",
    )
    ev.add_argument(
        "--embedding-cache",
        default=os.environ.get("FAQ_EMBEDDING_CACHE") or "data/faq-embeddings",
        help="folder for the FAQ's cached embeddings (default: FAQ_EMBEDDING_CACHE or "
        "data/faq-embeddings)",
    )
    le = faq.add_parser(
        "learn", help="add labelled questions to their entries as phrasings; write the new FAQ"
    )
    le.add_argument("--kb", required=True, help="knowledge base YAML")
    le.add_argument("--cases", required=True, help="CSV with columns question,expected")
    le.add_argument("--out", required=True, help="YAML file to write the new FAQ to")
    ex = faq.add_parser(
        "export", help="write the FAQ in use: FAQ_PATH and what the desk taught it (database)"
    )
    ex.add_argument("--out", required=True, help="YAML file to write")
    un = faq.add_parser(
        "unanswered", help="export questions the bot could not answer (CSV, most asked first)"
    )
    un.add_argument("--days", type=int, default=30, help="look back this many days")
    un.add_argument("--out", help="CSV file to write (default: standard output)")
    orders = sub.add_parser("orders", help="the shop's orders").add_subparsers(
        dest="orders_command", required=True
    )
    oi = orders.add_parser(
        "import",
        help="load orders from a CSV file (a re-sent order updates its row)",
        description="Load the shop's orders from a UTF-8 CSV file whose header is exactly "
        "order_id,telegram_id,phone,status,carrier,tracking_number,items,amount,currency,"
        "paid_at,shipped_at,delivered_at,eta (any order). Bad rows are reported by line and "
        "left out; the good ones are loaded. Customers whose order shipped or was delivered "
        "in the last 24 hours are told (once per event). Exit code: 0 all rows loaded, 1 some "
        "rows rejected, 2 the file could not be read. See docs/orders.md.",
    )
    oi.add_argument("file", help="the CSV file")
    oi.add_argument(
        "--no-notify",
        action="store_true",
        help="load without messaging any customer: for old orders, above all when their "
        "shipped_at/delivered_at are empty (an empty time counts as now)",
    )
    ol = orders.add_parser(
        "link", help="print an order's signed deep link (for the shop's order page)"
    )
    ol.add_argument("order_id", help="the shop's order id (A-Z, a-z, 0-9, _ and -)")
    ol.add_argument(
        "--bot", help="the bot's username (default: asked from Telegram with BOT_TOKEN)"
    )
    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply migrations up to the latest")
    dc = db.add_parser(
        "copy",
        help="copy this database (DATABASE_URL) into a new, empty one: SQLite to PostgreSQL",
    )
    dc.add_argument(
        "--to", required=True, metavar="URL", help="the target, e.g. postgresql+asyncpg://…"
    )
    return p


async def _db_upgrade() -> int:
    from bot.app import open_database
    from storage.migrate import upgrade

    settings = load_settings()
    engine = await open_database(settings.database_url, log_sql=settings.log_sql)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    print(f"database is up to date: {settings.database_url.split('@')[-1]}")
    return 0


async def _db_copy(source_url: str, target_url: str) -> int:
    from bot.app import open_database
    from storage.transfer import Copied, CopyRefused, copy_database

    def where(url: str) -> str:
        return url.split("@")[-1]  # never the password

    source = await open_database(source_url)
    try:
        target = await open_database(target_url, setting="--to")
    except BaseException:
        await source.dispose()
        raise
    print(f"copying {where(source_url)} -> {where(target_url)}", flush=True)

    def progress(c: Copied) -> None:
        print(f"  {c.table}: {c.rows}", flush=True)

    try:
        done = await copy_database(source, target, progress=progress)
    except CopyRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        await target.dispose()
        await source.dispose()
    print(f"copied {sum(c.rows for c in done)} rows in {len(done)} tables")
    print("now point DATABASE_URL at the new database and start the bot")
    return 0


async def _fetch_unanswered(days: int) -> list[Gap]:
    from datetime import UTC, datetime, timedelta

    from bot.app import open_database
    from storage.engine import create_session_factory
    from storage.migrate import upgrade
    from support.insights import unanswered_questions

    settings = load_settings()
    engine = await open_database(settings.database_url, log_sql=settings.log_sql)
    try:
        await upgrade(engine)
        async with create_session_factory(engine)() as session:
            since = datetime.now(UTC) - timedelta(days=days)
            return await unanswered_questions(session, since=since)
    finally:
        await engine.dispose()


def _faq_unanswered(days: int, out: str | None) -> int:
    import csv
    import io

    gaps = asyncio.run(_fetch_unanswered(days))
    buf = io.StringIO()
    writer = csv.writer(buf)
    # question,expected first: label `expected` and the file is a `faq eval` test set.
    writer.writerow(
        ["question", "expected", "lang", "times", "customers", "best_guess", "confidence",
         "reasons", "last_asked"]
    )  # fmt: skip
    for g in gaps:
        writer.writerow(
            [g.question, "", g.lang, g.times, g.customers, g.best_guess or "",
             f"{g.confidence:.2f}", g.reasons, g.last_asked.isoformat(timespec="seconds")]
        )  # fmt: skip
    if out is None:
        sys.stdout.write(buf.getvalue())
        return 0
    with open(out, "w", newline="", encoding="utf-8") as fh:
        fh.write(buf.getvalue())
    print(f"{len(gaps)} questions written to {out}", file=sys.stderr)
    return 0


async def _fetch_learned() -> Learned:
    """Everything the desk taught the FAQ, from the database at DATABASE_URL."""
    from bot.app import open_database
    from storage.engine import create_session_factory
    from storage.migrate import upgrade
    from support.learning import load_learned

    settings = load_settings()
    engine = await open_database(settings.database_url, log_sql=settings.log_sql)
    try:
        await upgrade(engine)
        async with create_session_factory(engine)() as session:
            return await load_learned(session)
    finally:
        await engine.dispose()


def _faq_export(out: str) -> int:
    """FAQ_PATH merged with every learned row, written to `out` in the YAML contract."""
    from pathlib import Path

    from faq import dump_kb, load_kb, merge_learned

    settings = load_settings()
    kb = load_kb(settings.faq_path)
    learned = asyncio.run(_fetch_learned())
    merged = merge_learned(kb, learned)
    header = (
        f"Written by `python main.py faq export`: {Path(settings.faq_path).name} "
        "with what the support desk taught it."
    )
    try:
        Path(out).write_text(dump_kb(merged, header=header), encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(
        f"{len(merged.entries)} entries ({len(learned.entries)} learned entries, "
        f"{len(learned.phrasings)} learned phrasings) written to {out}",
        file=sys.stderr,
    )
    return 0


async def _bot_username(settings: Settings) -> str:
    from bot.app import check_bot_api, create_bot

    bot = create_bot(settings)
    try:
        me = await check_bot_api(bot, settings)
    finally:
        await bot.session.close()
    return me.username or ""


def _orders_link(settings: Settings, order_id: str, bot_username: str | None) -> int:
    """The deep link that links the order to whoever opens it (orders.linking)."""
    from orders.linking import NotLinkable, deep_link, start_parameter

    secret = settings.order_link_secret
    if secret is None:
        raise ConfigError("ORDER_LINK_SECRET is not set: order links are signed with it")
    key = secret.get_secret_value().encode()
    try:
        start_parameter(key, order_id)  # refuses an id a link cannot carry, before Telegram
    except NotLinkable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(deep_link(bot_username or asyncio.run(_bot_username(settings)), key, order_id))
    return 0


MAX_REPORTED_ROWS = 100  # bad rows listed one by one; the rest are counted


async def _upsert_orders(
    settings: Settings, records: list[OrderRecord], *, notify: bool
) -> IntakeResult:
    from datetime import UTC, datetime

    from bot.app import open_database
    from orders.intake import upsert_orders
    from storage.engine import create_session_factory
    from storage.migrate import upgrade

    engine = await open_database(settings.database_url, log_sql=settings.log_sql)
    try:
        await upgrade(engine)
        sessions = create_session_factory(engine)
        return await upsert_orders(sessions, records, now=datetime.now(UTC), notify=notify)
    finally:
        await engine.dispose()


def _orders_import(settings: Settings, path: str, *, notify: bool) -> int:
    """Exit 0: every row loaded; 1: some rows rejected (the others loaded); 2: unreadable."""
    from orders.records import HeaderError, read_csv, record_lines

    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:  # -sig: Excel's BOM
            found = read_csv(fh, settings.tz)
    except OSError as exc:
        print(f"error: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as exc:
        print(
            f"error: {path} is not UTF-8 text (byte {exc.start}); save it as CSV UTF-8",
            file=sys.stderr,
        )
        return 2
    except HeaderError as exc:
        print(f"error: {path}: {exc}", file=sys.stderr)
        return 2
    for bad in found.rejected[:MAX_REPORTED_ROWS]:
        print(f"{path}: line {bad.line}: {record_lines(bad.errors)}", file=sys.stderr)
    if len(found.rejected) > MAX_REPORTED_ROWS:
        more = len(found.rejected) - MAX_REPORTED_ROWS
        print(f"{path}: ... and {more} more bad rows", file=sys.stderr)
    result = asyncio.run(_upsert_orders(settings, found.records, notify=notify))
    told = f"{result.notices} customer updates queued" if notify else "customers not notified"
    print(
        f"{len(found.records)} orders loaded: {result.created} created, {result.updated} "
        f"updated, {result.unchanged} unchanged; {len(found.rejected)} rows rejected; {told}"
    )
    return 1 if found.rejected else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "faq" and args.faq_command == "unanswered":
            return _faq_unanswered(args.days, args.out)
        if args.command == "faq" and args.faq_command == "export":
            return _faq_export(args.out)
        if args.command == "faq" and args.faq_command == "learn":
            from faq.learn import run_learn_cli

            return run_learn_cli(args.kb, args.cases, args.out)
        if args.command == "faq":
            from faq.evaluate import run_eval_cli

            return run_eval_cli(
                args.kb,
                args.cases,
                as_json=args.json,
                answer_threshold=args.answer_threshold,
                clarify_threshold=args.clarify_threshold,
                semantic=args.semantic,
                cache_dir=args.embedding_cache,
            )
        settings = load_settings()
        configure_logging(settings)
        if args.command == "db" and args.db_command == "copy":
            return asyncio.run(_db_copy(settings.database_url, args.to))
        if args.command == "db":
            return asyncio.run(_db_upgrade())
        if args.command == "orders" and args.orders_command == "link":
            return _orders_link(settings, args.order_id, args.bot)
        if args.command == "orders" and args.orders_command == "import":
            return _orders_import(settings, args.file, notify=not args.no_notify)
        if args.command == "shell":
            from bot.shell import run_shell

            logging.getLogger().setLevel(logging.WARNING)
            # One person at a keyboard (or a pasted script): flood control would only get
            # in the way here.
            shell_settings = settings.model_copy(
                update={"database_url": args.database_url, "flood_max_messages": 10**6}
            )
            return asyncio.run(run_shell(shell_settings, language=args.lang, user_id=args.user_id))
        from bot.app import require_token, run_polling

        require_token(settings)  # fails fast, in one line, without a token
        asyncio.run(run_polling(settings))
        return 0
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from faq import KBError

        if isinstance(exc, KBError):
            print(f"error: the FAQ file is not valid:\n{exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
