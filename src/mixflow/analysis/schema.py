"""The typed, versioned run summary (``summary.json``): what :func:`analyze` computes, as frozen
pydantic models, and its JSON Schema. Run folders written before this model (schema version 1,
the same shape) load unchanged."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mixflow.errors import RunDirError

#: newest summary schema this code writes and reads
SUMMARY_SCHEMA_VERSION = 1


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Interval(_Frozen):
    """Posterior mean, median and 90% HDI ``[low, high]`` of one quantity."""

    mean: float
    median: float
    hdi_90: tuple[float, float]


class RoiPrior(_Frozen):
    """The channel's lognormal ROI prior and how far the data narrowed it."""

    median: float
    sigma: float
    #: posterior log-sd / prior log-sd; ``None`` for a MAP fit or non-ROI priors
    sd_ratio: float | None = None
    weakly_identified: bool = False


class ChannelSummary(_Frozen):
    spend: float
    spend_share: float
    roi: Interval
    mroi: Interval
    contribution: Interval
    contribution_kpi: Interval
    contribution_share: Interval
    #: cost per incremental conversion (conversion KPIs only)
    cpa: Interval | None = None
    roi_prior: RoiPrior | None = None
    roi_log_sd: float | None = None
    #: share of weeks with spend (``None`` in older runs)
    spend_weeks_share: float | None = None


class DataSummary(_Frozen):
    start: str
    end: str
    n_periods: int
    n_geos: int
    geos: list[str]
    channels: list[str]
    fingerprint: str


class ModelSummary(_Frozen):
    adstock: str
    saturation: str
    max_lag: int
    trend: str
    fourier_terms: int
    likelihood: str
    prior_parameterization: str


class DiagnosticsSummary(_Frozen):
    rhat_max: float | None = None
    ess_bulk_min: float | None = None
    ess_tail_min: float | None = None
    divergences: int = 0
    divergence_rate: float = 0.0
    steps_per_draw: float | None = None
    fit_seconds: float
    method: str
    chains: int
    draws: int
    worst_parameter: str | None = None
    flags: list[str] = Field(default_factory=list)
    ok: bool = True


class FitSummary(_Frozen):
    r2: float | None
    mape: float | None
    nrmse: float | None
    holdout_weeks: int = 0
    holdout_r2: float | None = None
    holdout_mape: float | None = None
    holdout_nrmse: float | None = None


class BaselineSummary(_Frozen):
    n_draws: int
    n_weeks: int
    prob_negative_any_week: float
    prob_negative_total: float
    #: ``[weeks, draws]`` pairs: ``draws`` draws have a negative baseline in ``weeks`` periods
    negative_weeks_histogram: list[tuple[int, int]]


class RunSummary(_Frozen):
    """Everything ``summary.json`` holds about one fit."""

    schema_version: int = SUMMARY_SCHEMA_VERSION
    mixflow_version: str
    name: str
    created_at: str
    kpi_type: Literal["revenue", "conversions"]
    value_unit: Literal["revenue", "kpi"]
    data: DataSummary
    model: ModelSummary
    method: Literal["nuts", "svi", "map"]
    channels: dict[str, ChannelSummary]
    diagnostics: DiagnosticsSummary
    fit: FitSummary
    #: baseline sign over draws (``None`` in older runs)
    baseline: BaselineSummary | None = None

    def weakly_identified(self) -> list[str]:
        """The channels whose ROI the data left close to its prior."""
        return [
            ch for ch, v in self.channels.items() if v.roi_prior and v.roi_prior.weakly_identified
        ]


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def parse_summary(data: str | bytes | dict[str, Any], source: str = "summary.json") -> RunSummary:
    """A :class:`RunSummary` from JSON text or a decoded object; :class:`RunDirError` names the
    first wrong field, its value and what was expected, or a too-new ``schema_version``."""
    try:
        obj = json.loads(data) if isinstance(data, str | bytes) else data
    except json.JSONDecodeError as err:
        raise RunDirError(f"{source} is not readable JSON: {err}") from None
    if not isinstance(obj, dict):
        raise RunDirError(f"{source} is not a JSON object")
    version = obj.get("schema_version", SUMMARY_SCHEMA_VERSION)
    if isinstance(version, int) and version > SUMMARY_SCHEMA_VERSION:
        raise RunDirError(
            f"{source}: schema_version {version} is newer than this mixflow reads "
            f"(up to {SUMMARY_SCHEMA_VERSION})"
        )
    try:
        return RunSummary.model_validate(obj)
    except ValidationError as err:
        first = err.errors()[0]
        value = first.get("input")
        shown = "" if first["type"] == "missing" else f" (got {value!r:.60})"
        raise RunDirError(
            f"{source}: field {_field_path(first['loc'])}: {first['msg']}{shown}"
        ) from None


def summary_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``summary.json`` (validation mode)."""
    return RunSummary.model_json_schema()


__all__ = [
    "SUMMARY_SCHEMA_VERSION",
    "BaselineSummary",
    "ChannelSummary",
    "DataSummary",
    "DiagnosticsSummary",
    "FitSummary",
    "Interval",
    "ModelSummary",
    "RoiPrior",
    "RunSummary",
    "parse_summary",
    "summary_json_schema",
]
