"""Typed documents the portfolio commands write: ``portfolio.json`` (what ``portfolio fit``
did per model) and ``portfolio_plan.json`` (the joint budget split). Both are validated as they
are written and as they are read; :func:`plan_json_schema` is the plan's JSON Schema."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelState(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ModelRecord(_Doc):
    """One model's line in ``portfolio.json``.

    ``wall_seconds`` is the fit task's time on its worker (load, fit, analyse, write, register);
    ``peak_rss_mib`` is the worker process's high-water mark (a reused worker carries its
    earlier tasks' peak); ``resumed`` marks a model skipped because the same config and data already succeeded.
    ``roi``: each channel's posterior mean ROI (currency per currency), the statistic every
    output reports."""

    state: ModelState
    error: str | None = None
    run_dir: str | None = None
    registered_version: int | None = None
    gates_passed: bool | None = None
    wall_seconds: float | None = None
    rhat_max: float | None = None
    ess_bulk_min: float | None = None
    roi: dict[str, float] = Field(default_factory=dict)
    kpi_type: str | None = None
    value_per_kpi: float | None = None
    config_fingerprint: str
    data_fingerprint: str | None = None
    node: str | None = None
    #: the worker process's peak resident memory (MiB) by the end of this fit
    peak_rss_mib: float | None = None
    resumed: bool = False


class PortfolioRecord(_Doc):
    """``portfolio.json``: the portfolio's models after the latest ``portfolio fit``."""

    portfolio: str
    file: str
    models: dict[str, ModelRecord]
    succeeded: int
    failed: int


class Interval(_Doc):
    """A posterior summary: mean and the 90% highest-density interval."""

    mean: float
    hdi_90: tuple[float, float]


class Expected(_Doc):
    """Expected incremental revenue (currency, carryover tail included) and ROI of a plan."""

    incremental_revenue: Interval
    roi: Interval | None


class ModelPlan(_Doc):
    """One model's part of the joint plan (totals over the horizon, currency)."""

    budget: float
    current_budget: float
    allocation: dict[str, float]
    current_allocation: dict[str, float]
    marginal_roi: dict[str, float]
    expected: Expected
    current_expected: Expected
    value_per_kpi: float | None = None


class PortfolioPlan(_Doc):
    """``portfolio_plan.json``: one budget split jointly over every model's channels."""

    total_budget: float
    horizon_weeks: int
    objective: str
    relative_bounds: tuple[float, float] | None
    model_bounds: dict[str, tuple[float, float | None]]
    models: dict[str, ModelPlan]
    expected: Expected
    current_expected: Expected
    probability_beats_current: float
    n_draws: int

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def portfolio_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``portfolio.json`` (``mixflow portfolio fit``)."""
    return PortfolioRecord.model_json_schema()


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``portfolio_plan.json``."""
    return PortfolioPlan.model_json_schema()


__all__ = [
    "Expected",
    "Interval",
    "ModelPlan",
    "ModelRecord",
    "ModelState",
    "PortfolioPlan",
    "PortfolioRecord",
    "plan_json_schema",
    "portfolio_json_schema",
]
