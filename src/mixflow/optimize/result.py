"""The optimizer's answer: allocation, expected outcomes against the current plan, diagnostics."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from mixflow.analysis.stats import stat
from mixflow.optimize.constraints import FeasibleSet
from mixflow.optimize.problem import BudgetProblem, Objective, SpendPattern
from mixflow.optimize.schema import PlanDocument
from mixflow.simulate.plan import Plan

#: relative distance (to the budget scale) within which a channel counts as sitting at a bound
AT_BOUND_RTOL = 1e-5


class BoundKind(StrEnum):
    MIN = "min"
    MAX = "max"
    LOCKED = "locked"


def _mean_hdi(draws: np.ndarray) -> dict[str, Any]:
    """``{"mean", "hdi_90"}`` of 1-d draws: the plan's one statistic (the posterior mean) and
    its interval; the median :func:`~mixflow.analysis.stats.stat` also gives is left out."""
    out = stat(draws)
    return {"mean": out["mean"], "hdi_90": out["hdi_90"]}


@dataclass(frozen=True)
class OutcomeStats:
    """Posterior summaries (``{mean, hdi_90}``) of one plan's outcomes, carryover tail
    included: incremental KPI, incremental revenue (currency) and ROI (revenue / spend;
    ``None`` entries when the plan spends nothing)."""

    incremental_kpi: dict[str, Any]
    incremental_revenue: dict[str, Any]
    roi: dict[str, Any]

    @classmethod
    def from_draws(cls, kpi: np.ndarray, value: np.ndarray, spend: float) -> OutcomeStats:
        roi = _mean_hdi(value / spend) if spend > 0 else {"mean": None, "hdi_90": [None, None]}
        return cls(_mean_hdi(kpi), _mean_hdi(value), roi)

    def to_dict(self) -> dict[str, Any]:
        return {
            "incremental_kpi": self.incremental_kpi,
            "incremental_revenue": self.incremental_revenue,
            "roi": self.roi,
        }


@dataclass(frozen=True, eq=False)
class OptimizationResult:
    """An optimized allocation of total spend per channel over the horizon (currency).

    Attributes:
        problem: the problem solved.
        budget: the budget spent exactly (``MAX_KPI``/``MAX_REVENUE``) or the cap on spend.
        allocation, current_allocation: ``{channel: total}`` optimized and current plans.
        allocation_by_period: ``{channel: (H,) national weekly spend}`` when the weekly
            pattern is not flat, else ``None``.
        expected, current_expected: outcome summaries of both plans over the same draws.
        marginal_roi: ``{channel: d incremental value / d spend}`` at the optimum (posterior
            mean), carryover tail included.
        at_bounds: channels sitting at a bound: ``min``, ``max`` or ``locked``.
        prob_beats_current: share of draws where the optimized plan beats the current one on
            the per-draw objective (KPI, revenue or profit; ROI for the target objectives).
        objective_value, current_objective_value: the risk-adjusted objective of both plans.
        plan, current_plan: both as :class:`~mixflow.simulate.Plan` ``(G, H, C)``.
    """

    problem: BudgetProblem
    budget: float
    allocation: dict[str, float]
    current_allocation: dict[str, float]
    allocation_by_period: dict[str, tuple[float, ...]] | None
    expected: OutcomeStats
    current_expected: OutcomeStats
    marginal_roi: dict[str, float]
    at_bounds: dict[str, BoundKind]
    prob_beats_current: float
    objective_value: float
    current_objective_value: float
    plan: Plan
    current_plan: Plan
    #: R&F channels: ``{channel: {optimal: {mean, hdi_90}, planned, historical}}`` (a
    #: ``median`` there is dropped by :class:`~mixflow.optimize.schema.PlanInterval`)
    #: (mixflow.optimize.rf); ``None`` without R&F channels
    frequency: dict[str, dict[str, Any]] | None = None
    #: moves of budget into weakly identified channels (mixflow.optimize.identification,
    #: :class:`~mixflow.optimize.schema.WeakMove` entries); ``None`` when none is judged
    weak_moves: list[dict[str, Any]] | None = None

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(self.allocation)

    @property
    def total_spend(self) -> float:
        return float(sum(self.allocation.values()))

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``mixflow optimize`` (finite floats, no NaN), checked by
        :class:`~mixflow.optimize.schema.PlanDocument`: what is written is what was built."""
        return PlanDocument.model_validate(self._document()).to_json_dict()

    def _document(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "budget": self.budget,
            "horizon_weeks": self.problem.horizon,
            "total_spend": self.total_spend,
            "allocation": dict(self.allocation),
            "current_allocation": dict(self.current_allocation),
            "expected": self.expected.to_dict(),
            "current_expected": self.current_expected.to_dict(),
            "marginal_roi": dict(self.marginal_roi),
            "at_bounds": {ch: k.value for ch, k in self.at_bounds.items()},
            "prob_beats_current": self.prob_beats_current,
            "objective": self.problem.objective.value,
            "risk": str(self.problem.risk),
            "objective_value": self.objective_value,
            "current_objective_value": self.current_objective_value,
        }
        if self.frequency:
            out["frequency"] = self.frequency
        if self.weak_moves:
            out["weakly_identified_moves"] = self.weak_moves
        if self.allocation_by_period is not None:
            out["allocation_by_period"] = {
                ch: list(v) for ch, v in self.allocation_by_period.items()
            }
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per channel: current and optimized totals, change, share, marginal ROI and
        the bound the channel sits at (empty when none)."""
        cur = np.array([self.current_allocation[ch] for ch in self.channels])
        opt = np.array([self.allocation[ch] for ch in self.channels])
        total = opt.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(cur > 0, opt / cur - 1.0, np.nan)
        return pd.DataFrame(
            {
                "channel": list(self.channels),
                "current": cur,
                "optimized": opt,
                "change": opt - cur,
                "change_pct": pct,
                "share": opt / total if total > 0 else np.zeros_like(opt),
                "marginal_roi": [self.marginal_roi[ch] for ch in self.channels],
                "at_bound": [
                    self.at_bounds[ch].value if ch in self.at_bounds else "" for ch in self.channels
                ],
            }
        )


def build_result(
    *,
    problem: BudgetProblem,
    fs: FeasibleSet,
    allocation: np.ndarray,
    current: np.ndarray,
    kpi: np.ndarray,
    value: np.ndarray,
    marginal_roi: np.ndarray,
    objective_value: float,
    current_objective_value: float,
    start_date: np.datetime64,
    geos: tuple[str, ...],
) -> OptimizationResult:
    """Assemble the result from ``(2, S)`` draws of KPI and value (optimized, current)."""
    chans = fs.channels
    tot, cur_tot = float(allocation.sum()), float(current.sum())
    per_draw = _per_draw_objective(problem.objective, kpi, value, np.array([tot, cur_tot]))
    by_period = None
    if problem.pattern is not SpendPattern.FLAT:
        weekly = allocation[None, :] * fs.pattern  # (H, C)
        by_period = {ch: tuple(float(v) for v in weekly[:, i]) for i, ch in enumerate(chans)}
    return OptimizationResult(
        problem=problem,
        budget=fs.total,
        allocation=_named(allocation, chans),
        current_allocation=_named(current, chans),
        allocation_by_period=by_period,
        expected=OutcomeStats.from_draws(kpi[0], value[0], tot),
        current_expected=OutcomeStats.from_draws(kpi[1], value[1], cur_tot),
        marginal_roi=_named(marginal_roi, chans),
        at_bounds=_at_bounds(fs, allocation),
        prob_beats_current=float(np.mean(per_draw[0] > per_draw[1])),
        objective_value=float(objective_value),
        current_objective_value=float(current_objective_value),
        plan=Plan(fs.spend(allocation), chans, geos, start_date, name="optimized"),
        current_plan=Plan(fs.spend(current), chans, geos, start_date, name="current"),
    )


def objective_quantity(
    problem: BudgetProblem, kpi: np.ndarray, value: np.ndarray, total: np.ndarray
) -> np.ndarray:
    """``(N,)`` risk-adjusted objective for ``(N, S)`` draws of KPI and value and ``(N,)``
    totals: the goal of the budget objectives, risk-adjusted KPI for ``MIN_SPEND_FOR_KPI``,
    risk-adjusted ROI for ``MAX_BUDGET_AT_ROI``."""
    obj, risk = problem.objective, problem.risk
    if obj in (Objective.MAX_KPI, Objective.MIN_SPEND_FOR_KPI):
        return risk.apply(kpi)
    if obj is Objective.MAX_REVENUE:
        return risk.apply(value)
    if obj is Objective.MAX_PROFIT:
        return risk.apply(value - total[:, None])
    return risk.apply(value) / np.maximum(total, 1e-300)


def _per_draw_objective(
    objective: Objective, kpi: np.ndarray, value: np.ndarray, total: np.ndarray
) -> np.ndarray:
    if objective is Objective.MAX_KPI:
        return kpi
    if objective is Objective.MAX_REVENUE:
        return value
    if objective is Objective.MAX_PROFIT:
        return value - total[:, None]
    return value / np.maximum(total, 1e-300)[:, None]


def _at_bounds(fs: FeasibleSet, x: np.ndarray) -> dict[str, BoundKind]:
    lo, hi = fs.effective_bounds(x)
    tol = AT_BOUND_RTOL * fs.scale
    out: dict[str, BoundKind] = {}
    for i, ch in enumerate(fs.channels):
        if fs.locked[i]:
            out[ch] = BoundKind.LOCKED
        elif x[i] <= lo[i] + tol:
            out[ch] = BoundKind.MIN
        elif x[i] >= hi[i] - tol:
            out[ch] = BoundKind.MAX
    return out


def _named(values: np.ndarray, channels: tuple[str, ...]) -> dict[str, float]:
    return {ch: float(v) for ch, v in zip(channels, values, strict=True)}


__all__ = [
    "BoundKind",
    "OptimizationResult",
    "OutcomeStats",
    "build_result",
    "objective_quantity",
]
