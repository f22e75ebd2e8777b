"""The design (scaling, padding, priors derived from data) and the model's deterministic parts."""

from __future__ import annotations

import copy
import functools
import math
from typing import Any

import jax
import numpy as np
import pandas as pd
import pytest
from numpyro import handlers
from numpyro.infer import Predictive

from mixflow.data.dataset import MMMDataset
from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, SimulatedBrand, simulate_brand
from mixflow.errors import SpecError
from mixflow.model.design import Design, build_design
from mixflow.model.mmm import (
    media_coefficients,
    mmm_model,
    predict,
    sample_params,
    saturated_media,
)
from mixflow.spec import model_spec_from_config, parse_config
from mixflow.spec.model_spec import ModelSpec, PriorParameterization

N_WEEKS = 60
MAX_LAG = 8  # the simulator's default, written into its config
#: flighted tv, always-on search, social with an impressions column
CHANNELS = DEFAULT_CHANNELS[:3]
NAMES = ("tv", "search", "social")
GEOS = {"national": 1, "geo": 4}
#: float64 numpy arithmetic in the design: only rounding differences
EXACT = 1e-10


@functools.cache
def simulation(n_geos: int) -> SimulatedBrand:
    sim = BrandSimulation(n_weeks=N_WEEKS, n_geos=n_geos, channels=CHANNELS)
    return simulate_brand(sim, np.random.default_rng(0))


def dataset_of(sim: SimulatedBrand, raw: dict[str, Any] | None = None) -> MMMDataset:
    return dataset_from_frame(sim.frame, parse_config(raw or sim.config).data)


def spec_of(raw: dict[str, Any]) -> ModelSpec:
    return model_spec_from_config(parse_config(raw))


@functools.cache
def case(kind: str) -> tuple[SimulatedBrand, MMMDataset, ModelSpec, Design]:
    sim = simulation(GEOS[kind])
    data = dataset_of(sim)
    spec = spec_of(sim.config)
    return sim, data, spec, build_design(data, spec)


def frame_grid(sim: SimulatedBrand, column: str) -> np.ndarray:
    """``(G, T)`` values of a column of the simulated (long) frame; rows are geo-major."""
    return sim.frame[column].to_numpy(dtype=np.float64).reshape(-1, N_WEEKS)


def population_of(sim: SimulatedBrand) -> np.ndarray:
    if "population" not in sim.frame:
        return np.ones(1)
    return frame_grid(sim, "population")[:, 0]


kinds = pytest.mark.parametrize("kind", list(GEOS))


# -------------------------------------------------------------------------------- design
@kinds
def test_design_shapes(kind: str) -> None:
    _, data, spec, d = case(kind)
    g, t, c, lag = GEOS[kind], N_WEEKS, len(NAMES), MAX_LAG
    assert (data.n_geos, data.n_times, data.channels) == (g, t, NAMES)
    assert spec.max_lag == lag
    t_all = t + lag  # padded time T' = T + max_lag
    expected = {
        "y": (g, t),
        "obs_mask": (t,),
        "x_lag": (lag + 1, g, t_all, c),  # lag leads
        "fourier": (t_all, 2 * spec.fourier_terms),
        "trend_t": (t_all,),
        "knots": (t_all, 0),  # linear trend: no hinges
        "controls": (g, t_all, 1),
        "events": (g, t_all, 2),
        "value_weight": (g, t_all),
        "spend_total": (c,),
        "roi_loc": (c,),
        "roi_scale": (c,),
        "coef_sigma": (c,),
        "media_scale": (c,),
        "population": (g,),
    }
    assert {k: getattr(d, k).shape for k in expected} == expected
    assert (d.n_geos, d.n_channels, d.is_geo, d.n_times, d.max_lag) == (g, c, g > 1, t, lag)
    arrays = d.arrays()
    assert arrays["obs_mask"].dtype == np.bool_
    assert arrays["cal_channel"].dtype == np.int32  # lift tests' channel indices (none here)
    assert arrays["cal_geo"].dtype == np.int32  # the geos the lift tests' window covers
    assert arrays["cal_time"].dtype == np.int32  # and its periods (the media multiplier's)
    ints = ("obs_mask", "cal_channel", "cal_geo", "cal_time")
    floats = {k: v for k, v in arrays.items() if k not in ints}
    assert all(v.dtype == np.float32 for v in floats.values())
    assert arrays["cal_obs"].shape == (0,)


@kinds
def test_y_is_per_capita_kpi_with_mean_one(kind: str) -> None:
    sim, _, _, d = case(kind)
    kpi_pc = frame_grid(sim, "revenue") / population_of(sim)[:, None]
    np.testing.assert_allclose(d.y.mean(), 1.0, rtol=EXACT)
    np.testing.assert_allclose(d.y, kpi_pc / kpi_pc.mean(), rtol=EXACT)
    np.testing.assert_allclose(d.kpi_scale, kpi_pc.mean(), rtol=EXACT)


@kinds
def test_value_weight_maps_y_back_to_kpi_value(kind: str) -> None:
    sim, _, _, d = case(kind)
    revenue = frame_grid(sim, "revenue")
    np.testing.assert_allclose(d.value_weight[:, :N_WEEKS] * d.y, revenue, rtol=EXACT)
    # revenue per KPI is held at its last value over the padding
    last = d.value_weight[:, N_WEEKS - 1 : N_WEEKS]
    np.testing.assert_array_equal(d.value_weight[:, N_WEEKS:], np.repeat(last, MAX_LAG, axis=1))


@kinds
def test_media_scale_makes_mean_active_week_one(kind: str) -> None:
    sim, _, _, d = case(kind)
    pop = population_of(sim)
    columns = {"tv": "tv_spend", "search": "search_spend", "social": "social_impressions"}
    for c, name in enumerate(NAMES):
        exposure_pc = frame_grid(sim, columns[name]) / pop[:, None]
        np.testing.assert_allclose(
            d.media_scale[c], exposure_pc[exposure_pc > 0].mean(), rtol=EXACT
        )
    x = d.x_lag[0]  # lag 0 is the scaled exposure itself
    window = x[:, :N_WEEKS]
    for c in range(len(NAMES)):
        active = window[..., c][window[..., c] > 0]
        np.testing.assert_allclose(active.mean(), 1.0, rtol=EXACT)
    assert (window[..., 0] == 0).mean() > 0.3  # tv is flighted: many zero weeks survive scaling
    # no new media in the padding; lag l is exposure l periods earlier (0 before the start)
    np.testing.assert_array_equal(x[:, N_WEEKS:], 0.0)
    for lag in range(MAX_LAG + 1):
        np.testing.assert_array_equal(d.x_lag[lag, :, lag:], x[:, : x.shape[1] - lag])
        np.testing.assert_array_equal(d.x_lag[lag, :, :lag], 0.0)


@kinds
def test_padding_and_trend_time(kind: str) -> None:
    _, _, _, d = case(kind)
    np.testing.assert_allclose(d.trend_t, np.arange(N_WEEKS + MAX_LAG) / (N_WEEKS - 1), rtol=EXACT)
    np.testing.assert_array_equal(d.events[:, N_WEEKS:], 0.0)
    assert d.events[:, :N_WEEKS].sum() > 0
    np.testing.assert_array_equal(
        d.controls[:, N_WEEKS:], np.repeat(d.controls[:, N_WEEKS - 1 : N_WEEKS], MAX_LAG, axis=1)
    )


@kinds
def test_obs_mask_excludes_holdout(kind: str) -> None:
    _, data, spec, full = case(kind)
    assert full.obs_mask.all()
    d = build_design(data, spec, holdout_weeks=8)
    np.testing.assert_array_equal(d.obs_mask, np.arange(N_WEEKS) < N_WEEKS - 8)
    assert d.y.shape == (GEOS[kind], N_WEEKS)  # held-out KPI stays, masked out of the likelihood
    assert d.trend_t[N_WEEKS - 9] == 1.0  # time runs 0..1 over the fitted periods
    with pytest.raises(SpecError, match="leaves fewer than 10"):
        build_design(data, spec, holdout_weeks=N_WEEKS - 10)


@kinds
def test_controls_standardized(kind: str) -> None:
    sim, _, _, d = case(kind)
    raw = frame_grid(sim, "control_0")
    window = d.controls[:, :N_WEEKS, 0]
    np.testing.assert_allclose(window.mean(), 0.0, atol=EXACT)
    np.testing.assert_allclose(window.std(), 1.0, rtol=EXACT)
    np.testing.assert_allclose(d.control_mean, [raw.mean()], rtol=EXACT)
    np.testing.assert_allclose(d.control_std, [raw.std()], rtol=EXACT)
    np.testing.assert_allclose(window, (raw - raw.mean()) / raw.std(), rtol=EXACT, atol=EXACT)


# ------------------------------------------------------------------------- ROI prior defaults
def with_priors(raw: dict[str, Any], priors: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    out["model"]["priors"] = priors
    return out


@kinds
@pytest.mark.parametrize(
    "priors",
    [
        {},
        {"media_share": 0.3, "roi_sigma": 0.8, "roi": {"search": {"median": 2.5, "sigma": 0.4}}},
    ],
    ids=["defaults", "user-prior"],
)
def test_default_roi_prior(kind: str, priors: dict[str, Any]) -> None:
    sim, data, _, _ = case(kind)
    spec = spec_of(with_priors(sim.config, priors))
    d = build_design(data, spec)
    total_value = frame_grid(sim, "revenue").sum()
    total_spend = sum(frame_grid(sim, f"{n}_spend").sum() for n in NAMES)
    share, sigma = priors.get("media_share", 0.25), priors.get("roi_sigma", 1.0)
    user = priors.get("roi", {})
    want_loc = [
        math.log(user[n]["median"]) if n in user else math.log(share * total_value / total_spend)
        for n in NAMES
    ]
    want_scale = [user[n]["sigma"] if n in user else sigma for n in NAMES]
    np.testing.assert_allclose(d.roi_loc, want_loc, rtol=EXACT)
    np.testing.assert_allclose(d.roi_scale, want_scale, rtol=EXACT)
    np.testing.assert_allclose(
        d.spend_total, [frame_grid(sim, f"{n}_spend").sum() for n in NAMES], rtol=EXACT
    )


# ------------------------------------------------------------------------------ the model
#: the model runs jitted in a fit; jitting here also compiles once instead of op by op
jit_predict = jax.jit(predict, static_argnums=2)


def prior_params(d: Design, spec: ModelSpec, seed: int = 0) -> dict[str, Any]:
    return handlers.seed(sample_params, rng_seed=seed)(d.arrays(), spec)


@kinds
def test_predict_shapes(kind: str) -> None:
    _, _, spec, d = case(kind)
    g, t_all, c = GEOS[kind], N_WEEKS + MAX_LAG, len(NAMES)
    params = prior_params(d, spec)
    assert ("geo_z" in params) is (g > 1)
    out = jit_predict(params, d.arrays(), spec)
    assert out["mu"].shape == (g, t_all)
    assert out["media"].shape == (g, t_all, c)
    assert out["beta"].shape == (g, c)
    assert out["baseline"].shape == (g, t_all)
    # float32 sums of a handful of O(1) terms
    np.testing.assert_allclose(
        out["mu"], out["baseline"] + out["media"].sum(-1), rtol=1e-5, atol=1e-6
    )
    assert np.all(np.isfinite(out["mu"]))


@kinds
def test_roi_parameterization_reproduces_sampled_roi(kind: str) -> None:
    _, _, spec, d = case(kind)
    arrays = d.arrays()
    model = functools.partial(mmm_model, spec=spec)
    draws = Predictive(model, num_samples=3)(jax.random.PRNGKey(1), arrays)
    for i in range(3):
        params = {k: v[i] for k, v in draws.items()}
        media = np.asarray(jit_predict(params, arrays, spec)["media"], dtype=np.float64)
        value = (arrays["value_weight"][:, :, None] * media).sum(axis=(0, 1))
        # float32 model arithmetic summed over G * T' <= 272 cells: ~1e-6 relative, 1e-4 is safe
        np.testing.assert_allclose(value / d.spend_total, params["roi"], rtol=1e-4)


@kinds
def test_channel_major_likelihood_path_matches_saturated_media(kind: str) -> None:
    """The model's likelihood runs on the channel-major ``x_media``; analysis code passes
    ``saturated_media`` of ``x_lag``. Both must give the same prediction."""
    _, _, spec, d = case(kind)
    arrays = d.arrays()
    c, lags, n = arrays["x_media"].shape
    assert (c, lags, n) == (d.n_channels, MAX_LAG + 1, d.n_geos * (N_WEEKS + MAX_LAG))
    params = prior_params(d, spec, seed=5)
    own = jit_predict(params, arrays, spec)
    saturated = saturated_media(params, jax.numpy.asarray(arrays["x_lag"]), spec)
    given = predict(params, arrays, spec, saturated)
    for key in ("mu", "media", "beta"):
        # float32: the two layouts sum the same terms in a different order
        np.testing.assert_allclose(own[key], given[key], rtol=1e-5, atol=1e-6, err_msg=key)
    np.testing.assert_allclose(
        np.asarray(own["beta"]), np.asarray(media_coefficients(params, arrays, spec)), rtol=1e-5
    )


@kinds
def test_intercept_is_the_level_less_mean_media_over_fitted_periods(kind: str) -> None:
    """The model samples each geo's level; its intercept is the level less the geo's mean media
    contribution over the periods in the likelihood (held-out weeks excluded)."""
    _, data, spec, _ = case(kind)
    holdout = 6
    d = build_design(data, spec, holdout)
    assert int((~d.obs_mask).sum()) == holdout
    params = prior_params(d, spec, seed=2)
    out = jit_predict(params, d.arrays(), spec)
    media = np.asarray(out["media"], dtype=np.float64).sum(-1)[:, :N_WEEKS]  # (G, T)
    level = np.atleast_1d(np.asarray(params["level"], dtype=np.float64))
    intercept = np.atleast_1d(np.asarray(params["intercept"], dtype=np.float64))
    assert intercept.shape == (GEOS[kind],)
    # float32 model arithmetic over <= 60 periods of O(1) terms
    np.testing.assert_allclose(
        intercept, level - media[:, d.obs_mask].mean(axis=1), rtol=1e-5, atol=1e-6
    )
    # the mean over every period (held-out weeks included) is a different number
    assert np.all(np.abs(level - media.mean(axis=1) - intercept) > 1e-4)
    # and the baseline is built on that intercept
    np.testing.assert_allclose(np.asarray(out["intercept"])[:, 0], intercept, rtol=1e-6)


def test_coefficient_parameterization_uses_sampled_coefficients() -> None:
    sim, data, _, _ = case("national")
    spec = spec_of(with_priors(sim.config, {"parameterization": "coefficient"}))
    assert spec.priors.parameterization is PriorParameterization.COEFFICIENT
    d = build_design(data, spec)
    params = prior_params(d, spec)
    assert "roi" not in params
    out = jit_predict(params, d.arrays(), spec)
    np.testing.assert_array_equal(out["beta"], np.asarray(params["coef"])[None, :])


# ------------------------------------------------------------------- national = one geo
def test_national_model_is_the_one_geo_case() -> None:
    sim, national, spec, d_nat = case("national")
    frame: pd.DataFrame = sim.frame.copy()
    frame.insert(1, "geo", "only")
    frame.insert(2, "population", 1.0)
    raw = copy.deepcopy(sim.config)
    raw["data"] |= {"geo_column": "geo", "population_column": "population"}
    one_geo = dataset_from_frame(frame, parse_config(raw).data)
    assert one_geo.is_geo and one_geo.geos == ("only",) and not national.is_geo
    d_geo = build_design(one_geo, spec_of(raw))
    assert not d_geo.is_geo and d_geo.n_geos == 1
    a_nat, a_geo = d_nat.arrays(), d_geo.arrays()
    assert a_nat.keys() == a_geo.keys()
    for k in a_nat:
        np.testing.assert_array_equal(a_geo[k], a_nat[k], err_msg=k)
    for k in ("kpi_scale", "media_scale", "control_mean", "control_std", "population"):
        np.testing.assert_array_equal(getattr(d_geo, k), getattr(d_nat, k), err_msg=k)
    # same parameters (no geo hierarchy) and the same prediction
    p_nat, p_geo = prior_params(d_nat, spec, seed=3), prior_params(d_geo, spec, seed=3)
    assert p_nat.keys() == p_geo.keys()
    np.testing.assert_array_equal(
        predict(p_geo, a_geo, spec)["mu"], predict(p_nat, a_nat, spec)["mu"]
    )
