"""The Python client against a real ``mixflow serve`` subprocess (SQLite)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mixflow.client import ClientError, MixflowClient

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "mmm" / "robyn_simulated_weekly.csv"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    home = tmp_path_factory.mktemp("home")
    env = {**os.environ, "MIXFLOW_HOME": str(home), "MIXFLOW_DATABASE_URL": ""}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    mixflow = [sys.executable, "-m", "mixflow"]
    subprocess.run([*mixflow, "db", "upgrade"], env=env, check=True, capture_output=True)
    made = subprocess.run(
        [*mixflow, "keys", "create", "--workspace", "acme", "--role", "analyst", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    key = json.loads(made.stdout)["key"]
    proc = subprocess.Popen(
        [*mixflow, "serve", "--port", str(port), "--workers", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/healthz", timeout=2)
            break
        except httpx.TransportError:
            time.sleep(0.3)
    yield url, key
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)


def test_me_and_jobs(server: tuple[str, str]) -> None:
    url, key = server
    with MixflowClient(url, key) as mf:
        assert mf.me()["workspace"] == "acme"
        assert mf.jobs() == []


def test_bad_key_raises_with_status(server: tuple[str, str]) -> None:
    url, _ = server
    with MixflowClient(url, "mf_0123456789abcdef_x") as mf, pytest.raises(ClientError) as err:
        mf.me()
    assert err.value.status == 401 and "unknown or revoked" in err.value.detail


def test_fit_queues_and_cancel(server: tuple[str, str], tmp_path: Path) -> None:
    url, key = server
    config = tmp_path / "config.yaml"
    config.write_text(
        (ROOT / "examples" / "robyn_weekly.yaml")
        .read_text()
        .replace("../data/mmm/robyn_simulated_weekly.csv", DATA.name)
    )
    with MixflowClient(url, key) as mf:
        job = mf.fit(config, [DATA], "revenue")
        assert job["state"] == "queued"
        assert mf.cancel(job["job_id"])["state"] == "cancelled"
        with pytest.raises(ClientError, match="cancelled"):
            mf.wait(job["job_id"], poll_s=0.1)
