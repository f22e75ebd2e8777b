"""Forward simulation over every posterior draw, with carryover on both ends.

The engine is built once per posterior (coefficients and baseline parameters per draw are
fixed by the fit); each call takes a spend array and runs one compiled JAX function vectorized
over draws. Spend before the horizon keeps decaying into it (the last ``max_lag`` periods of
the data), and spend in the horizon keeps paying for ``max_lag`` periods after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from mixflow.model.design import time_features
from mixflow.model.mmm import baseline_components, media_coefficients, saturated_media
from mixflow.posterior.posterior import Posterior
from mixflow.simulate.plan import Plan

Draws = dict[str, jnp.ndarray]


@dataclass(frozen=True, eq=False)
class SimulationDraws:
    """Per-draw outcomes of one plan (original units, geos summed unless noted).

    Attributes:
        kpi: ``(S, H)`` expected KPI per period (baseline + media, carryover in included).
        baseline_kpi: ``(S, H)`` expected KPI without any media (in or before the horizon).
        media_kpi: ``(S, H + L, C)`` the plan's incremental KPI per period of horizon + tail:
            response to history and plan minus response to history alone.
        carryover_in_kpi: ``(S, H)`` contribution of pre-horizon spend within the horizon.
        media_value: ``(S, H + L, C)`` the same as ``media_kpi`` in currency.
        kpi_value: ``(S, H)`` expected KPI value per period (currency).
    """

    kpi: np.ndarray
    baseline_kpi: np.ndarray
    media_kpi: np.ndarray
    carryover_in_kpi: np.ndarray
    media_value: np.ndarray
    kpi_value: np.ndarray
    horizon: int

    @property
    def incremental_kpi(self) -> np.ndarray:
        """``(S,)`` KPI from the plan's spend within the horizon."""
        return self.media_kpi[:, : self.horizon].sum(axis=(1, 2))

    @property
    def incremental_kpi_with_tail(self) -> np.ndarray:
        """``(S,)`` KPI from the plan's spend, its carryover after the horizon included."""
        return self.media_kpi.sum(axis=(1, 2))

    @property
    def incremental_value(self) -> np.ndarray:
        return self.media_value[:, : self.horizon].sum(axis=(1, 2))

    @property
    def incremental_value_with_tail(self) -> np.ndarray:
        return self.media_value.sum(axis=(1, 2))


class Simulator:
    """Simulate plans over a fitted posterior (up to ``max_draws`` draws, evenly thinned)."""

    def __init__(self, posterior: Posterior, max_draws: int | None = 1000) -> None:
        self.posterior = posterior
        self.design = posterior.design
        self.spec = posterior.spec
        data = posterior.dataset
        self.channels = data.channels
        self.geos = data.geos
        self.max_lag = self.spec.max_lag
        self._draws: Draws = {
            k: jnp.asarray(v) for k, v in posterior.flat_samples(max_draws).items()
        }
        arrays = {k: jnp.asarray(v) for k, v in self.design.arrays().items()}
        # media coefficients depend only on the fitted history: once per draw
        self._beta = jax.jit(jax.vmap(lambda p: media_coefficients(p, arrays, self.spec)))(
            self._draws
        )
        # exposure per unit of spend, per geo and channel (1 for spend-driven channels)
        spend_tot = data.spend.sum(axis=1)
        expo_tot = data.exposure.sum(axis=1)
        ratio = np.where(spend_tot > 0, expo_tot / np.maximum(spend_tot, 1e-12), 0.0)
        national = expo_tot.sum(axis=0) / np.maximum(spend_tot.sum(axis=0), 1e-12)
        self._exposure_per_spend = np.where(spend_tot > 0, ratio, national[None, :])
        self._scale = data.population[:, None] * self.design.media_scale[None, :]  # (G, C)
        self._hist_x = data.exposure / self._scale[:, None, :]  # (G, T, C) scaled
        self._kpi_unit = self.design.kpi_scale * data.population  # (G,)
        self._rpk_last = data.revenue_per_kpi[:, -1]  # (G,)
        self._n_fit = int(self.design.obs_mask.sum())

    @property
    def n_draws(self) -> int:
        return int(self._beta.shape[0])

    # ---------------------------------------------------------------- arrays for a window
    def scaled_exposure(self, spend: np.ndarray | jnp.ndarray) -> jnp.ndarray:
        """``(G, H, C)`` scaled exposure for spend in currency (JAX-differentiable)."""
        factor = jnp.asarray(self._exposure_per_spend / self._scale, jnp.float32)
        return jnp.asarray(spend) * factor[:, None, :]

    def _window_arrays(
        self, start: int, horizon: int, controls: np.ndarray | None, events: np.ndarray | None
    ) -> dict[str, Any]:
        lag = self.max_lag
        n = horizon + lag
        trend_t, knots, fourier = time_features(start, n, self.spec, self._n_fit)
        d = self.design
        g = len(self.geos)
        if controls is not None:
            ctrl = (controls - d.control_mean) / d.control_std
            ctrl = np.concatenate([ctrl, np.repeat(ctrl[:, -1:], lag, axis=1)], axis=1)
        else:
            idx = min(start, d.n_times) - 1
            last = d.controls[:, max(idx, 0)]
            ctrl = np.repeat(last[:, None, :], n, axis=1)
        n_e = d.events.shape[-1]
        ev = np.zeros((g, n, n_e))
        if events is not None and n_e:
            ev[:, :horizon] = events
        k = d.controls.shape[-1]
        if k == 0:
            ctrl = np.zeros((g, n, 0))
        return {
            "trend_t": jnp.asarray(trend_t, jnp.float32),
            "knots": jnp.asarray(knots, jnp.float32),
            "fourier": jnp.asarray(fourier, jnp.float32),
            "controls": jnp.asarray(ctrl, jnp.float32),
            "events": jnp.asarray(ev, jnp.float32),
            "x_lag": jnp.zeros((1, g, n, len(self.channels)), jnp.float32),
        }

    def _history_tail(self, start: int) -> np.ndarray:
        """``(G, L, C)`` scaled exposure of the ``L`` periods before ``start`` (zeros before data)."""
        lag = self.max_lag
        g, _, c = self._hist_x.shape
        out = np.zeros((g, lag, c))
        lo = max(start - lag, 0)
        seg = self._hist_x[:, lo:start]
        if seg.shape[1]:
            out[:, lag - seg.shape[1] :] = seg
        return out

    # ---------------------------------------------------------------- compiled core
    @cached_property
    def _core(self) -> Callable[..., dict[str, jnp.ndarray]]:
        """Compiled: per draw, the plan's incremental KPI and value per period and channel,
        carryover from history and the baseline, already summed over geos (so the output is
        ``(S, H + L, ...)``, not ``(S, G, H + L, C)``)."""
        spec, lag = self.spec, self.max_lag

        def one_draw(
            params: Draws,
            beta: jnp.ndarray,
            x_plan: jnp.ndarray,
            x_prev: jnp.ndarray,
            win: dict[str, Any],
            units: jnp.ndarray,
        ) -> dict[str, jnp.ndarray]:
            g, h, c = x_plan.shape
            pad = jnp.zeros((g, lag, c), x_plan.dtype)
            both = jnp.concatenate([x_prev, x_plan, pad], axis=1)  # (G, L + H + L, C)
            prev = jnp.concatenate([x_prev, jnp.zeros((g, lag, c), x_plan.dtype)], axis=1)
            sat_both = saturated_media(params, _lags(both, lag, skip=lag), spec)
            # history reaches at most max_lag periods into the horizon: evaluate it there only
            sat_prev = saturated_media(params, _lags(prev, lag, skip=lag), spec)
            sat_prev = jnp.concatenate([sat_prev, jnp.zeros((g, h, c), sat_prev.dtype)], axis=1)
            # the plan's effect is the counterfactual difference against spending nothing in
            # the horizon; pre-horizon spend keeps its own (carryover) response
            carry = beta[:, None, :] * sat_prev
            media = beta[:, None, :] * sat_both - carry
            base = baseline_components(params, win)
            baseline = sum(base.values(), jnp.zeros_like(base["intercept"]))
            # units: (2, G) KPI units and currency per scaled unit
            return {
                "media": jnp.einsum("gtc,ug->utc", media, units),
                "carry": jnp.einsum("gt,ug->ut", carry.sum(-1), units),
                "baseline": jnp.einsum("gt,ug->ut", baseline, units),
            }

        def run(
            draws: Draws,
            beta: jnp.ndarray,
            x_plan: jnp.ndarray,
            x_prev: jnp.ndarray,
            win: dict[str, Any],
            units: jnp.ndarray,
        ) -> dict[str, jnp.ndarray]:
            return jax.vmap(one_draw, in_axes=(0, 0, None, None, None, None))(
                draws, beta, x_plan, x_prev, win, units
            )

        return jax.jit(run)

    @cached_property
    def _units(self) -> jnp.ndarray:
        """``(2, G)``: KPI units and currency per scaled KPI unit, per geo."""
        return jnp.asarray(np.stack([self._kpi_unit, self._kpi_unit * self._rpk_last]), jnp.float32)

    def run_window(
        self,
        spend: jnp.ndarray,
        start: int,
        controls: np.ndarray | None = None,
        events: np.ndarray | None = None,
    ) -> dict[str, jnp.ndarray]:
        """Per-draw outputs for spend ``(G, H, C)`` from period ``start``, geos summed:
        ``media (S, 2, H+L, C)``, ``carry (S, 2, H+L)``, ``baseline (S, 2, H+L)`` where axis 1
        is (KPI units, currency)."""
        win = self._window_arrays(start, int(spend.shape[1]), controls, events)
        x_prev = jnp.asarray(self._history_tail(start), jnp.float32)
        x_plan = self.scaled_exposure(jnp.asarray(spend, jnp.float32))
        return self._core(self._draws, self._beta, x_plan, x_prev, win, self._units)

    def outcome_fn(
        self, horizon: int, start: int | None = None
    ) -> Callable[[jnp.ndarray], tuple[jnp.ndarray, jnp.ndarray]]:
        """A jit-compiled, differentiable map from spend ``(G, H, C)`` (currency) to the plan's
        incremental KPI and incremental value per draw, each ``(S,)``, carryover tail included.

        This is what optimizers differentiate; it reuses the compiled simulation core.
        """
        t0 = self.design.n_times if start is None else start
        win = self._window_arrays(t0, horizon, None, None)
        x_prev = jnp.asarray(self._history_tail(t0), jnp.float32)
        draws, beta, core, units = self._draws, self._beta, self._core, self._units

        @jax.jit
        def outcome(spend: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
            out = core(draws, beta, self.scaled_exposure(spend), x_prev, win, units)
            totals = out["media"].sum(axis=(2, 3))  # (S, 2)
            return totals[:, 0], totals[:, 1]

        return outcome

    def historical_spend(self, weeks: int) -> np.ndarray:
        """``(G, weeks, C)`` spend of the last ``weeks`` periods of the data."""
        return np.asarray(self.posterior.dataset.spend[:, -weeks:], dtype=np.float64)

    def simulate(self, plan: Plan, start: int | None = None) -> SimulationDraws:
        """Simulate ``plan`` from period ``start`` (default: right after the data)."""
        self._check_plan(plan)
        t0 = self.design.n_times if start is None else start
        out = self.run_window(jnp.asarray(plan.spend), t0, plan.controls, plan.events)
        h = plan.horizon
        media = np.asarray(out["media"], np.float64)
        carry = np.asarray(out["carry"], np.float64)[:, :, :h]
        base = np.asarray(out["baseline"], np.float64)[:, :, :h]
        total = base + media[:, :, :h].sum(-1) + carry
        return SimulationDraws(
            kpi=total[:, 0],
            baseline_kpi=base[:, 0],
            media_kpi=media[:, 0],
            carryover_in_kpi=carry[:, 0],
            media_value=media[:, 1],
            kpi_value=total[:, 1],
            horizon=h,
        )

    def _check_plan(self, plan: Plan) -> None:
        from mixflow.errors import SpecError

        if tuple(plan.channels) != tuple(self.channels):
            raise SpecError(
                f"plan channels {list(plan.channels)} differ from the model's {list(self.channels)}"
            )
        if tuple(plan.geos) != tuple(self.geos):
            raise SpecError(
                f"plan geos {list(plan.geos)} differ from the model's {list(self.geos)}"
            )


def _lags(x: jnp.ndarray, lag: int, skip: int = 0) -> jnp.ndarray:
    """JAX version of :func:`mixflow.transforms.adstock.lag_stack`: ``(L+1, G, T - skip, C)``,
    leaving out the first ``skip`` output periods (which only serve as history)."""
    t = x.shape[1]
    padded = jnp.concatenate([jnp.zeros((x.shape[0], lag, x.shape[2]), x.dtype), x], axis=1)
    return jnp.stack([padded[:, lag - k + skip : lag - k + t] for k in range(lag + 1)], axis=0)
