"""Settings, migrations, API keys, health/metrics and problem+json of the service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import inspect
from typer.testing import CliRunner

from mixflow.cli.main import app as cli
from mixflow.service.app import create_app
from mixflow.service.auth import Role, authenticate, create_key, digest, revoke_key
from mixflow.service.db.migrate import alembic_config, current_revision
from mixflow.service.db.models import ApiKey, Base
from mixflow.service.settings import ServiceSettings

PROBLEM = "application/problem+json"


def test_settings_read_mixflow_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MIXFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("MIXFLOW_MAX_UPLOAD_BYTES", "1234")
    s = ServiceSettings()
    assert s.home == tmp_path
    assert s.max_upload_bytes == 1234
    assert s.resolved_database_url() == f"sqlite:///{tmp_path / 'service.db'}"


def _head(settings: ServiceSettings) -> str | None:
    return ScriptDirectory.from_config(alembic_config(settings)).get_current_head()


def test_migrations_reach_head_and_match_the_models(
    client: TestClient, settings: ServiceSettings
) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    assert {"api_keys", "jobs"} <= set(inspect(engine).get_table_names())
    assert current_revision(engine) == _head(settings) is not None
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_key_is_stored_only_as_digest(client: TestClient) -> None:
    with client.app.state.sessions() as session:  # type: ignore[attr-defined]
        key = create_key(session, name="k", workspace="acme", role=Role.analyst)
        row = session.get(ApiKey, key.key_id)
        assert row is not None
        assert row.digest == digest(key.secret)
        assert key.secret not in (row.digest, row.name, row.id)
        caller = authenticate(session, key.secret)
        assert caller is not None and caller.role is Role.analyst and caller.workspace == "acme"
        assert authenticate(session, key.secret[:-1] + "x") is None
        revoke_key(session, key.key_id)
        assert authenticate(session, key.secret) is None


def test_health_ready_metrics_need_no_key(client: TestClient, settings: ServiceSettings) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "revision": None}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["revision"] == _head(settings)
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert 'mixflow_http_requests_total{method="GET",route="/readyz",status="200"}' in metrics.text


def test_readyz_503_before_migration(settings: ServiceSettings) -> None:
    with TestClient(create_app(settings)) as c:
        r = c.get("/readyz")
    assert r.status_code == 503
    assert r.headers["content-type"] == PROBLEM
    assert "mixflow db upgrade" in r.json()["detail"]


@pytest.mark.parametrize(
    ("header", "status", "words"),
    [
        (None, 401, "missing API key"),
        ("mf_0123456789abcdef_nope", 401, "unknown or revoked"),
        ("garbage", 401, "unknown or revoked"),
    ],
)
def test_bad_keys_are_401_problems(
    client: TestClient, header: str | None, status: int, words: str
) -> None:
    headers = {"X-API-Key": header} if header else {}
    r = client.get("/api/v1/me", headers=headers)
    assert r.status_code == status
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and words in body["detail"]
    assert body["instance"] == "/api/v1/me"


def test_valid_key_reports_its_workspace_and_role(client: TestClient, keys: dict[str, str]) -> None:
    for role in ("viewer", "analyst", "admin"):
        r = client.get("/api/v1/me", headers={"X-API-Key": keys[role]})
        assert r.status_code == 200
        assert r.json()["workspace"] == "acme" and r.json()["role"] == role
    assert (
        client.get("/api/v1/me", headers={"X-API-Key": keys["other"]}).json()["workspace"]
        == "other"
    )


def test_unknown_route_is_404_problem(client: TestClient) -> None:
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM


def test_unexpected_error_is_500_without_trace(client: TestClient) -> None:
    app = client.app

    @app.get("/boom")  # type: ignore[attr-defined,misc]
    def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    r = client.get("/boom")
    assert r.status_code == 500 and r.headers["content-type"] == PROBLEM
    assert "secret" not in r.text and "Traceback" not in r.text


def test_cli_db_upgrade_and_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MIXFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("MIXFLOW_DATABASE_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    made = runner.invoke(
        cli, ["keys", "create", "--workspace", "acme", "--role", "analyst", "--json"]
    )
    assert made.exit_code == 0, made.output
    key = json.loads(made.stdout)
    listed = runner.invoke(cli, ["keys", "list", "--json"])
    rows = json.loads(listed.stdout)
    assert [r["id"] for r in rows] == [key["id"]] and key["key"] not in listed.stdout
    assert runner.invoke(cli, ["keys", "revoke", key["id"]]).exit_code == 0
    assert json.loads(runner.invoke(cli, ["keys", "list", "--json"]).stdout)[0]["revoked"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--workspace", "acme", "--role", "boss"], "role 'boss' is unknown: expected one of"),
        (["--workspace", "Bad Space"], "workspace 'Bad Space' is invalid"),
    ],
)
def test_cli_keys_create_bad_input_exits_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: list[str], words: str
) -> None:
    monkeypatch.setenv("MIXFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("MIXFLOW_DATABASE_URL", raising=False)
    runner = CliRunner()
    runner.invoke(cli, ["db", "upgrade"])
    r = runner.invoke(cli, ["keys", "create", *args])
    assert r.exit_code == 2
    assert words in r.stderr and "Traceback" not in r.output
