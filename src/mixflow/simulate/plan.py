"""Media plans: spend per geo, period and channel over a horizon, as frozen value objects."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixflow.errors import SpecError


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
    """

    spend: np.ndarray
    channels: tuple[str, ...]
    geos: tuple[str, ...]
    start: np.datetime64
    controls: np.ndarray | None = None
    name: str = "plan"
    events: np.ndarray | None = None

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
        bad = ~np.isfinite(spend) | (spend < 0)
        if bad.any():
            g, h, c = (int(i) for i in np.argwhere(bad)[0])
            raise SpecError(
                f"plan '{self.name}': spend for channel '{self.channels[c]}' in period {h + 1} "
                f"(geo '{self.geos[g]}') is {spend[g, h, c]!r}; expected a finite amount >= 0"
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
        )
