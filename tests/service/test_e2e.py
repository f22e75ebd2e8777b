"""End to end against a real ``mixflow serve`` process (free port, one worker) on SQLite and on
PostgreSQL, through the Python client: fit -> the job succeeds -> summary -> report -> promote
-> simulate -> optimize -> saved plan (read back by a viewer, who may not save one)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_postgres import fresh_database
from test_fit_job import TINY_FIT

from mixflow.client import Client, ClientError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """(URL, keys by role) of a ``mixflow serve`` on a fresh MIXFLOW_HOME and database."""
    with fresh_database() if request.param == "postgresql" else _no_database() as url:
        home = tmp_path / "home"
        env = {**os.environ, "MIXFLOW_HOME": str(home), "MIXFLOW_DATABASE_URL": url}
        env.pop("MLFLOW_TRACKING_URI", None)
        mixflow = [sys.executable, "-m", "mixflow"]
        keys = {}
        for role in ("viewer", "admin"):
            create = ["keys", "create", "--workspace", "acme", "--role", role, "--name", role]
            made = subprocess.run(
                [*mixflow, *create, "--json"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            keys[role] = json.loads(made.stdout)["key"]
        port = _free_port()
        log = (tmp_path / "serve.log").open("wb")
        proc = subprocess.Popen(
            [*mixflow, "serve", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "serve did not become ready"
                time.sleep(0.3)
            yield base, keys
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()


class _no_database:  # used like fresh_database(): the default SQLite database
    def __enter__(self) -> str:
        return ""

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.mark.slow  # a real fit in the served worker: about 100 s per database on 2 busy cores
def test_fit_to_promotion(
    served: tuple[str, dict[str, str]],
    tmp_path: Path,
    small_brand_config: Callable[[Path, dict[str, Any]], Path],
) -> None:
    url, keys = served
    config = small_brand_config(tmp_path, TINY_FIT)
    with Client(url, keys["admin"]) as mf:
        job = mf.fit(config, [tmp_path / "data.csv"], "revenue", wait=True, poll_s=0.5)
        assert job["state"] == "succeeded" and job["submitted_by"] == "admin"
        assert set(job["result"]) == {"model_name", "version", "run_id"}
        assert (job["result"]["model_name"], job["result"]["version"]) == ("revenue", 1)
        summary = mf.summary("revenue", 1)
        assert summary["data"]["n_periods"] == 80
        assert "<html" in mf.report("revenue", 1).lower()
        (version,) = mf.model("revenue")["versions"]
        if version["gates_passed"]:
            moved = mf.promote("revenue", 1, "first model")
        else:  # the default gates refuse it: the same 409 as mixflow promote, then override
            with pytest.raises(ClientError) as refused:
                mf.promote("revenue", 1, "first model")
            assert refused.value.status == 409
            moved = mf.promote("revenue", 1, "first model", override="e2e")
        assert (moved["alias"], moved["version"]) == ("champion", 1)
        assert mf.summary("revenue", "champion") == summary
        actions = [e["action"] for e in mf.audit()]
        assert actions == ["alias.champion", "fit.submit"]
        # what-if questions on the champion, then a saved scenario
        plan = {"name": "even", "budget": 2e5, "horizon_weeks": 6}
        out = mf.simulate("revenue", plan)
        assert (out.model.model_name, out.model.version) == ("revenue", 1)
        assert len(out.per_week) == 6 and out.spend == pytest.approx(2e5)
        doc = mf.optimize("revenue", budget=2e5, horizon_weeks=6, relative_bounds=(0.5, 2.0))
        assert doc.total_spend == pytest.approx(2e5, rel=1e-6)
        assert doc.horizon_weeks == 6
        saved = mf.save_plan("e2e even split", "revenue", plan)
        assert saved.results == out
        assert (saved.version, saved.author) == (1, "admin")
        assert mf.audit()[0]["action"] == "plan.save"
    with Client(url, keys["viewer"]) as viewer:
        assert [m["name"] for m in viewer.models()] == ["revenue"]
        assert [p.name for p in viewer.list_plans().items] == ["e2e even split"]
        assert viewer.get_plan(saved.id).results == saved.results
        assert viewer.simulate("revenue", plan, ref=1) == out
        with pytest.raises(ClientError) as not_saved:
            viewer.save_plan("viewer plan", "revenue", plan)
        assert not_saved.value.status == 403
        with pytest.raises(ClientError) as denied:
            viewer.promote("revenue", 1, "viewer")
        assert denied.value.status == 403
