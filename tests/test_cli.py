"""The command line as a newcomer uses it: real processes (or main.main in this process, where
starting Python again would only cost time), real files."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import main
from tests.fake_bot_api import FakeBotAPI

ROOT = Path(__file__).resolve().parent.parent
KB = ROOT / "faq" / "knowledge" / "shop.yaml"


def _main(*args: str, cwd: Path, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    return subprocess.run(  # noqa: S603 (our own script)
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **env},
        check=False,
    )


def test_faq_eval_json_contract(tmp_path: Path) -> None:
    cases = tmp_path / "cases.csv"
    with cases.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["question", "expected"])
        w.writerow(["how do I return this", "how_to_return"])
        w.writerow(["多久发货", "shipping_time"])
        w.writerow(["can I bring my dog to your office party", ""])
    proc = _main("faq", "eval", "--kb", str(KB), "--cases", str(cases), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in (
        "cases",
        "answered",
        "correct",
        "out_of_scope",
        "out_of_scope_answered",
        "p50_ms",
        "p99_ms",
        "accuracy",
        "coverage",
        "precision",
    ):
        assert key in report, key
    assert report["cases"] == 3 and report["out_of_scope"] == 1
    assert 0 <= report["precision"] <= 1 and report["correct"] <= report["answered"]


def test_faq_eval_bad_inputs_are_one_clear_error(tmp_path: Path) -> None:
    missing = _main("faq", "eval", "--kb", str(KB), "--cases", "nope.csv", cwd=tmp_path)
    assert missing.returncode == 2 and "nope.csv" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad_kb = tmp_path / "bad.yaml"
    bad_kb.write_text("entries:\n  - id: Bad Id\n    topic: nowhere\n", encoding="utf-8")
    cases = tmp_path / "c.csv"
    cases.write_text("question,expected\nhi,\n", encoding="utf-8")
    proc = _main("faq", "eval", "--kb", str(bad_kb), "--cases", str(cases), cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "topic" in proc.stderr


def test_a_broken_faq_stops_the_bot_with_every_problem(tmp_path: Path) -> None:
    bad_kb = tmp_path / "bad.yaml"
    bad_kb.write_text(
        "entries:\n  - id: a\n    topic: size\n    questions: {en: []}\n    answer: {en: x}\n"
        "  - id: a\n    topic: moon\n    questions: {zh: [问]}\n    answer: {en: x}\n",
        encoding="utf-8",
    )
    proc = _main("shell", cwd=tmp_path, stdin="", FAQ_PATH=str(bad_kb))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "FAQ file is not valid" in proc.stderr and "duplicate" in proc.stderr.lower()


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    proc = _main("db", "upgrade", cwd=tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{db}")
    assert proc.returncode == 0, proc.stderr
    with closing(sqlite3.connect(db)) as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master")}
    assert {"users", "faq_interactions", "unanswered_questions", "alembic_version"} <= tables


def test_shell_answers_the_issue_examples(tmp_path: Path) -> None:
    script = "170cm 65kg what size?\n多久发货\nhow do I return this\n我的order到哪了\n#1\n"
    proc = _main("shell", "--lang", "en", cwd=tmp_path, stdin=script)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Hi Shell!" in out
    assert "we suggest size" in out
    assert "Thanks for the feedback!" in out or "感谢您的反馈" in out
    # Four questions, four answers with feedback buttons (no "I don't know").
    assert out.count("[#1] 👍") == 4, out
    assert (tmp_path / "data" / "shell.db").exists()


def test_shell_plays_the_support_desk_too(tmp_path: Path) -> None:
    """Customer and agent in one terminal: handoff, relay both ways, close, rating."""
    script = "/human\nmy parcel 1234567890123 is late\n@ Let me check\n@ /close\n#5\n"
    proc = _main("shell", "--lang", "en", cwd=tmp_path, stdin=script)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "desk> (new topic:" in out
    assert "desk#1> (copied) my parcel 1234567890123 is late" in out
    assert "bot> (copied) Let me check" in out
    assert "How did we do?" in out
    assert "Thank you for rating us!" in out


def test_shell_runs_a_flash_sale_on_a_clock_it_can_move(tmp_path: Path) -> None:
    """The shop owner as admin: /sale, then !wait to the teaser, 🔔 in the group, the start."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    start = (datetime.now(tz) + timedelta(days=3)).replace(hour=20, minute=0, second=0)
    teaser = start - timedelta(hours=24) + timedelta(minutes=5)
    to_teaser = int((teaser - datetime.now(UTC)).total_seconds() // 60) + 1
    script = (
        f"/sale\nWinter jacket\n299 599\n#1\n#1\nhttps://shop.example/p/1\n"
        f"{start:%Y-%m-%d %H:%M}\n2h\n#2\n#1\n!wait {to_teaser}m\ng#1\n!wait 24h\n"
    )
    proc = _main("shell", "--lang", "en", cwd=tmp_path, stdin=script)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Preview" in out and "is scheduled" in out, out
    teaser_at = out.index("group> ⏰")
    assert "🔔" in out[teaser_at:]
    assert "I'll message you privately when the sale starts" in out
    started = out.index("group> 🔥")
    assert teaser_at < started
    assert "bot> 🔔 It has started!" in out[started:]


def test_unanswered_export_is_an_eval_file(tmp_path: Path) -> None:
    db = tmp_path / "shell.db"
    url = f"sqlite+aiosqlite:///{db}"
    chat = _main(
        "shell",
        "--database-url",
        url,
        cwd=tmp_path,
        stdin="zzqx blorf wibble\nzzqx blorf wibble\n",
    )
    assert chat.returncode == 0, chat.stderr
    out = tmp_path / "gaps.csv"
    proc = _main("faq", "unanswered", "--out", str(out), cwd=tmp_path, DATABASE_URL=url)
    assert proc.returncode == 0, proc.stderr
    with out.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["question"], r["times"]) for r in rows] == [("zzqx blorf wibble", "2")]
    # Labelled (here: left out of scope), it evaluates as it is.
    ev = _main("faq", "eval", "--kb", str(KB), "--cases", str(out), "--json", cwd=tmp_path)
    assert ev.returncode == 0, ev.stderr
    assert json.loads(ev.stdout.strip().splitlines()[-1])["out_of_scope"] == 1


def test_shell_shows_edits_in_full_and_plays_other_members(tmp_path: Path) -> None:
    """The drop's counter is edited in the group and shown whole; g2> and g2#N are a second
    member, who claims a code of their own and checks in for themselves."""
    script = (
        "/drop 3 Welcome gift | 30 off 200 | limit=1 days=7 audience=all\n!wait 1m\n"
        "g#1\ng2#1\ng> /checkin\ng2> /checkin\ng3> /checkin\n"
    )
    proc = _main("shell", "--lang", "en", cwd=tmp_path, stdin=script)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Traceback" not in out + proc.stderr
    post = out.index("group> 🎟")
    assert "剩余 3 / 3" in out[post:]
    edits = [i for i in range(len(out)) if out.startswith("group> (edit of message #", i)]
    assert len(edits) == 2, out
    # Each edit is shown in full: its counter and its button, still tappable.
    assert "剩余 2 / 3" in out[edits[0] : edits[1]] and "[#1] 🎁" in out[edits[0] : edits[1]]
    assert "剩余 1 / 3" in out[edits[1] :]
    assert out.count("It's yours!") == 2, out  # member 2 is not the shell user: no "limit"
    assert out.count("Checked in!") == 3, out


def test_shell_shows_updated_cards_and_sla_alerts(tmp_path: Path) -> None:
    """An agent takes the ticket: the card is redrawn with its new buttons, which can be
    tapped. A customer left waiting past the SLA raises the desk's alert on !wait."""
    script = "/human\nmy parcel is late\n!wait 4m\n@#1\n@#1\n"
    proc = _main("shell", "--lang", "en", cwd=tmp_path, stdin=script)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    waited = out.index("you> !wait 4m")
    assert "desk#1> ⏰" in out[waited:], out
    taken = out.index("you> @#1")
    card = out.index("desk#1> (edit of message #", taken)
    again = out.index("you> @#1", taken + 1)
    assert "[#1]" in out[card:again], out
    assert "(no group button" not in out[again:]


def _in_process(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *argv: str, **env: str
) -> Callable[[], int]:
    """main.main with these settings only, in this process (no interpreter start-up)."""
    monkeypatch.chdir(tmp_path)  # no .env
    for name in ("BOT_TOKEN", "DATABASE_URL", "TELEGRAM_API_URL", "LOG_LEVEL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return lambda: main.main(list(argv))


def _one_line(err: str, setting: str) -> str:
    """Exactly one line, an error naming `setting`, and no traceback."""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {setting}"), lines[0]
    return lines[0]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_bad_settings_stop_the_real_process_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    proc = _main(
        "run",
        cwd=tmp_path,
        BOT_TOKEN="123456:TEST",
        DATABASE_URL="sqlite+aiosqlite:///a-file/x.db",
    )
    assert proc.returncode == 2
    _one_line(proc.stderr, "DATABASE_URL")


def test_a_bad_database_url_is_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    (tmp_path / "garbage.db").write_text("not a database\n" * 100, encoding="utf-8")
    urls = [
        "sqlite+aiosqlite:///a-file/bot.db",  # its folder cannot be created
        "sqlite+aiosqlite:///garbage.db",
        "postgresql+asyncpg://shop:secret@127.0.0.1:notaport/shop",  # cannot be parsed
        f"postgresql+asyncpg://shop:secret@127.0.0.1:{_closed_port()}/shop",
    ]
    pg = os.environ.get("TEST_POSTGRES_URL")
    if pg:
        base = make_url(pg)
        urls += [
            base.set(database="no_such_database").render_as_string(hide_password=False),
            base.set(username="no_such_role", password="secret").render_as_string(
                hide_password=False
            ),
        ]
    for url in urls:
        for argv in (["run"], ["db", "upgrade"], ["faq", "unanswered"]):
            run = _in_process(monkeypatch, tmp_path, *argv, BOT_TOKEN="123456:T", DATABASE_URL=url)
            assert run() == 2, (argv, url)
            line = _one_line(capsys.readouterr().err, "DATABASE_URL")
            assert "secret" not in line
    shell = _in_process(monkeypatch, tmp_path, "shell", "--database-url", urls[1])
    assert shell() == 2
    _one_line(capsys.readouterr().err, "DATABASE_URL")


def test_an_unreachable_or_wrong_redis_url_is_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    for url in (
        f"redis://:secret@127.0.0.1:{_closed_port()}/0",
        "redis://127.0.0.1:notaport/0",
        "http://127.0.0.1:6379",
    ):
        run = _in_process(
            monkeypatch, tmp_path, "run", BOT_TOKEN="123456:T", DATABASE_URL=db, REDIS_URL=url
        )
        assert run() == 2, url
        assert "secret" not in _one_line(capsys.readouterr().err, "REDIS_URL")


async def test_an_unreachable_bot_api_or_a_refused_token_is_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    for api in (f"http://127.0.0.1:{_closed_port()}", "not-a-url"):
        run = _in_process(
            monkeypatch,
            tmp_path,
            "run",
            BOT_TOKEN="123456:SECRET",
            DATABASE_URL=db,
            TELEGRAM_API_URL=api,
        )
        assert await asyncio.to_thread(run) == 2
        line = _one_line(capsys.readouterr().err, f"TELEGRAM_API_URL={api}")
        assert "SECRET" not in line  # aiohttp's errors quote the URL with the token
    async with FakeBotAPI(token="123456:RIGHT") as fake:
        run = _in_process(
            monkeypatch,
            tmp_path,
            "run",
            BOT_TOKEN="123456:WRONG",
            DATABASE_URL=db,
            TELEGRAM_API_URL=fake.url,
        )
        assert await asyncio.to_thread(run) == 2
    _one_line(capsys.readouterr().err, "BOT_TOKEN")


def test_orders_link_prints_a_signed_deep_link(tmp_path: Path) -> None:
    from orders.linking import verified_order

    secret = "a-secret-for-the-shop-links"
    proc = _main("orders", "link", "SO-880123", "--bot", "shop_bot", cwd=tmp_path,
                 ORDER_LINK_SECRET=secret)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    url = proc.stdout.strip()
    assert url.startswith("https://t.me/shop_bot?start=o_SO-880123_")
    assert verified_order(secret.encode(), url.split("start=", 1)[1]) == "SO-880123"
    bad = _main("orders", "link", "SO 880123", "--bot", "shop_bot", cwd=tmp_path,
                ORDER_LINK_SECRET=secret)  # fmt: skip
    assert bad.returncode == 2 and "at most 45 characters" in bad.stderr
    unset = _main("orders", "link", "SO-880123", "--bot", "shop_bot", cwd=tmp_path)
    assert unset.returncode == 2 and "ORDER_LINK_SECRET is not set" in unset.stderr
