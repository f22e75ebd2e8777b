"""mixflow serve as a real subprocess: migrates an empty database, serves, stops its worker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_serve_migrates_serves_and_stops_its_worker(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "MIXFLOW_HOME": str(tmp_path), "MIXFLOW_DATABASE_URL": ""}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mixflow", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert ready is not None and ready.status_code == 200, ready
        workers = _children(proc.pid)
        assert len(workers) == 1
        me = httpx.get(f"http://127.0.0.1:{port}/api/v1/me")
        assert me.status_code == 401
        assert me.headers["content-type"] == "application/problem+json"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    for pid in workers:
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        )
