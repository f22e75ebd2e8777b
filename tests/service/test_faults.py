"""Faults: a worker SIGKILLed mid-fit, the API restarted with jobs queued and running, the
database briefly unreachable, two workers racing for one job."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from service_jobhandlers import HANDLERS
from service_postgres import CuttableProxy, fresh_database
from sqlalchemy.engine import make_url
from test_fit_job import _versions, fit_files

from mixflow.service.app import create_app
from mixflow.service.db.migrate import upgrade
from mixflow.service.db.models import Job
from mixflow.service.db.session import make_engine, make_session_factory
from mixflow.service.jobs import store
from mixflow.service.jobs.worker import Worker
from mixflow.service.settings import ServiceSettings


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_worker_sigkilled_mid_fit_is_retried_and_registers_nothing(
    client: TestClient,
    keys: dict[str, str],
    tmp_path: Path,
    small_brand_config: Callable[[Path, dict[str, Any]], Path],
    no_tracking_server: None,
) -> None:
    settings: ServiceSettings = client.app.state.settings  # type: ignore[attr-defined]
    sessions = client.app.state.sessions  # type: ignore[attr-defined]
    r = client.post(
        "/api/v1/fits",
        files=fit_files(tmp_path, small_brand_config),
        headers={"X-API-Key": keys["analyst"]},
    )
    job_id = r.json()["job_id"]
    env = {**os.environ, "MIXFLOW_HOME": str(settings.home), "MIXFLOW_DATABASE_URL": ""}
    worker = subprocess.Popen(
        [sys.executable, "-m", "mixflow", "worker", "--lease-s", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(lambda: bool(_children(worker.pid)), 60, "the fit's child process")
        with sessions() as s:
            assert store.get_job(s, "acme", job_id).state == "running"
        fit_processes = _children(worker.pid)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        # the fit dies with its worker (PR_SET_PDEATHSIG): no orphan goes on to register
        _wait(lambda: not any(_alive(p) for p in fit_processes), 10, "the orphaned fit to die")
    finally:
        if worker.poll() is None:
            worker.kill()
    time.sleep(2.5)  # past the 2 s lease
    with sessions() as s:
        assert store.reap_expired(s) == 1
        job = store.get_job(s, "acme", job_id)
        assert (job.state, job.attempts, job.worker) == ("queued", 1, None)  # retried
    assert _versions(client, "acme.revenue") == []


def test_jobs_survive_an_api_restart(settings: ServiceSettings, tmp_path: Path) -> None:
    upgrade(settings)
    with TestClient(create_app(settings)) as first:
        sessions = first.app.state.sessions  # type: ignore[attr-defined]
        with sessions() as s:
            running = store.enqueue(
                s, workspace="acme", kind="echo", payload={"value": 1}, max_queued=9
            )
            queued = store.enqueue(
                s, workspace="acme", kind="echo", payload={"value": 2}, max_queued=9
            )
            assert store.claim(s, "w1", timedelta(seconds=60)) is not None  # the older one
    # a new API process on the same database
    with TestClient(create_app(settings)) as second:
        from mixflow.service.auth import Role, create_key

        sessions = second.app.state.sessions  # type: ignore[attr-defined]
        with sessions() as s:
            key = create_key(s, name="v", workspace="acme", role=Role.viewer).secret
        states = {
            j["job_id"]: j["state"]
            for j in second.get("/api/v1/jobs", headers={"X-API-Key": key}).json()
        }
        assert states == {running.id: "running", queued.id: "queued"}
        worker = Worker(sessions=sessions, home=tmp_path, handlers=HANDLERS, heartbeat_s=0.2)
        assert worker.run_once()  # the queued one, by a worker of the new process
        with sessions() as s:  # the running one's worker is still alive and finishes it
            assert store.heartbeat(s, running.id, "w1", timedelta(seconds=60))
            assert store.finish(s, running.id, "w1", store.JobState.succeeded, result={"echo": 1})
        after = {
            j["job_id"]: (j["state"], j["result"])
            for j in second.get("/api/v1/jobs", headers={"X-API-Key": key}).json()
        }
        assert after == {
            running.id: ("succeeded", {"echo": 1}),
            queued.id: ("succeeded", {"echo": 2}),
        }


def test_readyz_is_503_while_the_database_is_unreachable_then_recovers(tmp_path: Path) -> None:
    with fresh_database() as url:
        target = make_url(url)
        proxy = CuttableProxy((target.host or "127.0.0.1", target.port or 5432))
        proxy.restore()
        via = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        settings = ServiceSettings(home=tmp_path, database_url=via)
        upgrade(settings)
        app = create_app(settings)
        try:
            with TestClient(app, raise_server_exceptions=False) as c:
                assert c.get("/readyz").status_code == 200
                proxy.cut()
                down = c.get("/readyz")
                assert down.status_code == 503
                assert down.json()["detail"] == "the database is unreachable"
                assert down.headers["content-type"] == "application/problem+json"
                proxy.restore()
                _wait(lambda: c.get("/readyz").status_code == 200, 15, "recovery")
                assert c.get("/healthz").json()["status"] == "ok"
        finally:
            proxy.cut()
            app.state.engine.dispose()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_two_workers_racing_for_one_job_run_it_once(tmp_path: Path, database: str) -> None:
    def race(settings: ServiceSettings) -> None:
        upgrade(settings)
        engine = make_engine(settings)
        sessions = make_session_factory(engine)
        log = tmp_path / "runs.log"
        with sessions() as s:
            job = store.enqueue(
                s, workspace="acme", kind="mark", payload={"log": str(log)}, max_queued=9
            )
        workers = [
            Worker(
                sessions=sessions, home=tmp_path, handlers=HANDLERS, name=f"w{i}", heartbeat_s=0.2
            )
            for i in range(2)
        ]
        barrier = threading.Barrier(2)
        ran: list[bool] = []

        def go(w: Worker) -> None:
            barrier.wait()
            ran.append(w.run_once())

        threads = [threading.Thread(target=go, args=(w,)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(ran) == [False, True]
        assert log.read_text().splitlines() == [job.id]
        with sessions() as s:
            row = s.get(Job, job.id)
            assert row is not None and (row.state, row.attempts) == ("succeeded", 1)
        engine.dispose()

    if database == "sqlite":
        race(ServiceSettings(home=tmp_path, database_url=""))
    else:
        with fresh_database() as url:
            race(ServiceSettings(home=tmp_path, database_url=url))


def test_readyz_is_503_while_the_model_store_is_unreachable(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, no_tracking_server: None
) -> None:
    assert client.get("/readyz").status_code == 200
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = int(s.getsockname()[1])  # nothing listens once closed
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{dead}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    down = client.get("/readyz")
    assert down.status_code == 503
    assert down.json()["detail"] == "the model store (MLflow registry) is unreachable"
