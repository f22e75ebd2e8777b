"""The Bayesian structural time series behind single-series causal impact
(:mod:`mixflow.experiments.impact` has the model's description and the analysis): a local level
plus static regression on standardized series, the level marginalized by a Kalman filter.

Shapes: ``y`` ``(n,)``, covariates ``x`` ``(n, n_covariates)``.
"""

from __future__ import annotations

import math
from typing import Final

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist

_LEVEL_PRIOR_SAMPLE_SIZE: Final = 32.0
_INIT_LEVEL_SD: Final = 1.0
_SLAB_SCALE: Final = 2.0
_SLAB_DF: Final = 4.0


def kalman_filter(
    resid: jnp.ndarray, obs_var: jnp.ndarray, level_var: jnp.ndarray
) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray, jnp.ndarray, jnp.ndarray]:
    """Filter a local level observed in ``resid`` ``(n,)`` (the response minus the regression).

    Returns the one-step-ahead mean and variance of the level at step ``n + 1`` (scalars), and
    per step ``(n,)`` the predicted level, the innovation variance and the innovation.
    """

    def step(
        carry: tuple[jnp.ndarray, jnp.ndarray], r: jnp.ndarray
    ) -> tuple[tuple[jnp.ndarray, jnp.ndarray], tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]]:
        a, p = carry
        f = p + obs_var
        v = r - a
        gain = p / f
        return (a + gain * v, p * (1.0 - gain) + level_var), (a, f, v)

    init = (jnp.zeros(()), jnp.full((), _INIT_LEVEL_SD**2))
    (a_next, p_next), (a_pred, f, v) = jax.lax.scan(step, init, resid)
    return a_next, p_next, a_pred, f, v


def horseshoe_global_scale(
    n_covariates: int, n_pre: int, expected_model_size: float
) -> float | None:
    """The horseshoe's global scale, or None when there is nothing to select."""
    p0 = expected_model_size
    if n_covariates <= p0:
        return None
    return p0 / (n_covariates - p0) / math.sqrt(n_pre)


def _half_cauchy(name: str, shape: tuple[int, ...]) -> jnp.ndarray:
    """A standard half-Cauchy draw of ``shape`` written as a normal-inverse-gamma mixture."""
    radius = numpyro.sample(f"{name}_radius", dist.HalfNormal(jnp.ones(shape)))
    mix = numpyro.sample(f"{name}_mix", dist.InverseGamma(jnp.full(shape, 0.5), 0.5))
    return radius * jnp.sqrt(mix)


def bsts_model(
    y: jnp.ndarray, x: jnp.ndarray, *, prior_level_sd: float, global_scale: float | None
) -> None:
    """Local level + static regression on standardized ``y`` ``(n_pre,)`` and ``x``
    ``(n_pre, n_covariates)``, the level marginalized by the Kalman filter."""
    p = x.shape[1]
    half = _LEVEL_PRIOR_SAMPLE_SIZE / 2.0
    level_var = numpyro.sample("level_var", dist.InverseGamma(half, half * prior_level_sd**2))
    numpyro.deterministic("sigma_level", jnp.sqrt(level_var))
    sigma_obs = numpyro.sample("sigma_obs", dist.HalfNormal(1.0))
    if p == 0:
        resid = y
    elif global_scale is None:
        beta = numpyro.sample("beta", dist.Normal(jnp.zeros(p), _SLAB_SCALE))
        resid = y - x @ beta
    else:
        # half-Cauchy scales as |N(0, 1)| * sqrt(InverseGamma(1/2, 1/2)): easier for NUTS
        tau = global_scale * _half_cauchy("tau", ())
        lam = _half_cauchy("lambda", (p,))
        slab_var = numpyro.sample(
            "slab_var", dist.InverseGamma(_SLAB_DF / 2.0, _SLAB_DF / 2.0 * _SLAB_SCALE**2)
        )
        lam_tilde = jnp.sqrt(slab_var * lam**2 / (slab_var + tau**2 * lam**2))
        z = numpyro.sample("z", dist.Normal(jnp.zeros(p), 1.0))
        beta = numpyro.deterministic("beta", z * tau * lam_tilde)
        resid = y - x @ beta
    _, _, _, f, v = kalman_filter(resid, sigma_obs**2, level_var)
    numpyro.factor("loglik", -0.5 * jnp.sum(jnp.log(2.0 * jnp.pi * f) + v**2 / f))


def draw_path(
    key: jnp.ndarray,
    sigma_obs: jnp.ndarray,
    sigma_level: jnp.ndarray,
    beta: jnp.ndarray,
    y_pre: jnp.ndarray,
    x_pre: jnp.ndarray,
    x_post: jnp.ndarray,
) -> jnp.ndarray:
    """One draw's standardized path ``(n_pre + n_post,)``: one-step-ahead predictive draws over
    the pre-period, then the counterfactual simulated forward over the post-period."""
    n_post = x_post.shape[0]
    reg_pre = x_pre @ beta
    a_next, p_next, a_pred, f, _ = kalman_filter(y_pre - reg_pre, sigma_obs**2, sigma_level**2)
    k_pre, k_level, k_walk, k_obs = jax.random.split(key, 4)
    pre = a_pred + reg_pre + jnp.sqrt(f) * jax.random.normal(k_pre, a_pred.shape)
    first = a_next + jnp.sqrt(p_next) * jax.random.normal(k_level)
    steps = sigma_level * jax.random.normal(k_walk, (n_post,))
    level = first + jnp.concatenate([jnp.zeros(1), jnp.cumsum(steps[:-1])])
    post = level + x_post @ beta + sigma_obs * jax.random.normal(k_obs, (n_post,))
    return jnp.concatenate([pre, post])


draw_paths = jax.jit(
    jax.vmap(draw_path, in_axes=(0, 0, 0, 0, None, None, None)),
)


__all__ = ["bsts_model", "draw_path", "draw_paths", "horseshoe_global_scale", "kalman_filter"]
