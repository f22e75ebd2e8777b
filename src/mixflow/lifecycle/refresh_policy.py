"""The rules of ``mixflow refresh`` (pure): the refresh policy, the comparison of a challenger
with the champion, and ROI priors informed by a posterior. The orchestration, with files, fits
and MLflow, is :mod:`mixflow.lifecycle.refresh`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, StrictBool, StrictInt, model_validator

from mixflow.analysis.schema import RunSummary
from mixflow.errors import SpecError
from mixflow.lifecycle.gates import GatePolicy, GateResult, StrictFiniteFloat
from mixflow.lifecycle.policy_files import read_mapping
from mixflow.schema_errors import CheckedModel, validate_mapping
from mixflow.spec.config import MixflowConfig, RoiPriorConfig

#: z of the 90% central interval: turns a summary's ROI HDI into a log-sd when it lacks one
_Z90 = 1.6448536269514722


class Decision(StrEnum):
    """What :func:`compare` decides about a challenger."""

    #: every check passed and the policy allows automatic promotion
    PROMOTE = "promote"
    #: every check passed; a person promotes (``mixflow promote``)
    AWAIT_APPROVAL = "await_approval"
    #: a check failed; the challenger stays registered for review
    REJECT = "reject"


class RefreshPolicy(CheckedModel):
    """How a refresh decides (defaults in brackets).

    Attributes:
        auto_promote: promote the challenger to champion when every check passes; when off,
            it waits for a person [false].
        holdout_weeks: newest weeks of the extended data both models are scored on; fewer
            when the data adds fewer new weeks [8].
        holdout_tolerance: the challenger's holdout MAPE may exceed the champion's by at most
            this fraction of it (0.1: up to 10% worse, e.g. 4.4% against 4.0%) [0.1].
        max_roi_shift: largest allowed relative move of any channel's posterior mean ROI
            (the statistic every output reports), ``|challenger / champion - 1|`` [0.5].
        prior_widening: with informed priors, each channel's ROI prior log-sd is the
            champion's posterior log-sd times this [2.0] ...
        prior_min_sigma: ... but at least this (a MAP champion has no spread) [0.1].
        gates: thresholds of the governance gates the challenger is registered with (the
            keys of a gate policy file) [defaults].
    """

    schema_source: ClassVar[str] = "refresh policy"

    auto_promote: StrictBool = False
    holdout_weeks: StrictInt = 8
    holdout_tolerance: StrictFiniteFloat = 0.1
    max_roi_shift: StrictFiniteFloat = 0.5
    prior_widening: StrictFiniteFloat = 2.0
    prior_min_sigma: StrictFiniteFloat = 0.1
    gates: GatePolicy = Field(default_factory=GatePolicy)

    @model_validator(mode="after")
    def _check(self) -> RefreshPolicy:
        if self.holdout_weeks < 1:
            raise ValueError(f"holdout_weeks must be an integer >= 1, got {self.holdout_weeks!r}")
        for name in ("holdout_tolerance", "max_roi_shift", "prior_min_sigma"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be a number >= 0, got {getattr(self, name):g}")
        if self.prior_widening <= 0:
            raise ValueError(f"prior_widening must be a number > 0, got {self.prior_widening:g}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def refresh_policy_from_dict(data: Mapping[str, Any]) -> RefreshPolicy:
    """A policy from a mapping (e.g. parsed YAML); ``gates`` holds gate policy keys. Unknown
    keys and wrong types raise :class:`SpecError`."""
    return validate_mapping(RefreshPolicy, data, "refresh policy")


def load_refresh_policy(path: Path) -> RefreshPolicy:
    """Read a :class:`RefreshPolicy` from a YAML file (missing keys keep their defaults)."""
    return refresh_policy_from_dict(read_mapping(path, "refresh policy"))


# ------------------------------------------------------------------------------ the decision
@dataclass(frozen=True)
class HoldoutScore:
    """MAPE of each model's posterior-mean KPI on the holdout weeks (over geo-weeks)."""

    weeks: int
    start: str
    end: str
    champion_mape: float
    challenger_mape: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "weeks": self.weeks,
            "start": self.start,
            "end": self.end,
            "champion_mape": _num(self.champion_mape),
            "challenger_mape": _num(self.challenger_mape),
        }


@dataclass(frozen=True)
class RoiShift:
    """A channel's posterior mean ROI in both models (currency per currency)."""

    channel: str
    champion: float
    challenger: float

    @property
    def relative(self) -> float:
        """``|challenger / champion - 1|`` (``inf`` when only the challenger is non-zero)."""
        if self.champion == 0:
            return 0.0 if self.challenger == 0 else math.inf
        return abs(self.challenger / self.champion - 1.0)

    def describe(self) -> str:
        sign = "+" if self.challenger >= self.champion else "-"
        return (
            f"{self.channel} {sign}{self.relative:.0%} "
            f"({self.champion:.2f} -> {self.challenger:.2f})"
        )


@dataclass(frozen=True)
class Check:
    """One comparison behind the decision."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class RefreshDecision:
    """The decision about a challenger, the checks behind it and the numbers they used."""

    decision: Decision
    checks: tuple[Check, ...]
    holdout: HoldoutScore
    roi_shifts: tuple[RoiShift, ...]

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why: the failed checks; all checks when none failed."""
        failed = tuple(c.detail for c in self.checks if not c.passed)
        if failed:
            return failed
        passed = tuple(c.detail for c in self.checks)
        if self.decision is Decision.AWAIT_APPROVAL:
            return ("every check passed; auto_promote is off", *passed)
        return passed

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision.value,
            "reasons": list(self.reasons),
            "checks": [
                {"name": c.name, "passed": c.passed, "detail": c.detail} for c in self.checks
            ],
            "holdout": self.holdout.to_dict(),
            "roi_shifts": [
                {
                    "channel": s.channel,
                    "champion": s.champion,
                    "challenger": s.challenger,
                    "relative": _num(s.relative),
                }
                for s in self.roi_shifts
            ],
        }


def _pct(share: float) -> str:
    """``0.5 -> '50%'``, ``0.001 -> '0.1%'`` (thresholds as written, not rounded away)."""
    return f"{share * 100:g}%"


def _num(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _mean_rois(summary: RunSummary) -> dict[str, float]:
    return {ch: v.roi.mean for ch, v in summary.channels.items()}


def _gates_check(gates: Sequence[GateResult]) -> Check:
    failed = [g for g in gates if not g.passed]
    if failed:
        listed = "; ".join(f"{g.name} ({g.detail})" for g in failed)
        return Check("gates", False, f"challenger failed gates: {listed}")
    return Check("gates", True, "challenger passed every gate")


def _holdout_check(holdout: HoldoutScore, tolerance: float) -> Check:
    champ, chall = holdout.champion_mape, holdout.challenger_mape
    where = f"holdout MAPE over {holdout.weeks} weeks ({holdout.start} .. {holdout.end})"
    if not (math.isfinite(champ) and math.isfinite(chall)):
        return Check("holdout", False, f"{where} could not be computed (zero actuals?)")
    allowed = champ * (1.0 + tolerance)
    ok = chall <= allowed
    rel = "<=" if ok else ">"
    detail = (
        f"{where}: challenger {chall:.2%} {rel} champion {champ:.2%} "
        f"x (1 + {tolerance:g}) = {allowed:.2%}"
    )
    return Check("holdout", ok, detail)


def _roi_check(
    champion: Mapping[str, float], challenger: Mapping[str, float], limit: float
) -> tuple[Check, tuple[RoiShift, ...]]:
    missing = sorted(set(champion) ^ set(challenger))
    shifts = tuple(
        RoiShift(ch, champion[ch], challenger[ch]) for ch in champion if ch in challenger
    )
    if missing:
        return Check("roi_shift", False, f"channels differ between the models: {missing}"), shifts
    over = sorted((s for s in shifts if s.relative > limit), key=lambda s: -s.relative)
    if over:
        listed = "; ".join(s.describe() for s in over)
        detail = f"mean ROI moved more than {_pct(limit)}: {listed}"
        return Check("roi_shift", False, detail), shifts
    if not shifts:
        return Check("roi_shift", True, "no channels"), shifts
    largest = max(shifts, key=lambda s: s.relative)
    detail = f"largest mean ROI move {largest.describe()} <= {_pct(limit)}"
    return Check("roi_shift", True, detail), shifts


def compare(
    champion_summary: RunSummary,
    challenger_summary: RunSummary,
    holdout: HoldoutScore,
    gates: Sequence[GateResult],
    policy: RefreshPolicy,
) -> RefreshDecision:
    """Decide about a challenger (pure).

    Checks: the challenger passes every (blocking) gate; its holdout MAPE is at most the
    champion's times ``1 + holdout_tolerance``; no channel's mean ROI moved by more than
    ``max_roi_shift`` (relative) and both models have the same channels. All passed:
    ``PROMOTE`` when ``auto_promote``, else ``AWAIT_APPROVAL``; any failed: ``REJECT``.
    """
    roi_check, shifts = _roi_check(
        _mean_rois(champion_summary), _mean_rois(challenger_summary), policy.max_roi_shift
    )
    checks = (_gates_check(gates), _holdout_check(holdout, policy.holdout_tolerance), roi_check)
    if not all(c.passed for c in checks):
        decision = Decision.REJECT
    elif policy.auto_promote:
        decision = Decision.PROMOTE
    else:
        decision = Decision.AWAIT_APPROVAL
    return RefreshDecision(decision, checks, holdout, shifts)


# ------------------------------------------------------------------------------ informed priors
def informed_roi_priors(
    summary: RunSummary, widening: float, min_sigma: float
) -> dict[str, RoiPriorConfig]:
    """Lognormal ROI priors from a posterior's summary: per channel, the posterior median ROI
    as median and ``max(widening x posterior log-sd, min_sigma)`` as sigma. The log-sd is the
    summary's ``roi_log_sd``, or read off the 90% HDI (``log(hi / lo) / (2 x 1.645)``) for
    summaries without it. (The median, not the reported mean: it is the parameter a lognormal
    is stated by, ``exp(mu)``, and the posterior median of a lognormal-like ROI estimates it;
    the posterior mean would shift the prior up by ``exp(sigma^2 / 2)``.) Widening matters: the refit sees the champion's weeks again, so
    their information would otherwise count twice."""
    out = {}
    for ch, v in summary.channels.items():
        median = v.roi.median
        if not median > 0:
            raise SpecError(
                f"informed priors: channel '{ch}' has median ROI {median:g} in the champion; "
                "a lognormal prior needs a positive median"
            )
        log_sd = v.roi_log_sd
        if log_sd is None:
            lo, hi = v.roi.hdi_90
            log_sd = math.log(hi / lo) / (2 * _Z90) if lo > 0 and hi > 0 else 0.0
        sigma = max(widening * log_sd, min_sigma)
        out[ch] = RoiPriorConfig(median=median, sigma=sigma)
    return out


def with_roi_priors(cfg: MixflowConfig, priors: Mapping[str, RoiPriorConfig]) -> MixflowConfig:
    """A copy of ``cfg`` whose ``model.priors.roi`` has ``priors`` (other channels kept)."""
    if cfg.model.priors.parameterization != "roi":
        raise SpecError(
            "informed priors need model.priors.parameterization: roi, the champion uses "
            f"'{cfg.model.priors.parameterization.value}'"
        )
    roi = {**cfg.model.priors.roi, **priors}
    new_priors = cfg.model.priors.model_copy(update={"roi": roi})
    return cfg.model_copy(update={"model": cfg.model.model_copy(update={"priors": new_priors})})


__all__ = [
    "Check",
    "Decision",
    "HoldoutScore",
    "RefreshDecision",
    "RefreshPolicy",
    "RoiShift",
    "compare",
    "informed_roi_priors",
    "load_refresh_policy",
    "refresh_policy_from_dict",
    "with_roi_priors",
]
