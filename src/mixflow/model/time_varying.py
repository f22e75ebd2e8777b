"""A time-varying media multiplier shared by every paid channel (``model.time_varying_media``).

    contribution[g, t, c] = beta[g, c] * m(t) * saturation(adstock(x))[g, t, c]
    log m(t) = sum_j B_j(t) c_j - mean,   c_0 = 0,   c_j = c_{j-1} + MEDIA_STEP_SD * z_j

the same random-walk cubic B-spline as the time-varying baseline (:mod:`mixflow.model.baseline`),
on the log scale, with knots every ``model.media_knot_weeks`` periods (52 by default: one a
year, so the multiplier follows how effective media is from year to year without trading off
against the seasonality or a single campaign). ``MEDIA_STEP_SD`` = 0.3 is the prior sd of the
log multiplier's change per knot, about 30% a year. A tighter prior does harm: for always-on
media the KPI's movement that the multiplier explains is about the media level times the
multiplier's swing, so a multiplier held close to 1 is made up for by larger ROIs. On brands
whose media effect swung by +-30% (bench/time_varying_media.py, seeds 5-7), a step sd of 0.1
shrank the fitted swing to +-10-20% and raised the median ROI error from 26-35% (constant
effect) to 29-50%, 0.05 to 84-529%; 0.3 recovered the swing and lowered it to 8-27%.

The log multiplier is centred over the fitted periods (deterministic site
``media_time_offset``), so ``m`` has geometric mean 1 there and the
channels' coefficients keep their meaning; with ROI priors the ROI is defined with ``m`` in
the denominator, so it is the ROI of the history as it happened. After the fitted periods the
multiplier stays at its last fitted value, as the baseline does: a plan is simulated at the
media effectiveness of the data's end.

This is PyMC-Marketing's time-varying media effect (an HSGP there) written as a P-spline, so the
geometry stays that of a few Gaussian ``z``.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax.numpy as jnp

from mixflow.model.baseline import random_walk_spline, sample_random_walk_spline

#: prior sd of the log multiplier's random-walk step per knot
MEDIA_STEP_SD = 0.3
#: the sites of a time-varying media multiplier
MEDIA_TIME_SITES = ("media_time_z", "media_time_offset")

Arrays = Mapping[str, jnp.ndarray]


def sample_media_multiplier(arrays: Arrays, knot_weeks: float) -> dict[str, jnp.ndarray]:
    """The multiplier's parameters for the design's ``T`` periods."""
    return sample_random_walk_spline(
        arrays, knot_weeks, MEDIA_STEP_SD, ("media_knots", "media_time_z", "media_time_offset")
    )


def media_multiplier(params: Mapping[str, jnp.ndarray], trend_t: jnp.ndarray) -> jnp.ndarray:
    """``(T',)`` the multiplier at times ``trend_t`` (the design's time, 0..1 over the fitted
    periods); ones when the model has none."""
    if "media_time_z" not in params:
        return jnp.ones(trend_t.shape, dtype=jnp.float32)
    raw = random_walk_spline(params["media_time_z"], MEDIA_STEP_SD, trend_t)
    return jnp.exp(raw - params["media_time_offset"])


def has_media_multiplier(params: Mapping[str, jnp.ndarray]) -> bool:
    return "media_time_z" in params


__all__ = [
    "MEDIA_STEP_SD",
    "MEDIA_TIME_SITES",
    "has_media_multiplier",
    "media_multiplier",
    "sample_media_multiplier",
]
