""".ci/postgres.sh keeps its state per checkout: `stop` in one checkout never stops the
throwaway PostgreSQL another checkout started. (No server is started here: a recorded
cluster without a running server is enough to see whose state `stop` reads and removes.)"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _checkout(base: Path, name: str) -> Path:
    checkout = base / name
    (checkout / ".ci").mkdir(parents=True)
    shutil.copy(ROOT / ".ci" / "postgres.sh", checkout / ".ci" / "postgres.sh")
    return checkout.resolve()


def _stop(checkout: Path, tmp: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PG_")}
    return subprocess.run(  # noqa: S603 (our own script)
        ["bash", str(checkout / ".ci" / "postgres.sh"), "stop"],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, "TMPDIR": str(tmp), **env},  # an old shared default stays in tmp
        check=False,
    )


def test_stop_only_stops_the_cluster_this_checkout_started(tmp_path: Path) -> None:
    a, b = _checkout(tmp_path, "a"), _checkout(tmp_path, "b")
    cluster = tmp_path / "shopbot-pg.a"
    (cluster / "data").mkdir(parents=True)
    state = a / ".ci" / ".postgres-state"
    state.write_text(
        f"PG_CHECKOUT={a}\nPG_DIR={cluster}\nPG_BINDIR=/nonexistent\n", encoding="utf-8"
    )

    other = _stop(b, tmp_path)  # b's own state: none
    assert other.returncode == 0 and "not running" in other.stderr
    assert state.exists() and cluster.exists()

    pointed = _stop(b, tmp_path, PG_STATE_FILE=str(state))  # a's state, from b
    assert pointed.returncode != 0 and "not stopping it" in pointed.stderr
    assert state.exists() and cluster.exists()

    own = _stop(a, tmp_path)
    assert own.returncode == 0, own.stderr
    assert not state.exists() and not cluster.exists()
