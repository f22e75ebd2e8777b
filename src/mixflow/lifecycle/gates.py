"""Governance gates: the checks a fitted model must pass before it may be promoted.

:func:`run_gates` is a pure function of a run's :class:`~mixflow.analysis.schema.RunSummary` and a
:class:`GatePolicy`.
A gate that does not apply to a fit (R-hat of a MAP/SVI fit, holdout MAPE without a holdout) is
reported as *not applicable*: it never blocks a promotion. A gate named in the policy's
``advisory`` list that fails is reported as a *warning* instead: shown on the model card and in
``mixflow models show``, but not blocking.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from statistics import NormalDist
from typing import Annotated, Any, ClassVar

from pydantic import AllowInfNan, Field, StrictFloat, StrictInt, StrictStr, model_validator

from mixflow.analysis.schema import (
    HOLDOUT_R2_MIN,
    HOLDOUT_R2_MIN_WEEKS,
    WEAK_IDENTIFICATION_SD_RATIO,
    BaselineSummary,
    RunSummary,
    holdout_r2_judged,
    identification_text,
    is_weakly_identified,
)
from mixflow.errors import did_you_mean
from mixflow.lifecycle.policy_files import read_mapping
from mixflow.schema_errors import CheckedModel, validate_mapping

#: a number (an integer is taken as a float; true/false, text, NaN and infinities are not)
StrictFiniteFloat = Annotated[StrictFloat, AllowInfNan(False)]
#: ``[low, high]`` ROI bounds
Bounds = tuple[StrictFiniteFloat, StrictFiniteFloat]

#: ROI bounds a channel's posterior mean ROI must lie in, unless the policy names the channel.
DEFAULT_ROI_BOUNDS: tuple[float, float] = (0.0, 50.0)
#: every gate, in the order :func:`run_gates` reports them
GATE_NAMES: tuple[str, ...] = (
    "point_estimate",
    "rhat",
    "ess_bulk",
    "divergences",
    "holdout_mape",
    "holdout_r2",
    "roi_bounds",
    "min_weeks",
    "baseline_negative",
    "spend_coverage",
    "prior_shift",
)


class GateStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    #: failed, but the policy lists the gate as advisory: it does not block
    WARNING = "warning"
    NOT_APPLICABLE = "not_applicable"


class GatePolicy(CheckedModel):
    """Thresholds of the governance gates.

    - ``rhat_max``: largest allowed R-hat over all parameters (NUTS with ≥2 chains only).
    - ``ess_bulk_min``: smallest allowed bulk effective sample size (NUTS only).
    - ``divergence_rate_max``: largest allowed share of divergent transitions (NUTS only).
    - ``point_estimate``: a gate, no threshold: a MAP fit (one point of the posterior, no
      intervals) fails it, so under the default policy a point estimate is never promoted
      (champion or challenger) without ``--override`` and a reason. A policy that lists it in
      ``advisory`` turns the failure into a warning on the model card and in
      ``mixflow models show``.
    - ``holdout_mape_max``: largest allowed MAPE on the holdout weeks (only with a holdout).
    - ``holdout_r2_min``: smallest allowed R² on the holdout weeks (only with a holdout);
      default 0: a model that predicts the held-out weeks worse than their own mean fails.
      Judged from ``holdout_r2_min_weeks`` (default 8) held-out periods: over fewer, R² is
      dominated by the few weeks' small spread.
    - ``default_roi_bounds``: ``(low, high)`` the posterior mean ROI of each channel must lie
      in (currency returned per currency spent); ``roi_bounds`` overrides it per channel.
    - ``min_weeks``: fewest periods (weeks) of data a model must be fitted on.
    - ``baseline_negative_prob_max``: largest allowed share of posterior draws whose baseline
      (KPI without media, geos summed) is negative in more than ``baseline_negative_weeks_max``
      of the weeks (a share; ``0`` means in any week).
    - ``spend_coverage_min``: smallest allowed share of weeks in which each channel spends.
    - ``prior_interval``, ``prior_sd_ratio_max``: a channel's ROI is flagged when its posterior
      mean lies outside the prior's central ``prior_interval`` (prior-data conflict), or when
      it is weakly identified: its posterior log-sd is at least ``prior_sd_ratio_max`` times
      the prior's (default 0.5, the same standard ``mixflow fit`` and the report use; not
      judged for MAP fits, which have no posterior spread).
    - ``advisory``: gates whose failure is a warning, not a block.
    """

    schema_source: ClassVar[str] = "gate policy"

    rhat_max: StrictFiniteFloat = 1.01
    ess_bulk_min: StrictFiniteFloat = 400.0
    divergence_rate_max: StrictFiniteFloat = 0.005
    holdout_mape_max: StrictFiniteFloat = 0.2
    holdout_r2_min: StrictFiniteFloat = HOLDOUT_R2_MIN
    holdout_r2_min_weeks: StrictInt = HOLDOUT_R2_MIN_WEEKS
    default_roi_bounds: Bounds = DEFAULT_ROI_BOUNDS
    roi_bounds: dict[str, Bounds] = Field(default_factory=dict)
    min_weeks: StrictInt = 52
    baseline_negative_prob_max: StrictFiniteFloat = 0.2
    baseline_negative_weeks_max: StrictFiniteFloat = 0.0
    spend_coverage_min: StrictFiniteFloat = 0.1
    prior_interval: StrictFiniteFloat = 0.95
    prior_sd_ratio_max: StrictFiniteFloat = WEAK_IDENTIFICATION_SD_RATIO
    advisory: tuple[StrictStr, ...] = ("prior_shift",)

    @model_validator(mode="after")
    def _check(self) -> GatePolicy:
        for name in ("rhat_max", "ess_bulk_min", "divergence_rate_max", "holdout_mape_max"):
            if getattr(self, name) < 0:
                raise ValueError(
                    f"{name} must be a finite number >= 0, got {getattr(self, name)!r}"
                )
        if self.rhat_max < 1.0:
            raise ValueError(f"rhat_max must be >= 1.0, got {self.rhat_max}")
        if self.holdout_r2_min_weeks < 1:
            raise ValueError(
                f"holdout_r2_min_weeks must be an integer >= 1, got {self.holdout_r2_min_weeks!r}"
            )
        if self.min_weeks < 0:
            raise ValueError(f"min_weeks must be an integer >= 0, got {self.min_weeks!r}")
        _check_bounds("default_roi_bounds", self.default_roi_bounds)
        for channel, bounds in self.roi_bounds.items():
            _check_bounds(f"roi_bounds.{channel}", bounds)
        for name in ("baseline_negative_prob_max", "baseline_negative_weeks_max"):
            _check_share(name, getattr(self, name))
        _check_share("spend_coverage_min", self.spend_coverage_min)
        if not 0.0 < self.prior_interval < 1.0:
            raise ValueError(
                f"prior_interval must be between 0 and 1 (exclusive), got {self.prior_interval!r}"
            )
        if not self.prior_sd_ratio_max > 0:
            raise ValueError(
                f"prior_sd_ratio_max must be a number > 0, got {self.prior_sd_ratio_max!r}"
            )
        for name in self.advisory:
            if name not in GATE_NAMES:
                raise ValueError(
                    f"advisory names unknown gate {name!r}"
                    f"{did_you_mean(str(name), GATE_NAMES)}; gates: {', '.join(GATE_NAMES)}"
                )
        return self

    def bounds_for(self, channel: str) -> tuple[float, float]:
        return self.roi_bounds.get(channel, self.default_roi_bounds)


def _check_share(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a share between 0 and 1, got {value!r}")


def _check_bounds(name: str, bounds: tuple[float, float]) -> None:
    if not bounds[0] <= bounds[1]:
        raise ValueError(f"{name} must be [low, high] with low <= high, got {list(bounds)!r}")


def policy_from_dict(data: Mapping[str, Any]) -> GatePolicy:
    """A policy from a mapping (e.g. parsed YAML) whose keys are :class:`GatePolicy` fields;
    unknown keys and wrong types raise :class:`SpecError`."""
    return validate_mapping(GatePolicy, data, "gate policy")


def load_policy(path: Path) -> GatePolicy:
    """Read a policy from a YAML file whose keys are :class:`GatePolicy` fields."""
    return policy_from_dict(read_mapping(path, "gate policy"))


@dataclass(frozen=True)
class GateResult:
    """One gate's outcome. ``passed`` is True for a gate that does not block: one that is not
    applicable (``applicable`` False) or an advisory gate that failed (``warning`` True)."""

    name: str
    passed: bool
    value: float | None
    threshold: float | list[float] | None
    detail: str
    applicable: bool = True
    warning: bool = False

    @property
    def status(self) -> GateStatus:
        if not self.applicable:
            return GateStatus.NOT_APPLICABLE
        if self.warning:
            return GateStatus.WARNING
        return GateStatus.PASSED if self.passed else GateStatus.FAILED

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "value": self.value,
            "threshold": self.threshold,
            "detail": self.detail,
            "applicable": self.applicable,
            "warning": self.warning,
            "status": self.status.value,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GateResult:
        return cls(
            name=str(d["name"]),
            passed=bool(d["passed"]),
            value=d.get("value"),
            threshold=d.get("threshold"),
            detail=str(d.get("detail", "")),
            applicable=bool(d.get("applicable", True)),
            warning=bool(d.get("warning", False)),
        )


def _not_applicable(name: str, threshold: float, why: str) -> GateResult:
    return GateResult(name, True, None, threshold, f"not applicable: {why}", applicable=False)


def _is_nuts(summary: RunSummary) -> bool:
    return summary.method == "nuts"


def _rhat_gate(summary: RunSummary, policy: GatePolicy) -> GateResult:
    value = summary.diagnostics.rhat_max
    if value is None:
        why = "needs NUTS with 2+ chains" if _is_nuts(summary) else f"{summary.method} fit"
        return _not_applicable("rhat", policy.rhat_max, f"no R-hat ({why})")
    ok = value <= policy.rhat_max
    rel = "<=" if ok else ">"
    return GateResult(
        "rhat", ok, value, policy.rhat_max, f"R-hat max {value:.4f} {rel} {policy.rhat_max}"
    )


def _ess_gate(summary: RunSummary, policy: GatePolicy) -> GateResult:
    value = summary.diagnostics.ess_bulk_min
    if value is None:
        return _not_applicable("ess_bulk", policy.ess_bulk_min, f"no ESS ({summary.method} fit)")
    ok = value >= policy.ess_bulk_min
    rel = ">=" if ok else "<"
    return GateResult(
        "ess_bulk",
        ok,
        value,
        policy.ess_bulk_min,
        f"bulk ESS min {value:.0f} {rel} {policy.ess_bulk_min:g}",
    )


def _divergence_gate(summary: RunSummary, policy: GatePolicy) -> GateResult:
    name, limit = "divergences", policy.divergence_rate_max
    if not _is_nuts(summary):
        return _not_applicable(name, limit, f"{summary.method} fit has no sampler transitions")
    diag = summary.diagnostics
    rate = diag.divergence_rate
    ok = rate <= limit
    rel = "<=" if ok else ">"
    detail = f"{diag.divergences} divergent transitions, rate {rate:.4f} {rel} {limit}"
    return GateResult(name, ok, rate, limit, detail)


def _holdout_gate(summary: RunSummary, policy: GatePolicy) -> GateResult:
    fit = summary.fit
    value = fit.holdout_mape
    if not fit.holdout_weeks or value is None:
        return _not_applicable("holdout_mape", policy.holdout_mape_max, "no holdout weeks")
    ok = value <= policy.holdout_mape_max
    rel = "<=" if ok else ">"
    detail = (
        f"holdout MAPE {value:.1%} over {fit.holdout_weeks} weeks {rel} "
        f"{policy.holdout_mape_max:.1%}"
    )
    return GateResult("holdout_mape", ok, value, policy.holdout_mape_max, detail)


def _point_estimate_gate(summary: RunSummary, policy: GatePolicy) -> GateResult:
    name = "point_estimate"
    if summary.point_estimate:
        detail = (
            f"{summary.method.upper()} fit: a point estimate, without posterior intervals; "
            "refit with NUTS before relying on it"
        )
        return GateResult(name, False, None, None, detail)
    return GateResult(name, True, None, None, f"{summary.method} fit has posterior draws")


def _holdout_r2_gate(summary: RunSummary, policy: GatePolicy) -> GateResult:
    name, limit = "holdout_r2", policy.holdout_r2_min
    fit = summary.fit
    value = fit.holdout_r2
    if not fit.holdout_weeks or value is None:
        return _not_applicable(name, limit, "no holdout weeks")
    if not holdout_r2_judged(fit, policy.holdout_r2_min_weeks):
        why = f"{fit.holdout_weeks} holdout weeks < {policy.holdout_r2_min_weeks}"
        return _not_applicable(name, limit, why)
    ok = value >= limit
    rel = ">=" if ok else "<"
    detail = f"holdout R² {value:.3f} over {fit.holdout_weeks} weeks {rel} {limit:g}"
    return GateResult(name, ok, value, limit, detail)


def _roi_gate(summary: RunSummary, policy: GatePolicy) -> GateResult:
    outside: list[str] = []
    worst: float | None = None
    for channel, table in summary.channels.items():
        roi = table.roi.mean
        low, high = policy.bounds_for(channel)
        if not low <= roi <= high:
            outside.append(f"{channel} {roi:.2f} not in [{low:g}, {high:g}]")
            worst = roi if worst is None else worst
    if outside:
        return GateResult(
            "roi_bounds",
            False,
            worst,
            list(policy.default_roi_bounds),
            "mean ROI " + "; ".join(outside),
        )
    n = len(summary.channels)
    return GateResult(
        "roi_bounds",
        True,
        None,
        list(policy.default_roi_bounds),
        f"mean ROI of all {n} channels in bounds",
    )


def _weeks_gate(summary: RunSummary, policy: GatePolicy) -> GateResult:
    weeks = summary.data.n_periods
    ok = weeks >= policy.min_weeks
    rel = ">=" if ok else "<"
    return GateResult(
        "min_weeks",
        ok,
        float(weeks),
        float(policy.min_weeks),
        f"{weeks} weeks of data {rel} {policy.min_weeks}",
    )


def negative_baseline_prob(baseline: BaselineSummary | None, weeks_max: float) -> float | None:
    """Share of posterior draws whose baseline is negative in more than ``weeks_max`` (a share)
    of the weeks, read off the summary's ``baseline`` section; ``None`` when the summary has
    none (older runs) or it counts no draws or weeks."""
    if baseline is None or not baseline.n_draws or not baseline.n_weeks:
        return None
    limit = weeks_max * float(baseline.n_weeks)
    negative = sum(draws for weeks, draws in baseline.negative_weeks_histogram if weeks > limit)
    return negative / float(baseline.n_draws)


def _baseline_gate(summary: RunSummary, policy: GatePolicy) -> GateResult:
    name, limit = "baseline_negative", policy.baseline_negative_prob_max
    share = policy.baseline_negative_weeks_max
    prob = negative_baseline_prob(summary.baseline, share)
    if prob is None:
        return _not_applicable(name, limit, "the summary has no baseline draws (older run)")
    ok = prob <= limit
    rel = "<=" if ok else ">"
    where = "in any week" if share == 0 else f"in more than {share:.0%} of weeks"
    detail = f"baseline negative {where} in {prob:.1%} of draws {rel} {limit:.0%}"
    return GateResult(name, ok, prob, limit, detail)


def _coverage_gate(summary: RunSummary, policy: GatePolicy) -> GateResult:
    name, limit = "spend_coverage", policy.spend_coverage_min
    shares = {
        ch: v.spend_weeks_share
        for ch, v in summary.channels.items()
        if v.spend_weeks_share is not None
    }
    if not shares:
        return _not_applicable(name, limit, "the summary has no spend coverage (older run)")
    low = sorted((s, ch) for ch, s in shares.items() if s < limit)
    lowest = min(shares.values())
    if low:
        listed = "; ".join(f"{ch} spends in {s:.0%} of weeks" for s, ch in low)
        return GateResult(name, False, lowest, limit, f"{listed} < {limit:.0%}")
    detail = f"every channel spends in >= {limit:.0%} of weeks (lowest {lowest:.0%})"
    return GateResult(name, True, lowest, limit, detail)


@dataclass(frozen=True)
class PriorShift:
    """Prior against posterior of one channel's ROI.

    ``prior_low``/``prior_high`` bound the prior's central interval (currency per currency);
    ``sd_ratio`` is posterior log-sd / prior log-sd (``None`` for a MAP fit or when the summary
    lacks it). ``outside``: the posterior mean lies outside that interval. ``uninformed``:
    weakly identified, ``sd_ratio`` at or above the policy's limit
    (:func:`~mixflow.analysis.schema.is_weakly_identified`, the standard of the fit output).
    """

    channel: str
    prior_median: float
    prior_low: float
    prior_high: float
    posterior_mean: float
    sd_ratio: float | None
    outside: bool
    uninformed: bool

    @property
    def flagged(self) -> bool:
        return self.outside or self.uninformed

    def describe(self, policy: GatePolicy) -> str:
        parts = []
        if self.outside:
            parts.append(
                f"posterior mean {self.posterior_mean:.2f} outside the prior's "
                f"{policy.prior_interval:.0%} [{self.prior_low:.2f}, {self.prior_high:.2f}]"
            )
        if self.uninformed and self.sd_ratio is not None:
            text = identification_text(self.channel, self.sd_ratio, policy.prior_sd_ratio_max)
            parts.append(text.removeprefix(f"{self.channel}: "))
        return f"{self.channel}: " + (", ".join(parts) if parts else "ok")


def prior_shifts(summary: RunSummary, policy: GatePolicy) -> list[PriorShift]:
    """Prior-vs-posterior comparison of every channel's ROI (lognormal priors of the ROI
    parameterization); empty when the model does not use ROI priors."""
    if summary.model.prior_parameterization != "roi":
        return []
    z = NormalDist().inv_cdf(0.5 + policy.prior_interval / 2.0)
    judge_spread = summary.method != "map"
    out = []
    for ch, v in summary.channels.items():
        prior = v.roi_prior
        if prior is None:
            continue
        median, sigma = prior.median, prior.sigma
        post = v.roi.mean
        low, high = median * math.exp(-z * sigma), median * math.exp(z * sigma)
        log_sd = v.roi_log_sd
        ratio = log_sd / sigma if judge_spread and log_sd is not None else None
        out.append(
            PriorShift(
                channel=str(ch),
                prior_median=median,
                prior_low=low,
                prior_high=high,
                posterior_mean=post,
                sd_ratio=ratio,
                outside=not low <= post <= high,
                uninformed=is_weakly_identified(ratio, policy.prior_sd_ratio_max),
            )
        )
    return out


def _prior_gate(summary: RunSummary, policy: GatePolicy) -> GateResult:
    name = "prior_shift"
    threshold = [policy.prior_interval, policy.prior_sd_ratio_max]
    shifts = prior_shifts(summary, policy)
    if not shifts:
        return GateResult(
            name, True, None, threshold, "not applicable: no ROI priors", applicable=False
        )
    flagged = [s for s in shifts if s.flagged]
    if flagged:
        detail = "; ".join(s.describe(policy) for s in flagged)
        return GateResult(name, False, float(len(flagged)), threshold, detail)
    spread = "" if any(s.sd_ratio is not None for s in shifts) else " (spread not judged: MAP)"
    detail = (
        "every channel's ROI posterior is consistent with its prior and none is weakly "
        f"identified{spread}"
    )
    return GateResult(name, True, 0.0, threshold, detail)


def run_gates(summary: RunSummary, policy: GatePolicy) -> list[GateResult]:
    """Every gate of ``policy`` applied to a run's summary, in the order of
    :data:`GATE_NAMES`; a failed gate the policy lists as advisory becomes a warning."""
    results = [
        _point_estimate_gate(summary, policy),
        _rhat_gate(summary, policy),
        _ess_gate(summary, policy),
        _divergence_gate(summary, policy),
        _holdout_gate(summary, policy),
        _holdout_r2_gate(summary, policy),
        _roi_gate(summary, policy),
        _weeks_gate(summary, policy),
        _baseline_gate(summary, policy),
        _coverage_gate(summary, policy),
        _prior_gate(summary, policy),
    ]
    return [
        replace(r, passed=True, warning=True)
        if r.name in policy.advisory and r.applicable and not r.passed
        else r
        for r in results
    ]


def failed_gates(results: Sequence[GateResult]) -> list[GateResult]:
    return [r for r in results if not r.passed]


def warned_gates(results: Sequence[GateResult]) -> list[GateResult]:
    return [r for r in results if r.warning]


__all__ = [
    "DEFAULT_ROI_BOUNDS",
    "GATE_NAMES",
    "GatePolicy",
    "GateResult",
    "GateStatus",
    "PriorShift",
    "failed_gates",
    "load_policy",
    "negative_baseline_prob",
    "policy_from_dict",
    "prior_shifts",
    "run_gates",
    "warned_gates",
]
