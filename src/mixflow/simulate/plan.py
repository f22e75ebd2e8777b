"""Media plans: spend per geo, period and channel over a horizon, as frozen value objects."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mixflow.errors import SpecError

#: longest plan horizon (ten years of weeks): beyond it a marketing mix model has nothing to say
MAX_HORIZON_WEEKS = 520
#: largest total spend of a plan or budget (currency): far above any media budget, far below
#: where float sums overflow (a budget of 1e308 gave an overflow and an ROI of 9.7e-301)
MAX_SPEND = 1e15


def check_horizon(value: object, field: str = "horizon_weeks") -> int:
    """``value`` as a horizon in weeks: a whole number in ``[1, MAX_HORIZON_WEEKS]``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | str):
        raise SpecError(f"{field} must be a whole number of weeks, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise SpecError(f"{field} must be a whole number of weeks, got {value!r}") from None
    if not number.is_integer() or not 1 <= number <= MAX_HORIZON_WEEKS:
        raise SpecError(
            f"{field} must be a whole number of weeks from 1 to {MAX_HORIZON_WEEKS}, got {value!r}"
        )
    return int(number)


def check_amount(value: object, field: str) -> float:
    """``value`` as an amount of currency: finite, in ``[0, MAX_SPEND]``."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SpecError(f"{field} must be an amount, got {value!r}") from None
    if not (math.isfinite(number) and 0 <= number <= MAX_SPEND):
        raise SpecError(f"{field} must be a finite amount from 0 to {MAX_SPEND:g}, got {value!r}")
    return number


@dataclass(frozen=True, eq=False)
class Plan:
    """Spend in currency over ``H`` future periods.

    Attributes:
        spend: ``(G, H, C)`` spend per geo, period and channel (currency).
        channels: channel names, in the model's order.
        geos: geo names, in the model's order (``("national",)`` for national models).
        start: date of the first period of the horizon.
        controls: optional ``(G, H, K)`` control values in original units; ``None`` holds the
            controls at their last observed values.
        name: label used in comparisons and reports.
        events: optional ``(G, H, E)`` 0/1 event dummies in the horizon (default: none).
        frequency: ``(channel, frequency)`` pairs, sorted: the average frequency the spend of
            each named reach and frequency channel buys (mixflow.simulate.rf); others buy
            their historical frequency.
    """

    spend: np.ndarray
    channels: tuple[str, ...]
    geos: tuple[str, ...]
    start: np.datetime64
    controls: np.ndarray | None = None
    name: str = "plan"
    events: np.ndarray | None = None
    frequency: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        spend = np.array(self.spend, dtype=np.float64, copy=True)
        if (
            spend.ndim != 3
            or spend.shape[0] != len(self.geos)
            or spend.shape[2] != len(self.channels)
        ):
            raise SpecError(
                f"plan '{self.name}': spend has shape {spend.shape}, expected "
                f"(geos={len(self.geos)}, periods, channels={len(self.channels)})"
            )
        if spend.shape[1] < 1:
            raise SpecError(f"plan '{self.name}': the horizon must have at least one period")
        if spend.shape[1] > MAX_HORIZON_WEEKS:
            raise SpecError(
                f"plan '{self.name}': {spend.shape[1]} periods; the horizon is at most "
                f"{MAX_HORIZON_WEEKS} weeks"
            )
        bad = ~np.isfinite(spend) | (spend < 0)
        if bad.any():
            g, h, c = (int(i) for i in np.argwhere(bad)[0])
            raise SpecError(
                f"plan '{self.name}': spend for channel '{self.channels[c]}' in period {h + 1} "
                f"(geo '{self.geos[g]}') is {spend[g, h, c]!r}; expected a finite amount >= 0"
            )
        if spend.sum() > MAX_SPEND:
            raise SpecError(
                f"plan '{self.name}': total spend {spend.sum():g} is above the maximum "
                f"{MAX_SPEND:g}"
            )
        spend.setflags(write=False)
        object.__setattr__(self, "spend", spend)
        if self.controls is not None:
            ctrl = np.array(self.controls, dtype=np.float64, copy=True)
            if ctrl.shape[:2] != spend.shape[:2]:
                raise SpecError(
                    f"plan '{self.name}': controls have shape {ctrl.shape}, expected "
                    f"({spend.shape[0]}, {spend.shape[1]}, n_controls)"
                )
            ctrl.setflags(write=False)
            object.__setattr__(self, "controls", ctrl)
        for ch, f in self.frequency:
            if ch not in self.channels or not (math.isfinite(f) and f > 0):
                raise SpecError(
                    f"plan '{self.name}': frequency {f!r} of '{ch}'; expected a channel of the "
                    f"plan and a finite frequency above 0"
                )

    @property
    def horizon(self) -> int:
        return int(self.spend.shape[1])

    @property
    def total(self) -> float:
        return float(self.spend.sum())

    def by_channel(self) -> dict[str, float]:
        totals = self.spend.sum(axis=(0, 1))
        return {ch: float(v) for ch, v in zip(self.channels, totals, strict=True)}

    def with_spend(self, spend: np.ndarray, name: str | None = None) -> Plan:
        return Plan(
            spend,
            self.channels,
            self.geos,
            self.start,
            self.controls,
            name or self.name,
            self.events,
            self.frequency,
        )
