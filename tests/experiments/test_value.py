"""Which channel to test next: preposterior formulas, ranking, a real run, CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd
import pytest
import yaml
from numpyro import handlers
from typer.testing import CliRunner

from mixflow.cli.main import app
from mixflow.data.loaders import load_dataset
from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand
from mixflow.errors import SpecError
from mixflow.experiments.value import (
    ChannelPosterior,
    NextDocument,
    TestPrecision,
    ValueUnit,
    expected_value_of_sample_information,
    load_channel_posterior,
    posterior_sd_after_test,
    rank_channels,
)
from mixflow.inference.diagnostics import compute_diagnostics
from mixflow.model.design import build_design
from mixflow.model.mmm import mmm_model
from mixflow.posterior.posterior import Posterior
from mixflow.spec.config import load_config
from mixflow.spec.model_spec import FitMethod, ModelSpec, model_spec_from_config

PRETEST_CSV = (
    Path(__file__).resolve().parents[2] / "data" / "geo_experiments" / "geolift_pretest.csv"
)


def _posterior(
    means: list[float], sds: list[float], budgets: list[float], n_draws: int = 4000
) -> ChannelPosterior:
    """Normal ROI draws, exactly standardised so that their mean and sd are ``means``/``sds``."""
    rng = np.random.default_rng(0)
    z = rng.standard_normal((n_draws, len(means)))
    z = (z - z.mean(axis=0)) / z.std(axis=0, ddof=1)
    roi = np.asarray(means) + z * np.asarray(sds)
    return ChannelPosterior(
        channels=tuple(f"c{i}" for i in range(len(means))),
        roi=roi,
        cost_per_kpi=1.0 / roi,
        budget=np.asarray(budgets, dtype=float),
        horizon=52,
        value_unit=ValueUnit.revenue,
    )


# --------------------------------------------------------------------------- formulas


def test_sd_after_test_is_the_normal_normal_posterior_sd() -> None:
    assert posterior_sd_after_test(2.0, 1.0) == pytest.approx(2.0 / math.sqrt(5.0))
    assert posterior_sd_after_test(1.0, 1.0) == pytest.approx(1.0 / math.sqrt(2.0))
    assert posterior_sd_after_test(1.0, 1e6) == pytest.approx(1.0, rel=1e-9)  # useless test
    assert posterior_sd_after_test(1.0, 1e-6) == pytest.approx(1e-6, rel=1e-6)  # perfect test


def test_value_ranking_puts_widest_posterior_and_largest_budget_first() -> None:
    # c0 wide and big, c1 narrow and big, c2 wide and small, c3 narrow and small
    posterior = _posterior([2.0] * 4, [0.8, 0.2, 0.8, 0.2], [1e6, 1e6, 1e5, 1e5])
    ranked = rank_channels(posterior, TestPrecision(absolute_se=0.3))
    assert ranked[0].channel == "c0" and ranked[-1].channel == "c3"
    assert [v.rank for v in ranked] == [1, 2, 3, 4]
    # between them: c2's sd falls by 0.52 on 1e5 (52k) and c1's by 0.034 on 1e6 (34k)
    assert [v.channel for v in ranked[1:3]] == ["c2", "c1"]
    assert [v.value for v in ranked] == sorted((v.value for v in ranked), reverse=True)
    top = ranked[0]
    assert top.roi_sd == pytest.approx(0.8)
    assert top.roi_sd_after == pytest.approx(0.8 * 0.3 / math.hypot(0.8, 0.3))
    assert top.value == pytest.approx((0.8 - top.roi_sd_after) * 1e6)
    assert top.budget == 1e6
    assert top.evsi is None  # no break-even ROI given


def test_relative_precision_scales_with_posterior_mean() -> None:
    posterior = _posterior([4.0, 1.0], [0.5, 0.5], [1e5, 1e5])
    by_channel = {v.channel: v for v in rank_channels(posterior, TestPrecision(relative_se=0.25))}
    assert by_channel["c0"].test_se == pytest.approx(1.0)
    assert by_channel["c1"].test_se == pytest.approx(0.25)
    # the same prior sd shrinks more under the more precise test
    assert by_channel["c1"].sd_reduction > by_channel["c0"].sd_reduction


def test_evsi_matches_monte_carlo_preposterior() -> None:
    mean, sd, se, budget, breakeven = 1.2, 0.5, 0.3, 1e5, 1.0
    rng = np.random.default_rng(1)
    n = 400_000
    roi = rng.normal(mean, sd, n)
    measured = rng.normal(roi, se)
    updated = mean + sd**2 / (sd**2 + se**2) * (measured - mean)  # posterior mean after the test
    gains = budget * (np.maximum(updated - breakeven, 0.0) - max(mean - breakeven, 0.0))
    mc, mc_se = gains.mean(), gains.std() / math.sqrt(n)
    formula = expected_value_of_sample_information(mean, sd, se, budget, breakeven)
    assert formula == pytest.approx(mc, abs=4 * mc_se)
    assert formula > 0


def test_evsi_vanishes_when_a_test_cannot_change_the_decision() -> None:
    posterior = _posterior([5.0, 1.05], [0.3, 0.3], [1e5, 1e5])
    by_channel = {v.channel: v for v in rank_channels(posterior, TestPrecision(), 1.0)}
    assert by_channel["c0"].evsi is not None and by_channel["c0"].evsi < 1e-6 * 1e5
    assert by_channel["c1"].evsi is not None and by_channel["c1"].evsi > 1e3


def test_a_single_draw_is_rejected() -> None:
    posterior = _posterior([2.0], [0.5], [1e5], n_draws=2)
    single = ChannelPosterior(
        channels=posterior.channels,
        roi=posterior.roi[:1],
        cost_per_kpi=posterior.cost_per_kpi[:1],
        budget=posterior.budget,
        horizon=52,
        value_unit=ValueUnit.revenue,
    )
    with pytest.raises(SpecError, match="single posterior draw"):
        rank_channels(single)


def test_precision_and_channel_errors_name_the_field() -> None:
    with pytest.raises(SpecError, match="relative_se: expected a number > 0, got 0"):
        TestPrecision(relative_se=0.0)
    with pytest.raises(SpecError, match="absolute_se: expected a number > 0"):
        TestPrecision(absolute_se=-1.0)
    posterior = _posterior([2.0, 1.0], [0.5, 0.5], [1e5, 1e5])
    with pytest.raises(SpecError, match=r"channel 'c7' not in the model.*channels: c0, c1"):
        posterior.mean_cost_per_kpi("c7")


# --------------------------------------------------------------------------- a fitted run


def _prior_draws(arrays: dict[str, np.ndarray], spec: ModelSpec, n_draws: int) -> dict[str, Any]:
    """``n_draws`` draws of the model's latent and deterministic sites (as a fit records them)
    from the prior, in one compiled program."""

    def one(key: jax.Array) -> dict[str, jax.Array]:
        trace = handlers.trace(handlers.seed(mmm_model, key)).get_trace(arrays, spec)
        return {
            name: site["value"]
            for name, site in trace.items()
            if site["type"] == "deterministic"
            or (site["type"] == "sample" and not site["is_observed"])
        }

    keys = jax.random.split(jax.random.PRNGKey(0), n_draws)
    return {k: np.asarray(v)[None] for k, v in jax.jit(jax.vmap(one))(keys).items()}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run directory (2 channels, 60 weeks) holding 100 prior draws in place of a posterior:
    the value of testing only needs draws, and sampling the prior takes one compilation where
    a fit takes hundreds."""
    tmp = tmp_path_factory.mktemp("value_run")
    brand = simulate_brand(
        BrandSimulation(n_weeks=60, channels=DEFAULT_CHANNELS[:2], n_events=1, fourier_terms=1),
        np.random.default_rng(3),
    )
    brand.frame.to_csv(tmp / "data.csv", index=False)
    config = {**brand.config, "fit": {"method": "svi", "draws": 100, "progress_bar": False}}
    (tmp / "config.yaml").write_text(yaml.safe_dump(config))
    cfg, base = load_config(tmp / "config.yaml")
    data = load_dataset(cfg.data, base)
    spec = model_spec_from_config(cfg)
    samples = _prior_draws(build_design(data, spec, 0).arrays(), spec, 100)
    diagnostics = compute_diagnostics(samples, None, None, 0.0, "svi")
    Posterior(samples, cfg, data, diagnostics, FitMethod.SVI).save(tmp / "run")
    return tmp / "run"


def test_channel_posterior_from_a_run(run_dir: Path) -> None:
    posterior = load_channel_posterior(run_dir, horizon=26)
    data = Posterior.load(run_dir).dataset
    assert posterior.channels == tuple(data.channels)
    assert posterior.roi.shape == (100, 2)
    np.testing.assert_allclose(posterior.budget, data.spend[:, -26:, :].sum(axis=(0, 1)))
    assert posterior.value_unit is ValueUnit.revenue
    # a revenue KPI: incremental KPI is incremental value, so cost per KPI is 1 / ROI per draw
    np.testing.assert_allclose(posterior.cost_per_kpi * posterior.roi, 1.0, rtol=1e-6)
    assert (np.std(posterior.roi, axis=0) > 0).all()


def test_cli_next_ranks_channels(run_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["experiment", "next", str(run_dir), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    rows = payload["channels"]
    assert [r["rank"] for r in rows] == [1, 2]
    assert {r["channel"] for r in rows} == {"tv", "search"}
    assert rows[0]["value"] >= rows[1]["value"]
    assert payload["breakeven_roi"] == 1.0 and all(r["evsi"] is not None for r in rows)
    table = runner.invoke(app, ["experiment", "next", str(run_dir), "--out", str(tmp_path / "n")])
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].split()[:2] == ["rank", "channel"]
    assert lines[1].split()[:2] == ["1", rows[0]["channel"]]
    written = json.loads((tmp_path / "n" / "next.json").read_text())
    assert written["channels"] == rows
    # typed: the model reads it back unchanged, the committed JSON Schema accepts it
    assert NextDocument.model_validate(written).to_json_dict() == written == payload
    jsonschema = pytest.importorskip("jsonschema")
    schemas = Path(__file__).resolve().parents[2] / "docs" / "schemas"
    jsonschema.validate(written, json.loads((schemas / "next.json").read_text()))
    assert list(pd.read_csv(tmp_path / "n" / "next.csv")["rank"]) == [1, 2]


def test_cli_design_prices_the_budget_with_the_run(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "design"
    args = [
        "experiment",
        "design",
        str(PRETEST_CSV),
        "--treated-sizes",
        "2",
        "--test-lengths",
        "14",
        "--effects",
        "0,0.1",
        "--windows",
        "2",
        "--candidates",
        "1",
        "--random-sets",
        "0",
        "--method",
        "did",
        str(run_dir),  # the run is an argument, as in the other commands
        "--channel",
        "tv",
        "--out",
        str(out),
        "--no-progress",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads((out / "designs.json").read_text())
    cpik = load_channel_posterior(run_dir).mean_cost_per_kpi("tv")
    assert payload["cpik"] == pytest.approx(cpik)
    assert "'tv'" in payload["cpik_source"]
    (design,) = payload["designs"]
    assert design["budget"] == pytest.approx(design["mde_incremental_kpi"] * cpik)
    # --run-dir still works, hidden and with a warning, and prices the same budget
    run_arg = args.index(str(run_dir))
    old = [*args[:run_arg], "--run-dir", *args[run_arg:]]
    old[old.index(str(out))] = str(tmp_path / "old")
    legacy = CliRunner().invoke(app, old)
    assert legacy.exit_code == 0, legacy.output
    assert "warning: --run-dir is deprecated; give the run as an argument" in legacy.output
    again = json.loads((tmp_path / "old" / "designs.json").read_text())
    assert again["cpik"] == payload["cpik"] and again["designs"] == payload["designs"]
    help_text = CliRunner().invoke(app, ["experiment", "design", "--help"]).output
    assert "{data} [run]" in help_text and "--run-dir" not in help_text


def test_cli_misspelled_channel_and_missing_run_exit_2(run_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["experiment", "design", str(PRETEST_CSV), "--out", str(tmp_path / "o")]
    bad = runner.invoke(app, [*args, str(run_dir), "--channel", "tvv"])
    assert bad.exit_code == 2
    assert bad.output.startswith("error: channel 'tvv' not in the model (did you mean 'tv'?)")
    missing = runner.invoke(app, ["experiment", "next", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2
    assert "missing posterior.nc; is this a mixflow run directory?" in missing.output
