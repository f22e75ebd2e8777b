"""The typed ``plan.json`` that ``mixflow optimize`` writes: frozen pydantic models of
:meth:`~mixflow.optimize.result.OptimizationResult.to_dict`'s document, and its JSON Schema."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from mixflow.optimize.problem import Objective


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlanInterval(_Frozen):
    """Posterior mean (the one statistic every output reports,
    :data:`~mixflow.analysis.schema.POINT_STATISTIC`) and 90% HDI ``[low, high]``; ``None``
    entries for the ROI of a plan that spends nothing. Plan files written before carried a
    ``median`` too: it is dropped on reading."""

    mean: float | None
    hdi_90: tuple[float | None, float | None]

    @model_validator(mode="before")
    @classmethod
    def _drop_median(cls, data: Any) -> Any:
        if isinstance(data, dict) and "median" in data:
            return {k: v for k, v in data.items() if k != "median"}
        return data


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


class WeakMove(_Frozen):
    """Budget the plan moves into a weakly identified channel (posterior/prior log-sd of its ROI
    at least :data:`~mixflow.analysis.schema.WEAK_IDENTIFICATION_SD_RATIO`, the one standard of
    the fit output, the report and the gates): the data left that channel's ROI close to its
    prior, so the move rests on the prior more than on the data.

    ``spend_moved``: optimized minus current spend of the channel over the horizon (currency,
    > 0). ``incremental_revenue``: what that extra spend returns (posterior mean and 90% HDI,
    carryover tail included; currency, or KPI units when the KPI has no revenue per unit).
    ``prob_loses_money``: share of posterior draws in which it returns less than it costs,
    P(incremental revenue < spend moved); ``None`` when the value is not currency.
    ``sd_ratio``: the channel's posterior/prior log-sd ratio."""

    channel: str
    spend_moved: float
    incremental_revenue: PlanInterval
    prob_loses_money: float | None
    sd_ratio: float


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
    #: channels the plan moves budget into although their ROI is weakly identified
    #: (mixflow.optimize.identification); only when there are some
    weakly_identified_moves: list[WeakMove] | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON object written to ``plan.json`` (``allocation_by_period`` only when set)."""
        return self.model_dump(mode="json", exclude_unset=True)


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``plan.json`` (validation mode)."""
    return PlanDocument.model_json_schema()


__all__ = [
    "PlanDocument",
    "PlanFrequency",
    "PlanInterval",
    "PlanOutcomes",
    "WeakMove",
    "plan_json_schema",
]
