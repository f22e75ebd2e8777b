"""A job outlives the API process: submitted to one ``mixflow serve``, which is then stopped,
it is run by the worker of a second ``mixflow serve`` on the same MIXFLOW_HOME and database,
and the new process shows it succeeded and its model registered (real processes, SQLite)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_fit_job import fit_files

KEY_ARGS = ("keys", "create", "--workspace", "acme", "--role", "analyst", "--json")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serve(env: dict[str, str], workers: int) -> Iterator[str]:
    """A ``mixflow serve`` with ``workers`` job workers; yields its base URL once ready."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mixflow", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"mixflow serve exited with {proc.returncode}"
            assert time.monotonic() < deadline, "mixflow serve did not become ready"
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX signals")
def test_a_job_queued_on_one_serve_completes_on_the_next(
    tmp_path: Path, small_brand_config: Callable[[Path, dict[str, Any]], Path]
) -> None:
    env = {**os.environ, "MIXFLOW_HOME": str(tmp_path / "home"), "MIXFLOW_DATABASE_URL": ""}
    env.pop("MLFLOW_TRACKING_URI", None)
    made = subprocess.run(
        [sys.executable, "-m", "mixflow", *KEY_ARGS],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    headers = {"Authorization": f"Bearer {json.loads(made.stdout)['key']}"}
    files = fit_files(tmp_path, small_brand_config, model_name="restarted")
    # the first API has no worker: the job is still queued when it stops
    with _serve(env, workers=0) as url:
        r = httpx.post(f"{url}/api/v1/fits", files=files, headers=headers, timeout=60)
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        job = httpx.get(f"{url}/api/v1/jobs/{job_id}", headers=headers).json()
        assert job["state"] == "queued"
    with _serve(env, workers=1) as url:
        deadline = time.monotonic() + 120
        while job["state"] in ("queued", "running"):
            assert time.monotonic() < deadline, f"job still {job['state']}"
            time.sleep(0.3)
            job = httpx.get(f"{url}/api/v1/jobs/{job_id}", headers=headers).json()
        assert job["state"] == "succeeded", job
        assert job["result"]["model_name"] == "restarted"
        version = job["result"]["version"]
        model = httpx.get(f"{url}/api/v1/models/restarted", headers=headers)
        assert model.status_code == 200, model.text
        assert version in [v["version"] for v in model.json()["versions"]]
