"""Test oracle: the straightforward simulation the fast engine replaced.

One ``jax.vmap`` over draws of the model's own functions (``saturated_media``,
``baseline_components``) on the window of history tail, plan and carryover tail, with the
response to history recomputed on every call and no chunking, curve rewriting or caching. The
fast :class:`mixflow.simulate.Simulator` must give the same numbers to float32 round-off.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from mixflow.model.mmm import baseline_components, saturated_media
from mixflow.simulate import Plan, Simulator


def _lags(x: jnp.ndarray, lag: int, skip: int) -> jnp.ndarray:
    """``(L+1, G, T - skip, C)``: ``out[l, g, t] = x[g, t + skip - l]`` (0 before the start)."""
    t = x.shape[1]
    padded = jnp.concatenate([jnp.zeros((x.shape[0], lag, x.shape[2]), x.dtype), x], axis=1)
    return jnp.stack([padded[:, lag - k + skip : lag - k + t] for k in range(lag + 1)], axis=0)


def reference_outputs(
    sim: Simulator, plan: Plan, start: int | None = None, units: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """``media (S, U, H+L, C)``, ``carry (S, U, H+L)``, ``baseline (S, U, H+L)`` as float64,
    geos summed with ``units (U, G)`` (default: the simulator's KPI and currency units)."""
    t0 = sim.design.n_times if start is None else start
    spec, lag = sim.spec, sim.max_lag
    win = sim._window_arrays(t0, plan.horizon, plan.controls, plan.events)
    x_prev = jnp.asarray(sim._history_tail(t0), jnp.float32)
    x_plan = (
        jnp.asarray(plan.spend, jnp.float32)
        * jnp.asarray(sim._exposure_per_spend / sim._scale, jnp.float32)[:, None, :]
    )
    u = jnp.asarray(np.asarray(sim._units) if units is None else units, jnp.float32)

    def one_draw(params: dict[str, Any], beta: jnp.ndarray) -> dict[str, jnp.ndarray]:
        g, h, c = x_plan.shape
        pad = jnp.zeros((g, lag, c), jnp.float32)
        both = jnp.concatenate([x_prev, x_plan, pad], axis=1)
        prev = jnp.concatenate([x_prev, jnp.zeros((g, h + lag, c), jnp.float32)], axis=1)
        carry = beta[:, None, :] * saturated_media(params, _lags(prev, lag, lag), spec)
        media = beta[:, None, :] * saturated_media(params, _lags(both, lag, lag), spec) - carry
        base = baseline_components(params, win)
        baseline = sum(base.values(), jnp.zeros_like(base["intercept"]))
        return {
            "media": jnp.einsum("gtc,ug->utc", media, u),
            "carry": jnp.einsum("gt,ug->ut", carry.sum(-1), u),
            "baseline": jnp.einsum("gt,ug->ut", baseline, u),
        }

    out = jax.jit(jax.vmap(one_draw))(sim._draws, sim._beta)
    return {k: np.asarray(v, np.float64) for k, v in out.items()}


def reference_kpi_by_geo(sim: Simulator, plan: Plan) -> np.ndarray:
    """``(S, G, H)`` expected KPI per geo: the reference with one geo's KPI unit at a time."""
    kpi_unit = np.asarray(sim._units)[0]
    h = plan.horizon
    per_geo = []
    for g in range(len(sim.geos)):
        one = np.zeros((1, len(sim.geos)))
        one[0, g] = kpi_unit[g]
        out = reference_outputs(sim, plan, units=one)
        kpi = out["baseline"][:, 0, :h] + out["media"][:, 0, :h].sum(-1) + out["carry"][:, 0, :h]
        per_geo.append(kpi)
    return np.stack(per_geo, axis=1)
