"""`python main.py orders import FILE` as a shop uses it: a real file, a real database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import main
from orders.records import HEADER

ROOT = Path(__file__).resolve().parent.parent.parent


def write_csv(path: Path, *rows: str, header: str = ",".join(HEADER), bom: bool = False) -> Path:
    text = "\r\n".join([header, *rows]) + "\r\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *argv: str) -> int:
    """main.main in this process, against an SQLite file in tmp_path."""
    monkeypatch.chdir(tmp_path)  # no .env
    for name in ("BOT_TOKEN", "LOG_LEVEL", "ORDERS_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}")
    monkeypatch.setenv("TIMEZONE", "Asia/Shanghai")
    return main.main(list(argv))


def table(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(tmp_path / "shop.db") as db:
        return list(db.execute(sql))


def recent(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat(timespec="seconds")


def test_bad_rows_are_reported_by_line_and_good_rows_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = write_csv(
        tmp_path / "orders.csv",
        f'SO-1,101,,shipped,SF,SF1,"Mug, blue x1",19.90,CNY,,{recent(2)},,',
        "SO-2,,+86 138 0013 8000,sent,,,,99,CNY,,,,",
        '"SO-3",,,paid,,,"two-line',
        'note",1500,JPY,2026-11-20 10:00,,,',
        "",
        "SO-4,,,paid,,,,-5,CNY,,,,",
        "SO-5,,,paid,,,,12.00,CNY",
        bom=True,
    )
    code = run(monkeypatch, tmp_path, "orders", "import", str(csv_file))
    out, err = capsys.readouterr()
    assert code == 1
    assert err.splitlines() == [
        f"{csv_file}: line 3: status: 'sent' is not one of pending, paid, shipped, in_transit, "
        "delivered, cancelled, returned, refunded",
        f"{csv_file}: line 7: amount: '-5' is negative",
        f"{csv_file}: line 8: row: has 9 fields; the header has 13",
    ]
    assert out.strip() == (
        "2 orders loaded: 2 created, 0 updated, 0 unchanged; 3 rows rejected; "
        "1 customer updates queued"
    )
    assert table(
        tmp_path,
        "SELECT order_id, status, amount_minor, currency, items, paid_at "
        "FROM orders ORDER BY order_id",
    ) == [  # fmt: skip
        ("SO-1", "shipped", 1990, "CNY", "Mug, blue x1", None),
        ("SO-3", "paid", 1500, "JPY", "two-line\nnote", "2026-11-20 02:00:00.000000"),
    ]
    assert table(tmp_path, "SELECT chat_id, kind, dedupe_key FROM outbox") == [
        (101, "order_update", "order:SO-1:shipped:101")
    ]


def test_a_clean_file_exits_0_and_a_resend_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = write_csv(tmp_path / "o.csv", f"A1,7,,delivered,,,,5,USD,,,{recent(1)},")
    assert run(monkeypatch, tmp_path, "orders", "import", str(csv_file)) == 0
    assert run(monkeypatch, tmp_path, "orders", "import", str(csv_file)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == (
        "1 orders loaded: 0 created, 0 updated, 1 unchanged; 0 rows rejected; "
        "0 customer updates queued"
    )
    assert len(table(tmp_path, "SELECT id FROM outbox")) == 1


def test_no_notify_loads_without_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = write_csv(tmp_path / "o.csv", f"A1,7,,shipped,,,,5,USD,,{recent(1)},,")
    assert run(monkeypatch, tmp_path, "orders", "import", "--no-notify", str(csv_file)) == 0
    assert "customers not notified" in capsys.readouterr().out
    assert table(tmp_path, "SELECT order_id FROM orders") == [("A1",)]
    assert table(tmp_path, "SELECT id FROM outbox") == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        (b"", "the file is empty"),
        (b"order_id,status\r\nA,paid\r\n", "line 1: missing columns: telegram_id, phone,"),
        (",".join([*HEADER, "coupon"]).encode() + b"\n", "line 1: unknown column: 'coupon'"),
        (",".join(HEADER).encode("utf-16"), "is not UTF-8 text"),
    ],
)
def test_an_unreadable_file_or_a_bad_header_exits_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: bytes | None,
    message: str,
) -> None:
    path = tmp_path / "o.csv"
    if content is not None:
        path.write_bytes(content)
    assert run(monkeypatch, tmp_path, "orders", "import", str(path)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "shop.db").exists() or table(tmp_path, "SELECT * FROM orders") == []


def test_the_real_command_and_its_help(tmp_path: Path) -> None:
    write_csv(tmp_path / "o.csv", "A1,,,paid,,,,5,CNY,,,,", "A2,,,paid,,,,x,CNY,,,,")
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    proc = subprocess.run(  # noqa: S603 (our own script)
        [sys.executable, str(ROOT / "main.py"), "orders", "import", "o.csv"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "o.csv: line 3: amount: 'x' is not an amount" in proc.stderr
    assert proc.stdout.startswith("1 orders loaded: 1 created")
    helped = subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "main.py"), "orders", "import", "--help"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    said = " ".join(helped.stdout.split())  # argparse wraps to the terminal's width
    assert "--no-notify load without messaging any customer" in said
