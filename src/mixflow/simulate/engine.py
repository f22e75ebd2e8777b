"""Forward simulation over every posterior draw, with carryover on both ends.

A :class:`Simulator` is built once per loaded posterior (``Simulator.from_posterior``) and then
answers any number of plans. What does not depend on the plan is computed once, at build time
or on the first call for a start period and horizon, and kept on the object:

- per draw: the media coefficients, the adstock weights, the saturation parameters, and the
  coefficients times each geo's unit conversion (KPI and currency per scaled unit);
- per start period: the response to the spend *before* the horizon (the carryover from
  history), already summed over geos;
- per start period and horizon: the baseline (intercept, trend, seasonality, controls held at
  their last values), summed over geos, when the plan gives no controls or events.

Each call then runs one compiled JAX function over the plan's spend only: the lag stack of the
window (history tail, plan, ``max_lag`` periods of tail), adstock as one batched matrix product
per channel, the saturation curve and the geo sum, in chunks of draws small enough to stay in
the CPU cache (``jax.lax.map``). The function takes every per-posterior array as an argument, so
XLA compiles it once per shape (geos, channels, horizon, draws), not per simulator; there is no
Python loop over geos, draws or channels.

Arithmetic is float32, as in the fit (the relative round-off is about 1e-7, far below the
posterior spread); outputs are returned as float64 NumPy arrays.

Spend before the horizon keeps decaying into it (the last ``max_lag`` periods of the data), and
spend in the horizon keeps paying for ``max_lag`` periods after it. The plan's effect is the
counterfactual difference against spending nothing in the horizon.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from mixflow.model.design import time_features
from mixflow.model.mmm import baseline_components, media_coefficients
from mixflow.model.organic import organic_window
from mixflow.model.time_varying import media_multiplier
from mixflow.posterior.posterior import Posterior
from mixflow.simulate.plan import Plan
from mixflow.simulate.rf import frequency_key, rf_curve_draws, rf_exposure_per_spend
from mixflow.spec.model_spec import Adstock, ModelSpec, Saturation
from mixflow.transforms.registry import adstock_component, saturation_component

Draws = dict[str, jnp.ndarray]

#: float32 elements of one chunk's saturated media: small enough for the CPU cache (0.25 MB)
CHUNK_ELEMENTS = 1 << 16
#: per-(start, horizon) precomputations kept per simulator (least recently used dropped)
WINDOW_CACHE_SIZE = 32
#: horizons are run padded with zero spend to the next of these (then multiples of the last):
#: one compiled program serves every horizon up to its bucket, so a new horizon costs a call,
#: not a compilation (zero spend past the horizon changes none of its periods' figures)
HORIZON_BUCKETS = (13, 26, 39, 52)


def horizon_bucket(horizon: int) -> int:
    """The padded horizon that plans of ``horizon`` periods are computed with."""
    for bucket in HORIZON_BUCKETS:
        if horizon <= bucket:
            return bucket
    step = HORIZON_BUCKETS[-1]
    return -(-horizon // step) * step


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


@dataclass(frozen=True, eq=False)
class _Curves:
    """Per-draw media parameters laid out channel-major and padded to whole chunks of draws.

    ``weights (C, S', L+1)`` adstock weights, ``saturation`` each curve parameter ``(C, S', 1)``,
    ``coef (C, S', G, U)`` media coefficients times each geo's output units (or ``(C, S', G)``
    for per-geo outputs). ``S'`` is the draw count rounded up to a multiple of ``chunk``."""

    weights: jnp.ndarray
    saturation: dict[str, jnp.ndarray]
    coef: jnp.ndarray
    chunk: int


@dataclass(frozen=True, eq=False)
class _Window:
    """What a start period and horizon fix: the history tail, the baseline window arrays, and
    the (plan-independent) response to history summed over geos."""

    x_prev: jnp.ndarray  # (G, L, C) scaled exposure of the L periods before the start
    win: dict[str, jnp.ndarray]  # baseline features over horizon + tail
    carry: jnp.ndarray  # (S, U, L, C) response to history in the first L periods
    baseline: np.ndarray  # (S, U, H + L) without plan controls/events, float32


class Simulator:
    """Simulate plans over a fitted posterior (up to ``max_draws`` draws, evenly thinned).

    Build it once per loaded posterior and reuse it: the object is what a service caches per
    model version. Calls are thread-safe; each new (start, horizon) pays one compilation.
    """

    def __init__(
        self,
        posterior: Posterior,
        max_draws: int | None = 1000,
        frequency: Mapping[str, float] | None = None,
    ) -> None:
        """``frequency``: the frequency each named R&F channel's spend buys (mixflow.simulate.rf);
        a plan with other frequencies runs on :meth:`at_frequency`'s simulator."""
        self.posterior = posterior
        self._max_draws = max_draws
        self._children: dict[tuple[tuple[str, float], ...], Simulator] = {}
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
        # media coefficients depend only on the fitted history: once per draw. A time-varying
        # media multiplier (model.time_varying_media) is held at its last fitted value over a
        # plan, as the baseline is: exact for plans after the data (the default start), the
        # data's-end effectiveness for a plan laid over history
        self._beta = jax.jit(
            jax.vmap(
                lambda p: (
                    media_coefficients(p, arrays, self.spec)
                    * media_multiplier(p, jnp.ones((1,), jnp.float32))[0]
                )
            )
        )(self._draws)
        # exposure per unit of spend, per geo and channel (1 for spend-driven channels)
        spend_tot = data.spend.sum(axis=1)
        expo_tot = data.exposure.sum(axis=1)
        ratio = np.where(spend_tot > 0, expo_tot / np.maximum(spend_tot, 1e-12), 0.0)
        national = expo_tot.sum(axis=0) / np.maximum(spend_tot.sum(axis=0), 1e-12)
        self._exposure_per_spend = np.where(spend_tot > 0, ratio, national[None, :])
        # R&F channels: reach per unit of spend at the chosen frequency, the curve weighted
        self.frequency = frequency_key(data, frequency)
        self._exposure_per_spend = rf_exposure_per_spend(
            data, self._exposure_per_spend, self.frequency
        )
        self._curve_draws = rf_curve_draws(
            self._draws, data, self.spec, self.design.rf_reference, self.frequency
        )
        self._scale = self.design.exposure_unit  # (G, C)
        self._hist_x = data.exposure / self._scale[:, None, :]  # (G, T, C) scaled
        self._kpi_unit = self.design.kpi_scale * data.population  # (G,)
        self._rpk_last = data.revenue_per_kpi[:, -1]  # (G,)
        self._n_fit = int(self.design.obs_mask.sum())
        # (G, C) scaled exposure per unit of currency
        self._spend_factor = _f32(self._exposure_per_spend / self._scale)
        # (2, G): KPI units and currency per scaled KPI unit, per geo
        self._units = _f32(np.stack([self._kpi_unit, self._kpi_unit * self._rpk_last]))
        self._curves = _curves(self._curve_draws, self._beta, self.spec, self._units, per_geo=False)
        self._geo_curves: _Curves | None = None
        self._windows: OrderedDict[Hashable, _Window] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_posterior(cls, posterior: Posterior, max_draws: int | None = 1000) -> Simulator:
        """The simulator of ``posterior``: build once per loaded model version, then call
        :meth:`simulate` (or :meth:`outcome_fn`) as often as needed."""
        return cls(posterior, max_draws=max_draws)

    def at_frequency(self, frequency: Mapping[str, float] | None) -> Simulator:
        """The simulator of the same posterior whose R&F channels buy ``frequency`` (this one
        when it already does; built once per frequency and kept)."""
        key = frequency_key(self.posterior.dataset, frequency)
        if key == self.frequency:
            return self
        with self._lock:
            child = self._children.get(key)
        if child is None:
            child = Simulator(self.posterior, self._max_draws, dict(key))
            with self._lock:
                self._children[key] = child
        return child

    @property
    def n_draws(self) -> int:
        return int(self._beta.shape[0])

    def warm_up(self, horizons: Sequence[int] = (13, 52)) -> None:
        """Compile and precompute for plans of these horizons right after the data, so a
        service's first question does not pay for it."""
        g, c = len(self.geos), len(self.channels)
        for h in horizons:
            self.simulate(
                Plan(np.zeros((g, h, c)), self.channels, self.geos, np.datetime64(0, "D"))
            )

    # ---------------------------------------------------------------- arrays for a window
    def scaled_exposure(self, spend: np.ndarray | jnp.ndarray) -> jnp.ndarray:
        """``(G, H, C)`` scaled exposure for spend in currency (JAX-differentiable)."""
        return jnp.asarray(spend) * self._spend_factor[:, None, :]

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
            "trend_t": _f32(trend_t),
            "knots": _f32(knots),
            "fourier": _f32(fourier),
            "controls": _f32(ctrl),
            "events": _f32(ev),
            "x_lag": _f32(np.zeros((1, g, n, len(self.channels)))),
            # organic channels (not part of a plan) held at their recent level
            **{k: _f32(a) for k, a in organic_window(d.organic_x, start, n).items()},
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

    def _window(self, start: int, horizon: int) -> _Window:
        """The cached plan-independent parts for ``start`` and ``horizon``."""
        key = (start, horizon)
        with self._lock:
            hit = self._windows.get(key)
            if hit is not None:
                self._windows.move_to_end(key)
                return hit
        x_prev = _f32(self._history_tail(start))
        padded = horizon_bucket(horizon)
        win = self._window_arrays(start, padded, None, None)
        # history reaches at most max_lag periods into the window; zero spend over the padded
        # horizon reuses the plans' compiled function (another length would compile another)
        none = _f32(np.zeros((len(self.geos), padded, len(self.channels))))
        carry = self._response(none, x_prev, self._curves, totals=False)[:, :, : self.max_lag]
        baseline = _baseline(self._draws, win, self._units, per_geo=False)
        n = horizon + self.max_lag
        window = _Window(x_prev, win, carry, np.asarray(baseline)[:, :, :n])
        with self._lock:
            self._windows[key] = window
            while len(self._windows) > WINDOW_CACHE_SIZE:
                self._windows.popitem(last=False)
        return window

    # ---------------------------------------------------------------- compiled core
    def run_window(
        self,
        spend: np.ndarray | jnp.ndarray,
        start: int,
        controls: np.ndarray | None = None,
        events: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """Per-draw outputs for spend ``(G, H, C)`` from period ``start``, geos summed:
        ``media (S, 2, H+L, C)``, ``carry (S, 2, H+L)``, ``baseline (S, 2, H+L)`` where axis 1
        is (KPI units, currency); float32."""
        h = int(spend.shape[1])
        w = self._window(start, h)
        padded, n = horizon_bucket(h), h + self.max_lag
        # sliced in NumPy: an eager JAX slice would compile a program per horizon
        media = np.asarray(
            _less_history(
                self._response(_f32(_pad(spend, padded)), w.x_prev, self._curves, False),
                w.carry,
            )
        )[:, :, :n]
        if controls is None and events is None:
            baseline = w.baseline
        else:  # controls hold their last value past the horizon, events are off
            win = self._window_arrays(
                start,
                padded,
                None if controls is None else _pad(controls, padded, repeat_last=True),
                None if events is None else _pad(events, padded),
            )
            baseline = np.asarray(_baseline(self._draws, win, self._units, per_geo=False))
            baseline = baseline[:, :, :n]
        carry = np.zeros(baseline.shape, np.float32)
        carry[:, :, : self.max_lag] = np.asarray(w.carry).sum(-1)
        return {"media": np.asarray(media), "carry": carry, "baseline": baseline}

    def _response(
        self, spend: jnp.ndarray, x_prev: jnp.ndarray, curves: _Curves, totals: bool
    ) -> jnp.ndarray:
        """:func:`_media_response` with this simulator's arrays."""
        return _media_response(
            spend,
            self._spend_factor,
            x_prev,
            curves.weights,
            curves.saturation,
            curves.coef,
            lag=self.max_lag,
            saturation_kind=self.spec.saturation,
            chunk=curves.chunk,
            n_draws=self.n_draws,
            totals=totals,
        )

    def outcome_fn(
        self, horizon: int, start: int | None = None
    ) -> Callable[[jnp.ndarray], tuple[jnp.ndarray, jnp.ndarray]]:
        """A jit-compiled, differentiable map from spend ``(G, H, C)`` (currency) to the plan's
        incremental KPI and incremental value per draw, each ``(S,)``, carryover tail included.

        This is what optimizers differentiate; it reuses the compiled simulation core.
        """
        t0 = self.design.n_times if start is None else start
        w = self._window(t0, horizon)
        carry = w.carry.sum(axis=(2, 3))  # (S, U)
        curves, respond = self._curves, self._response

        @jax.jit
        def outcome(spend: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
            totals = respond(jnp.asarray(spend, jnp.float32), w.x_prev, curves, True) - carry
            return totals[:, 0], totals[:, 1]

        return outcome

    def historical_spend(self, weeks: int) -> np.ndarray:
        """``(G, weeks, C)`` spend of the last ``weeks`` periods of the data."""
        return np.asarray(self.posterior.dataset.spend[:, -weeks:], dtype=np.float64)

    def simulate(self, plan: Plan, start: int | None = None) -> SimulationDraws:
        """Simulate ``plan`` from period ``start`` (default: right after the data)."""
        if tuple(plan.frequency) != self.frequency:
            return self.at_frequency(dict(plan.frequency)).simulate(plan, start)
        self._check_plan(plan)
        t0 = self.design.n_times if start is None else start
        out = self.run_window(plan.spend, t0, plan.controls, plan.events)
        h = plan.horizon
        media = out["media"].astype(np.float64)
        carry = out["carry"][:, :, :h].astype(np.float64)
        base = out["baseline"][:, :, :h].astype(np.float64)
        # einsum: NumPy's sum over the short channel axis is 5x slower (40 geos: 2 ms)
        total = base + np.einsum("sutc->sut", media[:, :, :h]) + carry
        return SimulationDraws(
            kpi=total[:, 0],
            baseline_kpi=base[:, 0],
            media_kpi=media[:, 0],
            carryover_in_kpi=carry[:, 0],
            media_value=media[:, 1],
            kpi_value=total[:, 1],
            horizon=h,
        )

    def expected_kpi_by_geo(self, plan: Plan, start: int | None = None) -> np.ndarray:
        """``(S, G, H)`` expected KPI per geo of ``plan`` (baseline, carryover in and media)."""
        if tuple(plan.frequency) != self.frequency:
            return self.at_frequency(dict(plan.frequency)).expected_kpi_by_geo(plan, start)
        self._check_plan(plan)
        t0 = self.design.n_times if start is None else start
        h = plan.horizon
        kpi_unit = self._units[:1]  # (1, G)
        if self._geo_curves is None:
            self._geo_curves = _curves(
                self._curve_draws, self._beta, self.spec, kpi_unit, per_geo=True
            )
        curves = self._geo_curves
        x_prev = _f32(self._history_tail(t0))
        spend = _f32(plan.spend)
        # (S, G, H + L): response to history and plan, channels summed
        media = self._response(spend, x_prev, curves, totals=False)
        win = self._window_arrays(t0, h, plan.controls, plan.events)
        base = _baseline(self._draws, win, kpi_unit, per_geo=True)  # (S, G, H + L)
        return np.asarray(media + base, np.float64)[:, :, :h]

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


# -------------------------------------------------------------------- per-posterior setup
def _curves(
    draws: Draws, beta: jnp.ndarray, spec: ModelSpec, units: jnp.ndarray, per_geo: bool
) -> _Curves:
    """Channel-major per-draw parameters, padded to whole chunks (see :class:`_Curves`).

    ``units (U, G)``: output units per scaled KPI unit; ``per_geo`` keeps geos apart (``U`` must
    then be 1) instead of summing them."""
    s, g, c = beta.shape
    n_out = spec.max_lag * 2 + 1  # a nominal window: the chunk size must not depend on H
    target = max(1, min(s, CHUNK_ELEMENTS // max(1, c * g * n_out)))
    chunk = -(-s // -(-s // target))  # as even as possible: S / ceil(S / target), rounded up
    ads = adstock_component(spec.adstock)
    sat = saturation_component(spec.saturation)
    weights, saturation, coef = _curve_arrays(
        {k.name: draws[k.name] for k in ads.params},
        {k.name: draws[k.name] for k in sat.params},
        beta,
        units,
        adstock_kind=spec.adstock,
        lag=spec.max_lag,
        pad=-s % chunk,
        per_geo=per_geo,
    )
    return _Curves(weights=weights, saturation=saturation, coef=coef, chunk=chunk)


@partial(jax.jit, static_argnames=("adstock_kind", "lag", "pad", "per_geo"))
def _curve_arrays(
    ads_params: Draws,
    sat_params: Draws,
    beta: jnp.ndarray,
    units: jnp.ndarray,
    *,
    adstock_kind: Adstock,
    lag: int,
    pad: int,
    per_geo: bool,
) -> tuple[jnp.ndarray, dict[str, jnp.ndarray], jnp.ndarray]:
    """The arrays of :class:`_Curves`, channel first, with ``pad`` copies of the last draw."""

    def padded(a: jnp.ndarray) -> jnp.ndarray:
        a = jnp.moveaxis(a, 1, 0)  # channel first
        if pad:
            a = jnp.concatenate([a, jnp.repeat(a[:, -1:], pad, axis=1)], axis=1)
        return a

    weights = adstock_component(adstock_kind).weights(ads_params, lag)  # (S, C, L+1)
    if per_geo:
        coef = beta * units[0][None, :, None]  # (S, G, C)
    else:
        coef = beta[..., None] * units.T[None, :, None, :]  # (S, G, C, U)
    return (
        padded(weights),
        {k: padded(v)[..., None] for k, v in sat_params.items()},
        padded(jnp.moveaxis(coef, 2, 1)),  # (C, S', G[, U])
    )


# -------------------------------------------------------------------- compiled functions
@partial(jax.jit, static_argnames=("lag", "saturation_kind", "chunk", "n_draws", "totals"))
def _media_response(
    spend: jnp.ndarray,
    factor: jnp.ndarray,
    x_prev: jnp.ndarray,
    weights: jnp.ndarray,
    saturation: dict[str, jnp.ndarray],
    coef: jnp.ndarray,
    *,
    lag: int,
    saturation_kind: Saturation,
    chunk: int,
    n_draws: int,
    totals: bool,
) -> jnp.ndarray:
    """Response to history and plan over horizon + tail, per draw, from spend ``(G, H, C)``.

    Returns ``(S, U, H + L, C)`` (geos summed with ``coef``'s units), ``(S, U)`` with
    ``totals`` (periods and channels summed too), or ``(S, G, H + L)`` for a per-geo ``coef``
    ``(C, S', G)`` (channels summed). The response to history alone is not subtracted."""
    g, h, c = spend.shape
    t = h + lag
    x_plan = spend * factor[:, None, :]
    both = jnp.concatenate([x_prev, x_plan, jnp.zeros((g, lag, c), x_plan.dtype)], axis=1)
    cm = jnp.moveaxis(both, -1, 0)  # (C, G, L + H + L)
    # lag stack of the output periods (the first L periods of ``both`` are history only)
    stack = jnp.stack([cm[:, :, lag - k : lag - k + t] for k in range(lag + 1)], axis=1)
    per_geo = coef.ndim == 3
    # the plain simulation sums geos last: periods-major (C, L+1, T * G) makes that sum run
    # over the contiguous axis (10% faster on the 40-geo benchmark)
    by_period = not per_geo and not totals
    if by_period:
        stack = jnp.swapaxes(stack, 2, 3)
    stack = stack.reshape(c, lag + 1, g * t)  # (C, L+1, G * T) or (C, L+1, T * G)
    n_pad = weights.shape[1]
    n_chunks = n_pad // chunk
    # outcome totals are differentiated: the registry's curve keeps gradients finite at zero
    curve = saturation_component(saturation_kind).curve if totals else _curve(saturation_kind)

    def split(a: jnp.ndarray) -> jnp.ndarray:  # (C, S', ...) -> (chunks, C, chunk, ...)
        return jnp.moveaxis(a.reshape(c, n_chunks, chunk, *a.shape[2:]), 1, 0)

    def one_chunk(args: tuple[jnp.ndarray, dict[str, jnp.ndarray], jnp.ndarray]) -> jnp.ndarray:
        w, sat_p, b = args
        adstocked = jnp.einsum("csl,cln->csn", w, stack)  # (C, chunk, G * T)
        if by_period:
            # geo sum of every output unit in one reduction: (C, chunk, T, U) -> (U, C, chunk, T).
            # One reduction per unit made XLA evaluate the curve once per unit (1.8x slower),
            # and a batched dot over (channel, draw) was slower still
            sat_tg = curve(adstocked, sat_p).reshape(c, chunk, t, g)
            return jnp.moveaxis((sat_tg[..., None] * b[:, :, None, :, :]).sum(axis=3), -1, 0)
        sat = curve(adstocked, sat_p).reshape(c, chunk, g, t)
        if per_geo:
            return jnp.einsum("csgt,csg->sgt", sat, b)
        return jnp.einsum("csgt,csgu->su", sat, b)

    out = jax.lax.map(
        one_chunk, (split(weights), {k: split(v) for k, v in saturation.items()}, split(coef))
    )
    if per_geo:
        return out.reshape(n_pad, g, t)[:n_draws]
    if totals:
        return out.reshape(n_pad, -1)[:n_draws]
    # (chunks, U, C, chunk, T) -> (S, U, T, C)
    u = out.shape[1]
    return jnp.transpose(out, (0, 3, 1, 4, 2)).reshape(n_pad, u, t, c)[:n_draws]


def _curve(kind: Saturation) -> Callable[[jnp.ndarray, Draws], jnp.ndarray]:
    """The saturation curve for forward evaluation (not for gradients).

    Hill as ``1 / (1 + exp(s log K - s log x))``: the same function as the registry's
    ``sigmoid(s (log x - log K))`` to float32 round-off (1 ulp), and exactly 0 at ``x = 0``
    (``log 0 = -inf``, ``exp(inf) = inf``) without the registry's ``where`` guards, which keep
    its gradient finite at zero but stop XLA:CPU from vectorizing the loop (3.5x slower on the
    40-geo benchmark). Other curves: the registry's.
    """
    if kind is not Saturation.HILL:
        return saturation_component(kind).curve

    def hill(x: jnp.ndarray, p: Draws) -> jnp.ndarray:
        slope = p["slope"]
        return 1.0 / (1.0 + jnp.exp(slope * jnp.log(p["half_saturation"]) - slope * jnp.log(x)))

    return hill


@jax.jit
def _less_history(response: jnp.ndarray, history: jnp.ndarray) -> jnp.ndarray:
    """``response (S, U, T, C)`` less the response to history alone ``(S, U, L, C)`` in its
    first ``L`` periods: the plan's incremental response."""
    return response.at[:, :, : history.shape[2]].add(-history)


@partial(jax.jit, static_argnames=("per_geo",))
def _baseline(
    draws: Draws, win: dict[str, jnp.ndarray], units: jnp.ndarray, *, per_geo: bool
) -> jnp.ndarray:
    """Baseline per draw over the window: ``(S, U, T)`` summed over geos (``(S, G, T)`` per geo
    with ``U = 1``)."""

    def one(params: Draws) -> jnp.ndarray:
        base = baseline_components(params, win)
        total = sum(base.values(), jnp.zeros_like(base["intercept"]))  # (G, T)
        if per_geo:
            return total * units[0][:, None]
        return jnp.einsum("gt,ug->ut", total, units)

    return jax.vmap(one)(draws)


def _pad(a: np.ndarray | jnp.ndarray, length: int, repeat_last: bool = False) -> np.ndarray:
    """``a (G, H, ...)`` extended to ``length`` periods on axis 1 with zeros (or copies of its
    last period)."""
    arr = np.asarray(a)
    extra = length - arr.shape[1]
    if extra <= 0:
        return arr
    if repeat_last:
        tail = np.repeat(arr[:, -1:], extra, axis=1)
    else:
        tail = np.zeros((arr.shape[0], extra, *arr.shape[2:]), arr.dtype)
    return np.concatenate([arr, tail], axis=1)


def _f32(a: np.ndarray | jnp.ndarray) -> jnp.ndarray:
    """``a`` on the device as float32, converted by NumPy (an eager JAX conversion compiles a
    program per shape on first use)."""
    if isinstance(a, jax.Array) and a.dtype == jnp.float32:
        return a
    return jnp.asarray(np.asarray(a, np.float32))
