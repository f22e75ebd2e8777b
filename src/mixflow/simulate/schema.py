"""The typed ``simulation.json`` that ``mixflow simulate`` writes: frozen pydantic models of
:func:`~mixflow.simulate.summary.summarize`'s document (plus the command's ``controls`` note),
and its JSON Schema. Money is in the data's currency, KPI figures in KPI units, every total over
the plan's horizon (``*_with_tail``: the carryover after the horizon included)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from mixflow.analysis.schema import Interval


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SimulatedChannel(_Frozen):
    """One channel of the plan: its spend and what it adds over the horizon and the tail."""

    spend: float
    incremental_kpi_with_tail: Interval
    incremental_revenue_with_tail: Interval


class SimulatedPeriod(_Frozen):
    """One period of the horizon (``period`` counts from 1, ``date`` its ISO start date): the
    KPI's mean and 90% HDI, and the mean split into ``baseline_mean`` (no media),
    ``carryover_in_mean`` (spend before the horizon) and ``incremental_mean`` per channel (the
    plan's spend); the split adds up to ``kpi_mean``. The split and the date are absent from
    files written before they were added."""

    period: int
    date: str | None = None
    kpi_mean: float
    kpi_hdi_90: tuple[float, float]
    baseline_mean: float | None = None
    carryover_in_mean: float | None = None
    incremental_mean: dict[str, float] | None = None


class SimulationDocument(_Frozen):
    """Everything ``simulation.json`` holds: the plan's spend and, over every posterior draw,
    its KPI and revenue, the media's increment, profit and ROI (mean, median, 90% HDI).
    ``roi_with_tail`` is ``None`` for a plan that spends nothing, ``cpa_with_tail`` unless the
    KPI is conversions; ``controls`` says where the control variables came from (``None`` in a
    summary made outside the command)."""

    name: str
    horizon_weeks: int
    #: first period of the horizon (ISO date)
    start: str
    spend: float
    spend_by_channel: dict[str, float]
    kpi_total: Interval
    revenue_total: Interval
    incremental_kpi: Interval
    incremental_kpi_with_tail: Interval
    incremental_revenue: Interval
    incremental_revenue_with_tail: Interval
    carryover_in_kpi: Interval
    profit_with_tail: Interval
    roi_with_tail: Interval | None
    cpa_with_tail: Interval | None
    per_channel: dict[str, SimulatedChannel]
    per_period: list[SimulatedPeriod]
    controls: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON object written to ``simulation.json`` (``controls`` only when set)."""
        return self.model_dump(mode="json", exclude_unset=True)


def simulation_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``simulation.json`` (validation mode)."""
    return SimulationDocument.model_json_schema()


__all__ = ["SimulatedChannel", "SimulatedPeriod", "SimulationDocument", "simulation_json_schema"]
