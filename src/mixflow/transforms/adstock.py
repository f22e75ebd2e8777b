"""Adstock (carryover) as pure ``jax.numpy`` functions.

Every weight function returns normalized lag weights of shape ``(..., max_lag + 1)`` that sum to
one, so adstock redistributes a period's media over the following periods without changing its
total (apart from what falls past the end of the window). Weights are computed as a softmax of
log-weights, which keeps them finite and differentiable for every parameter value the priors
allow.
"""

from __future__ import annotations

from typing import TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln

#: a NumPy array (the design builds its stacks in NumPy) or a JAX array (inside the model)
ArrayT = TypeVar("ArrayT", np.ndarray, jax.Array)

_TINY = 1e-12
_MAX_LOG_TAIL = 80.0


def _lags(max_lag: int) -> jnp.ndarray:
    return jnp.arange(max_lag + 1, dtype=jnp.float32)


def geometric_weights(alpha: jnp.ndarray, max_lag: int) -> jnp.ndarray:
    """``w_l ∝ alpha**l`` for ``l = 0..max_lag``; ``alpha`` in (0, 1) is the weekly retention.

    Args:
        alpha: ``(...)`` decay rates.
    Returns:
        ``(..., max_lag + 1)`` weights summing to one.
    """
    log_alpha = jnp.log(jnp.clip(alpha, _TINY, 1.0))
    return jax.nn.softmax(log_alpha[..., None] * _lags(max_lag), axis=-1)


def weibull_weights(shape: jnp.ndarray, scale: jnp.ndarray, max_lag: int) -> jnp.ndarray:
    """Weibull PDF evaluated at lags ``1..max_lag+1`` (in periods), normalized.

    ``shape > 1`` gives a delayed peak, ``shape <= 1`` a monotone decay; ``scale`` (periods)
    stretches the curve. The PDF is evaluated at ``l + 1`` so it is finite for every shape.
    """
    x = _lags(max_lag) + 1.0
    k = jnp.clip(shape, _TINY)[..., None]
    lam = jnp.clip(scale, _TINY)[..., None]
    log_ratio = jnp.log(x) - jnp.log(lam)
    # (x / lam) ** k overflows float32 for steep shapes; capping its log at 80 (e^80 ~ 5e34)
    # keeps every log-density finite, so the softmax is defined for any shape and scale
    tail = jnp.exp(jnp.minimum(k * log_ratio, _MAX_LOG_TAIL))
    log_pdf = jnp.log(k) - jnp.log(lam) + (k - 1.0) * log_ratio - tail
    return jax.nn.softmax(log_pdf, axis=-1)


def binomial_weights(p: jnp.ndarray, max_lag: int) -> jnp.ndarray:
    """Binomial(max_lag, p) probability mass over lags: a delayed peak near ``p * max_lag``."""
    lags = _lags(max_lag)
    n = float(max_lag)
    q = jnp.clip(p, _TINY, 1.0 - 1e-7)[..., None]
    log_pmf = (
        gammaln(n + 1.0)
        - gammaln(lags + 1.0)
        - gammaln(n - lags + 1.0)
        + lags * jnp.log(q)
        + (n - lags) * jnp.log1p(-q)
    )
    return jax.nn.softmax(log_pmf, axis=-1)


def lag_stack(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Lagged copies of a series, zero before its start.

    Args:
        x: ``(G, T, C)`` media.
    Returns:
        ``(max_lag + 1, G, T, C)`` where ``out[l, g, t, c] = x[g, t - l, c]`` (0 when ``t < l``).
        Lag leads so that adstock is one ``dot_general``: XLA:CPU runs a multiply-and-reduce
        over a short trailing axis up to 100x slower for some channel counts.
    """
    g, t, c = x.shape
    out = np.zeros((max_lag + 1, g, t, c), dtype=x.dtype)
    for lag in range(max_lag + 1):
        out[lag, :, lag:, :] = x[:, : t - lag, :]
    return out


def channel_major(x_lagged: ArrayT) -> ArrayT:
    """A lag stack ``(L+1, G, T, C)`` laid out channel-major: ``(C, L+1, G * T)`` (NumPy or JAX).

    The layout the model's likelihood runs on. XLA:CPU vectorizes elementwise work along the
    minor axis: with the channel there (often 2-5 long, the per-channel curve parameters
    broadcast along it) the saturation curve and its gradient ran about a third slower than
    over a long ``G * T`` axis (measured on Meridian's 20-geo, 4-channel panel).
    """
    lags, g, t, c = x_lagged.shape
    return x_lagged.transpose(3, 0, 1, 2).reshape(c, lags, g * t)


def from_channel_major(x_cm: jnp.ndarray, n_geos: int, n_times: int) -> jnp.ndarray:
    """``(C, G * T)`` channel-major values back to ``(G, T, C)``."""
    return jnp.moveaxis(x_cm.reshape(-1, n_geos, n_times), 0, -1)


def adstock_channel_major(x_cm: jnp.ndarray, weights: jnp.ndarray) -> jnp.ndarray:
    """Adstocked media ``(C, N)`` from a channel-major lag stack ``(C, L+1, N)`` and weights
    ``(C, L+1)`` (one ``dot_general``, batched over channels)."""
    return jnp.einsum("cln,cl->cn", x_cm, weights)


def apply_adstock(x_lagged: jnp.ndarray, weights: jnp.ndarray) -> jnp.ndarray:
    """Adstocked media ``(G, T, C)`` from a lag stack ``(L+1, G, T, C)`` and weights ``(C, L+1)``."""
    _, g, t, _ = x_lagged.shape
    return from_channel_major(adstock_channel_major(channel_major(x_lagged), weights), g, t)


def adstock_series(x: jnp.ndarray, weights: jnp.ndarray) -> jnp.ndarray:
    """Adstock a ``(..., T)`` series with one weight vector ``(L+1,)`` by direct convolution."""
    n_lags = weights.shape[-1]
    t = x.shape[-1]
    padded = jnp.concatenate([jnp.zeros((*x.shape[:-1], n_lags - 1), x.dtype), x], axis=-1)
    cols = [
        padded[..., n_lags - 1 - lag : n_lags - 1 - lag + t] * weights[lag] for lag in range(n_lags)
    ]
    return sum(cols[1:], cols[0])
