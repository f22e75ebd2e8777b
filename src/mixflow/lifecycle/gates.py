"""Governance gates: the checks a fitted model must pass before it may be promoted.

:func:`run_gates` is a pure function of a run's ``summary.json`` dict and a :class:`GatePolicy`.
A gate that does not apply to a fit (R-hat of a MAP/SVI fit, holdout MAPE without a holdout) is
reported as *not applicable*: it never blocks a promotion.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from mixflow.errors import SpecError, did_you_mean

#: ROI bounds a channel's posterior median ROI must lie in, unless the policy names the channel.
DEFAULT_ROI_BOUNDS: tuple[float, float] = (0.0, 50.0)


class GateStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class GatePolicy:
    """Thresholds of the governance gates.

    - ``rhat_max``: largest allowed R-hat over all parameters (NUTS with ≥2 chains only).
    - ``ess_bulk_min``: smallest allowed bulk effective sample size (NUTS only).
    - ``divergence_rate_max``: largest allowed share of divergent transitions (NUTS only).
    - ``holdout_mape_max``: largest allowed MAPE on the holdout weeks (only with a holdout).
    - ``default_roi_bounds``: ``(low, high)`` the posterior median ROI of each channel must lie
      in (currency returned per currency spent); ``roi_bounds`` overrides it per channel.
    - ``min_weeks``: fewest periods (weeks) of data a model must be fitted on.
    """

    rhat_max: float = 1.01
    ess_bulk_min: float = 400.0
    divergence_rate_max: float = 0.005
    holdout_mape_max: float = 0.2
    default_roi_bounds: tuple[float, float] = DEFAULT_ROI_BOUNDS
    roi_bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    min_weeks: int = 52

    def __post_init__(self) -> None:
        for name in ("rhat_max", "ess_bulk_min", "divergence_rate_max", "holdout_mape_max"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise SpecError(f"gate policy: {name} must be a finite number >= 0, got {value!r}")
        if self.rhat_max < 1.0:
            raise SpecError(f"gate policy: rhat_max must be >= 1.0, got {self.rhat_max}")
        if not isinstance(self.min_weeks, int) or self.min_weeks < 0:
            raise SpecError(
                f"gate policy: min_weeks must be an integer >= 0, got {self.min_weeks!r}"
            )
        _check_bounds("default_roi_bounds", self.default_roi_bounds)
        for channel, bounds in self.roi_bounds.items():
            _check_bounds(f"roi_bounds.{channel}", bounds)

    def bounds_for(self, channel: str) -> tuple[float, float]:
        return tuple(self.roi_bounds.get(channel, self.default_roi_bounds))  # type: ignore[return-value]


def _check_bounds(name: str, bounds: Any) -> None:
    ok = (
        isinstance(bounds, tuple | list)
        and len(bounds) == 2
        and all(isinstance(b, int | float) for b in bounds)
        and bounds[0] <= bounds[1]
    )
    if not ok:
        raise SpecError(f"gate policy: {name} must be [low, high] with low <= high, got {bounds!r}")


def policy_from_dict(data: Mapping[str, Any]) -> GatePolicy:
    """A policy from a mapping (e.g. parsed YAML); unknown keys raise :class:`SpecError`."""
    allowed = [f.name for f in fields(GatePolicy)]
    for key in data:
        if key not in allowed:
            raise SpecError(
                f"gate policy: unknown key {key!r}{did_you_mean(str(key), allowed)}; "
                f"allowed: {', '.join(allowed)}"
            )
    values = dict(data)
    if "default_roi_bounds" in values:
        values["default_roi_bounds"] = _as_pair(values["default_roi_bounds"])
    if "roi_bounds" in values:
        if not isinstance(values["roi_bounds"], Mapping):
            raise SpecError("gate policy: roi_bounds must map channel -> [low, high]")
        values["roi_bounds"] = {str(k): _as_pair(v) for k, v in values["roi_bounds"].items()}
    return GatePolicy(**values)


def _as_pair(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | tuple) else value


def load_policy(path: Path) -> GatePolicy:
    """Read a policy from a YAML file whose keys are :class:`GatePolicy` fields."""
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise SpecError(f"gate policy {path}: cannot read: {err}") from err
    if not isinstance(data, Mapping):
        raise SpecError(f"gate policy {path}: expected a mapping of gate thresholds")
    return policy_from_dict(data)


@dataclass(frozen=True)
class GateResult:
    """One gate's outcome. ``passed`` is True for a gate that is not applicable (it does not
    block), and ``applicable`` tells the two apart."""

    name: str
    passed: bool
    value: float | None
    threshold: float | list[float] | None
    detail: str
    applicable: bool = True

    @property
    def status(self) -> GateStatus:
        if not self.applicable:
            return GateStatus.NOT_APPLICABLE
        return GateStatus.PASSED if self.passed else GateStatus.FAILED

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "value": self.value,
            "threshold": self.threshold,
            "detail": self.detail,
            "applicable": self.applicable,
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
        )


def _not_applicable(name: str, threshold: float, why: str) -> GateResult:
    return GateResult(name, True, None, threshold, f"not applicable: {why}", applicable=False)


def _is_nuts(summary: Mapping[str, Any]) -> bool:
    return str(summary.get("method", "")) == "nuts"


def _rhat_gate(summary: Mapping[str, Any], policy: GatePolicy) -> GateResult:
    value = summary.get("diagnostics", {}).get("rhat_max")
    if value is None:
        why = "needs NUTS with 2+ chains" if _is_nuts(summary) else f"{summary.get('method')} fit"
        return _not_applicable("rhat", policy.rhat_max, f"no R-hat ({why})")
    ok = float(value) <= policy.rhat_max
    rel = "<=" if ok else ">"
    return GateResult(
        "rhat", ok, float(value), policy.rhat_max, f"R-hat max {value:.4f} {rel} {policy.rhat_max}"
    )


def _ess_gate(summary: Mapping[str, Any], policy: GatePolicy) -> GateResult:
    value = summary.get("diagnostics", {}).get("ess_bulk_min")
    if value is None:
        return _not_applicable(
            "ess_bulk", policy.ess_bulk_min, f"no ESS ({summary.get('method')} fit)"
        )
    ok = float(value) >= policy.ess_bulk_min
    rel = ">=" if ok else "<"
    return GateResult(
        "ess_bulk",
        ok,
        float(value),
        policy.ess_bulk_min,
        f"bulk ESS min {value:.0f} {rel} {policy.ess_bulk_min:g}",
    )


def _divergence_gate(summary: Mapping[str, Any], policy: GatePolicy) -> GateResult:
    name, limit = "divergences", policy.divergence_rate_max
    if not _is_nuts(summary):
        return _not_applicable(
            name, limit, f"{summary.get('method')} fit has no sampler transitions"
        )
    diag = summary.get("diagnostics", {})
    rate = float(diag.get("divergence_rate") or 0.0)
    ok = rate <= limit
    rel = "<=" if ok else ">"
    detail = f"{diag.get('divergences', 0)} divergent transitions, rate {rate:.4f} {rel} {limit}"
    return GateResult(name, ok, rate, limit, detail)


def _holdout_gate(summary: Mapping[str, Any], policy: GatePolicy) -> GateResult:
    fit = summary.get("fit", {})
    value = fit.get("holdout_mape")
    if not fit.get("holdout_weeks") or value is None:
        return _not_applicable("holdout_mape", policy.holdout_mape_max, "no holdout weeks")
    ok = float(value) <= policy.holdout_mape_max
    rel = "<=" if ok else ">"
    detail = f"holdout MAPE {value:.1%} over {fit['holdout_weeks']} weeks {rel} {policy.holdout_mape_max:.1%}"
    return GateResult("holdout_mape", ok, float(value), policy.holdout_mape_max, detail)


def _roi_gate(summary: Mapping[str, Any], policy: GatePolicy) -> GateResult:
    outside: list[str] = []
    worst: float | None = None
    for channel, table in summary.get("channels", {}).items():
        roi = float(table["roi"]["median"])
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
            "median ROI " + "; ".join(outside),
        )
    n = len(summary.get("channels", {}))
    return GateResult(
        "roi_bounds",
        True,
        None,
        list(policy.default_roi_bounds),
        f"median ROI of all {n} channels in bounds",
    )


def _weeks_gate(summary: Mapping[str, Any], policy: GatePolicy) -> GateResult:
    weeks = int(summary.get("data", {}).get("n_periods", 0))
    ok = weeks >= policy.min_weeks
    rel = ">=" if ok else "<"
    return GateResult(
        "min_weeks",
        ok,
        float(weeks),
        float(policy.min_weeks),
        f"{weeks} weeks of data {rel} {policy.min_weeks}",
    )


def run_gates(summary: Mapping[str, Any], policy: GatePolicy) -> list[GateResult]:
    """Every gate of ``policy`` applied to a run's ``summary.json`` dict, in a fixed order."""
    return [
        _rhat_gate(summary, policy),
        _ess_gate(summary, policy),
        _divergence_gate(summary, policy),
        _holdout_gate(summary, policy),
        _roi_gate(summary, policy),
        _weeks_gate(summary, policy),
    ]


def failed_gates(results: list[GateResult]) -> list[GateResult]:
    return [r for r in results if not r.passed]


__all__ = [
    "DEFAULT_ROI_BOUNDS",
    "GatePolicy",
    "GateResult",
    "GateStatus",
    "failed_gates",
    "load_policy",
    "policy_from_dict",
    "run_gates",
]
