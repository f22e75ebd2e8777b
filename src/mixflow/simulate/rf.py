"""Reach and frequency channels in plans and simulation: spend at a chosen frequency.

A plan file's ``frequency`` maps an R&F channel to the average frequency its spend buys
(``frequency: {Channel3: 2.5}``), the same in every geo and week; a channel it does not name
keeps its history's reach per unit of spend and frequency curve weight (as if it bought its
historical frequency). Spend becomes reach at that frequency through the
channel's historical cost per impression, assumed constant (the cost per reach scales with the
frequency bought)::

    reach = spend * (impressions / spend)_history / f      (per geo, over the whole data)

and the reach's media input is weighted by the fitted frequency curve,
``gain(f) = hill(f) / hill(f_ref)`` per draw (see :mod:`mixflow.model.rf`). The simulator folds
that gain into each draw's saturation parameters, so the compiled core is the one every channel
runs through. The carryover from the weeks before the plan is simulated at the plan's frequency
too (an approximation for the first ``max_lag`` weeks' carry-in, not the plan's own effect).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import jax.numpy as jnp
import numpy as np

from mixflow.data.dataset import MMMDataset
from mixflow.errors import SpecError, did_you_mean
from mixflow.simulate.plan import Plan
from mixflow.spec.model_spec import ModelSpec
from mixflow.transforms.frequency import fold_gain, frequency_gain
from mixflow.transforms.registry import saturation_component

#: highest frequency a plan may ask for (exposures per person reached over a period)
MAX_FREQUENCY = 100.0


def historical_frequencies(data: MMMDataset) -> dict[str, float]:
    """Each R&F channel's reach-weighted mean frequency over the data."""
    from mixflow.data.rf import mean_frequency

    index = [data.channels.index(ch) for ch in data.rf_channels]
    hist = mean_frequency(data.exposure[..., index], data.frequency_array)
    return {ch: float(f) for ch, f in zip(data.rf_channels, hist, strict=True)}


def check_frequencies(
    data: MMMDataset, raw: Any, field: str = "plan frequency"
) -> dict[str, float]:
    """``raw`` as ``{R&F channel: frequency}``: known R&F channels, finite, in
    ``(0, MAX_FREQUENCY]``."""
    if not isinstance(raw, Mapping):
        raise SpecError(f"{field}: expected a mapping of channel -> frequency, got {raw!r}")
    out: dict[str, float] = {}
    names = data.rf_channels
    for key, value in raw.items():
        if key not in names:
            known = ", ".join(names) if names else "(the model has none)"
            raise SpecError(
                f"{field}: '{key}' is not a reach and frequency channel"
                f"{did_you_mean(str(key), names)}; R&F channels are: {known}"
            )
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise SpecError(f"{field}.{key}: expected a number, got {value!r}") from None
        if isinstance(value, bool) or not (math.isfinite(number) and 0 < number <= MAX_FREQUENCY):
            raise SpecError(
                f"{field}.{key}: expected a frequency above 0 and at most {MAX_FREQUENCY:g}, "
                f"got {value!r}"
            )
        out[str(key)] = number
    return out


def with_frequency(data: MMMDataset, plan: Plan, raw: Any) -> Plan:
    """``plan`` with the frequencies of the plan file's ``frequency`` mapping ``raw``."""
    given = check_frequencies(data, raw)
    return dataclasses.replace(plan, frequency=tuple(sorted(given.items())))


def frequency_key(
    data: MMMDataset, given: Mapping[str, float] | None
) -> tuple[tuple[str, float], ...]:
    """The checked ``given`` frequencies as a sorted key (channels not named run at their
    historical frequency, so they are left out of it)."""
    return tuple(sorted(check_frequencies(data, given or {}, "frequency").items()))


def rf_exposure_per_spend(
    data: MMMDataset, per_spend: np.ndarray, frequency: tuple[tuple[str, float], ...]
) -> np.ndarray:
    """``(G, C)`` exposure per unit of spend with each named R&F channel's reach per unit of
    spend at its frequency: historical impressions per spend (per geo; the national ratio where
    a geo never spent) divided by the frequency. Other channels keep ``per_spend``."""
    out = np.array(per_spend, dtype=np.float64, copy=True)
    spend = data.spend.sum(axis=1)  # (G, C)
    for ch, f in frequency:
        c, r = data.channels.index(ch), data.rf_channels.index(ch)
        impressions = (data.exposure[:, :, c] * data.frequency_array[:, :, r]).sum(axis=1)
        national = impressions.sum() / max(float(spend[:, c].sum()), 1e-12)
        ratio = np.where(spend[:, c] > 0, impressions / np.maximum(spend[:, c], 1e-12), national)
        out[:, c] = ratio / f
    return out


def rf_curve_draws(
    draws: Mapping[str, jnp.ndarray],
    data: MMMDataset,
    spec: ModelSpec,
    reference: np.ndarray | None,
    frequency: tuple[tuple[str, float], ...],
) -> dict[str, jnp.ndarray]:
    """``draws`` with each named R&F channel's saturation parameters ``(S, C)`` folded with
    its frequency gain at its planned frequency (unchanged when none is named)."""
    if reference is None or not frequency or "rf_ec" not in draws:
        return dict(draws)
    rf = np.array([data.rf_channels.index(ch) for ch, _ in frequency])
    cols = np.array([data.channels.index(ch) for ch, _ in frequency])
    f = jnp.asarray([v for _, v in frequency], dtype=jnp.float32)
    gain = frequency_gain(
        f, draws["rf_ec"][:, rf], draws["rf_slope"][:, rf], jnp.asarray(reference[rf])
    )  # (S, named)
    names = [p.name for p in saturation_component(spec.saturation).params]
    first = draws[names[0]]
    full = jnp.ones(first.shape, first.dtype).at[:, jnp.asarray(cols)].set(gain)  # (S, C)
    return {**draws, **fold_gain(spec.saturation, {k: draws[k] for k in names}, full)}


__all__ = [
    "MAX_FREQUENCY",
    "check_frequencies",
    "frequency_key",
    "historical_frequencies",
    "rf_curve_draws",
    "rf_exposure_per_spend",
    "with_frequency",
]
