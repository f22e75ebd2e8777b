"""The simulator's true media response, to score any plan under the model that made the data.

:class:`TrueResponse` holds what :func:`mixflow.datasets.simulate_brand` drew per channel
(adstock weights, saturation parameters, media scale, coefficient, geo multipliers, cost per
exposure) and the scaled exposure of the data window, and evaluates a plan the way
:class:`mixflow.simulate.Simulator` does: the response to history and plan minus the response to
history alone, over the horizon and its ``max_lag`` carryover tail. :func:`compare_with_truth`
scores an optimizer's recommendation, the current split and the true optimum (SLSQP on the true
response, over the same constraints).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from mixflow.errors import ConvergenceError, SpecError

if TYPE_CHECKING:  # the optimizer's types; datasets does not import the optimizer at load time
    from mixflow.optimize import BudgetOptimizer, OptimizationResult
    from mixflow.optimize.constraints import FeasibleSet
    from mixflow.simulate import Simulator

SaturationKind = Literal["hill", "logistic"]

#: smallest adstocked input the Hill derivative is evaluated at (finite slope below 1 at zero)
_MIN_INPUT = 1e-12
#: SLSQP tolerance on the O(1)-scaled true objective (float64, so far tighter than the fit's)
_FTOL = 1e-12


@dataclass(frozen=True, eq=False)
class TrueResponse:
    """The true media response of a simulated brand (revenue KPI: value equals KPI).

    A channel's scaled exposure is ``x = spend / cost_per_exposure / pop / scale``; its KPI per
    geo and period is ``beta * pop_share * geo_mult * saturation(adstock(x))``.

    Attributes:
        channels: ``C`` channel names, in the data's order.
        weights: ``(C, L+1)`` adstock lag weights (each row sums to 1).
        saturation: the saturation curve, ``hill`` or ``logistic``.
        half_saturation: ``(C,)`` or ``(G, C)`` (one per geo) Hill half-saturation (scaled
            exposure units).
        slope: ``(C,)`` Hill slopes.
        lam: ``(C,)`` logistic rate.
        scale: ``(C,)`` mean non-zero per-capita exposure over the data (exposure per person).
        beta: ``(C,)`` KPI per unit of saturated media, before the geo terms (currency).
        geo_mult: ``(G, C)`` geo multipliers of the media effect (ones for national data).
        pop: ``(G,)`` population (1 for national data).
        pop_share: ``(G,)`` population shares.
        cost_per_exposure: ``(C,)`` currency per exposure unit (1 for spend-driven channels).
        history: ``(G, T, C)`` scaled exposure of the data window.
    """

    channels: tuple[str, ...]
    weights: np.ndarray
    saturation: SaturationKind
    half_saturation: np.ndarray
    slope: np.ndarray
    lam: np.ndarray
    scale: np.ndarray
    beta: np.ndarray
    geo_mult: np.ndarray
    pop: np.ndarray
    pop_share: np.ndarray
    cost_per_exposure: np.ndarray
    history: np.ndarray

    def __post_init__(self) -> None:
        for name in (
            "weights",
            "half_saturation",
            "slope",
            "lam",
            "scale",
            "beta",
            "geo_mult",
            "pop",
            "pop_share",
            "cost_per_exposure",
            "history",
        ):
            arr = np.array(getattr(self, name), dtype=np.float64, copy=True)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def max_lag(self) -> int:
        return int(self.weights.shape[1]) - 1

    @property
    def n_times(self) -> int:
        return int(self.history.shape[1])

    @property
    def exposure_per_currency(self) -> np.ndarray:
        """``(G, C)`` scaled exposure per unit of spend."""
        return 1.0 / (self.cost_per_exposure[None, :] * self.pop[:, None] * self.scale[None, :])

    @property
    def kpi_per_saturated(self) -> np.ndarray:
        """``(G, C)`` KPI per unit of saturated media in each geo."""
        return self.beta[None, :] * self.pop_share[:, None] * self.geo_mult

    # ------------------------------------------------------------------ evaluation
    def contributions(self, spend: np.ndarray, start: int | None = None) -> np.ndarray:
        """``(G, H + L, C)`` the plan's true incremental KPI per period of horizon and tail.

        Args:
            spend: ``(G, H, C)`` spend in currency from period ``start`` on.
            start: the period the plan starts at (default: right after the data); the
                ``L`` periods of history before it carry over into the horizon, later history
                is ignored (as in :meth:`mixflow.simulate.Simulator.simulate`).
        """
        prev, both = self._windows(spend, start)
        lag = self.max_lag
        sat_both = self._saturate(self._adstock(both))[:, lag:]
        sat_prev = self._saturate(self._adstock(prev))[:, lag:]
        return self.kpi_per_saturated[:, None, :] * (sat_both - sat_prev)

    def incremental_value(
        self, spend: np.ndarray, with_tail: bool = True, start: int | None = None
    ) -> float:
        """The plan's true incremental KPI value (currency) over the horizon, plus the
        ``max_lag`` carryover tail after it when ``with_tail``; see :meth:`contributions`."""
        media = self.contributions(spend, start)
        h = int(np.shape(spend)[1])
        return float(media.sum() if with_tail else media[:, :h].sum())

    def channel_values(self, spend: np.ndarray, start: int | None = None) -> np.ndarray:
        """``(C,)`` each channel's true incremental value, carryover tail included."""
        return self.contributions(spend, start).sum(axis=(0, 1))

    def value_and_grad(
        self, spend: np.ndarray, start: int | None = None
    ) -> tuple[float, np.ndarray]:
        """:meth:`incremental_value` (tail included) and its gradient ``(G, H, C)`` per unit
        of spend."""
        prev, both = self._windows(spend, start)
        lag, h = self.max_lag, int(np.shape(spend)[1])
        ads_both = self._adstock(both)
        k = self.kpi_per_saturated
        value = k[:, None, :] * (
            self._saturate(ads_both)[:, lag:] - self._saturate(self._adstock(prev))[:, lag:]
        )
        deriv = self._saturate_slope(ads_both)
        # spend in horizon period i reaches periods lag + i + l with weight w[l]
        grad = np.zeros_like(np.asarray(spend, np.float64))
        for lg in range(lag + 1):
            grad += self.weights[:, lg] * deriv[:, lag + lg : lag + lg + h]
        return float(value.sum()), grad * (k * self.exposure_per_currency)[:, None, :]

    def lift(self, channel: int, exposure_change: np.ndarray, measured: np.ndarray) -> float:
        """True incremental KPI of changing one channel's exposure during the data window.

        Args:
            channel: index of the channel.
            exposure_change: ``(G, T)`` change of the channel's exposure (its exposure units:
                spend over cost per exposure).
            measured: ``(G, T + L)`` the geo-periods summed (carryover periods included).
        """
        g, t, lag = self.pop.shape[0], self.n_times, self.max_lag
        base = np.zeros((g, t + lag, len(self.channels)))
        base[:, :t] = self.history
        moved = base.copy()
        delta = np.asarray(exposure_change, np.float64) / self.pop[:, None]
        moved[:, :t, channel] = np.maximum(base[:, :t, channel] + delta / self.scale[channel], 0)
        diff = self._saturate(self._adstock(moved)) - self._saturate(self._adstock(base))
        per_cell = self.kpi_per_saturated[:, None, channel] * diff[:, :, channel]
        return float(np.where(measured, per_cell, 0.0).sum())

    # ------------------------------------------------------------------ internals
    def _windows(self, spend: np.ndarray, start: int | None) -> tuple[np.ndarray, np.ndarray]:
        """Scaled exposure ``(G, L + H + L, C)``: the history tail alone, and with the plan."""
        x = np.asarray(spend, np.float64)
        g, c = self.pop.shape[0], len(self.channels)
        if x.ndim != 3 or x.shape[0] != g or x.shape[2] != c:
            raise SpecError(
                f"spend has shape {x.shape}; expected (geos={g}, periods, channels={c})"
            )
        lag, h = self.max_lag, x.shape[1]
        t0 = self.n_times if start is None else int(start)
        if not 0 <= t0 <= self.n_times:
            raise SpecError(f"start must be in 0..{self.n_times}, got {start}")
        prev = np.zeros((g, lag + h + lag, c))
        seg = self.history[:, max(t0 - lag, 0) : t0]
        prev[:, lag - seg.shape[1] : lag] = seg
        both = prev.copy()
        both[:, lag : lag + h] += x * self.exposure_per_currency[:, None, :]
        return prev, both

    def _adstock(self, x: np.ndarray) -> np.ndarray:
        """``(G, T, C)`` lag-weighted sums, zero before the window."""
        out = np.zeros_like(x)
        t = x.shape[1]
        for lg in range(self.max_lag + 1):
            out[:, lg:] += self.weights[:, lg] * x[:, : t - lg]
        return out

    @property
    def _half(self) -> np.ndarray:
        """The half-saturation laid out to broadcast against ``(G, T, C)``."""
        h = self.half_saturation
        return h[:, None, :] if h.ndim == 2 else h

    def _saturate(self, x: np.ndarray) -> np.ndarray:
        if self.saturation == "hill":
            positive = x > 0
            z = self.slope * (np.log(np.where(positive, x, 1.0)) - np.log(self._half))
            return np.where(positive, expit(z), 0.0)
        return np.tanh(0.5 * self.lam * x)

    def _saturate_slope(self, x: np.ndarray) -> np.ndarray:
        """Derivative of :meth:`_saturate` with respect to its input."""
        if self.saturation == "hill":
            xs = np.maximum(x, _MIN_INPUT)
            s = expit(self.slope * (np.log(xs) - np.log(self._half)))
            return self.slope / xs * s * (1.0 - s)
        th = np.tanh(0.5 * self.lam * x)
        return 0.5 * self.lam * (1.0 - th * th)


@dataclass(frozen=True)
class TruthComparison:
    """True incremental value (currency, carryover tail included) of three plans at one budget:
    the optimizer's recommendation, the current split and the true optimum."""

    recommended: float
    current: float
    optimum: float
    optimum_allocation: dict[str, float]

    @property
    def uplift(self) -> float:
        """Relative gain of the recommendation over the current split, under the truth."""
        return self.recommended / self.current - 1.0 if self.current > 0 else float("nan")

    @property
    def share_of_optimum(self) -> float:
        """The recommendation's true value as a share of the true optimum's (1: no regret)."""
        return self.recommended / self.optimum if self.optimum > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "true_value_recommended": self.recommended,
            "true_value_current": self.current,
            "true_value_optimum": self.optimum,
            "uplift_over_current": self.uplift,
            "share_of_optimum": self.share_of_optimum,
            "optimum_allocation": dict(self.optimum_allocation),
        }


def true_optimum(
    truth: TrueResponse,
    fs: FeasibleSet,
    starts: Sequence[np.ndarray],
    center: np.ndarray | None = None,
    max_iter: int = 500,
) -> np.ndarray:
    """Channel totals ``(C,)`` maximizing the true incremental value over ``fs``'s constraints
    (bounds, budget, linear rows; plan ``spend = x * fs.mapping()``), by SLSQP from each of
    ``starts`` (feasible ``(C,)`` totals); the best feasible solution or start is returned."""
    mapping = fs.mapping()
    s = fs.scale

    def value(x: np.ndarray) -> float:
        return truth.incremental_value(x[None, None, :] * mapping)

    fscale = max(max(abs(value(x0)) for x0 in starts), 1e-300)

    def fun(z: np.ndarray) -> tuple[float, np.ndarray]:
        v, grad = truth.value_and_grad(z[None, None, :] * s * mapping)
        return -v / fscale, -(grad * mapping).sum(axis=(0, 1)) * s / fscale

    c = len(fs.channels)
    ones = np.ones(c)
    cons: list[dict[str, Any]] = [
        {
            "type": "eq" if fs.fixed_total else "ineq",
            "fun": lambda z: fs.total / s - z.sum(),
            "jac": lambda z: -ones,
        }
    ]
    if len(fs.rhs):
        cons.append(
            {"type": "ineq", "fun": lambda z: fs.rhs / s - fs.rows @ z, "jac": lambda z: -fs.rows}
        )
    bounds = [
        (lo / s, hi / s if np.isfinite(hi) else None)
        for lo, hi in zip(fs.lo.tolist(), fs.hi.tolist(), strict=True)
    ]
    candidates = [np.asarray(x0, np.float64) for x0 in starts]
    for x0 in starts:
        res = minimize(
            fun,
            np.asarray(x0, np.float64) / s,
            jac=True,
            method="SLSQP",
            bounds=bounds,
            constraints=cons,
            options={"maxiter": max_iter, "ftol": _FTOL},
        )
        if np.all(np.isfinite(res.x)):
            candidates.append(fs.project(np.asarray(res.x, np.float64) * s, center))
    feasible = [x for x in candidates if not fs.violations(x)]
    if not feasible:
        raise ConvergenceError("no start or solution satisfies the constraints")
    return max(feasible, key=value)


def compare_with_truth(
    truth: TrueResponse,
    fs: FeasibleSet,
    recommended: np.ndarray,
    current: np.ndarray,
    n_random_starts: int = 6,
    seed: int = 0,
) -> TruthComparison:
    """Score ``recommended`` and ``current`` channel totals ``(C,)`` (currency over the horizon)
    under the truth, and find the true optimum over the same constraints (SLSQP from both plans,
    the historical split and ``n_random_starts`` random feasible splits)."""
    rng = np.random.default_rng(seed)
    center = fs.interior_point(rng)
    rec = np.asarray(recommended, np.float64)
    cur = np.asarray(current, np.float64)
    starts = [rec, *fs.budget_starts(cur, center, rng, n_random_starts)]
    best = true_optimum(truth, fs, starts, center)

    def value(x: np.ndarray) -> float:
        return truth.incremental_value(fs.spend(x))

    return TruthComparison(
        recommended=value(rec),
        current=value(cur),
        optimum=value(best),
        optimum_allocation={ch: float(v) for ch, v in zip(fs.channels, best, strict=True)},
    )


@dataclass(frozen=True, eq=False)
class BudgetCheck:
    """An optimized budget for the weeks after the data and how it fares under the truth."""

    result: OptimizationResult
    feasible: FeasibleSet
    truth: TruthComparison


def optimize_recent_budget(
    simulator: Simulator,
    truth: TrueResponse,
    weeks: int = 13,
    seed: int = 0,
    optimizer: BudgetOptimizer | None = None,
) -> BudgetCheck:
    """Optimize the next ``weeks`` weeks at the recent budget over the posterior and score the
    recommendation, the current split and the true optimum under ``truth``."""
    from mixflow.optimize import BudgetOptimizer, resolve
    from mixflow.optimize.recent import recent_budget_problem

    problem, current = recent_budget_problem(simulator.posterior, weeks)
    opt = optimizer or BudgetOptimizer(simulator)
    result = opt.optimize(problem, current=current, seed=seed)
    fs = resolve(problem, simulator.posterior.dataset)
    rec = np.array([result.allocation[ch] for ch in fs.channels])
    cur = np.array([result.current_allocation[ch] for ch in fs.channels])
    return BudgetCheck(result, fs, compare_with_truth(truth, fs, rec, cur, seed=seed))


__all__ = [
    "BudgetCheck",
    "SaturationKind",
    "TrueResponse",
    "TruthComparison",
    "compare_with_truth",
    "optimize_recent_budget",
    "true_optimum",
]
