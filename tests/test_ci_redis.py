""".ci/redis.sh starts a throwaway Redis on 127.0.0.1 that answers, and `stop` stops the one
this checkout started (and no other)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None and not Path("/usr/bin/redis-server").exists(),
    reason="redis-server is not installed (.ci/redis.sh install)",
)


def _checkout(base: Path, name: str) -> Path:
    checkout = base / name
    (checkout / ".ci").mkdir(parents=True)
    shutil.copy(ROOT / ".ci" / "redis.sh", checkout / ".ci" / "redis.sh")
    return checkout.resolve()


def _script(
    checkout: Path, tmp: Path, command: str, **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REDIS_")}
    return subprocess.run(  # noqa: S603 (our own script)
        ["bash", str(checkout / ".ci" / "redis.sh"), command],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, "TMPDIR": str(tmp), **env},
        check=False,
    )


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_start_serves_on_localhost_and_stop_only_stops_this_checkouts_server(
    tmp_path: Path,
) -> None:
    a, b = _checkout(tmp_path, "a"), _checkout(tmp_path, "b")
    port = _free_port()
    started = _script(a, tmp_path, "start", REDIS_PORT=str(port))
    try:
        assert started.returncode == 0, started.stderr
        assert started.stdout.strip() == f"export TEST_REDIS_URL=redis://127.0.0.1:{port}/0"
        assert _ping(port)
        state = a / ".ci" / ".redis-state"

        pointed = _script(b, tmp_path, "stop", REDIS_STATE_FILE=str(state))  # a's, from b
        assert pointed.returncode != 0 and "not stopping it" in pointed.stderr
        assert _ping(port)
    finally:
        stopped = _script(a, tmp_path, "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert not _ping(port)
    assert not (a / ".ci" / ".redis-state").exists()
