"""POST /api/v1/fits: validation before queueing, upload limit, quota, idempotency."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from mixflow.cli.main import app as cli
from mixflow.service.app import create_app
from mixflow.service.db.migrate import upgrade
from mixflow.service.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
CONFIG = (
    (ROOT / "examples" / "robyn_weekly.yaml")
    .read_text()
    .replace("../data/mmm/robyn_simulated_weekly.csv", "robyn_simulated_weekly.csv")
)
DATA = ROOT / "data" / "mmm" / "robyn_simulated_weekly.csv"


def _files(
    config: str = CONFIG, model_name: str = "revenue"
) -> list[tuple[str, tuple[str | None, bytes, str | None]]]:
    return [
        ("config", ("config.yaml", config.encode(), "application/yaml")),
        ("data", (DATA.name, DATA.read_bytes(), "text/csv")),
        ("model_name", (None, model_name.encode(), None)),
    ]


def test_valid_upload_is_queued(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post("/api/v1/fits", files=_files(), headers={"X-API-Key": keys["analyst"]})
    assert r.status_code == 202, r.text
    job = r.json()
    assert (job["kind"], job["state"]) == ("fit", "queued")
    listed = client.get("/api/v1/jobs", headers={"X-API-Key": keys["viewer"]}).json()
    assert [j["job_id"] for j in listed] == [job["job_id"]]


def test_viewer_may_not_fit(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post("/api/v1/fits", files=_files(), headers={"X-API-Key": keys["viewer"]})
    assert r.status_code == 403


def test_bad_config_is_refused_with_validate_wording(
    client: TestClient, keys: dict[str, str], tmp_path: Path
) -> None:
    bad = CONFIG.replace("kpi_column: revenue", "kpi_column: revenu")
    r = client.post("/api/v1/fits", files=_files(bad), headers={"X-API-Key": keys["analyst"]})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    (tmp_path / "config.yaml").write_text(bad)
    (tmp_path / DATA.name).write_bytes(DATA.read_bytes())
    cli_run = CliRunner().invoke(cli, ["validate", str(tmp_path / "config.yaml")])
    assert cli_run.exit_code == 2
    assert r.json()["detail"] in cli_run.stderr
    assert client.get("/api/v1/jobs", headers={"X-API-Key": keys["viewer"]}).json() == []


def test_body_over_limit_is_413(tmp_path: Path) -> None:
    settings = ServiceSettings(home=tmp_path, max_upload_bytes=1000)
    upgrade(settings)
    with TestClient(create_app(settings)) as c:
        r = c.post("/api/v1/fits", files=_files(), headers={"X-API-Key": "x"})
    assert r.status_code == 413
    assert "over the limit of 1000 bytes" in r.json()["detail"]


def test_quota_429_and_idempotency_key(tmp_path: Path) -> None:
    settings = ServiceSettings(home=tmp_path, max_queued_jobs=1)
    upgrade(settings)
    with TestClient(create_app(settings)) as c:
        from mixflow.service.auth import Role, create_key

        with c.app.state.sessions() as s:  # type: ignore[attr-defined]
            key = create_key(s, name="a", workspace="acme", role=Role.analyst).secret
        h = {"X-API-Key": key, "Idempotency-Key": "once"}
        first = c.post("/api/v1/fits", files=_files(), headers=h)
        again = c.post("/api/v1/fits", files=_files(), headers=h)
        assert first.status_code == again.status_code == 202
        assert first.json()["job_id"] == again.json()["job_id"]
        over = c.post("/api/v1/fits", files=_files(), headers={"X-API-Key": key})
        assert over.status_code == 429
        assert "limit (MIXFLOW_MAX_QUEUED_JOBS) is 1" in over.json()["detail"]
        assert len(list((tmp_path / "uploads" / "acme").iterdir())) == 1


@pytest.mark.parametrize("name", ["../evil.csv", ".hidden"])
def test_bad_file_names_refused(client: TestClient, keys: dict[str, str], name: str) -> None:
    files = [
        ("config", ("config.yaml", CONFIG.encode(), "application/yaml")),
        ("data", (name, b"x", "text/csv")),
        ("model_name", (None, b"revenue", None)),
    ]
    r = client.post("/api/v1/fits", files=files, headers={"X-API-Key": keys["analyst"]})
    assert r.status_code == 422


def test_model_name_is_required_and_checked_before_queueing(
    client: TestClient, keys: dict[str, str]
) -> None:
    h = {"X-API-Key": keys["analyst"]}
    missing = client.post("/api/v1/fits", files=_files()[:2], headers=h)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["loc"] == ["body", "model_name"]
    bad = client.post("/api/v1/fits", files=_files(model_name="a/b"), headers=h)
    assert bad.status_code == 422
    assert bad.json()["detail"].startswith("model_name 'a/b' is invalid: expected 1-64")
    assert client.get("/api/v1/jobs", headers=h).json() == []


def test_queued_fit_answers_location_and_submitter(
    client: TestClient, keys: dict[str, str]
) -> None:
    r = client.post("/api/v1/fits", files=_files(), headers={"X-API-Key": keys["analyst"]})
    job = r.json()
    assert r.headers["location"] == f"/api/v1/jobs/{job['job_id']}"
    assert (job["submitted_by"], job["progress"], job["result"]) == ("analyst", 0.0, None)
