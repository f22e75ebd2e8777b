"""``monitor.json``: the monitor's result as a typed, frozen document (its JSON Schema is
``mixflow schema monitor`` and ``docs/schemas/monitor.json``).

The measured false-alarm rates every check states come from ``bench/monitor_far.py`` (see
:data:`MEASURED_RATES`); they hold at the default policy.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import AllowInfNan, BaseModel, ConfigDict, StrictFloat, StrictInt, model_validator

from mixflow.schema_errors import CheckedModel

StrictFiniteFloat = Annotated[StrictFloat | StrictInt, AllowInfNan(False)]

#: version of the monitor.json layout
MONITOR_SCHEMA_VERSION = 2


class MonitorStatus(StrEnum):
    """Overall verdict; ``exit_code`` is what ``mixflow monitor`` exits with."""

    ok = "ok"
    warn = "warn"
    alert = "alert"

    @property
    def exit_code(self) -> int:
        return {"ok": 0, "warn": 1, "alert": 3}[self.value]

    @property
    def rank(self) -> int:
        return {"ok": 0, "warn": 1, "alert": 2}[self.value]


class CheckName(StrEnum):
    """What a finding is about. ``bias``, ``cusum`` and ``coverage`` judge the model against
    the actual KPI; ``spend_range`` says the spend left what the model saw (a decision, not a
    fault: it only ever warns, and it is counted apart)."""

    bias = "bias"
    cusum = "cusum"
    coverage = "coverage"
    spend_range = "spend_range"


class MonitorPolicy(CheckedModel):
    """Thresholds of the monitor (defaults in brackets).

    Attributes:
        interval: central predictive interval drawn and checked for coverage [0.9].
        warn_alpha: the share of windows from the same process the monitor may warn on if
            the model is right; each of the three model checks warns when its predictive
            p-value is below a third of it [0.10: warnings are the cheap tier; at 0.05 the
            study flagged 89% of windows where the largest channel had stopped, at 0.10 91%].
        alert_alpha: the same for alerts [0.01].
        cusum_k: CUSUM allowance (reference value) in predictive sds [0.5].
        spend_range_margin: weekly spend on a channel more than this fraction above the
            training maximum (or below the minimum) warns that spend left the range the model
            saw [0.1].
    """

    schema_source: ClassVar[str] = "monitor policy"

    interval: StrictFiniteFloat = 0.9
    warn_alpha: StrictFiniteFloat = 0.1
    alert_alpha: StrictFiniteFloat = 0.01
    cusum_k: StrictFiniteFloat = 0.5
    spend_range_margin: StrictFiniteFloat = 0.1

    @model_validator(mode="after")
    def _check(self) -> MonitorPolicy:
        if not 0.0 < self.interval < 1.0:
            raise ValueError(f"interval is {self.interval}; expected 0 < x < 1")
        if not 0.0 < self.alert_alpha <= self.warn_alpha < 1.0:
            raise ValueError(
                f"alert_alpha {self.alert_alpha} and warn_alpha {self.warn_alpha} must "
                f"satisfy 0 < alert <= warn < 1"
            )
        if self.cusum_k < 0:
            raise ValueError(f"cusum_k must be >= 0, got {self.cusum_k}")
        if self.spend_range_margin < 0:
            raise ValueError(f"spend_range_margin must be >= 0, got {self.spend_range_margin}")
        return self


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Finding(_Doc):
    """One reason behind the status (``channel`` for spend findings)."""

    status: MonitorStatus
    check: CheckName
    message: str
    channel: str | None = None


class MeasuredRate(_Doc):
    """A check's share of same-process windows that warned / alerted in the bench study."""

    warn: float
    alert: float


class CheckResult(_Doc):
    """One predictive check: its statistic on the actual weeks, its predictive p-value, the
    statistic's thresholds for a warning and an alert, and the false-alarm rate measured for it
    (``None`` when the policy is not the default one the bench measured)."""

    name: CheckName
    status: MonitorStatus
    statistic: float
    p_value: float
    warn_threshold: float
    alert_threshold: float
    description: str
    measured_false_alarm: MeasuredRate | None = None
    #: the first week a CUSUM path crossed the alert threshold (cusum only)
    crossed_week: str | None = None


class ChannelSpend(_Doc):
    """Weekly spend on a channel (summed over geos, currency), new weeks against training."""

    channel: str
    train_min: float
    train_max: float
    new_min: float
    new_max: float
    weeks_above: int
    weeks_below: int
    #: new spend over the training spend of the same weeks of the year (informational)
    vs_same_weeks: float | None = None


class Week(_Doc):
    """One monitored week, KPI summed over geos: actual, predictive mean and central
    interval, the residual in predictive sds, and the two CUSUM paths."""

    date: str
    actual: float
    predicted: float
    lower: float
    upper: float
    z: float
    cusum_upper: float
    cusum_lower: float


class Metrics(_Doc):
    """Summary figures of the window (fractions, not percent)."""

    coverage: float
    interval: float
    mape: float | None
    training_mape: float | None
    bias: float | None
    residual_autocorrelation: float
    effective_weeks: float


class MonitorResult(_Doc):
    """What ``mixflow monitor`` prints with ``--json`` and writes as ``monitor.json``."""

    schema_version: int = MONITOR_SCHEMA_VERSION
    model: str = ""
    status: MonitorStatus
    findings: tuple[Finding, ...]
    checks: tuple[CheckResult, ...]
    spend: tuple[ChannelSpend, ...]
    metrics: Metrics
    weeks: tuple[Week, ...]
    policy: MonitorPolicy
    n_draws: int
    n_trajectories: int
    n_geos: int
    #: where the measured false-alarm rates come from
    rates_source: str

    @property
    def dates(self) -> tuple[str, ...]:
        return tuple(w.date for w in self.weeks)

    def series(self, name: str) -> np.ndarray:
        """``(H,)`` one weekly column (``actual``, ``predicted``, ``lower``, ``upper``, ``z``,
        ``cusum_upper``, ``cusum_lower``)."""
        return np.array([getattr(w, name) for w in self.weeks], dtype=np.float64)

    def check(self, name: CheckName) -> CheckResult:
        return next(c for c in self.checks if c.name is name)

    @property
    def model_findings(self) -> tuple[Finding, ...]:
        """The findings about the model's fit (every check but ``spend_range``)."""
        return tuple(f for f in self.findings if f.check is not CheckName.spend_range)

    @property
    def model_status(self) -> MonitorStatus:
        """The status from the model checks alone (spend-range warnings left out)."""
        return _worst(f.status for f in self.model_findings)

    def metrics_for_tracking(self) -> dict[str, float]:
        """Flat numeric metrics (for MLflow): names prefixed ``monitor.``."""
        level = round(self.metrics.interval * 100)
        out = {
            f"monitor.coverage_{level}": self.metrics.coverage,
            "monitor.mape": self.metrics.mape,
            "monitor.bias": self.metrics.bias,
            "monitor.status_code": float(self.status.exit_code),
            "monitor.n_spend_out_of_range": float(
                sum(1 for f in self.findings if f.check is CheckName.spend_range)
            ),
        }
        out.update({f"monitor.p_value.{c.name.value}": c.p_value for c in self.checks})
        return {k: float(v) for k, v in out.items() if v is not None and np.isfinite(v)}


def _worst(statuses: Any) -> MonitorStatus:
    return max(statuses, key=lambda s: s.rank, default=MonitorStatus.ok)


def worst_status(findings: tuple[Finding, ...]) -> MonitorStatus:
    """The most severe status among ``findings`` (``ok`` when there are none)."""
    return _worst(f.status for f in findings)


def monitor_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``monitor.json`` (serialization mode: what is written)."""
    return MonitorResult.model_json_schema(mode="serialization")


__all__ = [
    "MONITOR_SCHEMA_VERSION",
    "ChannelSpend",
    "CheckName",
    "CheckResult",
    "Finding",
    "MeasuredRate",
    "Metrics",
    "MonitorPolicy",
    "MonitorResult",
    "MonitorStatus",
    "Week",
    "monitor_json_schema",
    "worst_status",
]
