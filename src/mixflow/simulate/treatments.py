"""A plan's treatments: the future values of non-media treatments (promotions, price).

A plan file's ``treatments`` maps a treatment's name to one value for every planned week or a
list of one value per week (``treatments: {promo: [1, 1, 0, 0]}``; geos share the value). The
plan's controls are then laid out in full: the named treatments at their planned values, every
other control and treatment held at its last observed value (what the simulator assumes for a
plan without controls), so a plan that sets ``promo: 0`` for every week forecasts the KPI
without promotions, and the difference to one with promotions is their planned effect.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mixflow.data.dataset import MMMDataset
from mixflow.errors import SpecError, did_you_mean
from mixflow.simulate.plan import Plan


def _values(name: str, raw: Any, horizon: int) -> np.ndarray:
    """``(H,)`` the planned values of treatment ``name``."""
    field = f"plan treatments.{name}"
    if isinstance(raw, bool):
        raise SpecError(f"{field}: expected a number or a list of numbers, got {raw!r}")
    if isinstance(raw, (int, float)):
        values = np.full(horizon, float(raw))
    elif isinstance(raw, list):
        if len(raw) != horizon:
            raise SpecError(f"{field}: {len(raw)} periods, expected {horizon}")
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in raw):
            raise SpecError(f"{field}: expected a list of numbers")
        values = np.asarray(raw, dtype=np.float64)
    else:
        raise SpecError(f"{field}: expected a number or a list of numbers, got {raw!r}")
    if not np.all(np.isfinite(values)):
        raise SpecError(f"{field}: values must be finite numbers")
    return values


def with_treatments(data: MMMDataset, plan: Plan, raw: Any) -> Plan:
    """``plan`` with its controls set from the plan file's ``treatments`` mapping ``raw``."""
    names = tuple(n for n, _ in data.treatments)
    if not isinstance(raw, Mapping):
        raise SpecError(f"plan treatments: expected a mapping of treatment -> values, got {raw!r}")
    for key in raw:
        if key not in names:
            known = ", ".join(names) if names else "(the model has none)"
            raise SpecError(
                f"plan treatments: unknown treatment '{key}'{did_you_mean(str(key), names)}; "
                f"treatments are: {known}"
            )
    h = plan.horizon
    controls = np.repeat(data.controls[:, -1:, :], h, axis=1)  # (G, H, K) last values
    for key, value in raw.items():
        controls[:, :, data.control_names.index(key)] = _values(str(key), value, h)[None, :]
    return Plan(plan.spend, plan.channels, plan.geos, plan.start, controls, plan.name, plan.events)


__all__ = ["with_treatments"]
