"""The job state machine and the worker loop on SQLite."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_jobhandlers import HANDLERS
from sqlalchemy.orm import Session, sessionmaker

from mixflow.service.db.models import Job
from mixflow.service.jobs import store
from mixflow.service.jobs.store import JobState, QuotaError
from mixflow.service.jobs.worker import Worker


@pytest.fixture
def sessions(client: TestClient) -> sessionmaker[Session]:
    return client.app.state.sessions  # type: ignore[attr-defined, no-any-return]


def _queue(
    sessions: sessionmaker[Session], kind: str, workspace: str = "acme", **payload: object
) -> str:
    with sessions() as s:
        return store.enqueue(
            s, workspace=workspace, kind=kind, payload=dict(payload), max_queued=10
        ).id


def _job(sessions: sessionmaker[Session], job_id: str) -> Job:
    with sessions() as s:
        job = s.get(Job, job_id)
        assert job is not None
        return job


def _worker(
    sessions: sessionmaker[Session], tmp_path: Path, name: str = "w1", lease_s: float = 30
) -> Worker:
    return Worker(
        sessions=sessions,
        home=tmp_path,
        handlers=HANDLERS,
        name=name,
        lease=timedelta(seconds=lease_s),
        heartbeat_s=0.2,
    )


def test_worker_runs_job_in_child_and_records_result(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    job_id = _queue(sessions, "echo", value=7)
    assert _worker(sessions, tmp_path).run_once()
    job = _job(sessions, job_id)
    assert (job.state, job.result, job.attempts) == ("succeeded", {"echo": 7}, 1)
    assert (tmp_path / "jobs" / job_id / "done").read_text() == "yes"
    assert not _worker(sessions, tmp_path).run_once()  # nothing left


def test_mixflow_error_message_kept_other_errors_hidden(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    bad = _queue(sessions, "bad_input")
    crash = _queue(sessions, "crash")
    w = _worker(sessions, tmp_path)
    w.run_once()
    w.run_once()
    assert _job(sessions, bad).error == "column 'spend_tv' has 3 negative values"
    crashed = _job(sessions, crash)
    assert crashed.state == "failed" and crashed.error == "internal error (RuntimeError)"


def test_two_workers_racing_claim_one_job_once(sessions: sessionmaker[Session]) -> None:
    job_id = _queue(sessions, "echo", value=1)
    claimed: list[str | None] = []
    barrier = threading.Barrier(2)

    def race(name: str) -> None:
        barrier.wait()
        with sessions() as s:
            job = store.claim(s, name, timedelta(seconds=30))
        claimed.append(None if job is None else job.worker)

    threads = [threading.Thread(target=race, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [c for c in claimed if c is not None]
    assert len(winners) == 1
    assert _job(sessions, job_id).worker == winners[0]


def test_expired_lease_requeues_then_fails_worker_lost(sessions: sessionmaker[Session]) -> None:
    job_id = _queue(sessions, "echo", value=1)
    for attempt in (1, 2):
        with sessions() as s:
            job = store.claim(s, "dead", timedelta(seconds=-1))  # lease already past
            assert job is not None and job.attempts == attempt
            store.reap_expired(s)
    job = _job(sessions, job_id)
    assert (job.state, job.error) == ("failed", "worker lost")


def test_cancel_running_job_kills_child_within_seconds(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    job_id = _queue(sessions, "sleep", seconds=60)
    w = _worker(sessions, tmp_path)
    thread = threading.Thread(target=w.run_once)
    thread.start()
    deadline = time.monotonic() + 30
    while _job(sessions, job_id).state != "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    start = time.monotonic()
    with sessions() as s:
        store.cancel(s, "acme", job_id)
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert time.monotonic() - start < 5
    assert _job(sessions, job_id).state == "cancelled"


def test_quota_and_idempotency(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        first = store.enqueue(
            s, workspace="acme", kind="echo", payload={}, max_queued=2, idempotency_key="k"
        )
        again = store.enqueue(
            s, workspace="acme", kind="echo", payload={}, max_queued=2, idempotency_key="k"
        )
        assert again.id == first.id
        store.enqueue(s, workspace="acme", kind="echo", payload={}, max_queued=2)
        with pytest.raises(QuotaError, match="has 2 queued jobs, the limit"):
            store.enqueue(s, workspace="acme", kind="echo", payload={}, max_queued=2)
        store.enqueue(s, workspace="other", kind="echo", payload={}, max_queued=2)  # own quota


def test_job_routes_are_scoped_to_the_workspace(
    client: TestClient, keys: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    job_id = _queue(sessions, "echo", value=1)
    mine = client.get(f"/api/v1/jobs/{job_id}", headers={"X-API-Key": keys["viewer"]})
    assert mine.status_code == 200 and mine.json()["state"] == JobState.queued
    theirs = client.get(f"/api/v1/jobs/{job_id}", headers={"X-API-Key": keys["other"]})
    assert theirs.status_code == 404
    assert client.get("/api/v1/jobs", headers={"X-API-Key": keys["other"]}).json() == []
    viewer_cancel = client.delete(f"/api/v1/jobs/{job_id}", headers={"X-API-Key": keys["viewer"]})
    assert viewer_cancel.status_code == 403
    cancelled = client.delete(f"/api/v1/jobs/{job_id}", headers={"X-API-Key": keys["analyst"]})
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"


def test_cancel_is_audited_with_the_request_id(
    client: TestClient, keys: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    job_id = _queue(sessions, "echo", value=1)
    h = {"X-API-Key": keys["analyst"], "X-Request-ID": "cancel-7"}
    assert client.delete(f"/api/v1/jobs/{job_id}", headers=h).status_code == 200
    (event,) = client.get("/api/v1/audit", headers={"X-API-Key": keys["admin"]}).json()
    assert (event["action"], event["target"], event["actor"], event["request_id"]) == (
        "job.cancel",
        f"job:{job_id}",
        "analyst",
        "cancel-7",
    )


def test_job_list_filters_and_pages(
    client: TestClient, keys: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    ids = [_queue(sessions, "echo", value=i) for i in range(3)]
    with sessions() as s:
        store.cancel(s, "acme", ids[0])
    h = {"X-API-Key": keys["viewer"]}

    def listed(**params: object) -> list[str]:
        return [j["job_id"] for j in client.get("/api/v1/jobs", params=params, headers=h).json()]

    assert listed() == ids[::-1]
    assert listed(state="cancelled") == [ids[0]]
    assert listed(state="queued", limit=1) == [ids[2]]
    assert listed(state="queued", limit=1, offset=1) == [ids[1]]
    assert listed(kind="fit") == []
    assert client.get("/api/v1/jobs", params={"state": "done"}, headers=h).status_code == 422


def test_metrics_count_jobs_by_state_and_time_finished_ones(
    client: TestClient, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    _queue(sessions, "echo", value=1)
    _queue(sessions, "echo", value=2)
    assert _worker(sessions, tmp_path).run_once()
    text = client.get("/metrics").text
    assert 'mixflow_jobs{kind="echo",state="queued"} 1.0' in text
    assert 'mixflow_jobs{kind="echo",state="succeeded"} 1.0' in text
    assert 'mixflow_job_duration_seconds_count{kind="echo"} 1.0' in text
    assert 'mixflow_job_duration_seconds_bucket{kind="echo",le="+Inf"} 1.0' in text
