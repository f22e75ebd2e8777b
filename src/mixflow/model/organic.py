"""Organic media in the model: exposure without spend, through adstock and saturation.

organic_gto = coef_o * hill(adstock_o(x_gto); half_o, slope 1),  coef_o = effect_o / mean(hill)

Each organic channel has a geometric adstock (``organic_alpha``, the paid channels' default
Beta(1, 3) prior), a Hill curve of slope 1 (``organic_half``, LogNormal(0, 0.7) on exposure
scaled so a mean active week is 1) and a sampled ``organic_effect``: its mean weekly
contribution over the fitted periods in scaled KPI units (the KPI has mean 1, so this is about
the share of the KPI it drives), HalfNormal(0.1): mean 0.08, about what one paid channel drives
under the default ROI prior (media_share 0.25 over a few channels). The coefficient is derived
from it (a deterministic site, ``organic_coef``), as the paid channels' coefficients are derived
from their ROI: the data pin the contribution, and the curve's shape moves along it without the
coefficient / half-saturation ridge a sampled coefficient would leave to NUTS. The geo model
shares each channel's parameters across geos (exposure is per capita, like paid media). An
always-on organic series identifies its contribution as poorly as an always-on paid channel
identifies its ROI: the curve's shape is unknown, so the level is the prior's.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from mixflow.data.dataset import MMMDataset
from mixflow.transforms.adstock import geometric_weights, lag_stack

#: prior scale of each organic channel's mean weekly contribution (scaled KPI, mean 1)
ORGANIC_EFFECT_SD = 0.1
#: the sites an organic fit adds (their one dimension is ``organic``)
ORGANIC_SITES = ("organic_alpha", "organic_half", "organic_effect", "organic_coef")

Arrays = Mapping[str, jnp.ndarray]


def organic_scale(organic_pc: np.ndarray) -> np.ndarray:
    """``(O,)`` mean non-zero per-capita exposure per organic channel (1 where all zero)."""
    o = organic_pc.shape[-1]
    flat = organic_pc.reshape(-1, o)
    nonzero = flat > 0
    counts = nonzero.sum(axis=0)
    sums = np.where(nonzero, flat, 0.0).sum(axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), 1.0)


def organic_lag_stack(
    organic: np.ndarray, population: np.ndarray, scale: np.ndarray, max_lag: int
) -> np.ndarray:
    """``(L+1, G, T + L, O)`` lag stack of scaled organic exposure, zero in the padding."""
    x = organic / population[:, None, None] / scale[None, None, :]
    pad = np.zeros((x.shape[0], max_lag, x.shape[2]))
    return lag_stack(np.concatenate([x, pad], axis=1), max_lag)


def organic_fields(data: MMMDataset, max_lag: int) -> dict[str, np.ndarray]:
    """The design's ``organic_x`` and ``organic_scale`` (none without organic channels)."""
    if not data.organic_names:
        return {}
    organic_pc = data.organic_array / data.population[:, None, None]
    scale = organic_scale(organic_pc)
    return {
        "organic_x": organic_lag_stack(data.organic_array, data.population, scale, max_lag),
        "organic_scale": scale,
    }


def sample_organic(arrays: Arrays) -> dict[str, jnp.ndarray]:
    """The organic channels' parameters (none without ``organic_x`` in ``arrays``)."""
    if "organic_x" not in arrays:
        return {}
    n = arrays["organic_x"].shape[-1]
    p: dict[str, jnp.ndarray] = {}
    with numpyro.plate("organic", n):
        p["organic_alpha"] = numpyro.sample("organic_alpha", dist.Beta(1.0, 3.0))
        p["organic_half"] = numpyro.sample("organic_half", dist.LogNormal(0.0, 0.7))
        p["organic_effect"] = numpyro.sample("organic_effect", dist.HalfNormal(ORGANIC_EFFECT_SD))
    curve = organic_curve(p, arrays["organic_x"])
    weight = arrays["obs_mask"].astype(curve.dtype)
    t = weight.shape[0]
    mean = jnp.einsum("gto,t->o", curve[:, :t], weight) / (weight.sum() * curve.shape[0])
    p["organic_coef"] = numpyro.deterministic("organic_coef", p["organic_effect"] / mean)
    return p


def organic_curve(params: Mapping[str, jnp.ndarray], x_lag: jnp.ndarray) -> jnp.ndarray:
    """``(G, T', O)`` hill(adstock(x)) for a lag stack ``(L+1, G, T', O)``."""
    max_lag = x_lag.shape[0] - 1
    w = geometric_weights(params["organic_alpha"], max_lag)  # (O, L+1)
    adstocked = jnp.einsum("lgto,ol->gto", x_lag, w)
    return adstocked / (adstocked + params["organic_half"])


def organic_media(params: Mapping[str, jnp.ndarray], arrays: Arrays) -> jnp.ndarray | None:
    """``(G, T', O)`` organic contributions in scaled KPI units; ``None`` without organic."""
    if "organic_coef" not in params or "organic_x" not in arrays:
        return None
    return organic_curve(params, arrays["organic_x"]) * params["organic_coef"]


def organic_level(
    params: Mapping[str, jnp.ndarray], arrays: Arrays, shape: tuple[int, ...]
) -> jnp.ndarray:
    """Each geo's mean organic contribution over the fitted periods (0 without), laid out as
    ``shape`` (the intercept's: ``(G,)``, or ``()`` national): the part of the sampled
    ``level`` the organic channels explain (see :mod:`mixflow.model.mmm`)."""
    media = organic_media(params, arrays)
    if media is None:
        return jnp.zeros(shape)
    weight = arrays["obs_mask"].astype(media.dtype)
    t = weight.shape[0]
    return (jnp.einsum("gto,t->g", media[:, :t], weight) / weight.sum()).reshape(shape)


def organic_window(
    x_lag: np.ndarray | None, start: int, n: int, recent_weeks: int = 13
) -> dict[str, np.ndarray]:
    """``organic_x`` for a simulated window of ``n`` periods from period ``start``: each
    channel's exposure held at its mean over the last ``recent_weeks`` periods before
    ``start`` (organic activity is not part of a plan); empty without organic channels."""
    if x_lag is None:
        return {}
    x = x_lag[0]  # (G, T', O) unlagged
    lo = max(min(start, x.shape[1]) - recent_weeks, 0)
    recent = x[:, lo : max(min(start, x.shape[1]), 1)].mean(axis=1)  # (G, O)
    held = np.repeat(recent[:, None, :], n, axis=1)
    stack = np.repeat(held[None], x_lag.shape[0], axis=0)
    return {"organic_x": stack.astype(np.float32)}


__all__ = [
    "ORGANIC_EFFECT_SD",
    "ORGANIC_SITES",
    "organic_curve",
    "organic_lag_stack",
    "organic_level",
    "organic_media",
    "organic_scale",
    "organic_window",
    "sample_organic",
]
