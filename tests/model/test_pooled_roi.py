"""The pooled ROI prior (priors.pool_roi): one shared log shift plus channel deviations."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import numpyro

from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import BrandSimulation, simulate_brand
from mixflow.model.design import build_design
from mixflow.model.mmm import POOLED_ROI_TAU, mmm_model
from mixflow.spec import parse_config


def _arrays_and_spec(pool: bool):  # type: ignore[no-untyped-def]
    brand = simulate_brand(BrandSimulation(n_weeks=80), np.random.default_rng(2))
    cfg = dict(brand.config)
    cfg["model"] = {**cfg["model"], "priors": {"pool_roi": pool}}
    config = parse_config(cfg)
    design = build_design(dataset_from_frame(brand.frame, config.data), config.model)
    return {k: jnp.asarray(v) for k, v in design.arrays().items()}, config.model


def _prior_roi(pool: bool, n: int = 4000) -> tuple[np.ndarray, dict[str, jnp.ndarray]]:
    arrays, spec = _arrays_and_spec(pool)
    predictive = numpyro.infer.Predictive(mmm_model, num_samples=n, return_sites=["roi"])
    draws = predictive(jax.random.PRNGKey(0), arrays, spec)
    return np.log(np.asarray(draws["roi"])), arrays


def test_pooled_prior_keeps_each_channel_s_median_and_correlates_the_channels() -> None:
    log_roi, arrays = _prior_roi(True)
    loc, scale = np.asarray(arrays["roi_loc"]), np.asarray(arrays["roi_scale"])
    # each channel's marginal: centred at its own prior median, log-sd sqrt(sigma^2 + tau^2)
    np.testing.assert_allclose(np.median(log_roi, axis=0), loc, atol=0.08)
    np.testing.assert_allclose(log_roi.std(axis=0), np.hypot(scale, POOLED_ROI_TAU), rtol=0.06)
    # channels share the shift: prior correlation sigma^2 / (sigma^2 + E tau^2) = 0.8 here
    corr = np.corrcoef(log_roi.T)[np.triu_indices(log_roi.shape[1], 1)]
    assert np.all(np.abs(corr - 0.8) < 0.06)


def test_independent_prior_has_uncorrelated_channels() -> None:
    log_roi, arrays = _prior_roi(False)
    np.testing.assert_allclose(log_roi.std(axis=0), np.asarray(arrays["roi_scale"]), rtol=0.06)
    corr = np.corrcoef(log_roi.T)[np.triu_indices(log_roi.shape[1], 1)]
    assert np.all(np.abs(corr) < 0.06)
