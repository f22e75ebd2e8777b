"""The NumPyro model: the only module with ``numpyro.sample``.

KPI (scaled) = intercept_g + trend_t + seasonality_t + controls + events
             + sum_c beta_gc * saturation_c(adstock_c(x_gtc)) + noise.

With ROI priors (the default) each channel's ROI is sampled and its coefficient derived from it:
``beta_c = roi_c * spend_c / sum_gt value_weight_gt * m_gc * s_gtc`` with geo multipliers
``m_gc = exp(tau_c * z_gc)`` (non-centred partial pooling), so the sampled ``roi`` is exactly the
channel's ROI over the data window, carryover included.

The sampled ``level_g`` is each geo's intercept plus its mean media contribution over the fitted
weeks; the intercept is derived from it (``intercept_g = level_g - mean_t sum_c media_gtc``, a
deterministic site). An always-on channel's contribution is close to a constant, so its ROI and
the intercept trade off along a curved ridge (the intercept falls as the ROI rises); sampled
directly, that ridge cost NUTS divergences and chains that never mixed. The level is what the
data pin, and the ROI moves the split between baseline and media along it.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist

from mixflow.model.baseline import sample_spline, spline_trend
from mixflow.model.organic import organic_level, organic_media, sample_organic
from mixflow.model.rf import rf_input, rf_test_gain, sample_rf
from mixflow.model.time_varying import (
    has_media_multiplier,
    media_multiplier,
    sample_media_multiplier,
)
from mixflow.spec.model_spec import Likelihood, ModelSpec, PriorParameterization, Trend
from mixflow.spec.priors import ADSTOCK_PARAMETERS, SATURATION_PARAMETERS, prior_args
from mixflow.transforms.adstock import adstock_channel_major, channel_major, from_channel_major
from mixflow.transforms.registry import (
    adstock_component,
    prior_distribution,
    saturation_component,
)

#: prior sd of each geo's level around its mean KPI (scaled KPI, mean 1)
LEVEL_SD = 0.5
#: per-geo sites: the dense mass matrix of a geo fit leaves them out (see mixflow.inference)
GEO_SITES = ("geo_z",)

Params = Mapping[str, jnp.ndarray]
Arrays = Mapping[str, jnp.ndarray]


def sample_params(arrays: Arrays, spec: ModelSpec) -> dict[str, jnp.ndarray]:
    """Draw every model parameter from its prior (inside a NumPyro trace), with the intercept
    derived from ``level`` (:func:`intercept_from_level`)."""
    return _sample_params(arrays, spec)[0]


def _sample_params(
    arrays: Arrays, spec: ModelSpec
) -> tuple[dict[str, jnp.ndarray], jnp.ndarray, jnp.ndarray]:
    """:func:`sample_params`, the channel-major saturated media ``(C, G, T')`` of the design's
    history under them and the media coefficients ``(G, C)``."""
    p = _sample_latent(arrays, spec)
    s_cm = _saturated_design(p, arrays, spec)
    beta = _coefficients(p, arrays, s_cm)
    intercept = intercept_from_level(p["level"], arrays, s_cm, beta, arrays["y"].shape[1])
    intercept = intercept - organic_level(p, arrays, jnp.shape(intercept))
    p["intercept"] = numpyro.deterministic("intercept", intercept)
    return p, s_cm, beta


def _sample_latent(arrays: Arrays, spec: ModelSpec) -> dict[str, jnp.ndarray]:
    _, g, _, c = arrays["x_lag"].shape
    p: dict[str, jnp.ndarray] = {}
    with numpyro.plate("channels", c):
        for comp in (adstock_component(spec.adstock), saturation_component(spec.saturation)):
            for par in comp.params:
                p[par.name] = numpyro.sample(par.name, _component_prior(arrays, spec, par.name))
        if spec.priors.parameterization is PriorParameterization.ROI:
            p["roi"] = numpyro.sample("roi", dist.LogNormal(arrays["roi_loc"], arrays["roi_scale"]))
        else:
            p["coef"] = numpyro.sample("coef", dist.HalfNormal(arrays["coef_sigma"]))
        if g > 1:
            p["geo_tau"] = numpyro.sample("geo_tau", dist.HalfNormal(0.3))
    if g > 1:
        with numpyro.plate("geos", g, dim=-2), numpyro.plate("geo_channels", c, dim=-1):
            p["geo_z"] = numpyro.sample("geo_z", dist.Normal(0.0, 1.0))
        # geo levels are fixed effects around each geo's own mean: every geo has years of data
        # to pin its level, and a pooled level whose spread shrinks to zero (geos with one
        # per-capita level) is a funnel that cost NUTS hundreds of steps per draw
        with numpyro.plate("geo_levels", g):
            p["level"] = numpyro.sample("level", dist.Normal(arrays["level_loc"], LEVEL_SD))
    else:
        p["level"] = numpyro.sample("level", dist.Normal(arrays["level_loc"][0], LEVEL_SD))
    if spec.trend is Trend.SPLINE:
        p.update(sample_spline(arrays, spec.trend_knot_weeks))
    if spec.trend in (Trend.LINEAR, Trend.PIECEWISE) or (
        spec.trend is Trend.SPLINE and spec.trend_slope
    ):
        p["trend"] = numpyro.sample("trend", dist.Normal(0.0, 0.5))
    if spec.time_varying_media:
        p.update(sample_media_multiplier(arrays, spec.media_knot_weeks))
    p.update(sample_organic(arrays))
    p.update(sample_rf(arrays))
    n_knots = arrays["knots"].shape[-1]
    if n_knots:
        with numpyro.plate("knots", n_knots):
            p["trend_delta"] = numpyro.sample("trend_delta", dist.Laplace(0.0, 0.3))
    n_f = arrays["fourier"].shape[-1]
    if n_f:
        with numpyro.plate("fourier_terms", n_f):
            p["season"] = numpyro.sample("season", dist.Normal(0.0, 0.3))
    n_k = arrays["controls"].shape[-1]
    if n_k:
        with numpyro.plate("controls", n_k):
            p["control"] = numpyro.sample("control", dist.Normal(0.0, 0.3))
    n_e = arrays["events"].shape[-1]
    if n_e:
        with numpyro.plate("events", n_e):
            p["event"] = numpyro.sample("event", dist.Normal(0.0, 0.5))
    p["sigma"] = numpyro.sample("sigma", dist.HalfNormal(0.3))
    if spec.likelihood is Likelihood.STUDENT_T:
        p["nu"] = numpyro.sample("nu", dist.Gamma(2.0, 0.1))
    return p


def _component_prior(arrays: Arrays, spec: ModelSpec, name: str) -> dist.Distribution:
    """The prior of adstock / saturation parameter ``name``, batched over channels: its family
    from the spec, its parameters ``(n_args, C)`` from the design (``prior_<name>``)."""
    for params, priors in (
        (ADSTOCK_PARAMETERS[spec.adstock], spec.priors.adstock),
        (SATURATION_PARAMETERS[spec.saturation], spec.priors.saturation),
    ):
        for par in params:
            if par.name != name:
                continue
            chosen = [pc[name] for pc in priors.values() if name in pc]
            if not chosen:
                # no channel overrides it: the default, built exactly as it always was (a scalar
                # distribution the plate expands), so default fits keep their draws bit for bit
                default = par.default(spec.max_lag)
                return prior_distribution(default.distribution, prior_args(default))
            return prior_distribution(chosen[0].distribution, arrays[f"prior_{name}"])
    raise KeyError(name)


def saturated_channel_major(
    params: Params, x_cm: jnp.ndarray, spec: ModelSpec, arrays: Arrays | None = None
) -> jnp.ndarray:
    """``(C, N)`` saturation(adstock(x)) for a channel-major lag stack ``(C, L+1, N)`` (see
    :func:`mixflow.transforms.adstock.channel_major`): the layout the likelihood runs on.
    ``arrays``: the design's, for the frequency of R&F channels (mixflow.model.rf)."""
    sat = saturation_component(spec.saturation)
    x_cm = rf_input(params, x_cm, arrays)
    adstocked = adstock_channel_major(x_cm, adstock_weights(params, spec))
    return sat.curve(adstocked, {k.name: params[k.name][..., None] for k in sat.params})


def saturated_media(
    params: Params, x_lag: jnp.ndarray, spec: ModelSpec, arrays: Arrays | None = None
) -> jnp.ndarray:
    """``(G, T', C)`` saturation(adstock(x)) for a lag stack ``(L+1, G, T', C)``; ``arrays``:
    the design's, when ``x_lag`` is laid over its cells (R&F channels' frequency)."""
    _, g, t, _ = x_lag.shape
    x_cm = channel_major(x_lag)
    return from_channel_major(saturated_channel_major(params, x_cm, spec, arrays), g, t)


def implied_lift(params: Params, arrays: Arrays, spec: ModelSpec, beta: jnp.ndarray) -> jnp.ndarray:
    """``(n,)`` model-implied lift of each lift test, in the calibration unit (see
    :class:`mixflow.model.calibration.CalibrationArrays`): the tested channel's saturated media
    with the test's exposure change minus without it, times its coefficient, summed over the
    measured cells. Evaluated on the tests' window of geos and periods only (``cal_x``,
    ``cal_dx``: ``(L+1, G', W, n)``), not the whole panel. ``beta``: ``(G, C)`` or ``(1, C)``."""
    idx = arrays["cal_channel"]
    curve = {
        p.name
        for comp in (adstock_component(spec.adstock), saturation_component(spec.saturation))
        for p in comp.params
    }
    # each test is a "channel" of its own: its channel's parameters, its moved exposure
    per_test = {name: value[idx] for name, value in params.items() if name in curve}
    x, dx = arrays["cal_x"], arrays["cal_dx"]
    gain = rf_test_gain(params, arrays)  # R&F channels: reach weighted by the frequency gain
    if gain is not None:
        x, dx = x * gain, dx * gain
    both = saturated_media(per_test, jnp.concatenate([x, x + dx], axis=1), spec)
    g = x.shape[1]
    b = beta[arrays["cal_geo"]] if beta.shape[0] > 1 else beta
    diff = (both[g:] - both[:g]) * b[:, None, idx]
    if has_media_multiplier(params):
        diff = diff * time_multiplier(params, arrays)[arrays["cal_time"]][None, :, None]
    return jnp.einsum("gtn,gtn->n", diff, arrays["cal_weight"])


def adstock_weights(params: Params, spec: ModelSpec) -> jnp.ndarray:
    """``(C, L+1)`` lag weights."""
    ads = adstock_component(spec.adstock)
    return ads.weights({k.name: params[k.name] for k in ads.params}, spec.max_lag)


def geo_multiplier(params: Params, n_geos: int) -> jnp.ndarray:
    """``(G, C)`` geo deviations of the media effect (ones for a national model)."""
    if n_geos == 1 or "geo_z" not in params:
        return jnp.ones((1, params_channels(params)))
    return jnp.exp(params["geo_tau"] * params["geo_z"])


def params_channels(params: Params) -> int:
    key = "roi" if "roi" in params else "coef"
    return int(params[key].shape[-1])


def media_coefficients(
    params: Params, arrays: Arrays, spec: ModelSpec, saturated: jnp.ndarray | None = None
) -> jnp.ndarray:
    """``(G, C)`` media coefficients in scaled KPI units, derived from ROI when so parameterized.

    ``saturated``: the historical ``saturated_media`` when the caller already has it (times
    :func:`with_time_multiplier`).
    """
    if saturated is None:
        saturated = with_time_multiplier(
            params, arrays, saturated_media(params, arrays["x_lag"], spec, arrays)
        )
    return _coefficients(params, arrays, jnp.moveaxis(saturated, -1, 0))


def time_multiplier(params: Params, arrays: Arrays) -> jnp.ndarray:
    """``(T',)`` the time-varying media multiplier over the design's periods (ones without
    ``model.time_varying_media``; :mod:`mixflow.model.time_varying`)."""
    return media_multiplier(params, arrays["trend_t"])


def with_time_multiplier(params: Params, arrays: Arrays, saturated: jnp.ndarray) -> jnp.ndarray:
    """Historical saturated media ``(G, T', C)`` (the design's periods) times the time-varying
    media multiplier, when the model has one: what the media coefficients multiply."""
    if not has_media_multiplier(params):
        return saturated
    return saturated * time_multiplier(params, arrays)[None, :, None]


def _coefficients(params: Params, arrays: Arrays, s_cm: jnp.ndarray) -> jnp.ndarray:
    """``(G, C)`` coefficients from channel-major saturated media ``(C, G, T')`` (which the
    coefficient parameterization does not use)."""
    g = arrays["value_weight"].shape[0]
    mult = geo_multiplier(params, g)
    if "roi" in params:
        # einsum (a dot_general) rather than multiply-and-reduce: far faster on XLA:CPU
        denom = jnp.einsum("gt,cgt->c", arrays["value_weight"], s_cm * mult.T[:, :, None])
        beta = params["roi"] * arrays["spend_total"] / denom
    else:
        beta = params["coef"]
    return beta[None, :] * mult


def baseline_components(params: Params, arrays: Arrays) -> dict[str, jnp.ndarray]:
    """Baseline parts, each broadcastable to ``(G, T')``."""
    g = arrays["x_lag"].shape[1]
    t_all = arrays["trend_t"].shape[0]
    if "intercept_z" in params:  # runs saved before geo intercepts became fixed effects
        intercept = params["intercept"] + params["intercept_sd"] * params["intercept_z"]
    else:
        intercept = jnp.broadcast_to(params["intercept"], (g,))
    trend = jnp.zeros(t_all)
    if "trend" in params:
        trend = params["trend"] * arrays["trend_t"]
    if "trend_delta" in params:
        trend = trend + arrays["knots"] @ params["trend_delta"]
    if "spline_z" in params:
        trend = trend + spline_trend(params, arrays["trend_t"])
    season = arrays["fourier"] @ params["season"] if "season" in params else jnp.zeros(t_all)
    controls = (
        jnp.einsum("gtk,k->gt", arrays["controls"], params["control"])
        if "control" in params
        else jnp.zeros((g, t_all))
    )
    events = (
        jnp.einsum("gte,e->gt", arrays["events"], params["event"])
        if "event" in params
        else jnp.zeros((g, t_all))
    )
    organic = organic_media(params, arrays)
    return {
        **({} if organic is None else {"organic": organic.sum(-1)}),
        "intercept": intercept[:, None] * jnp.ones((1, t_all)),
        "trend": jnp.broadcast_to(trend, (g, t_all)),
        "seasonality": jnp.broadcast_to(season, (g, t_all)),
        "controls": controls,
        "events": events,
    }


def predict(
    params: Params, arrays: Arrays, spec: ModelSpec, saturated: jnp.ndarray | None = None
) -> dict[str, jnp.ndarray]:
    """Mean KPI and its parts in scaled units over padded time.

    Returns ``mu (G, T')``, ``media (G, T', C)``, ``beta (G, C)`` and the baseline parts.
    ``saturated``: the historical ``saturated_media`` when the caller already has it (times
    :func:`with_time_multiplier`).
    """
    if saturated is None:
        return _predict(params, arrays, _saturated_design(params, arrays, spec))
    return _predict(params, arrays, jnp.moveaxis(saturated, -1, 0))


def _saturated_design(params: Params, arrays: Arrays, spec: ModelSpec) -> jnp.ndarray:
    """``(C, G, T')`` saturated media of the design's own channel-major lag stack."""
    g, t_all = arrays["value_weight"].shape
    s_cm = saturated_channel_major(params, arrays["x_media"], spec, arrays).reshape(-1, g, t_all)
    if has_media_multiplier(params):
        s_cm = s_cm * time_multiplier(params, arrays)[None, None, :]
    return s_cm


def _predict(
    params: Params, arrays: Arrays, s_cm: jnp.ndarray, beta: jnp.ndarray | None = None
) -> dict[str, jnp.ndarray]:
    """:func:`predict` from channel-major saturated media ``(C, G, T')``. The likelihood runs
    here, channel-major throughout: ``media`` is laid out ``(G, T', C)`` only for callers that
    use it (XLA drops it from the model's program). ``beta``: the media coefficients, when
    the caller has them."""
    if beta is None:
        beta = _coefficients(params, arrays, s_cm)
    media_cm = s_cm * beta.T[:, :, None]
    base = baseline_components(params, arrays)
    baseline = sum(base.values(), jnp.zeros_like(base["intercept"]))
    return {
        "mu": baseline + media_cm.sum(0),
        "media": jnp.moveaxis(media_cm, 0, -1),
        "beta": beta,
        "baseline": baseline,
        **base,
    }


def intercept_from_level(
    level: jnp.ndarray, arrays: Arrays, s_cm: jnp.ndarray, beta: jnp.ndarray, t: int
) -> jnp.ndarray:
    """``(G,)`` or scalar intercept: ``level`` minus each geo's mean media contribution over the
    fitted (not held-out) periods among the first ``t``; ``s_cm``: channel-major saturated media
    ``(C, G, T')`` of the historical data, ``beta``: the media coefficients ``(G, C)``."""
    weight = arrays["obs_mask"].astype(s_cm.dtype)
    media = jnp.einsum("cgt,gc,t->g", s_cm[:, :, :t], beta, weight) / weight.sum()
    return level - media.reshape(jnp.shape(level))


def mmm_model(arrays: Arrays, spec: ModelSpec) -> None:
    """The NumPyro model function (observed ``y`` is ``arrays['y']`` under ``obs_mask``)."""
    params, s_cm, beta = _sample_params(arrays, spec)
    t = arrays["y"].shape[1]
    out = _predict(params, arrays, s_cm, beta)
    mu = out["mu"][:, :t]
    if spec.likelihood is Likelihood.STUDENT_T:
        like: dist.Distribution = dist.StudentT(params["nu"], mu, params["sigma"])
    else:
        like = dist.Normal(mu, params["sigma"])
    mask = jnp.broadcast_to(arrays["obs_mask"][None, :], mu.shape)
    with numpyro.handlers.mask(mask=mask):
        numpyro.sample("y", like.to_event(0), obs=arrays["y"])
    if arrays["cal_obs"].shape[0]:
        lift = implied_lift(params, arrays, spec, out["beta"])
        numpyro.sample("lift_obs", dist.Normal(lift, arrays["cal_se"]), obs=arrays["cal_obs"])
