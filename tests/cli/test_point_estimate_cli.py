"""Issue 20, finding 2, through the CLI: a MAP fit is labelled a point estimate, shows no
intervals, and its plans carry no probability of beating the current plan."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from mixflow.analysis.schema import load_summary
from mixflow.cli.main import app
from mixflow.lifecycle import GatePolicy, GateStatus, run_gates

runner = CliRunner()


def test_map_fit_and_its_plan_are_point_estimates(
    tmp_path: Path, small_brand_config: Callable[[Path, dict[str, Any]], Path]
) -> None:
    fit = {"method": "map", "svi_steps": 300, "progress_bar": False, "holdout_weeks": 8}
    config = small_brand_config(tmp_path, fit)
    run = tmp_path / "run"
    result = runner.invoke(app, ["fit", str(config), "--out", str(run)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "MAP fit: every number below is a point estimate" in out
    assert "HDI" not in out and not re.search(r"\[\d", out)
    # it leads with the fit, holdout included
    assert out.splitlines()[0].startswith("fit: in-sample R²")
    assert out.splitlines()[1].startswith("holdout (8 periods): R² ")
    summary = load_summary(run / "summary.json")
    assert summary.point_estimate and summary.fit.coverage_90 is None
    # the default policy's point_estimate gate fails it: it blocks the promotion
    gates = run_gates(summary, GatePolicy())
    assert next(g for g in gates if g.name == "point_estimate").status is GateStatus.FAILED
    page = (run / "report.html").read_text()
    assert "Point estimate (MAP fit, no posterior intervals)" in page

    plan = runner.invoke(
        app, ["optimize", str(run), "--horizon", "8", "--out", str(tmp_path / "opt")]
    )
    assert plan.exit_code == 0, plan.output
    assert "P(optimized beats current)" not in plan.output
    assert "point estimate (MAP fit)" in plan.output
    assert "Probability that the optimized plan" not in (tmp_path / "opt" / "plan.html").read_text()
