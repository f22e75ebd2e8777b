"""simulate / compare / optimize over HTTP: the same numbers as the CLI on the same registered
run, the CLI's wording for bad plans (422 with errors [{loc, msg}]), roles and workspaces."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from planning_support import Env, fitted_run, make_env
from typer.testing import CliRunner

from mixflow.cli.main import app as cli

runner = CliRunner()
SIMULATE = "/api/v1/models/brand/simulate"
COMPARE = "/api/v1/models/brand/compare"
OPTIMIZE = "/api/v1/models/brand/optimize"
PLAN = {"name": "even", "budget": 4e5, "horizon_weeks": 8}
TV_ONLY = {"name": "tv_only", "budget": 4e5, "horizon_weeks": 8, "shares": {"tv": 1.0}}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    run = fitted_run(tmp_path_factory.getbasetemp())
    yield from make_env(tmp_path_factory.mktemp("planning_home"), run)


def _cli(*args: str) -> Any:
    return runner.invoke(cli, list(args))


def _plan_file(folder: Path, plan: dict[str, Any], name: str = "plan") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(plan))
    return path


def _close(a: dict[str, Any] | None, b: dict[str, Any] | None) -> None:
    assert a is not None and b is not None
    assert a["mean"] == pytest.approx(b["mean"], rel=1e-12)
    assert a["hdi_90"] == pytest.approx(b["hdi_90"], rel=1e-12)


def test_simulate_gives_the_cli_numbers(env: Env, tmp_path: Path) -> None:
    r = env.client.post(
        SIMULATE, json={"ref": "champion", "plan": PLAN}, headers=env.headers("viewer")
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == {"model_name": "brand", "version": 1}
    res = _cli(
        "simulate",
        str(env.run_dir),
        "--plan",
        str(_plan_file(tmp_path, PLAN)),
        "--out",
        str(tmp_path / "o"),
    )
    assert res.exit_code == 0, res.output
    ref = json.loads((tmp_path / "o" / "simulation.json").read_text())
    assert body["spend"] == pytest.approx(ref["spend"])
    assert body["start"] == ref["start"]
    assert body["horizon_weeks"] == ref["horizon_weeks"] == 8
    _close(body["expected"]["incremental_kpi"], ref["incremental_kpi_with_tail"])
    _close(body["expected"]["incremental_revenue"], ref["incremental_revenue_with_tail"])
    _close(body["expected"]["roi"], ref["roi_with_tail"])
    _close(body["profit"], ref["profit_with_tail"])
    assert set(body["per_channel"]) == set(ref["per_channel"])
    for ch, row in ref["per_channel"].items():
        got = body["per_channel"][ch]
        assert got["spend"] == pytest.approx(row["spend"])
        _close(got["incremental_kpi"], row["incremental_kpi_with_tail"])
        _close(got["incremental_revenue"], row["incremental_revenue_with_tail"])
        assert got["roi"]["mean"] == pytest.approx(
            row["incremental_revenue_with_tail"]["mean"] / row["spend"], rel=1e-9
        )
    weeks = body["per_week"]
    assert [w["week"] for w in weeks] == list(range(1, 9))
    for w, row in zip(weeks, ref["per_period"], strict=True):
        assert w["kpi"]["mean"] == pytest.approx(row["kpi_mean"], rel=1e-12)
        assert w["kpi"]["hdi_90"] == pytest.approx(row["kpi_hdi_90"], rel=1e-12)
    # the weeks and the carryover after the horizon add up to the total (means are linear)
    total = sum(w["incremental_revenue"]["mean"] for w in weeks)
    total += body["after_horizon"]["incremental_revenue"]["mean"]
    assert total == pytest.approx(body["expected"]["incremental_revenue"]["mean"], rel=1e-9)
    assert sum(w["spend"] for w in weeks) == pytest.approx(4e5)
    last = weeks[-1]["roi_to_date"]["mean"]
    within = sum(w["incremental_revenue"]["mean"] for w in weeks) / 4e5
    assert last == pytest.approx(within, rel=1e-9)


def test_simulate_by_version_number_equals_by_alias(env: Env) -> None:
    a = env.client.post(
        SIMULATE, json={"ref": "champion", "plan": PLAN}, headers=env.headers("viewer")
    )
    b = env.client.post(SIMULATE, json={"ref": 1, "plan": PLAN}, headers=env.headers("admin"))
    assert a.status_code == b.status_code == 200
    assert a.json() == b.json()


def test_compare_gives_the_cli_probability_and_the_difference(env: Env, tmp_path: Path) -> None:
    r = env.client.post(COMPARE, json={"plans": [PLAN, TV_ONLY]}, headers=env.headers("viewer"))
    assert r.status_code == 200, r.text
    body = r.json()
    res = _cli(
        "compare",
        str(env.run_dir),
        str(_plan_file(tmp_path, PLAN, "a")),
        str(_plan_file(tmp_path, TV_ONLY, "b")),
        "--json",
    )
    assert res.exit_code == 0, res.output
    ref = json.loads(res.output)
    assert (body["first"], body["second"]) == ("even", "tv_only")
    assert body["prob_first_beats_second"] == ref["prob_beats"]["even"]["tv_only"]
    assert body["best"] == ref["best"]
    for name in ("even", "tv_only"):
        _close(body["plans"][name], ref["plans"][name])
    # the difference's mean is the difference of the means, inside its interval
    diff = body["difference"]
    expected = ref["plans"]["even"]["mean"] - ref["plans"]["tv_only"]["mean"]
    assert diff["mean"] == pytest.approx(expected, rel=1e-9)
    assert diff["hdi_90"][0] <= diff["mean"] <= diff["hdi_90"][1]
    assert "median" not in diff  # the API reports one statistic, the mean


def test_compare_kpi_metric_and_same_names_refused(env: Env) -> None:
    r = env.client.post(
        COMPARE, json={"plans": [PLAN, {**TV_ONLY, "name": "even"}]}, headers=env.headers("viewer")
    )
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"loc": ["body", "plans"], "msg": "plan names must differ, got ['even', 'even']"}
    ]
    r = env.client.post(
        COMPARE, json={"plans": [PLAN, TV_ONLY], "metric": "kpi"}, headers=env.headers("viewer")
    )
    assert r.status_code == 200
    assert r.json()["metric"] == "kpi"


def test_optimize_returns_the_cli_plan_json(env: Env, tmp_path: Path) -> None:
    r = env.client.post(
        OPTIMIZE,
        json={"budget": 4e5, "horizon_weeks": 8, "relative_bounds": [0.5, 2.0]},
        headers=env.headers("viewer"),
    )
    assert r.status_code == 200, r.text
    res = _cli(
        "optimize",
        str(env.run_dir),
        "--budget",
        "4e5",
        "--horizon",
        "8",
        "--relative-bounds",
        "0.5:2.0",
        "--out",
        str(tmp_path / "o"),
    )
    assert res.exit_code == 0, res.output
    ref = json.loads((tmp_path / "o" / "plan.json").read_text())
    body = r.json()
    assert set(body) == set(ref)
    assert body["allocation"] == pytest.approx(ref["allocation"], rel=1e-6)
    assert body["current_allocation"] == pytest.approx(ref["current_allocation"], rel=1e-9)
    assert body["prob_beats_current"] == pytest.approx(ref["prob_beats_current"], abs=0.02)
    # a move into a weakly identified channel is reported alike (this fit has one)
    weak = [(m["channel"], m["prob_loses_money"]) for m in body.get("weakly_identified_moves", [])]
    ref_weak = [
        (m["channel"], m["prob_loses_money"]) for m in ref.get("weakly_identified_moves", [])
    ]
    assert [c for c, _ in weak] == [c for c, _ in ref_weak]
    assert [p for _, p in weak] == pytest.approx([p for _, p in ref_weak], abs=0.02)
    _close(
        body["current_expected"]["incremental_revenue"],
        ref["current_expected"]["incremental_revenue"],
    )


def test_optimize_channel_bounds_and_locks_are_kept(env: Env) -> None:
    r = env.client.post(
        OPTIMIZE,
        json={
            "budget": 4e5,
            "horizon_weeks": 8,
            "channel_bounds": {"search": [0, 5e4]},
            "locked": {"tv": 1e5},
            "risk": "quantile:0.2",
        },
        headers=env.headers("viewer"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["allocation"]["tv"] == pytest.approx(1e5)
    assert body["allocation"]["search"] <= 5e4 * (1 + 1e-6)
    assert body["at_bounds"]["tv"] == "locked"
    assert body["risk"] == "quantile:0.2"


# ----------------------------------------------------------------- 422 with the CLI's words
BAD_PLANS = [
    {"budgt": 4e5, "horizon_weeks": 8},
    {"budget": 4e5, "horizon_weeks": 0},
    {"budget": -1, "horizon_weeks": 8},
    {"budget": 4e5, "horizon_weeks": 8, "shares": {"tvv": 1.0}},
    {"budget": 4e5, "horizon_weeks": 8, "shares": {"tv": 0.5}},
    {"budget": 4e5},
    {"like_last_weeks": 2.5},
    {"budget": 4e5, "horizon_weeks": 8, "flighting": "weekly"},
    {"spend": {"tv": [1.0, 2.0], "search": [1.0]}},
    {"horizon_weeks": 4},
]


@pytest.mark.parametrize("plan", BAD_PLANS, ids=[str(p) for p in BAD_PLANS])
def test_bad_plan_is_422_in_the_cli_wording(env: Env, tmp_path: Path, plan: dict[str, Any]) -> None:
    r = env.client.post(SIMULATE, json={"plan": plan}, headers=env.headers("viewer"))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    (error,) = r.json()["errors"]
    assert error["loc"][:2] == ["body", "plan"]
    res = _cli(
        "simulate",
        str(env.run_dir),
        "--plan",
        str(_plan_file(tmp_path, plan)),
        "--out",
        str(tmp_path / "o"),
    )
    assert res.exit_code == 2, res.output
    assert res.output.strip().splitlines()[-1] == f"error: {error['msg']}"


BAD_OPTIMIZE = [
    ({"risk": "cvar"}, ["--risk", "cvar"], "risk"),
    ({"risk": "quantile:x"}, ["--risk", "quantile:x"], "risk"),
    ({"objective": "max_fun"}, ["--objective", "max_fun"], "objective"),
    ({"relative_bounds": [2.0, 1.0]}, ["--relative-bounds", "2:1"], "relative_bounds"),
    ({"budget": 0}, ["--budget", "0"], "budget"),
    ({"channel_bounds": {"tvv": [0, 1]}}, ["--bound", "tvv=0:1"], "channel_bounds"),
    ({"objective": "min_spend_for_kpi"}, ["--objective", "min_spend_for_kpi"], "target_kpi"),
]


@pytest.mark.parametrize(
    ("body", "args", "field"), BAD_OPTIMIZE, ids=[b[2] + str(b[0]) for b in BAD_OPTIMIZE]
)
def test_bad_optimize_is_422_in_the_cli_wording(
    env: Env, tmp_path: Path, body: dict[str, Any], args: list[str], field: str
) -> None:
    r = env.client.post(OPTIMIZE, json={"horizon_weeks": 8, **body}, headers=env.headers("viewer"))
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["loc"] == ["body", field]
    res = _cli("optimize", str(env.run_dir), "--horizon", "8", *args, "--out", str(tmp_path / "o"))
    assert res.exit_code == 2, res.output
    assert res.output.strip().splitlines()[-1] == f"error: {error['msg']}"


def test_bad_ref_and_unknown_models_and_versions(env: Env) -> None:
    h = env.headers("viewer")
    r = env.client.post(SIMULATE, json={"ref": "best", "plan": PLAN}, headers=h)
    assert r.status_code == 422
    assert "ref 'best' is invalid" in r.json()["detail"]
    for url, ref in ((SIMULATE, 7), ("/api/v1/models/nope/simulate", "champion")):
        r = env.client.post(url, json={"ref": ref, "plan": PLAN}, headers=h)
        assert r.status_code == 404, r.text
    r = env.client.post(SIMULATE, json={"ref": "challenger", "plan": PLAN}, headers=h)
    assert r.status_code == 404


# ----------------------------------------------------------------- roles and workspaces
@pytest.mark.parametrize(
    ("url", "body"),
    [
        (SIMULATE, {"plan": PLAN}),
        (COMPARE, {"plans": [PLAN, TV_ONLY]}),
        (OPTIMIZE, {"budget": 4e5, "horizon_weeks": 8}),
    ],
)
def test_any_role_may_ask_other_workspaces_get_404(
    env: Env, url: str, body: dict[str, Any]
) -> None:
    for role in ("viewer", "analyst", "admin"):
        assert env.client.post(url, json=body, headers=env.headers(role)).status_code == 200
    assert env.client.post(url, json=body).status_code == 401
    assert env.client.post(url, json=body, headers={"X-API-Key": "mf_0_bad"}).status_code == 401
    other = env.client.post(url, json=body, headers=env.headers("other"))
    assert other.status_code == 404
    assert other.json()["detail"] == "model 'brand' not found or has no champion"


def test_what_if_calls_never_reload_the_posterior(env: Env) -> None:
    cache = env.client.app.state.models  # type: ignore[attr-defined]
    first = env.client.post(SIMULATE, json={"plan": PLAN}, headers=env.headers("viewer"))
    assert first.status_code == 200
    before = cache.stats()
    assert before.loads == 1
    for _ in range(3):
        r = env.client.post(SIMULATE, json={"plan": PLAN}, headers=env.headers("viewer"))
        assert r.status_code == 200
    after = cache.stats()
    assert after.loads == 1
    assert after.hits == before.hits + 3
    assert cache.keys() == [("acme.brand", 1)]


@pytest.mark.parametrize("draws", [1, 2, 60, 1000])
def test_weekly_hdis_equal_the_librarys_arviz_hdi(draws: int) -> None:
    import numpy as np

    from mixflow.analysis.stats import hdi
    from mixflow.service.intervals import row_stats

    a = np.random.default_rng(draws).gamma(2.0, size=(draws, 6))
    a[:, 2] = 5.0  # every window ties: the first one, as ArviZ picks
    expected = np.stack([hdi(a[:, j]) for j in range(6)])
    assert np.array_equal(row_stats(a.T)[1][:, 1:], expected)


def test_plan_vocabulary_matches_the_cli(env: Env) -> None:
    """flighting 'historical' (the CLI's word; 'history' still accepted, same answer) and
    compare metric 'revenue' (the objectives' names)."""
    answers = []
    for word in ("historical", "history"):
        r = env.client.post(
            SIMULATE,
            json={"ref": 1, "plan": PLAN | {"flighting": word}},
            headers=env.headers("viewer"),
        )
        assert r.status_code == 200, r.text
        answers.append(r.json())
    assert answers[0] == answers[1]
    bad = env.client.post(
        SIMULATE, json={"ref": 1, "plan": PLAN | {"flighting": "seasonal"}},
        headers=env.headers("viewer"),
    )  # fmt: skip
    assert bad.status_code == 422 and "expected 'flat' or 'historical'" in bad.text
    rev = env.client.post(
        COMPARE, json={"plans": [PLAN, TV_ONLY], "metric": "revenue"},
        headers=env.headers("viewer"),
    )  # fmt: skip
    prof = env.client.post(COMPARE, json={"plans": [PLAN, TV_ONLY]}, headers=env.headers("viewer"))
    assert rev.status_code == prof.status_code == 200, rev.text
    assert rev.json()["metric"] == "revenue"
    # equal budgets: revenue and profit differ by the same spend, so the difference agrees
    assert rev.json()["difference"]["mean"] == pytest.approx(prof.json()["difference"]["mean"])
