"""``mixflow compare-runs``: a ranking table, a verdict, JSON with --out, and one-line errors
(exit 2) for a point estimate and for a run folder without a log-likelihood."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import arviz as az
import pytest
from typer.testing import CliRunner

from mixflow.cli.main import app
from mixflow.data.folders import write_manifest

ConfigWriter = Callable[[Path, dict[str, Any]], Path]
FIT = {
    "method": "nuts",
    "chains": 2,
    "warmup": 150,
    "draws": 150,
    "seed": 4,
    "progress_bar": False,
    "holdout_weeks": 8,
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, small_brand_config: ConfigWriter) -> Path:
    """``a``: a small NUTS run; ``b``: a copy of it (one model, one posterior). Two seeds of one
    model would not do: their pointwise differences are so correlated that Monte Carlo noise
    alone can exceed 2 se of the difference."""
    from mixflow.workflow import fit_run

    folder = tmp_path_factory.mktemp("compare_runs")
    fit_run(small_brand_config(folder, FIT), folder / "a")
    shutil.copytree(folder / "a", folder / "b")
    return folder


def test_two_runs_of_one_posterior_are_ranked_with_no_clear_winner(runs: Path) -> None:
    out = runs / "comparison.json"
    result = CliRunner().invoke(
        app, ["compare-runs", str(runs / "a"), str(runs / "b"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["run", "rank", "elpd_loo", "se"]
    assert {lines[1].split()[0], lines[2].split()[0]} == {"a", "b"}
    assert "verdict: no clear winner" in result.stdout
    doc = json.loads(out.read_text())
    assert {r["name"] for r in doc["runs"]} == {"a", "b"}
    assert doc["runs"][1]["elpd_diff"] == pytest.approx(0.0, abs=1e-9)
    assert doc["runs"][0]["elpd_loo"] == pytest.approx(doc["runs"][1]["elpd_loo"])
    assert sum(r["weight"] for r in doc["runs"]) == pytest.approx(1.0)
    assert doc["runs"][0]["n_observations"] == 72  # 80 weeks less the 8 held out


def test_a_run_without_log_likelihood_is_one_line_exit_2(runs: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(runs / "a", old)
    idata = az.from_netcdf(str(runs / "a" / "posterior.nc"), engine="h5netcdf")
    (old / "posterior.nc").unlink()
    az.InferenceData(posterior=idata.posterior).to_netcdf(
        str(old / "posterior.nc"), engine="h5netcdf"
    )
    write_manifest(old)
    result = CliRunner().invoke(app, ["compare-runs", str(runs / "a"), str(old)])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: run 'old' has no log_likelihood group in posterior.nc (written by an older "
        "mixflow); fit it again to compare it\n"
    )


def test_a_map_run_is_refused(runs: Path, tmp_path: Path) -> None:
    point = tmp_path / "point"
    shutil.copytree(runs / "a", point)
    meta = json.loads((point / "posterior.json").read_text())
    (point / "posterior.json").write_text(json.dumps({**meta, "method": "map"}))
    write_manifest(point)
    result = CliRunner().invoke(app, ["compare-runs", str(point), str(runs / "b")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: run 'point' is a MAP fit (a point estimate)")
    assert result.stderr.count("\n") == 1


def test_one_run_twice_is_refused(runs: Path) -> None:
    result = CliRunner().invoke(app, ["compare-runs", str(runs / "a"), str(runs / "a")])
    assert result.exit_code == 2
    assert "a run is named twice" in result.stderr
