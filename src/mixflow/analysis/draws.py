"""Per-draw quantities of a posterior, computed with JAX over all draws (chunked with lax.map).

Everything is returned in original units: KPI units (``*_kpi``) or currency (``*_value``),
summed over geos.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from mixflow.model.mmm import (
    adstock_weights,
    baseline_components,
    media_coefficients,
    saturated_media,
    with_time_multiplier,
)
from mixflow.posterior.posterior import Posterior
from mixflow.spec.model_spec import ModelSpec

BASELINE_PARTS = ("intercept", "trend", "seasonality", "controls", "events")
DEFAULT_MULTIPLIERS = tuple(np.round(np.linspace(0.0, 2.0, 21), 4))
MROI_STEP = 0.01


@dataclass(frozen=True, eq=False)
class DrawQuantities:
    """Arrays over ``S`` posterior draws.

    Attributes:
        fitted_kpi: ``(S, T)`` expected KPI per period (geos summed).
        fitted_kpi_geo: ``(S, G, T)`` expected KPI per geo and period.
        baseline_kpi: ``{part: (S, T)}`` baseline parts plus ``baseline``.
        media_kpi: ``(S, T, C)`` channel contributions per period (data window).
        contribution_kpi, contribution_value: ``(S, C)`` over the data window plus carryover tail.
        mroi: ``(S, C)`` incremental value of +1% spend per extra currency unit.
        curve_kpi, curve_value: ``(S, M, C)`` incremental KPI/value at spend multipliers.
        adstock: ``(S, C, L+1)`` lag weights.
        sigma: ``(S,)`` noise scale (scaled units).
    """

    fitted_kpi: np.ndarray
    fitted_kpi_geo: np.ndarray
    baseline_kpi: dict[str, np.ndarray]
    media_kpi: np.ndarray
    contribution_kpi: np.ndarray
    contribution_value: np.ndarray
    mroi: np.ndarray
    curve_kpi: np.ndarray
    curve_value: np.ndarray
    multipliers: np.ndarray
    adstock: np.ndarray


def _per_draw(
    params: Mapping[str, jnp.ndarray],
    arrays: Mapping[str, jnp.ndarray],
    kpi_unit: jnp.ndarray,
    multipliers: jnp.ndarray,
    spec: ModelSpec,
) -> dict[str, jnp.ndarray]:
    t = arrays["y"].shape[1]
    beta = media_coefficients(params, arrays, spec)  # (G, C)
    vw = arrays["value_weight"]  # (G, T')
    ku = kpi_unit[:, None]  # (G, 1)

    def contributions(scale: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
        # arrays: R&F channels' reach through their frequency gain, as the likelihood has it
        s = with_time_multiplier(
            params, arrays, saturated_media(params, arrays["x_lag"] * scale, spec, arrays)
        )
        media = s * beta[:, None, :]  # (G, T', C) scaled
        kpi = jnp.einsum("gtc,g->c", media, ku[:, 0])
        value = jnp.einsum("gtc,gt->c", media, vw)
        return kpi, value

    s = with_time_multiplier(params, arrays, saturated_media(params, arrays["x_lag"], spec, arrays))
    media = s * beta[:, None, :]
    base = baseline_components(params, arrays)
    baseline = sum(base.values(), jnp.zeros_like(base["intercept"]))
    mu = baseline + media.sum(-1)
    kpi_c = jnp.einsum("gtc,g->c", media, ku[:, 0])
    value_c = jnp.einsum("gtc,gt->c", media, vw)
    _, value_up = contributions(jnp.asarray(1.0 + MROI_STEP))
    curve_kpi, curve_value = jax.lax.map(contributions, multipliers)
    out = {
        "fitted_kpi_geo": (mu * ku)[:, :t],
        "media_kpi": jnp.einsum("gtc,g->tc", media, ku[:, 0])[:t],
        "contribution_kpi": kpi_c,
        "contribution_value": value_c,
        "value_up": value_up,
        "curve_kpi": curve_kpi,
        "curve_value": curve_value,
        "adstock": adstock_weights(params, spec),
        "baseline": jnp.sum(baseline * ku, axis=0)[:t],
    }
    for part in BASELINE_PARTS:
        out[part] = jnp.sum(base[part] * ku, axis=0)[:t]
    return out


def compute_draws(
    posterior: Posterior,
    max_draws: int | None = 1000,
    multipliers: tuple[float, ...] = DEFAULT_MULTIPLIERS,
) -> DrawQuantities:
    """Evaluate the model's parts for (up to ``max_draws``, evenly thinned) posterior draws."""
    design = posterior.design
    arrays = {k: jnp.asarray(v) for k, v in design.arrays().items()}
    kpi_unit = jnp.asarray(design.kpi_scale * design.population, dtype=jnp.float32)
    mult = jnp.asarray(np.asarray(multipliers, dtype=np.float32))
    flat = {k: jnp.asarray(v) for k, v in posterior.flat_samples(max_draws).items()}
    spec = posterior.spec

    @jax.jit
    def run(draws: dict[str, jnp.ndarray]) -> dict[str, jnp.ndarray]:
        return jax.lax.map(
            lambda p: _per_draw(p, arrays, kpi_unit, mult, spec), draws, batch_size=50
        )

    out = {k: np.asarray(v, dtype=np.float64) for k, v in run(flat).items()}
    spend = np.asarray(design.spend_total, dtype=np.float64)
    mroi = (out["value_up"] - out["contribution_value"]) / (MROI_STEP * spend)
    return DrawQuantities(
        fitted_kpi=out["fitted_kpi_geo"].sum(axis=1),
        fitted_kpi_geo=out["fitted_kpi_geo"],
        baseline_kpi={p: out[p] for p in (*BASELINE_PARTS, "baseline")},
        media_kpi=out["media_kpi"],
        contribution_kpi=out["contribution_kpi"],
        contribution_value=out["contribution_value"],
        mroi=mroi,
        curve_kpi=out["curve_kpi"],
        curve_value=out["curve_value"],
        multipliers=np.asarray(multipliers, dtype=np.float64),
        adstock=out["adstock"],
    )
