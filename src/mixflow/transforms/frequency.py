"""The frequency curve of reach and frequency (R&F) channels, as pure ``jax.numpy`` functions.

An R&F channel's media input in period ``t`` is its reach weighted by a Hill curve of its
average frequency ``f``, relative to the curve at the channel's reference frequency ``f_ref``
(its reach-weighted mean frequency over the data)::

    input_t = reach_t * gain(f_t),   gain(f) = hill(f; ec, slope) / hill(f_ref; ec, slope)

so at the typical frequency the input is the reach itself (the saturation's scale keeps its
meaning). The input then goes through the channel's adstock and saturation like any channel's
exposure (see docs/model.md, "Reach and frequency").

At a fixed budget the impressions are fixed (constant cost per impression), so the reach is
``impressions / f`` and the input ``impressions * gain(f) / f``: the frequency that makes the
most of a budget maximizes ``hill(f) / f``, whatever the budget and the saturation. For a
slope ``s > 1`` that is ``ec * (s - 1) ** (1 / s)``; for ``s <= 1`` the curve ``hill(f) / f``
falls from the start, and the best frequency is the lowest one allowed.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax.numpy as jnp

from mixflow.spec.options import Saturation
from mixflow.transforms.saturation import hill

#: lowest frequency the optimal-frequency search considers (one exposure per person reached)
MIN_FREQUENCY = 1.0


def frequency_gain(
    frequency: jnp.ndarray, ec: jnp.ndarray, slope: jnp.ndarray, reference: jnp.ndarray
) -> jnp.ndarray:
    """``hill(f) / hill(f_ref)``: the weight of a period's reach (0 at ``f = 0``).

    ``ec``, ``slope`` and ``reference`` broadcast against ``frequency`` (per channel: shape
    ``(R, 1, ...)`` against ``(R, ...)``)."""
    return hill(frequency, ec, slope) / hill(reference, ec, slope)


def optimal_frequency(
    ec: jnp.ndarray, slope: jnp.ndarray, low: float = MIN_FREQUENCY, high: float | None = None
) -> jnp.ndarray:
    """The frequency maximizing ``hill(f) / f`` on ``[low, high]``, elementwise.

    ``hill(f) / f`` rises up to ``ec * (s - 1) ** (1 / s)`` and falls after it (for ``s > 1``;
    it only falls for ``s <= 1``), so the clipped stationary point is the constrained optimum.
    """
    stationary = ec * jnp.maximum(slope - 1.0, 0.0) ** (1.0 / slope)
    best = jnp.maximum(stationary, low)
    return best if high is None else jnp.minimum(best, high)


def fold_gain(
    kind: Saturation, params: Mapping[str, jnp.ndarray], gain: jnp.ndarray
) -> dict[str, jnp.ndarray]:
    """The saturation parameters of ``curve(gain * x)`` as a curve of ``x``: Hill's half
    saturation divided by ``gain``, the logistic rate multiplied by it (both curves depend on
    the input through ``x / K`` or ``lam * x`` only). ``gain`` broadcasts against the
    parameters."""
    out = dict(params)
    if kind is Saturation.HILL:
        out["half_saturation"] = params["half_saturation"] / gain
    else:
        out["lam"] = params["lam"] * gain
    return out


__all__ = ["MIN_FREQUENCY", "fold_gain", "frequency_gain", "optimal_frequency"]
