"""Fit jobs end to end on SQLite: upload -> worker (child process) -> run folder -> a new
version of the workspace's model in the MLflow registry; failures register nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mixflow.lifecycle import audit_log, model_versions
from mixflow.lifecycle.errors import RegistryError
from mixflow.service.db.models import AuditEvent
from mixflow.service.jobs.worker import Worker
from mixflow.service.store import lifecycle_settings

#: a tiny MAP fit (80 weeks, 2 channels, 300 SVI steps): a few seconds once compiled
TINY_FIT = {"method": "map", "svi_steps": 300, "progress_bar": False, "holdout_weeks": 0}


def fit_files(
    folder: Path, writer: Callable[[Path, dict[str, Any]], Path], model_name: str = "revenue"
) -> list[tuple[str, tuple[str | None, bytes, str | None]]]:
    """The multipart fields of a tiny fit of the small simulated brand."""
    config = writer(folder, TINY_FIT)
    return [
        ("config", ("config.yaml", config.read_bytes(), "application/yaml")),
        ("data", ("data.csv", (folder / "data.csv").read_bytes(), "text/csv")),
        ("model_name", (None, model_name.encode(), None)),
    ]


def _worker(client: TestClient) -> Worker:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    return Worker(
        sessions=client.app.state.sessions,  # type: ignore[attr-defined]
        home=settings.home,
        lease=timedelta(seconds=60),
        heartbeat_s=0.2,
    )


def _submit(client: TestClient, key: str, files: list[Any]) -> str:
    r = client.post("/api/v1/fits", files=files, headers={"X-API-Key": key})
    assert r.status_code == 202, r.text
    return str(r.json()["job_id"])


def _versions(client: TestClient, name: str) -> list[int]:
    settings = lifecycle_settings(client.app.state.settings)  # type: ignore[attr-defined]
    try:
        return [v.version for v in model_versions(name, settings)]
    except RegistryError:
        return []


@pytest.mark.slow  # a real fit in a child process: about 60 s on 2 busy cores
def test_fit_job_registers_a_version_of_the_workspace_model(
    client: TestClient,
    keys: dict[str, str],
    tmp_path: Path,
    small_brand_config: Callable[[Path, dict[str, Any]], Path],
    no_tracking_server: None,
) -> None:
    job_id = _submit(client, keys["analyst"], fit_files(tmp_path, small_brand_config))
    assert _worker(client).run_once()
    body = client.get(f"/api/v1/jobs/{job_id}", headers={"X-API-Key": keys["viewer"]}).json()
    assert body["state"] == "succeeded", body
    assert set(body["result"]) == {"model_name", "version", "run_id"}
    assert (body["result"]["model_name"], body["result"]["version"]) == ("revenue", 1)
    assert body["progress"] == 1.0
    settings = lifecycle_settings(client.app.state.settings)  # type: ignore[attr-defined]
    (registered,) = model_versions("acme.revenue", settings)
    assert registered.run_id == body["result"]["run_id"]
    (record,) = audit_log("acme.revenue", settings)
    assert (record["action"], record["actor"], record["workspace"], record["job_id"]) == (
        "register",
        "analyst",
        "acme",
        job_id,
    )
    with client.app.state.sessions() as s:  # type: ignore[attr-defined]
        (event,) = s.query(AuditEvent).all()
    assert (event.action, event.target, event.actor, event.workspace) == (
        "fit.submit",
        f"job:{job_id}",
        "analyst",
        "acme",
    )
    assert event.request_id == record["request_id"]


def test_failed_fit_registers_nothing(
    client: TestClient,
    keys: dict[str, str],
    tmp_path: Path,
    small_brand_config: Callable[[Path, dict[str, Any]], Path],
    no_tracking_server: None,
) -> None:
    job_id = _submit(client, keys["analyst"], fit_files(tmp_path, small_brand_config))
    with client.app.state.sessions() as s:  # type: ignore[attr-defined]
        from mixflow.service.jobs.store import get_job

        inputs = Path(get_job(s, "acme", job_id).payload["inputs"])
    (inputs / "data.csv").write_text("week,revenue\n")  # broken after validation
    assert _worker(client).run_once()
    body = client.get(f"/api/v1/jobs/{job_id}", headers={"X-API-Key": keys["viewer"]}).json()
    assert body["state"] == "failed" and body["result"] is None
    assert _versions(client, "acme.revenue") == []


def test_cancelled_fit_registers_nothing(
    client: TestClient,
    keys: dict[str, str],
    tmp_path: Path,
    small_brand_config: Callable[[Path, dict[str, Any]], Path],
    no_tracking_server: None,
) -> None:
    job_id = _submit(client, keys["analyst"], fit_files(tmp_path, small_brand_config))
    thread = threading.Thread(target=_worker(client).run_once)
    thread.start()
    h = {"X-API-Key": keys["analyst"]}
    deadline = time.monotonic() + 30
    while client.get(f"/api/v1/jobs/{job_id}", headers=h).json()["state"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert client.delete(f"/api/v1/jobs/{job_id}", headers=h).status_code == 200
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert client.get(f"/api/v1/jobs/{job_id}", headers=h).json()["state"] == "cancelled"
    assert _versions(client, "acme.revenue") == []
