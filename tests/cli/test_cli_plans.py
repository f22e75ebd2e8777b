"""simulate, compare and optimize from the command line on a small fitted run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from mixflow.cli.main import app
from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand
from mixflow.simulate.schema import SimulationDocument
from mixflow.workflow import fit_run

runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("plans")
    brand = simulate_brand(
        BrandSimulation(n_weeks=80, channels=DEFAULT_CHANNELS[:3]), np.random.default_rng(8)
    )
    brand.frame.to_csv(tmp / "data.csv", index=False)
    cfg = dict(brand.config)
    cfg["fit"] = {"method": "svi", "svi_steps": 400, "draws": 60, "seed": 1, "progress_bar": False}
    (tmp / "config.yaml").write_text(yaml.safe_dump(cfg))
    fit_run(tmp / "config.yaml", tmp / "run")
    (tmp / "a.yaml").write_text(yaml.safe_dump({"name": "a", "budget": 4e5, "horizon_weeks": 8}))
    (tmp / "b.yaml").write_text(
        yaml.safe_dump({"name": "b", "budget": 4e5, "horizon_weeks": 8, "shares": {"tv": 1.0}})
    )
    return tmp


def test_simulate_writes_summary_and_chart(run_dir: Path) -> None:
    out = run_dir / "sim"
    result = runner.invoke(
        app,
        ["simulate", str(run_dir / "run"), "--plan", str(run_dir / "a.yaml"), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "simulation.json").read_text())
    assert summary["spend"] == pytest.approx(4e5)
    assert len(summary["per_period"]) == 8
    # each period is dated (weekly from the week after the data) and its KPI splits into
    # baseline, carryover of earlier spend and the plan's increment per channel (issue 20)
    data = pd.read_csv(run_dir / "data.csv")
    first = np.datetime64(data["date"].max()) + np.timedelta64(7, "D")
    assert [p["date"] for p in summary["per_period"]] == [
        str(first + np.timedelta64(7 * h, "D")) for h in range(8)
    ]
    for p in summary["per_period"]:
        parts = p["baseline_mean"] + p["carryover_in_mean"] + sum(p["incremental_mean"].values())
        assert parts == pytest.approx(p["kpi_mean"], rel=1e-6)  # float32 engine sums
        assert min(p["incremental_mean"].values()) >= 0 < sum(p["incremental_mean"].values())
    inc = summary["incremental_revenue_with_tail"]
    assert inc["hdi_90"][0] <= inc["median"] <= inc["hdi_90"][1]
    assert (
        summary["incremental_revenue_with_tail"]["mean"] >= summary["incremental_revenue"]["mean"]
    )
    assert (out / "simulation.png").read_bytes()[:4] == b"\x89PNG"
    # the typed document reads it back unchanged, and the committed JSON Schema accepts it
    assert SimulationDocument.model_validate(summary).to_json_dict() == summary
    assert summary["controls"] == "held at their last observed values"
    jsonschema = pytest.importorskip("jsonschema")
    schemas = Path(__file__).resolve().parents[2] / "docs" / "schemas"
    jsonschema.validate(summary, json.loads((schemas / "simulation.json").read_text()))


def test_compare_reports_probabilities_that_sum_to_one(run_dir: Path) -> None:
    result = runner.invoke(
        app,
        [
            "compare",
            str(run_dir / "run"),
            str(run_dir / "a.yaml"),
            str(run_dir / "b.yaml"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    # on continuous draws ties have probability 0: P(a>b) + P(b>a) = 1
    assert out["prob_beats"]["a"]["b"] + out["prob_beats"]["b"]["a"] == pytest.approx(1.0)


def test_compare_metrics_share_the_objectives_names(run_dir: Path) -> None:
    """--metric revenue|kpi|profit (as max_revenue|max_kpi|max_profit): on the same draws a
    plan's profit is its revenue minus its spend (both plans spend 4e5)."""
    plans = [str(run_dir / "run"), str(run_dir / "a.yaml"), str(run_dir / "b.yaml"), "--json"]
    by_metric = {}
    for metric in ("revenue", "profit", "kpi"):
        result = runner.invoke(app, ["compare", *plans, "--metric", metric])
        assert result.exit_code == 0, result.output
        by_metric[metric] = json.loads(result.output)
        assert by_metric[metric]["metric"] == metric
    for name in ("a", "b"):
        revenue = by_metric["revenue"]["plans"][name]["mean"]
        assert by_metric["profit"]["plans"][name]["mean"] == pytest.approx(revenue - 4e5)
    bad = runner.invoke(app, ["compare", *plans, "--metric", "roi"])
    assert bad.exit_code == 2
    assert "--metric must be 'revenue', 'kpi' or 'profit', got 'roi'" in bad.output


def test_optimize_contract(run_dir: Path) -> None:
    out = run_dir / "opt"
    args = ["optimize", str(run_dir / "run"), "--budget", "4e5", "--horizon", "8"]
    result = runner.invoke(app, [*args, "--relative-bounds", "0.5:2.0", "--out", str(out)])
    assert result.exit_code == 0, result.output
    plan = json.loads((out / "plan.json").read_text())
    for key in (
        "budget",
        "horizon_weeks",
        "allocation",
        "current_allocation",
        "marginal_roi",
        "prob_beats_current",
    ):
        assert key in plan
    for key in ("incremental_kpi", "incremental_revenue", "roi"):
        assert set(plan["expected"][key]) == {"mean", "hdi_90"}  # one statistic: the mean
    assert sum(plan["allocation"].values()) == pytest.approx(4e5, rel=1e-6)
    assert plan["horizon_weeks"] == 8
    assert (out / "plan.csv").is_file() and (out / "plan.png").is_file()
    page = (out / "plan.html").read_text()
    assert "Budget optimization" in page and "data:image/png;base64" in page


def test_optimize_changes_stay_within_relative_bounds_of_the_current_plan(run_dir: Path) -> None:
    """One baseline: the 'current' column is the split the relative bounds multiply, so a
    0.8:1.2 bound can only move each channel by -20%..+20% against it (issue 20)."""
    out = run_dir / "opt_rel"
    args = ["optimize", str(run_dir / "run"), "--horizon", "8", "--relative-bounds", "0.8:1.2"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    plan = json.loads((out / "plan.json").read_text())
    for ch, amount in plan["allocation"].items():
        change = amount / plan["current_allocation"][ch] - 1.0
        assert -0.2 - 1e-6 <= change <= 0.2 + 1e-6, (ch, change)
    assert "objective max_revenue, incremental revenue (posterior mean): optimized" in result.output
    assert "P(optimized beats current) = " in result.output


def test_optimize_infeasible_bounds_exit_2(run_dir: Path) -> None:
    result = runner.invoke(
        app,
        [
            "optimize",
            str(run_dir / "run"),
            "--budget",
            "4e5",
            "--bound",
            "tv=500000:",
            "--out",
            str(run_dir / "x"),
        ],
    )
    assert result.exit_code == 2
    assert "minimums 500,000 exceeds the budget 400,000" in result.output
    assert "Traceback" not in result.output


def test_optimize_bad_relative_bounds_exit_2(run_dir: Path) -> None:
    result = runner.invoke(
        app,
        ["optimize", str(run_dir / "run"), "--relative-bounds", "2", "--out", str(run_dir / "y")],
    )
    assert result.exit_code == 2
    assert "LO:HI" in result.output
