"""Single-series causal impact: published figures on tfp-causalimpact's data, recovery of a
known effect on simulated data, input errors, CLI.

Every fit in this file has 61 pre-period points, 2 covariates and the same sampler settings, so
they share one compiled sampler (the persistent compilation cache set up in conftest.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mixflow.cli.main import app
from mixflow.errors import DataError, SpecError
from mixflow.experiments.impact import (
    ImpactConfig,
    ImpactResult,
    ImpactResultDocument,
    RegressionPrior,
    analyze_impact,
    analyze_impact_table,
)
from mixflow.experiments.results import load_result, parse_result

DATA = Path(__file__).resolve().parents[2] / "data"
TFP = DATA / "causal" / "tfp_causalimpact_data.csv"
# pycausalimpact's test split of this file: pre rows 0..60, post rows 61..90
POST_START = "2016-02-20 22:51:30"
CONFIG = ImpactConfig(draws=300, warmup=300, chains=2, seed=0)
N_PRE, N_POST = 61, 30
SIM_SEED = 1

runner = CliRunner()


def _simulated(effect: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``y`` ``(91,)`` = 20 + 1.2 x1 + N(0, 1), with ``effect`` added over the last 30 points;
    ``x`` ``(91, 2)``: x1 an AR(1) around 100 (sd ~2.3), x2 unrelated noise around 50."""
    rng = np.random.default_rng(seed)
    n = N_PRE + N_POST
    x1 = np.empty(n)
    x1[0] = 100.0
    for t in range(1, n):
        x1[t] = 100.0 + 0.9 * (x1[t - 1] - 100.0) + rng.normal()
    x2 = 50.0 + rng.normal(0.0, 3.0, n)
    y = 20.0 + 1.2 * x1 + rng.normal(0.0, 1.0, n)
    y[N_PRE:] += effect
    return y, np.column_stack([x1, x2])


@pytest.fixture(scope="module")
def tfp_result() -> ImpactResult:
    return analyze_impact_table(
        pd.read_csv(TFP),
        date_column="t",
        response_column="y",
        covariates=["x1", "x2"],
        post_start=POST_START,
        config=CONFIG,
    )


def test_tfp_data_matches_published_figures(tfp_result: ImpactResult) -> None:
    # Published for this file and split (tests of dafiti/causalimpact and WillianFuks/
    # tfcausalimpact, local level + regression): actual average 156.2 (4,687 in all),
    # predicted ~129 (3,876-3,883), average effect 26-27 (cumulative 803-810), relative
    # ~20 % (0.2), p ~ 0.0. Their 95 % intervals of the average effect differ a lot
    # ([-0.2, 53] and [21.6, 31]). Tolerances: half a posterior sd (~6 per point) around
    # the published point estimates; Monte Carlo error here is ~0.2.
    assert (tfp_result.n_pre, tfp_result.n_post) == (N_PRE, N_POST)
    assert tfp_result.regression_prior is RegressionPrior.normal
    assert tfp_result.actual_average == pytest.approx(4687 / 30)
    assert tfp_result.actual_cumulative == pytest.approx(4687)
    assert tfp_result.predicted_average.mean == pytest.approx(129.3, abs=3.0)
    assert tfp_result.effect_average.mean == pytest.approx(26.8, abs=3.0)
    assert tfp_result.effect_cumulative.mean == pytest.approx(806, abs=90)
    assert tfp_result.relative_effect_pct.mean == pytest.approx(20.9, abs=3.0)
    lo, hi = tfp_result.effect_average.ci_95
    assert 0 < lo < 21.6 and 31 < hi < 53
    assert tfp_result.p_value < 0.01


def test_tfp_data_agrees_with_least_squares(tfp_result: ImpactResult) -> None:
    # independent check: OLS of y on (1, x1, x2) over the pre-period, projected over the post
    table = pd.read_csv(TFP)
    design = np.column_stack([np.ones(len(table)), table["x1"], table["x2"]])
    y = table["y"].to_numpy()
    coef, *_ = np.linalg.lstsq(design[:N_PRE], y[:N_PRE], rcond=None)
    ols_effect = float(np.mean(y[N_PRE:] - design[N_PRE:] @ coef))  # 27.0
    # the level may drift a little and the coefficients are uncertain: a third of a posterior
    # sd (~6 per point) apart at most
    assert tfp_result.effect_average.mean == pytest.approx(ols_effect, abs=2.0)
    assert tfp_result.coefficients["x2"].mean == pytest.approx(coef[2], abs=1.0)


def test_tfp_sampler_is_healthy(tfp_result: ImpactResult) -> None:
    diag = tfp_result.diagnostics
    assert diag.rhat_max is not None and diag.rhat_max < 1.02
    assert diag.ess_bulk_min is not None and diag.ess_bulk_min > 200
    assert diag.divergence_rate < 0.01


def test_tfp_series_and_summaries_agree(tfp_result: ImpactResult) -> None:
    s = tfp_result.series
    assert s.observed.shape == s.predicted_mean.shape == (N_PRE + N_POST,)
    assert np.all(s.cumulative_mean[:N_PRE] == 0)
    assert s.cumulative_mean[-1] == pytest.approx(tfp_result.effect_cumulative.mean)
    assert s.effect_mean[N_PRE:].mean() == pytest.approx(tfp_result.effect_average.mean)
    assert np.all(s.predicted_lower <= s.predicted_upper)
    assert tfp_result.effect_average.ci_95[0] < tfp_result.effect_average.ci_90[0]
    assert tfp_result.pre_period == ("2016-02-20 22:41:20", "2016-02-20 22:51:20")
    assert tfp_result.post_period == (POST_START, "2016-02-20 22:56:20")


def test_recovers_injected_effect() -> None:
    # +5 on a level of ~140 with noise sd 1: the average effect's sd is ~0.3
    y, x = _simulated(5.0, seed=SIM_SEED)
    result = analyze_impact(y, x, N_PRE, config=CONFIG)
    lo, hi = result.effect_average.ci_95
    assert lo <= 5.0 <= hi
    assert lo > 0
    assert result.effect_average.mean == pytest.approx(5.0, abs=1.0)
    assert result.p_value < 0.01
    assert result.coefficients["x1"].ci_95[0] < 1.2 < result.coefficients["x1"].ci_95[1]


def test_no_effect_interval_covers_zero() -> None:
    # the same noise as the test above, without the effect
    y, x = _simulated(0.0, seed=SIM_SEED)
    result = analyze_impact(y, x, N_PRE, config=CONFIG)
    lo, hi = result.effect_average.ci_95
    assert lo < 0 < hi
    assert abs(result.effect_average.mean) < 1.0
    assert result.p_value > 0.025


@pytest.mark.slow
def test_no_effect_coverage_over_seeds() -> None:
    # the 95 % interval should miss 0 in about 1 of 20 series (measured: 1 of seeds 0-19);
    # with 10 series, 3 or more misses has probability ~1 %
    misses = 0
    for seed in range(10):
        y, x = _simulated(0.0, seed=seed)
        lo, hi = analyze_impact(y, x, N_PRE, config=CONFIG).effect_average.ci_95
        misses += not lo < 0 < hi
    assert misses <= 2


@pytest.mark.slow
def test_local_level_alone_recovers_a_shift() -> None:
    # no covariates: y is a level near 100 that drifts by 0.02 sd per step plus noise sd 1
    rng = np.random.default_rng(3)
    y = 100.0 + np.cumsum(rng.normal(0.0, 0.02, 91)) + rng.normal(0.0, 1.0, 91)
    y[N_PRE:] += 3.0
    result = analyze_impact(y, np.zeros((91, 0)), N_PRE, config=CONFIG)
    assert result.regression_prior is RegressionPrior.none and result.coefficients == {}
    lo, hi = result.effect_average.ci_95
    assert 0 < lo < 3.0 < hi


@pytest.mark.slow
def test_geolift_treated_average_agrees_with_synthetic_control() -> None:
    # GeoLift's walkthrough data: chicago and portland treated on days 91-105. The treated
    # average as the response, the 38 other cities as covariates (horseshoe), against
    # GeoLift's published ATT of 155.6 per location-day (lift 5.4 %) that mixflow's synthetic
    # control reproduces (tests/experiments/test_geo.py). Measured: ATT ~172, lift ~6.2 %.
    table = pd.read_csv(DATA / "geo_experiments" / "geolift_test.csv")
    wide = table.pivot(index="date", columns="location", values="Y")
    treated = wide[["chicago", "portland"]].mean(axis=1)
    wide = wide.drop(columns=["chicago", "portland"]).assign(treated=treated).reset_index()
    result = analyze_impact_table(
        wide,
        date_column="date",
        response_column="treated",
        post_start="2021-04-01",
        config=ImpactConfig(draws=500, warmup=500, seed=0),
    )
    assert result.n_post == 15 and len(result.covariates) == 38
    assert result.effect_average.mean == pytest.approx(155.6, rel=0.25)
    lo, hi = result.effect_average.ci_95
    assert 0 < lo < 155.6 < hi
    assert 3.5 < result.relative_effect_pct.mean < 8.5


# --------------------------------------------------------------------------- input errors


def _table() -> pd.DataFrame:
    return pd.read_csv(TFP)


def _analyze(table: pd.DataFrame, **kw: object) -> ImpactResult:
    args: dict[str, object] = {
        "date_column": "t",
        "response_column": "y",
        "covariates": ["x1", "x2"],
        "post_start": POST_START,
    }
    args.update(kw)
    return analyze_impact_table(table, **args)  # type: ignore[arg-type]


def test_misspelled_column_suggests_the_right_one() -> None:
    with pytest.raises(DataError, match=r"column 'Y' not found \(did you mean 'y'\?\)"):
        _analyze(_table(), response_column="Y")


def test_missing_value_names_column_and_time() -> None:
    table = _table()
    table.loc[3, "x2"] = np.nan
    with pytest.raises(DataError, match=r"column 'x2' has 1 missing value.*2016-02-20 22:41:50"):
        _analyze(table)


def test_post_start_outside_the_data() -> None:
    with pytest.raises(DataError, match=r"post_start 2017-01-01 .* must lie after the first time"):
        _analyze(_table(), post_start="2017-01-01")


def test_post_end_before_post_start() -> None:
    with pytest.raises(DataError, match=r"post_end .* is before post_start"):
        _analyze(_table(), post_end="2016-02-20 22:50:00")


def test_unparseable_post_start() -> None:
    with pytest.raises(DataError, match="post_start must be a date or date-time, got 'soon'"):
        _analyze(_table(), post_start="soon")


def test_too_few_pre_period_points() -> None:
    with pytest.raises(DataError, match=r"the pre-period has 2 point\(s\); need at least 5"):
        _analyze(_table(), post_start="2016-02-20 22:41:40")


def test_constant_covariate_in_pre_period() -> None:
    table = _table()
    table["x2"] = 1.0
    with pytest.raises(DataError, match="column 'x2' is constant over the pre-period"):
        _analyze(table)


def test_arrays_without_post_period() -> None:
    y, x = _simulated(0.0, seed=0)
    with pytest.raises(DataError, match="the post-period is empty"):
        analyze_impact(y, x, len(y))


def test_bad_config_names_the_field() -> None:
    with pytest.raises(
        SpecError, match=r"impact settings: prior_level_sd: must be > 0 \(got 0.0\)"
    ):
        ImpactConfig(prior_level_sd=0.0)
    with pytest.raises(SpecError, match=r"draws: must be a positive integer \(got 0\)"):
        ImpactConfig(draws=0)
    with pytest.raises(SpecError, match=r"target_accept: must lie in \(0, 1\) \(got 1.5\)"):
        ImpactConfig(target_accept=1.5)
    with pytest.raises(SpecError, match=r"unknown key 'drawz' \(did you mean 'draws'\?\)"):
        ImpactConfig(drawz=10)  # type: ignore[call-arg]


# --------------------------------------------------------------------------- CLI


def _cli(out: Path, *extra: str) -> list[str]:
    return [
        "experiment",
        "impact",
        str(TFP),
        "--date-column",
        "t",
        "--post-start",
        POST_START,
        "--out",
        str(out),
        *extra,
    ]


def test_cli_misspelled_column_exits_2_with_one_line(tmp_path: Path) -> None:
    # --kpi-column defaults to Y, as in analyze and design; this table's series is y
    result = runner.invoke(app, _cli(tmp_path, "--covariates", "x1,x2"))
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: column 'Y' not found (did you mean 'y'?); columns: t, y, x1, x2"
    )
    assert not (tmp_path / "result.json").exists()


def test_cli_response_column_is_a_hidden_deprecated_alias(tmp_path: Path) -> None:
    help_text = runner.invoke(app, ["experiment", "impact", "--help"]).output
    assert "--kpi-column" in help_text and "--response-column" not in help_text
    result = runner.invoke(app, _cli(tmp_path, "--response-column", "Yy", "--covariates", "x1"))
    assert result.exit_code == 2
    assert "warning: --response-column is deprecated; use --kpi-column" in result.output
    assert "error: column 'Yy' not found" in result.output  # the alias's value was used


def test_cli_writes_result_and_report(tmp_path: Path) -> None:
    out = tmp_path / "impact"
    args = _cli(
        out, "--kpi-column", "y", "--covariates", "x1,x2", "--draws", "300", "--warmup", "300"
    )
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "average effect" in result.output
    payload = json.loads((out / "result.json").read_text())
    assert set(payload) >= {
        "method",
        "response",
        "covariates",
        "regression_prior",
        "pre_period",
        "post_period",
        "n_pre",
        "n_post",
        "average",
        "cumulative",
        "relative_effect_pct",
        "p_value",
        "prob_causal_effect",
        "coefficients",
        "observation_sd",
        "level_sd",
        "diagnostics",
        "config",
        "series",
    }
    assert set(payload["average"]) == {"actual", "predicted", "effect"}
    assert set(payload["average"]["effect"]) == {"mean", "sd", "ci_90", "ci_95"}
    assert len(payload["series"]["time"]) == len(payload["series"]["effect_mean"]) == 91
    assert payload["average"]["effect"]["mean"] == pytest.approx(26.8, abs=3.0)
    lo, hi = payload["average"]["effect"]["ci_90"]  # the console prints the 90 % interval
    assert f"[90%: {lo:.4g}, {hi:.4g}]" in result.output
    assert payload["kind"] == "impact" and payload["schema_version"] == 2
    document = load_result(out)
    assert isinstance(document, ImpactResultDocument) and document.to_json_dict() == payload
    # a version-1 file (no kind, no version) reads as the same document
    old = {k: v for k, v in payload.items() if k not in ("kind", "schema_version")}
    assert parse_result(old).to_json_dict() == payload
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((DATA.parent / "docs" / "schemas" / "result.json").read_text())
    jsonschema.validate(payload, schema)
    report = (out / "report.html").read_text()
    assert report.count("<img") == 1 and "Causal impact" in report
