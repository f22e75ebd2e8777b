"""posterior.nc holds observed data, posterior predictive and log-likelihood of the KPI with
named coordinates; runs written before these groups existed still load."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import arviz as az
import numpy as np
import pytest
import scipy.stats

from mixflow.data.folders import write_manifest
from mixflow.model import predict
from mixflow.posterior import Posterior
from mixflow.workflow import load_run


def _idata(run: Path) -> az.InferenceData:
    return az.from_netcdf(run / "posterior.nc", engine="h5netcdf")


def test_the_file_has_the_kpi_groups_with_dates_and_named_controls(
    true_form_run: Path, true_form: Posterior
) -> None:
    idata = _idata(true_form_run)
    assert {"posterior", "sample_stats", "observed_data", "posterior_predictive"} <= set(
        idata.groups()
    )
    data = true_form.dataset
    dates = data.dates.astype("datetime64[ns]")
    np.testing.assert_array_equal(idata.observed_data["time"].values, dates)
    np.testing.assert_allclose(idata.observed_data["kpi"].values, data.kpi[0])
    assert idata.posterior["control"].dims == ("chain", "draw", "controls")
    assert list(idata.posterior["controls"].values) == list(data.control_names)
    assert list(idata.posterior["events"].values) == list(data.event_names)
    assert list(idata.posterior["roi"]["channel"].values) == list(data.channels)


def test_the_log_likelihood_covers_the_fitted_weeks_only(
    true_form_run: Path, true_form: Posterior
) -> None:
    ll = _idata(true_form_run).log_likelihood["kpi"]
    dates = true_form.dataset.dates.astype("datetime64[ns]")
    holdout = true_form.holdout_weeks
    np.testing.assert_array_equal(ll["time"].values, dates[:-holdout])
    # same draws as the posterior predictive, evenly spread over each chain
    pp = _idata(true_form_run).posterior_predictive["kpi"]
    np.testing.assert_array_equal(ll["draw"].values, pp["draw"].values)


def test_the_log_likelihood_is_the_normal_density_of_the_kpi_in_its_units(
    true_form: Posterior,
) -> None:
    """Independent check: mu and sigma of one draw (model.predict) mapped to KPI units, and
    scipy's normal log density of the observed KPI."""
    draws = true_form.predictive
    chain, pos = 1, len(draws.draw_index) // 2
    draw = int(draws.draw_index[pos])
    params = {k: v[chain, draw] for k, v in true_form.samples.items()}
    design = true_form.design
    mu = np.asarray(predict(params, design.arrays(), true_form.spec)["mu"])[0, : design.n_times]
    factor = design.kpi_scale * design.population[0]
    expected = scipy.stats.norm.logpdf(
        true_form.dataset.kpi[0], loc=mu * factor, scale=params["sigma"] * factor
    )[draws.fitted]
    # float32 storage: about 7 significant digits of values near -12
    np.testing.assert_allclose(draws.log_likelihood[chain, pos, 0], expected, rtol=1e-5)


def test_the_posterior_predictive_covers_the_observed_kpi(true_form: Posterior) -> None:
    draws = true_form.predictive
    kpi = true_form.dataset.kpi[0]
    rep = draws.kpi[..., 0, :].reshape(-1, kpi.size)
    lo, hi = np.quantile(rep, [0.05, 0.95], axis=0)
    inside = (kpi >= lo) & (kpi <= hi)
    # a well-specified fit: a 90% interval holds ~90% of 80 weeks; 0.75 is ~4 binomial sd below
    assert inside[draws.fitted].mean() >= 0.75
    # noise was drawn: the replicates differ between draws of one week
    assert np.all(rep.std(axis=0) > 0)


def test_a_run_folder_without_the_groups_loads_and_computes_them(
    true_form_run: Path, true_form: Posterior, tmp_path: Path
) -> None:
    legacy = tmp_path / "legacy"
    shutil.copytree(true_form_run, legacy)
    old = _idata(true_form_run)
    trimmed = az.InferenceData(posterior=old.posterior, sample_stats=old.sample_stats)
    (legacy / "posterior.nc").unlink()
    trimmed.to_netcdf(str(legacy / "posterior.nc"), engine="h5netcdf")
    write_manifest(legacy)
    loaded = load_run(legacy)
    assert loaded.predictive_draws is None
    computed = loaded.predictive
    # the same seed gives the same log-likelihood as the fit stored
    np.testing.assert_allclose(
        computed.log_likelihood, true_form.predictive.log_likelihood, rtol=1e-5
    )


def test_damaged_predictive_groups_are_named(true_form_run: Path, tmp_path: Path) -> None:
    from mixflow.errors import RunDirError

    broken = tmp_path / "broken"
    shutil.copytree(true_form_run, broken)
    idata = _idata(true_form_run)
    short = idata.log_likelihood.isel(time=slice(0, 5))
    fixed = az.InferenceData(
        posterior=idata.posterior,
        posterior_predictive=idata.posterior_predictive,
        log_likelihood=short,
    )
    (broken / "posterior.nc").unlink()
    fixed.to_netcdf(str(broken / "posterior.nc"), engine="h5netcdf")
    write_manifest(broken)
    with warnings.catch_warnings(), pytest.raises(RunDirError, match="predictive groups"):
        load_run(broken)


def test_big_geo_panels_keep_fewer_predictive_draws_within_the_value_budget() -> None:
    from mixflow.inference.predictive import (
        MAX_PREDICTIVE_VALUES,
        predictive_draw_budget,
        thinned_draw_index,
    )

    assert predictive_draw_budget(1, 156) == 1000  # a national panel keeps 1,000
    for geos in (20, 40, 200):
        budget = predictive_draw_budget(geos, 156)
        assert 250 <= budget < 1000
        if budget > 250:
            assert budget * geos * 156 <= MAX_PREDICTIVE_VALUES
        index = thinned_draw_index(1000, 4, budget)
        assert len(index) * 4 <= budget
        assert index[0] == 0 and index[-1] == 999
        # evenly spread: gaps differ by at most one draw
        assert np.ptp(np.diff(index)) <= 1
