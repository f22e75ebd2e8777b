"""The time-varying media multiplier (model.time_varying_media, mixflow.model.time_varying)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import pandas as pd
import pytest

from mixflow.data.lift_tests import LiftTest
from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import BrandSimulation, simulate_brand
from mixflow.errors import SpecError
from mixflow.model.baseline import n_basis
from mixflow.model.design import build_design
from mixflow.model.mmm import (
    implied_lift,
    media_coefficients,
    mmm_model,
    predict,
    time_multiplier,
)
from mixflow.spec import parse_config


def _design(time_varying: bool, tests: tuple[LiftTest, ...] = ()):  # type: ignore[no-untyped-def]
    brand = simulate_brand(BrandSimulation(n_weeks=80, media_drift=0.3), np.random.default_rng(3))
    cfg = dict(brand.config)
    cfg["model"] = {**cfg["model"], "time_varying_media": time_varying, "media_knot_weeks": 26}
    config = parse_config(cfg)
    data = dataset_from_frame(brand.frame, config.data)
    design = build_design(data, config.model, holdout_weeks=6, lift_tests=tests)
    return design, config.model, data


def _prior_draw(design, spec, seed: int = 0):  # type: ignore[no-untyped-def]
    arrays = {k: jnp.asarray(v) for k, v in design.arrays().items()}
    trace = numpyro.handlers.trace(
        numpyro.handlers.seed(mmm_model, jax.random.PRNGKey(seed))
    ).get_trace(arrays, spec)
    params = {k: v["value"] for k, v in trace.items() if v["type"] in ("sample", "deterministic")}
    return arrays, params


def test_off_by_default_and_the_multiplier_is_one() -> None:
    design, spec, _ = _design(False)
    arrays, params = _prior_draw(design, spec)
    assert not spec.time_varying_media and "media_time_z" not in params
    np.testing.assert_array_equal(np.asarray(time_multiplier(params, arrays)), 1.0)


def test_prior_multiplier_is_centred_over_fitted_weeks_and_flat_after() -> None:
    design, spec, _ = _design(True)
    arrays, params = _prior_draw(design, spec, seed=2)
    assert params["media_time_z"].shape == (n_basis(80, 26.0) - 1,)
    m = np.asarray(time_multiplier(params, arrays))
    fitted = np.asarray(design.obs_mask)
    n_fit = int(fitted.sum())
    # geometric mean 1 over the fitted weeks, so the coefficients keep their meaning
    assert abs(np.log(m[:n_fit]).mean()) < 1e-5
    assert m.std() > 1e-3  # it does vary
    # held at the last fitted value over the holdout and the carryover padding
    np.testing.assert_allclose(m[n_fit:], m[n_fit - 1], rtol=1e-5)


def test_roi_is_the_histories_return_with_the_multiplier_in_it() -> None:
    """With ROI priors, the media contributions the likelihood sees (multiplier included) sum,
    in value, to ROI x spend per channel; media_coefficients' own path gives the same
    coefficients as the likelihood's."""
    design, spec, _ = _design(True)
    arrays, params = _prior_draw(design, spec, seed=5)
    out = predict(params, arrays, spec)
    value = np.einsum("gtc,gt->c", np.asarray(out["media"]), np.asarray(arrays["value_weight"]))
    roi = value / np.asarray(arrays["spend_total"])
    np.testing.assert_allclose(roi, np.asarray(params["roi"]), rtol=2e-4)
    np.testing.assert_allclose(
        np.asarray(media_coefficients(params, arrays, spec)), np.asarray(out["beta"]), rtol=2e-5
    )
    # and the multiplier matters: without it the same ROI needs other coefficients
    plain = {k: v for k, v in params.items() if not k.startswith("media_time")}
    assert not np.allclose(
        np.asarray(media_coefficients(plain, arrays, spec)), np.asarray(out["beta"]), rtol=1e-3
    )


def test_implied_lift_of_a_test_scales_with_the_multiplier_on_its_window() -> None:
    _, _, data = _design(True)
    test = LiftTest(
        channel="tv",
        start=pd.Timestamp(data.dates[40]).date(),
        end=pd.Timestamp(data.dates[45]).date(),
        geos=(),
        spend_change=40_000.0,
        incremental_kpi=50_000.0,
        standard_error=10_000.0,
    )
    design, spec, _ = _design(True, (test,))
    arrays, params = _prior_draw(design, spec, seed=7)
    assert np.asarray(arrays["cal_time"]).tolist() == list(range(*design.calibration.window))
    beta = jnp.ones((1, data.n_channels))
    # a flat multiplier of 2 everywhere (z = 0, offset log(1/2)) doubles the lift at fixed beta
    flat = {**params, "media_time_z": jnp.zeros_like(params["media_time_z"])}
    one = implied_lift({**flat, "media_time_offset": jnp.asarray(0.0)}, arrays, spec, beta)
    two = implied_lift({**flat, "media_time_offset": jnp.asarray(-np.log(2.0))}, arrays, spec, beta)
    np.testing.assert_allclose(np.asarray(two), 2.0 * np.asarray(one), rtol=1e-5)
    assert float(one[0]) != 0.0


def test_the_simulator_rejects_an_impossible_media_drift() -> None:
    with pytest.raises(SpecError, match="media_drift"):
        BrandSimulation(media_drift=1.5)
