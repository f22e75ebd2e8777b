"""The spline baseline (model.trend: spline) and the organic block of the model."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import numpyro

from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import BrandSimulation, simulate_brand
from mixflow.datasets.extras import BrandExtras, add_extras
from mixflow.model.baseline import bspline_basis, n_basis, spline_trend
from mixflow.model.design import build_design
from mixflow.model.mmm import baseline_components, mmm_model
from mixflow.spec import parse_config


def test_basis_is_a_partition_of_unity_and_flat_after_the_fit() -> None:
    t = jnp.linspace(-0.2, 1.3, 301)
    basis = np.asarray(bspline_basis(t, 9))
    np.testing.assert_allclose(basis.sum(axis=1), 1.0, atol=1e-5)
    end = np.asarray(bspline_basis(jnp.array([1.0]), 9))[0]
    # clipped: after 1 (holdout, padding, the future) the basis is the end point's
    np.testing.assert_allclose(basis[np.asarray(t) > 1], np.broadcast_to(end, (60, 9)), atol=1e-6)
    assert (basis >= 0).all()


def test_knot_count_follows_the_spacing() -> None:
    assert n_basis(156, 26.0) == 6 + 3
    assert n_basis(20, 26.0) == 1 + 3  # at least one interval


def _design_and_spec(trend: str):  # type: ignore[no-untyped-def]
    brand = simulate_brand(BrandSimulation(n_weeks=80), np.random.default_rng(3))
    brand, _ = add_extras(brand, BrandExtras(drift_amplitude=0.1), np.random.default_rng(4))
    cfg = dict(brand.config)
    cfg["model"] = {**cfg["model"], "trend": trend}
    config = parse_config(cfg)
    data = dataset_from_frame(brand.frame, config.data)
    return build_design(data, config.model, holdout_weeks=6), config.model


def test_prior_draw_of_the_spline_is_centred_over_fitted_weeks_and_organic_enters() -> None:
    design, spec = _design_and_spec("spline")
    arrays = {k: jnp.asarray(v) for k, v in design.arrays().items()}
    trace = numpyro.handlers.trace(
        numpyro.handlers.seed(mmm_model, jax.random.PRNGKey(0))
    ).get_trace(arrays, spec)
    params = {k: v["value"] for k, v in trace.items() if v["type"] in ("sample", "deterministic")}
    assert "trend" not in params and params["spline_z"].shape == (
        n_basis(80, spec.trend_knot_weeks) - 1,
    )
    trend = np.asarray(spline_trend(params, arrays["trend_t"]))
    fitted = np.asarray(design.obs_mask)
    assert abs(trend[: fitted.size][fitted].mean()) < 1e-5
    # held flat after the fitted weeks: holdout and padding equal the last fitted value
    np.testing.assert_allclose(trend[fitted.sum() :], trend[fitted.sum() - 1], atol=1e-5)
    base = baseline_components(params, arrays)
    organic = np.asarray(base["organic"])
    assert organic.shape == (1, 80 + design.max_lag) and (organic >= 0).all()
    # organic_effect is the mean weekly organic contribution over the fitted weeks
    np.testing.assert_allclose(
        organic[0, : fitted.size][fitted].mean(), float(params["organic_effect"][0]), rtol=1e-4
    )
