"""Portfolios through the service: a portfolio fit job on a local Ray that registers each model
in the workspace, upload checks that answer 422 before anything is queued, and a joint optimize
over registered models that equals the library's plan."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from fastapi.testclient import TestClient
from planning_support import Env, fitted_run, make_env, register_version

from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand
from mixflow.lifecycle import model_versions
from mixflow.portfolio import Member, PortfolioProblem, optimize_portfolio
from mixflow.service.db.models import AuditEvent
from mixflow.service.jobs.worker import Worker
from mixflow.service.store import lifecycle_settings
from mixflow.simulate import Simulator
from mixflow.workflow import load_run

FITS = "/api/v1/portfolios/fits"
OPTIMIZE = "/api/v1/portfolios/optimize"
#: a tiny MAP fit: seconds per model
TINY_FIT = {"method": "map", "svi_steps": 300, "progress_bar": False, "holdout_weeks": 0}
SIM = BrandSimulation(n_weeks=60, channels=DEFAULT_CHANNELS[:2], n_events=1, fourier_terms=1)


def _brand_files(folder: Path, name: str, seed: int) -> list[tuple[str, Any]]:
    brand = simulate_brand(SIM, np.random.default_rng(seed))
    cfg = {**brand.config, "fit": TINY_FIT}
    cfg["data"] = {**cfg["data"], "path": f"{name}.csv"}
    data = brand.frame.to_csv(index=False).encode()
    return [
        ("files", (f"{name}.yaml", yaml.safe_dump(cfg).encode(), "application/yaml")),
        ("files", (f"{name}.csv", data, "text/csv")),
    ]


def _portfolio(models: list[dict[str, Any]]) -> tuple[str, Any]:
    doc = {"name": "svc-portfolio", "models": models}
    return ("portfolio", ("portfolio.yaml", yaml.safe_dump(doc).encode(), "application/yaml"))


def _worker(client: TestClient) -> Worker:
    from datetime import timedelta

    settings = client.app.state.settings  # type: ignore[attr-defined]
    return Worker(
        sessions=client.app.state.sessions,  # type: ignore[attr-defined]
        home=settings.home,
        lease=timedelta(seconds=120),
        heartbeat_s=0.5,
    )


@pytest.mark.slow  # Ray's start-up plus two tiny fits in the job's child process: ~40 s
def test_portfolio_fit_job_registers_every_model_and_records_a_failure(
    client: TestClient,
    keys: dict[str, str],
    tmp_path: Path,
    no_tracking_server: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MIXFLOW_RAY_LOCAL_CPUS", "1")
    files = _brand_files(tmp_path, "north", 1) + _brand_files(tmp_path, "south", 2)
    broken = yaml.safe_load(files[0][1][1])
    broken["data"]["kpi_column"] = "no_such_column"  # valid YAML, data that contradicts it
    files.append(("files", ("broken.yaml", yaml.safe_dump(broken).encode(), "application/yaml")))
    models = [
        {"name": "north", "config": "north.yaml"},
        {"name": "south", "config": "south.yaml"},
        {"name": "broken", "config": "broken.yaml"},
    ]
    r = client.post(
        FITS, files=[_portfolio(models), *files], headers={"X-API-Key": keys["analyst"]}
    )
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    assert _worker(client).run_once()
    body = client.get(f"/api/v1/jobs/{job_id}", headers={"X-API-Key": keys["viewer"]}).json()
    assert body["state"] == "succeeded", body
    record = body["result"]
    states = {n: m["state"] for n, m in record["models"].items()}
    assert states == {"north": "succeeded", "south": "succeeded", "broken": "failed"}
    assert "no_such_column" in record["models"]["broken"]["error"]
    settings = lifecycle_settings(client.app.state.settings)  # type: ignore[attr-defined]
    for name in ("north", "south"):
        assert record["models"][name]["registered_version"] == 1
        (version,) = model_versions(f"acme.{name}", settings)
        assert version.version == 1
    with client.app.state.sessions() as s:  # type: ignore[attr-defined]
        (event,) = s.query(AuditEvent).all()
    assert (event.action, event.actor, event.workspace) == (
        "portfolio_fit.submit",
        "analyst",
        "acme",
    )


def test_bad_portfolio_uploads_are_422_and_queue_nothing(
    client: TestClient, keys: dict[str, str], tmp_path: Path
) -> None:
    files = _brand_files(tmp_path, "north", 1)
    headers = {"X-API-Key": keys["analyst"]}
    cases = {
        # a config the upload does not hold: named with the portfolio's own words
        "missing": ([{"name": "north", "config": "nowhere.yaml"}], "config: file not found"),
        # a path out of the upload folder
        "outside": ([{"name": "north", "config": "../north.yaml"}], "outside the upload"),
        # a field the portfolio file does not know
        "unknown": ([{"name": "north", "config": "north.yaml", "colour": "red"}], "colour"),
    }
    for label, (models, words) in cases.items():
        r = client.post(FITS, files=[_portfolio(models), *files], headers=headers)
        assert r.status_code == 422, (label, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert words in r.text, (label, r.text)
    outside_data = yaml.safe_load(files[0][1][1])
    outside_data["data"]["path"] = "../../etc/data.csv"
    r = client.post(
        FITS,
        files=[
            _portfolio([{"name": "north", "config": "north.yaml"}]),
            ("files", ("north.yaml", yaml.safe_dump(outside_data).encode(), "application/yaml")),
        ],
        headers=headers,
    )
    assert r.status_code == 422 and "data.path" in r.text and "outside the upload" in r.text
    assert client.get("/api/v1/jobs", headers=headers).json() == []
    viewer = client.post(
        FITS,
        files=[_portfolio([{"name": "north", "config": "north.yaml"}]), *files],
        headers={"X-API-Key": keys["viewer"]},
    )
    assert viewer.status_code == 403


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    run = fitted_run(tmp_path_factory.getbasetemp())
    for e in make_env(tmp_path_factory.mktemp("portfolio_home"), run):
        other = fitted_run(tmp_path_factory.getbasetemp(), seed=9)
        register_version(e.settings, other, model="second")
        yield e


def test_optimize_over_registered_models_equals_the_library_plan(env: Env) -> None:
    body = {
        "models": [{"name": "brand"}, {"name": "second", "ref": 1}],
        "budget": 8e5,
        "horizon_weeks": 8,
        "relative_bounds": [0.5, 2.0],
    }
    r = env.client.post(OPTIMIZE, json=body, headers=env.headers("viewer"))
    assert r.status_code == 200, r.text
    plan = r.json()
    assert set(plan["models"]) == {"brand", "second"}
    budgets = [m["budget"] for m in plan["models"].values()]
    assert sum(budgets) == pytest.approx(8e5, rel=1e-6)
    runs = {"brand": env.run_dir, "second": fitted_run(env.run_dir.parents[1], seed=9)}
    members = [Member(n, Simulator(load_run(runs[n]))) for n in ("brand", "second")]
    lib = optimize_portfolio(
        members, PortfolioProblem(8e5, 8, relative_bounds=(0.5, 2.0))
    ).plan.to_json_dict()
    for name in ("brand", "second"):
        for ch, amount in lib["models"][name]["allocation"].items():
            assert plan["models"][name]["allocation"][ch] == pytest.approx(amount, abs=1e-5 * 8e5)
    assert plan["probability_beats_current"] == pytest.approx(lib["probability_beats_current"])


def test_optimize_refuses_bad_requests_and_other_workspaces(env: Env) -> None:
    good = {"models": [{"name": "brand"}], "budget": 8e5, "horizon_weeks": 8}
    other = env.client.post(OPTIMIZE, json=good, headers=env.headers("other"))
    assert other.status_code == 404
    assert env.client.post(OPTIMIZE, json=good).status_code == 401
    bad_bounds = {**good, "model_bounds": {"nope": [0, 1e5]}}
    r = env.client.post(OPTIMIZE, json=bad_bounds, headers=env.headers("viewer"))
    assert r.status_code == 422 and "unknown model 'nope'" in r.text
    twice = {**good, "models": [{"name": "brand"}, {"name": "brand"}]}
    r = env.client.post(OPTIMIZE, json=twice, headers=env.headers("viewer"))
    assert r.status_code == 422 and "each model may appear once" in r.text
    r = env.client.post(OPTIMIZE, json={**good, "budget": -1}, headers=env.headers("viewer"))
    assert r.status_code == 422 and "budget" in r.text
