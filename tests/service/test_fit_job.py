"""A fit job end to end on SQLite: upload -> worker (child process) -> run folder."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_fits import CONFIG, _files

from mixflow.service.jobs.worker import Worker

MAP_CONFIG = CONFIG.replace("method: nuts", "method: map").replace("chains: 4", "chains: 1")


@pytest.mark.slow  # a real MAP fit in a child process: about 45 s on 2 cores
def test_fit_job_writes_a_run(client: TestClient, keys: dict[str, str], tmp_path: Path) -> None:
    r = client.post(
        "/api/v1/fits", files=_files(MAP_CONFIG), headers={"X-API-Key": keys["analyst"]}
    )
    assert r.status_code == 202, r.text
    settings = client.app.state.settings  # type: ignore[attr-defined]
    worker = Worker(
        sessions=client.app.state.sessions,  # type: ignore[attr-defined]
        home=settings.home,
        lease=timedelta(seconds=60),
    )
    assert worker.run_once()
    job = client.get(f"/api/v1/jobs/{r.json()['id']}", headers={"X-API-Key": keys["viewer"]})
    body = job.json()
    assert body["state"] == "succeeded", body
    run_dir = Path(body["result"]["run_dir"])
    assert json.loads((run_dir / "summary.json").read_text())
