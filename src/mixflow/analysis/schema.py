"""The typed, versioned run summary (``summary.json``): what :func:`analyze` computes, as frozen
pydantic models, and its JSON Schema. Every writer dumps a :class:`RunSummary`
(:meth:`RunSummary.to_json`), every reader gets one (:func:`parse_summary`,
:func:`load_summary`) and reads attributes. Run folders written before this model (schema
version 1, the same shape) load unchanged; a later version upgrades older documents in
:func:`_upgrade`, the one place that knows the old shapes.

This module imports only pydantic (no NumPy or JAX), so the CLI and the report can read a
summary without the numeric stack."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mixflow.errors import RunDirError

#: newest summary schema this code writes and reads (the one schema-version constant)
SUMMARY_SCHEMA_VERSION: Final = 3
#: the file name of the summary in a run folder
SUMMARY_FILE: Final = "summary.json"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


#: the statistic every output reports for a posterior quantity (console, report, plans, API):
#: the posterior mean, because means add up (channel contributions plus baseline give the
#: fitted KPI; ROI is total value over total spend), medians do not. ``median`` is kept in
#: ``summary.json`` for readers that want it, but nothing mixflow prints uses it
POINT_STATISTIC: Final = "mean"

#: a channel's ROI is weakly identified when its posterior log-sd is at least this share of its
#: prior's: the data left over a quarter of the prior's variance (with the default prior, log-sd
#: 1, a 90% interval still spanning a factor of 5 or more). Always-on channels of simulated
#: brands land at 0.7-0.8 with intervals 10-30x wide; flighted ones at 0.1-0.4. The one
#: identification standard: the fit output, the report and the ``prior_shift`` gate all use
#: :func:`is_weakly_identified` and :func:`identification_text`
WEAK_IDENTIFICATION_SD_RATIO: Final = 0.5

#: holdout R² below which a fit is "poor out of sample" (the fit verdict, the report's status box
#: and the default ``holdout_r2`` gate): below 0 the model predicts the held-out weeks worse
#: than their own average does
HOLDOUT_R2_MIN: Final = 0.0
#: fewest held-out periods for judging the holdout R²: over fewer, the held-out weeks' own mean
#: is the baseline and their spread is small, so R² swings far below 0 on fits whose holdout
#: MAPE is a few percent (a 4-week holdout at MAPE 3.7% gave R² -1.46)
HOLDOUT_R2_MIN_WEEKS: Final = 8

#: methods whose result is one point of the posterior (no intervals, no probabilities)
POINT_ESTIMATE_METHODS: Final = frozenset({"map"})


def is_weakly_identified(
    sd_ratio: float | None, threshold: float = WEAK_IDENTIFICATION_SD_RATIO
) -> bool:
    """Whether a posterior/prior log-sd ratio marks the ROI as weakly identified (``None``,
    e.g. a MAP fit, is never judged)."""
    return sd_ratio is not None and sd_ratio >= threshold


def identification_text(
    channel: str, sd_ratio: float, threshold: float = WEAK_IDENTIFICATION_SD_RATIO
) -> str:
    """The one wording of a weakly identified channel (fit output, report, gate)."""
    return (
        f"{channel}: weakly identified, the data left its ROI close to the prior "
        f"(posterior/prior log-sd {sd_ratio:.2f} >= {threshold:g})"
    )


class Interval(_Frozen):
    """Posterior mean, median and 90% HDI ``[low, high]`` of one quantity (every output shows
    the mean, :data:`POINT_STATISTIC`)."""

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


class FrequencySummary(_Frozen):
    """A reach and frequency channel's frequency: the one that makes the most of a budget
    (maximizes ``hill(f) / f`` between 1 and the highest frequency in the data, per draw) and
    the reach-weighted mean frequency of the data (what ROI and response curves assume)."""

    optimal: Interval
    historical: float
    #: the search range ``[low, high]``
    search_range: tuple[float, float]
    #: the frequency curve's parameters (half-effect frequency ``ec`` and ``slope``)
    ec: Interval
    slope: Interval


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
    #: reach and frequency channels only (mixflow.analysis.rf)
    frequency: FrequencySummary | None = None


class OrganicSummary(_Frozen):
    """An organic channel (exposure without spend): its contribution, no ROI."""

    #: in value units (revenue, or KPI units for a KPI without a value), carryover included
    contribution: Interval
    contribution_kpi: Interval
    #: of the fitted KPI over the data window
    contribution_share: Interval


class TreatmentSummary(_Frozen):
    """A non-media treatment: its effect relative to ``baseline`` over the data window."""

    baseline: float
    contribution: Interval
    contribution_kpi: Interval
    contribution_share: Interval


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
    #: geo models: what each geo's saturation is measured against (``model.geo_saturation``:
    #: ``relative``, each geo's own mean exposure; ``pooled``, the panel's); ``None`` for a
    #: national model, which has one market (schema version 3)
    geo_saturation: Literal["pooled", "relative"] | None = None
    #: whether one multiplier of every paid channel's effect drifts over time
    #: (``model.time_varying_media``; ``contributions.csv`` holds it per period)
    time_varying_media: bool = False


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
    #: share of observations (geo x period) inside the central 90% posterior predictive
    #: interval, fitted periods and holdout periods; ``None`` for a point estimate (MAP) or an
    #: older run. Near 0.9 the predictive spread is honest; well below, overconfident
    coverage_90: float | None = None
    holdout_coverage_90: float | None = None


class FitVerdict(_Frozen):
    """Whether the fit quality allows reading the results: ``ok`` False with the reasons when
    the holdout fit is poor (R² below the threshold) or the predictive coverage is far off."""

    ok: bool
    reasons: list[str] = Field(default_factory=list)


#: a 90% predictive interval covering less than this share of the observations is overconfident
COVERAGE_90_MIN: Final = 0.7


def holdout_r2_judged(fit: FitSummary, min_weeks: int = HOLDOUT_R2_MIN_WEEKS) -> bool:
    """Whether the holdout is long enough (and has an R²) for its R² to be judged."""
    return fit.holdout_weeks >= max(min_weeks, 1) and fit.holdout_r2 is not None


def fit_verdict(
    fit: FitSummary,
    holdout_r2_min: float = HOLDOUT_R2_MIN,
    holdout_r2_min_weeks: int = HOLDOUT_R2_MIN_WEEKS,
) -> FitVerdict:
    """The fit-quality part of a run's status (the console, the report and the gates agree)."""
    reasons = []
    if (
        holdout_r2_judged(fit, holdout_r2_min_weeks)
        and fit.holdout_r2 is not None
        and fit.holdout_r2 < holdout_r2_min
    ):
        reasons.append(
            f"holdout R² {fit.holdout_r2:.3f} < {holdout_r2_min:g} over {fit.holdout_weeks} "
            "held-out periods: the model predicts them worse than their own average"
            if holdout_r2_min == 0
            else f"holdout R² {fit.holdout_r2:.3f} < {holdout_r2_min:g} over "
            f"{fit.holdout_weeks} held-out periods"
        )
    for label, value in (
        ("in-sample", fit.coverage_90),
        ("holdout", fit.holdout_coverage_90 if fit.holdout_weeks else None),
    ):
        if value is not None and value < COVERAGE_90_MIN:
            reasons.append(
                f"{label} 90% predictive interval covers only {value:.0%} of observations "
                f"(< {COVERAGE_90_MIN:.0%}): the model is overconfident"
            )
    return FitVerdict(ok=not reasons, reasons=reasons)


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
    #: organic channels and treatments (schema version 2; empty when the model has none)
    organic: dict[str, OrganicSummary] = Field(default_factory=dict)
    treatments: dict[str, TreatmentSummary] = Field(default_factory=dict)

    @property
    def point_estimate(self) -> bool:
        """True for a MAP fit: one point of the posterior, no intervals or probabilities."""
        return self.method in POINT_ESTIMATE_METHODS

    def weakly_identified(self) -> list[str]:
        """The channels whose ROI the data left close to its prior (:func:`is_weakly_identified`
        of ``roi_prior.sd_ratio``, the one standard)."""
        return [
            ch
            for ch, v in self.channels.items()
            if v.roi_prior and is_weakly_identified(v.roi_prior.sd_ratio)
        ]

    def to_json(self) -> dict[str, Any]:
        """The JSON object ``summary.json`` holds (what every writer dumps)."""
        return self.model_dump(mode="json")

    def updated(self, changes: Mapping[str, Any]) -> RunSummary:
        """A validated copy with ``changes`` merged into its JSON form: a mapping merges into
        the section it names (``{"fit": {"holdout_mape": 0.3}}`` keeps the other fit fields),
        any other value replaces the field. (pydantic's ``model_copy(update=...)`` neither
        merges nor validates.)"""
        return RunSummary.model_validate(_merged(self.to_json(), changes))


def _merged(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        old = out.get(key)
        if isinstance(value, Mapping) and isinstance(old, dict):
            out[key] = _merged(old, value)
        else:
            out[key] = value
    return out


def _with_geo_saturation(obj: dict[str, Any]) -> dict[str, Any]:
    """A version-2 summary with ``model.geo_saturation``: ``pooled`` for a geo run, ``None``
    for a national one (a damaged section is left for validation to name)."""
    model, data = obj.get("model"), obj.get("data")
    if not isinstance(model, dict):
        return obj
    n_geos = data.get("n_geos", 1) if isinstance(data, dict) else 1
    geo = isinstance(n_geos, int) and n_geos > 1
    return {**obj, "model": {**model, "geo_saturation": "pooled" if geo else None}}


#: ``{version: step}``: each step turns a decoded summary of ``version`` into one of
#: ``version + 1``. A change of shape adds its step here
_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    # 2 added ``organic`` and ``treatments``: a version-1 run had neither
    1: lambda obj: {**obj, "organic": {}, "treatments": {}},
    # 3 added ``model.geo_saturation``: a version-2 geo run was fitted ``pooled`` (the default
    # then; mixflow.spec.config.SAVED_CONFIG_DEFAULTS reads its config.json the same way)
    2: _with_geo_saturation,
}


def _upgrade(obj: dict[str, Any], source: str) -> dict[str, Any]:
    """``obj`` brought to :data:`SUMMARY_SCHEMA_VERSION` (a summary without ``schema_version``
    is version 1); a newer or unknown version is refused."""
    version = obj.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise RunDirError(f"{source}: schema_version must be a whole number >= 1 (got {version!r})")
    if version > SUMMARY_SCHEMA_VERSION:
        raise RunDirError(
            f"{source} has schema_version {version}; this mixflow reads versions up to "
            f"{SUMMARY_SCHEMA_VERSION} (written by mixflow {obj.get('mixflow_version')!r})"
        )
    while version < SUMMARY_SCHEMA_VERSION:
        obj = {**_UPGRADES[version](obj), "schema_version": version + 1}
        version += 1
    return obj


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _message(err: ValidationError, source: str) -> str:
    """One line naming the first wrong field of ``err``, its value and what was expected."""
    first = err.errors()[0]
    path = _field_path(first["loc"])
    if first["type"] == "missing":
        return f"{source} lacks required key {path!r}"
    value = first.get("input")
    if first["type"] == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(first.get("ctx", {}).get("expected", "")))
        return f"{source}: key {path!r} is {value!r:.60}; allowed values: {', '.join(allowed)}"
    return f"{source}: field {path}: {first['msg']} (got {value!r:.60})"


def parse_summary(data: str | bytes | dict[str, Any], source: str = "summary.json") -> RunSummary:
    """A :class:`RunSummary` from JSON text or a decoded object; :class:`RunDirError` names the
    first wrong field, its value and what was expected, or a too-new ``schema_version``."""
    try:
        obj = json.loads(data) if isinstance(data, str | bytes) else data
    except json.JSONDecodeError as err:
        raise RunDirError(f"{source} is not readable JSON: {err}") from None
    if not isinstance(obj, dict):
        raise RunDirError(f"{source} must hold a JSON object, got {type(obj).__name__}")
    try:
        return RunSummary.model_validate(_upgrade(obj, source))
    except ValidationError as err:
        raise RunDirError(_message(err, source)) from None


def load_summary(path: Path) -> RunSummary:
    """The :class:`RunSummary` in the file ``path`` (a run folder's ``summary.json``);
    :class:`RunDirError` names a missing or unreadable file and the first wrong field."""
    path = Path(path)
    if not path.is_file():
        raise RunDirError(f"run directory lacks {path.name} (looked for {str(path)!r})")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RunDirError(f"{path.name} is not readable JSON: {exc}") from None
    return parse_summary(text, path.name)


def summary_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``summary.json`` (validation mode)."""
    return RunSummary.model_json_schema()


__all__ = [
    "COVERAGE_90_MIN",
    "HOLDOUT_R2_MIN",
    "HOLDOUT_R2_MIN_WEEKS",
    "POINT_ESTIMATE_METHODS",
    "POINT_STATISTIC",
    "SUMMARY_FILE",
    "SUMMARY_SCHEMA_VERSION",
    "WEAK_IDENTIFICATION_SD_RATIO",
    "BaselineSummary",
    "ChannelSummary",
    "DataSummary",
    "DiagnosticsSummary",
    "FitSummary",
    "FitVerdict",
    "FrequencySummary",
    "Interval",
    "ModelSummary",
    "OrganicSummary",
    "RoiPrior",
    "RunSummary",
    "TreatmentSummary",
    "fit_verdict",
    "holdout_r2_judged",
    "identification_text",
    "is_weakly_identified",
    "load_summary",
    "parse_summary",
    "summary_json_schema",
]
