"""Budget problems as frozen value objects: objective, risk measure, bounds, locks, flights.

A problem only describes what is wanted; :func:`mixflow.optimize.constraints.resolve` turns it
into linear constraints against a fitted model and checks feasibility before any solving.
Amounts are in currency and are totals over the horizon unless a name says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any, TypeVar

import numpy as np

from mixflow.errors import SpecError
from mixflow.simulate.plan import check_amount, check_horizon

E = TypeVar("E", bound=Enum)


class Objective(StrEnum):
    """What the optimizer maximizes or minimizes (per draw, then the risk measure over draws).

    - ``MAX_KPI``: incremental KPI, spending exactly the budget.
    - ``MAX_REVENUE``: incremental value (currency), spending exactly the budget.
    - ``MAX_PROFIT``: incremental value minus spend; the budget is an upper bound.
    - ``MIN_SPEND_FOR_KPI``: the least spend whose risk-adjusted incremental KPI reaches
      ``target_kpi``.
    - ``MAX_BUDGET_AT_ROI``: the largest spend whose risk-adjusted ROI (incremental value over
      spend) stays at or above ``target_roi``.
    """

    MAX_KPI = "max_kpi"
    MAX_REVENUE = "max_revenue"
    MAX_PROFIT = "max_profit"
    MIN_SPEND_FOR_KPI = "min_spend_for_kpi"
    MAX_BUDGET_AT_ROI = "max_budget_at_roi"

    @property
    def fixed_total(self) -> bool:
        """Whether the whole budget is spent (otherwise it is an upper bound on spend)."""
        return self in (Objective.MAX_KPI, Objective.MAX_REVENUE)


class RiskKind(StrEnum):
    """How the per-draw objective is summarized over posterior draws (higher is better)."""

    MEAN = "mean"
    QUANTILE = "quantile"  # the level-q quantile, e.g. 0.1: a pessimistic value
    MEAN_MINUS_K_SD = "mean_minus_k_sd"  # mean - k * standard deviation
    CVAR = "cvar"  # mean of the worst alpha share of draws


#: order used by the compiled risk switch in the solver
RISK_KINDS: tuple[RiskKind, ...] = tuple(RiskKind)


@dataclass(frozen=True)
class Risk:
    """A risk measure over draws: ``mean``, ``quantile(q)``, ``mean_minus_k_sd(k)`` or
    ``cvar(alpha)`` (the lower tail: the mean of the ``ceil(alpha * S)`` worst draws)."""

    kind: RiskKind = RiskKind.MEAN
    level: float | None = None

    def __post_init__(self) -> None:
        kind = _coerce(RiskKind, self.kind, "risk.kind")
        object.__setattr__(self, "kind", kind)
        lv = self.level
        if kind is RiskKind.MEAN:
            if lv is not None:
                raise SpecError(f"risk.level must be unset for risk 'mean', got {lv!r}")
            return
        if lv is None or not math.isfinite(float(lv)):
            raise SpecError(f"risk.level is required for risk '{kind.value}', got {lv!r}")
        lv = float(lv)
        if kind is RiskKind.QUANTILE and not 0.0 < lv < 1.0:
            raise SpecError(f"risk.level (q) for 'quantile' must be in (0, 1), got {lv}")
        if kind is RiskKind.CVAR and not 0.0 < lv <= 1.0:
            raise SpecError(f"risk.level (alpha) for 'cvar' must be in (0, 1], got {lv}")
        if kind is RiskKind.MEAN_MINUS_K_SD and lv < 0.0:
            raise SpecError(f"risk.level (k) for 'mean_minus_k_sd' must be >= 0, got {lv}")
        object.__setattr__(self, "level", lv)

    @classmethod
    def mean(cls) -> Risk:
        return cls(RiskKind.MEAN)

    @classmethod
    def quantile(cls, q: float) -> Risk:
        return cls(RiskKind.QUANTILE, q)

    @classmethod
    def mean_minus_k_sd(cls, k: float) -> Risk:
        return cls(RiskKind.MEAN_MINUS_K_SD, k)

    @classmethod
    def cvar(cls, alpha: float) -> Risk:
        return cls(RiskKind.CVAR, alpha)

    @classmethod
    def parse(cls, text: str) -> Risk:
        """``"mean"``, ``"quantile:0.1"``, ``"mean_minus_k_sd:1"`` or ``"cvar:0.1"``."""
        name, _, arg = str(text).strip().partition(":")
        kind = _coerce(RiskKind, name.strip().lower(), "risk")
        if not arg:
            return cls(kind)
        try:
            level = float(arg)
        except ValueError:
            raise SpecError(f"risk '{text}': the level after ':' must be a number") from None
        return cls(kind, level)

    @property
    def index(self) -> int:
        """Position in :data:`RISK_KINDS` (the compiled switch's branch)."""
        return RISK_KINDS.index(self.kind)

    def apply(self, draws: np.ndarray) -> np.ndarray:
        """The measure over the last axis of ``draws (..., S)`` (numpy)."""
        fn = risk_functions(np)[self.index]
        return np.asarray(fn(np.asarray(draws, np.float64), self.level or 0.0))

    def __str__(self) -> str:
        return self.kind.value if self.level is None else f"{self.kind.value}:{self.level:g}"


def risk_functions(xp: Any) -> tuple[Callable[[Any, Any], Any], ...]:
    """The risk measures in :data:`RISK_KINDS` order, for ``xp`` = ``numpy`` or ``jax.numpy``.

    Each maps draws ``(..., S)`` and a level to ``(...)``; the level may be a traced scalar, so
    one compiled function serves every measure (``jax.lax.switch`` over the kind).
    """

    def mean(v: Any, level: Any) -> Any:
        return xp.mean(v, axis=-1)

    def quantile(v: Any, level: Any) -> Any:
        s = v.shape[-1]
        srt = xp.sort(v, axis=-1)
        pos = level * (s - 1)  # linear interpolation, as numpy's default
        i0 = xp.floor(pos)
        frac = pos - i0
        i0 = i0.astype(xp.int32)
        i1 = xp.minimum(i0 + 1, s - 1)
        return srt[..., i0] * (1.0 - frac) + srt[..., i1] * frac

    def mean_minus_k_sd(v: Any, level: Any) -> Any:
        m = xp.mean(v, axis=-1)
        var = xp.mean((v - m[..., None]) ** 2, axis=-1)
        # the tiny floor keeps the gradient finite when every draw agrees
        return m - level * xp.sqrt(var + 1e-30)

    def cvar(v: Any, level: Any) -> Any:
        s = v.shape[-1]
        # the 1e-6 keeps float32 round-off (0.1 * 100 = 10.0000001) from adding a draw
        n = xp.maximum(1.0, xp.ceil(level * s - 1e-6))
        w = (xp.arange(s) < n) / n
        return xp.sum(xp.sort(v, axis=-1) * w, axis=-1)

    return mean, quantile, mean_minus_k_sd, cvar


class SpendPattern(StrEnum):
    """How a channel's total is spread over the weeks of the horizon."""

    FLAT = "flat"  # the same amount every week
    HISTORICAL = "historical"  # the channel's own weekly shape a year earlier (else recent)


@dataclass(frozen=True)
class ChannelBound:
    """Allowed total spend of one channel over the horizon (currency)."""

    min: float = 0.0
    max: float = math.inf

    def __post_init__(self) -> None:
        lo, hi = float(self.min), float(self.max)
        if not math.isfinite(lo) or lo < 0:
            raise SpecError(f"bound min must be a finite amount >= 0, got {self.min!r}")
        if math.isnan(hi) or hi < 0:
            raise SpecError(f"bound max must be an amount >= 0 (or inf), got {self.max!r}")
        object.__setattr__(self, "min", lo)
        object.__setattr__(self, "max", hi)


@dataclass(frozen=True)
class FlightBudget:
    """At most ``max_spend`` (currency) in weeks ``[start_week, end_week)`` of the horizon,
    summed over ``channels`` (all channels when empty). Linear in the channel totals because
    the weekly pattern is fixed."""

    start_week: int
    end_week: int
    max_spend: float
    channels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if int(self.start_week) != self.start_week or self.start_week < 0:
            raise SpecError(f"flight start_week must be an integer >= 0, got {self.start_week!r}")
        if int(self.end_week) != self.end_week or self.end_week <= self.start_week:
            raise SpecError(
                f"flight end_week must be an integer > start_week {self.start_week}, "
                f"got {self.end_week!r}"
            )
        if not math.isfinite(float(self.max_spend)) or self.max_spend < 0:
            raise SpecError(
                f"flight max_spend must be a finite amount >= 0, got {self.max_spend!r}"
            )
        object.__setattr__(self, "max_spend", float(self.max_spend))
        object.__setattr__(self, "channels", tuple(str(c) for c in self.channels))

    def label(self) -> str:
        who = ", ".join(self.channels) if self.channels else "all channels"
        return f"flight weeks [{self.start_week}, {self.end_week}) ({who})"


@dataclass(frozen=True, eq=False)
class BudgetProblem:
    """A budget allocation problem over ``horizon`` weeks starting right after the data.

    The decision is the total spend per channel ``x (C,)``; the plan is
    ``spend[g, h, c] = x[c] * geo_share[g, c] * pattern[h, c]``, with geo shares from the last
    52 weeks of data and the weekly pattern given by ``pattern``.

    Attributes:
        horizon: weeks in the plan (>= 1).
        budget: total spend (currency). Spent exactly by ``MAX_KPI``/``MAX_REVENUE``; an upper
            bound for the other objectives. ``None``: the current plan's total (the last 13
            weeks' average weekly spend, scaled to the horizon) (for the target objectives, the search goes up to
            :data:`SEARCH_CAP_MULTIPLE` times that).
        objective: see :class:`Objective`.
        risk: the measure applied over draws to the per-draw objective (or target quantity).
        bounds: ``{channel: ChannelBound | (min, max)}`` totals over the horizon (currency).
        relative_bounds: ``(lo, hi)``: each unlocked channel's share of the total spend stays
            within ``lo..hi`` times its share of the current plan (the last 13 weeks), the same
            baseline the result's ``current`` column shows.
        locked: ``{channel: amount}`` fixed totals (exempt from ``relative_bounds``).
        flights: caps on spend within week windows.
        pattern: weekly shape of each channel's spend.
        target_kpi: required for ``MIN_SPEND_FOR_KPI`` (incremental KPI, risk-adjusted).
        target_roi: required for ``MAX_BUDGET_AT_ROI`` (incremental value per unit of spend).
    """

    horizon: int
    budget: float | None = None
    objective: Objective = Objective.MAX_REVENUE
    risk: Risk = field(default_factory=Risk)
    bounds: Mapping[str, ChannelBound] = field(default_factory=dict)
    relative_bounds: tuple[float, float] | None = None
    locked: Mapping[str, float] = field(default_factory=dict)
    flights: tuple[FlightBudget, ...] = ()
    pattern: SpendPattern = SpendPattern.FLAT
    target_kpi: float | None = None
    target_roi: float | None = None

    def __post_init__(self) -> None:
        h = self.horizon
        if isinstance(h, bool) or not isinstance(h, int | np.integer) or h < 1:
            raise SpecError(f"horizon must be a whole number of weeks >= 1, got {self.horizon!r}")
        object.__setattr__(self, "horizon", check_horizon(self.horizon, "horizon"))
        obj = _coerce(Objective, self.objective, "objective")
        object.__setattr__(self, "objective", obj)
        object.__setattr__(self, "pattern", _coerce(SpendPattern, self.pattern, "pattern"))
        if isinstance(self.risk, str):
            object.__setattr__(self, "risk", Risk.parse(self.risk))
        if self.budget is not None:
            budget = _positive(self.budget, "budget")
            object.__setattr__(self, "budget", check_amount(budget, "budget"))
        self._check_targets(obj)
        bounds: dict[str, ChannelBound] = {}
        for ch, b in dict(self.bounds).items():
            if isinstance(b, ChannelBound):
                bounds[str(ch)] = b
                continue
            try:  # (min, max) pairs, max None for no cap: what the CLI and the API pass
                lo, hi = b
                bounds[str(ch)] = ChannelBound(lo, math.inf if hi is None else hi)
            except (SpecError, TypeError, ValueError) as err:
                raise SpecError(f"bounds['{ch}']: expected (min, max) amounts; {err}") from None
        object.__setattr__(self, "bounds", bounds)
        locked: dict[str, float] = {}
        for ch, amount in dict(self.locked).items():
            a = float(amount)
            if not math.isfinite(a) or a < 0:
                raise SpecError(f"locked['{ch}'] must be a finite amount >= 0, got {amount!r}")
            locked[str(ch)] = a
        object.__setattr__(self, "locked", locked)
        if self.relative_bounds is not None:
            lo, hi = (float(v) for v in self.relative_bounds)
            if not (math.isfinite(lo) and lo >= 0 and hi >= lo and hi > 0):
                raise SpecError(
                    f"relative_bounds must be (lo, hi) with 0 <= lo <= hi and hi > 0, "
                    f"got {self.relative_bounds!r}"
                )
            object.__setattr__(self, "relative_bounds", (lo, hi))
        flights = tuple(self.flights)
        for f in flights:
            if f.end_week > self.horizon:
                raise SpecError(
                    f"{f.label()}: end_week {f.end_week} is past the horizon of {self.horizon} weeks"
                )
        object.__setattr__(self, "flights", flights)

    def _check_targets(self, obj: Objective) -> None:
        if obj is Objective.MIN_SPEND_FOR_KPI:
            object.__setattr__(self, "target_kpi", _positive(self.target_kpi, "target_kpi"))
        elif self.target_kpi is not None:
            raise SpecError(
                f"target_kpi is only used with objective '{Objective.MIN_SPEND_FOR_KPI.value}', "
                f"not '{obj.value}'"
            )
        if obj is Objective.MAX_BUDGET_AT_ROI:
            object.__setattr__(self, "target_roi", _positive(self.target_roi, "target_roi"))
        elif self.target_roi is not None:
            raise SpecError(
                f"target_roi is only used with objective '{Objective.MAX_BUDGET_AT_ROI.value}', "
                f"not '{obj.value}'"
            )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (for results and audit trails)."""
        return {
            "horizon_weeks": self.horizon,
            "budget": self.budget,
            "objective": self.objective.value,
            "risk": str(self.risk),
            "bounds": {ch: [b.min, _json_float(b.max)] for ch, b in self.bounds.items()},
            "relative_bounds": list(self.relative_bounds) if self.relative_bounds else None,
            "locked": dict(self.locked),
            "flights": [
                {
                    "start_week": f.start_week,
                    "end_week": f.end_week,
                    "max_spend": f.max_spend,
                    "channels": list(f.channels),
                }
                for f in self.flights
            ],
            "pattern": self.pattern.value,
            "target_kpi": self.target_kpi,
            "target_roi": self.target_roi,
        }


#: open-ended searches (target objectives without a budget) go up to this multiple of the
#: default budget
SEARCH_CAP_MULTIPLE = 5.0


def _positive(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise SpecError(f"{name} must be a finite number > 0, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise SpecError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def _coerce(enum: type[E], value: Any, name: str) -> E:
    if isinstance(value, enum):
        return value
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum)
        raise SpecError(f"{name} must be one of {allowed}; got {value!r}") from None


def _json_float(v: float) -> float | None:
    return v if math.isfinite(v) else None


__all__ = [
    "RISK_KINDS",
    "SEARCH_CAP_MULTIPLE",
    "BudgetProblem",
    "ChannelBound",
    "FlightBudget",
    "Objective",
    "Risk",
    "RiskKind",
    "SpendPattern",
    "risk_functions",
]
