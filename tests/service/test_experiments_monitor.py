"""POST /api/v1/experiments/analyze (a job whose result is the CLI's result.json) and
POST /api/v1/models/{name}/monitor (the monitor result of `mixflow monitor`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient
from service_registry import install_registry
from typer.testing import CliRunner

from mixflow.cli.main import app as cli
from mixflow.service.jobs.worker import Worker
from mixflow.service.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
GEO = ROOT / "data" / "geo_experiments" / "geolift_test.csv"
FIELDS = {
    "treated": "chicago,portland",
    "start": "2021-04-01",
    "end": "2021-04-15",
    "date_column": "date",
    "location_column": "location",
    "kpi_column": "Y",
}


def _analyze(client: TestClient, key: str, **changes: str) -> tuple[int, dict[str, object]]:
    r = client.post(
        "/api/v1/experiments/analyze",
        files={"data": (GEO.name, GEO.read_bytes(), "text/csv")},
        data={**FIELDS, **changes},
        headers={"X-API-Key": key},
    )
    return r.status_code, r.json()


def test_analysis_job_result_is_the_cli_result_json(
    client: TestClient, keys: dict[str, str], tmp_path: Path
) -> None:
    status, job = _analyze(client, keys["analyst"])
    assert status == 202 and job["kind"] == "experiment_analysis", job
    settings: ServiceSettings = client.app.state.settings  # type: ignore[attr-defined]
    worker = Worker(
        sessions=client.app.state.sessions,  # type: ignore[attr-defined]
        home=settings.home,
        lease=timedelta(seconds=60),
    )
    assert worker.run_once()
    done = client.get(f"/api/v1/jobs/{job['job_id']}", headers={"X-API-Key": keys["viewer"]})
    body = done.json()
    assert body["state"] == "succeeded", body
    args = [f"--{k.replace('_', '-')}={v}" for k, v in FIELDS.items()]
    ran = CliRunner().invoke(
        cli, ["experiment", "analyze", str(GEO), *args, "--out", str(tmp_path / "cli")]
    )
    assert ran.exit_code == 0, ran.output
    assert body["result"] == json.loads((tmp_path / "cli" / "result.json").read_text())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start": "2021-13-01"}, "start must be a date YYYY-MM-DD, got '2021-13-01'"),
        ({"end": "2021-03-01"}, "end 2021-03-01 is before start 2021-04-01"),
        ({"kpi_column": "y"}, "kpi_column: column 'y' is not in the data (did you mean 'Y'?)"),
        ({"treated": " , "}, "treated must name at least one location"),
    ],
)
def test_analysis_fields_are_checked_before_queueing(
    client: TestClient, keys: dict[str, str], changes: dict[str, str], message: str
) -> None:
    status, problem = _analyze(client, keys["analyst"], **changes)
    assert (status, problem["detail"]) == (422, message)
    assert client.get("/api/v1/jobs", headers={"X-API-Key": keys["analyst"]}).json() == []


def test_viewer_may_not_analyze(client: TestClient, keys: dict[str, str]) -> None:
    assert _analyze(client, keys["viewer"])[0] == 403


@pytest.fixture
def actuals(small_brand_config: Callable[[Path, dict[str, Any]], Path], tmp_path: Path) -> Path:
    """Four new weeks right after map_run_dir's training data (its data's last four weeks,
    moved on by four weeks)."""
    config = yaml.safe_load(small_brand_config(tmp_path, {}).read_text())
    frame = pd.read_csv(tmp_path / "data.csv")
    column = config["data"]["date_column"]
    new = frame.tail(4).copy()
    new[column] = (pd.to_datetime(new[column]) + pd.Timedelta(weeks=4)).dt.strftime("%Y-%m-%d")
    path = tmp_path / "new_weeks.csv"
    new.to_csv(path, index=False)
    return path


def test_monitor_answers_the_monitor_result_and_audits(
    client: TestClient,
    keys: dict[str, str],
    registry_template: Path,
    no_tracking_server: None,
    actuals: Path,
) -> None:
    settings: ServiceSettings = client.app.state.settings  # type: ignore[attr-defined]
    install_registry(registry_template, settings.home)
    r = client.post(
        "/api/v1/models/revenue/monitor",
        files={"actuals": (actuals.name, actuals.read_bytes(), "text/csv")},
        data={"ref": "1"},
        headers={"X-API-Key": keys["analyst"]},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["model_name"], body["version"]) == ("revenue", 1)
    assert body["status"] in ("ok", "warn", "alert") and body["status"] == body["result"]["status"]
    admin = {"X-API-Key": keys["admin"]}
    (event,) = client.get("/api/v1/audit", headers=admin).json()
    assert (event["action"], event["target"]) == ("model.monitor", "model:revenue/1")
    other = client.post(
        "/api/v1/models/revenue/monitor",
        files={"actuals": (actuals.name, actuals.read_bytes(), "text/csv")},
        headers={"X-API-Key": keys["other"]},
    )
    assert other.status_code == 404
