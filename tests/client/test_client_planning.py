"""The client's planning methods against a real ``mixflow serve`` subprocess (SQLite, free port)
with a registered champion: typed answers equal to the library's, problems raised."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mixflow.client import ClientError, MixflowClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
from planning_support import fitted_run, register_version

PLAN = {"name": "even", "budget": 3e5, "horizon_weeks": 6}
TV = {"name": "tv", "budget": 3e5, "horizon_weeks": 6, "shares": {"tv": 1.0}}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    from mixflow.service.settings import ServiceSettings

    run = fitted_run(tmp_path_factory.getbasetemp())
    home = tmp_path_factory.mktemp("client_planning_home")
    env = {**os.environ, "MIXFLOW_HOME": str(home), "MIXFLOW_DATABASE_URL": ""}
    env.pop("MLFLOW_TRACKING_URI", None)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        register_version(ServiceSettings(home=home, database_url=""), run)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    mixflow = [sys.executable, "-m", "mixflow"]
    subprocess.run([*mixflow, "db", "upgrade"], env=env, check=True, capture_output=True)
    made = subprocess.run(
        [*mixflow, "keys", "create", "--workspace", "acme", "--role", "analyst", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    key = json.loads(made.stdout)["key"]
    proc = subprocess.Popen(
        [*mixflow, "serve", "--port", str(port), "--workers", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        yield url, key, run
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def test_simulate_compare_optimize_are_typed_and_equal_the_library(
    server: tuple[str, str, Path],
) -> None:
    from mixflow.optimize import BudgetOptimizer, BudgetProblem
    from mixflow.optimize.recent import optimize_with_current
    from mixflow.optimize.schema import PlanDocument
    from mixflow.service.routers.planning import CompareResponse, SimulateResponse
    from mixflow.simulate import Simulator, compare, plan_from_dict, summarize
    from mixflow.workflow import load_run

    url, key, run = server
    sim = Simulator(load_run(run))
    data = sim.posterior.dataset
    with MixflowClient(url, api_key=key) as mf:
        out = mf.simulate("brand", PLAN)
        assert isinstance(out, SimulateResponse)
        plan = plan_from_dict(data, PLAN)
        ref = summarize(sim.simulate(plan), plan)
        assert out.expected.incremental_revenue.mean == pytest.approx(
            ref["incremental_revenue_with_tail"]["mean"], rel=1e-12
        )
        assert len(out.per_week) == 6
        cmp = mf.compare("brand", PLAN, TV, ref=1)
        assert isinstance(cmp, CompareResponse)
        tv = plan_from_dict(data, TV)
        lib = compare([(plan, sim.simulate(plan)), (tv, sim.simulate(tv))])
        assert cmp.prob_first_beats_second == lib["prob_beats"]["even"]["tv"]
        doc = mf.optimize("brand", budget=3e5, horizon_weeks=6, relative_bounds=(0.5, 2.0))
        assert isinstance(doc, PlanDocument)
        problem = BudgetProblem(horizon=6, budget=3e5, relative_bounds=(0.5, 2.0))
        expected = optimize_with_current(BudgetOptimizer(sim), problem).to_dict()
        assert doc.allocation == pytest.approx(expected["allocation"], rel=1e-6)


def test_saved_plans_round_trip_and_problems_raise(server: tuple[str, str, Path]) -> None:
    url, key, _ = server
    with MixflowClient(url, api_key=key) as mf:
        saved = mf.save_plan("client plan", "brand", PLAN)
        assert saved.version == 1 and saved.author
        assert mf.get_plan(saved.id).results == saved.results
        page = mf.list_plans(limit=10)
        assert [p.id for p in page.items] == [saved.id]
        assert page.total == 1
        with pytest.raises(ClientError) as dup:
            mf.save_plan("client plan", "brand", PLAN)
        assert dup.value.status == 409
        with pytest.raises(ClientError) as bad:
            mf.simulate("brand", {"budget": 3e5})
        assert bad.value.status == 422
        assert "plan: 'budget' needs 'horizon_weeks'" in bad.value.detail
        with pytest.raises(ClientError) as missing:
            mf.simulate("nope", PLAN)
        assert missing.value.status == 404


def test_portfolio_optimize_is_typed_and_equals_the_library(server: tuple[str, str, Path]) -> None:
    from mixflow.portfolio import Member, PortfolioProblem, optimize_portfolio
    from mixflow.portfolio.schema import PortfolioPlan
    from mixflow.simulate import Simulator
    from mixflow.workflow import load_run

    url, key, run = server
    with MixflowClient(url, api_key=key) as mf:
        plan = mf.portfolio_optimize(["brand"], 3e5, horizon_weeks=6, relative_bounds=(0.5, 2.0))
        assert isinstance(plan, PortfolioPlan)
        lib = optimize_portfolio(
            [Member("brand", Simulator(load_run(run)))],
            PortfolioProblem(3e5, 6, relative_bounds=(0.5, 2.0)),
        ).plan
        assert plan.models["brand"].allocation == pytest.approx(
            lib.models["brand"].allocation, rel=1e-6
        )
        with pytest.raises(ClientError) as bad:
            mf.portfolio_optimize(["brand"], 3e5, model_bounds={"nope": (0.0, 1.0)})
        assert bad.value.status == 422 and "unknown model 'nope'" in bad.value.detail
