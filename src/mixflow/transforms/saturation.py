"""Saturation (diminishing returns) as pure ``jax.numpy`` functions.

Both curves map 0 to 0, increase, and approach 1. They are written so their gradients with
respect to the input and every parameter stay finite at zero input for all parameter values
the priors allow (flighted channels sit at exactly zero for weeks).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def hill(x: jnp.ndarray, half_saturation: jnp.ndarray, slope: jnp.ndarray) -> jnp.ndarray:
    """Hill curve ``x**s / (x**s + K**s)``.

    Evaluated as ``sigmoid(s * (log x - log K))`` on positive inputs and exactly 0 at ``x <= 0``.
    The "double where" keeps the untaken branch finite, so the gradient at ``x = 0`` is finite
    even for ``s < 1`` (where the naive ``x**s`` form gives NaN).
    """
    positive = x > 0
    safe_x = jnp.where(positive, x, 1.0)
    z = slope * (jnp.log(safe_x) - jnp.log(half_saturation))
    # jax.nn.sigmoid is stable for large |z| (1/(1+exp(-z)) overflows to inf/inf = NaN in the
    # gradient for the tiny positive inputs of carryover tails)
    return jnp.where(positive, jax.nn.sigmoid(z), 0.0)


def logistic(x: jnp.ndarray, lam: jnp.ndarray) -> jnp.ndarray:
    """Logistic saturation ``(1 - exp(-lam x)) / (1 + exp(-lam x)) = tanh(lam x / 2)``."""
    return jnp.tanh(0.5 * lam * x)
