"""The typed ``plan.json`` that ``mixflow optimize`` writes: frozen pydantic models of
:meth:`~mixflow.optimize.result.OptimizationResult.to_dict`'s document, and its JSON Schema."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from mixflow.optimize.problem import Objective


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlanInterval(_Frozen):
    """Posterior mean, median and 90% HDI ``[low, high]``; ``None`` entries for the ROI of a
    plan that spends nothing."""

    mean: float | None
    median: float | None
    hdi_90: tuple[float | None, float | None]


class PlanOutcomes(_Frozen):
    """One plan's outcomes over the horizon, carryover tail included."""

    incremental_kpi: PlanInterval
    incremental_revenue: PlanInterval
    roi: PlanInterval


class PlanFrequency(_Frozen):
    """A reach and frequency channel's frequency: the optimal one over the posterior draws
    (maximizing the media input per unit of spend), the one the plan buys, the historical one."""

    optimal: PlanInterval
    planned: float
    historical: float


class PlanDocument(_Frozen):
    """Everything ``plan.json`` holds: the optimized and the current allocation (currency per
    channel over the horizon), their expected outcomes and the optimizer's diagnostics."""

    budget: float
    horizon_weeks: int
    total_spend: float
    allocation: dict[str, float]
    current_allocation: dict[str, float]
    expected: PlanOutcomes
    current_expected: PlanOutcomes
    marginal_roi: dict[str, float]
    #: channels sitting at a bound
    at_bounds: dict[str, Literal["min", "max", "locked"]]
    prob_beats_current: float
    objective: Objective
    #: the risk measure, ``mean`` or ``KIND:LEVEL`` (e.g. ``cvar:0.1``)
    risk: str
    objective_value: float
    current_objective_value: float
    #: national weekly spend per channel, only when the weekly pattern is not flat
    allocation_by_period: dict[str, list[float]] | None = None
    #: reach and frequency channels only (mixflow.optimize.rf)
    frequency: dict[str, PlanFrequency] | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON object written to ``plan.json`` (``allocation_by_period`` only when set)."""
        return self.model_dump(mode="json", exclude_unset=True)


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``plan.json`` (validation mode)."""
    return PlanDocument.model_json_schema()


__all__ = ["PlanDocument", "PlanFrequency", "PlanInterval", "PlanOutcomes", "plan_json_schema"]
