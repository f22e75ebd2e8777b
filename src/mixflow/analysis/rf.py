"""Reach and frequency channels' frequency: the optimal frequency per draw, and its interval.

At a fixed budget a channel buys a fixed number of impressions (constant cost per impression),
so its reach is ``impressions / f`` and its media input ``impressions * gain(f) / f``; the
frequency that makes the most of any budget maximizes ``hill(f) / f`` (see
:mod:`mixflow.transforms.frequency`). It is searched between 1 and the highest frequency in the
data: beyond it the curve is the prior's extrapolation.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax.numpy as jnp
import numpy as np

from mixflow.analysis.schema import FrequencySummary, Interval
from mixflow.analysis.stats import stat
from mixflow.data.dataset import MMMDataset
from mixflow.data.rf import mean_frequency
from mixflow.transforms.frequency import MIN_FREQUENCY, optimal_frequency


def frequency_range(data: MMMDataset) -> np.ndarray:
    """``(R, 2)`` the optimal-frequency search range per R&F channel: from 1 to the highest
    frequency in the data (at least 1)."""
    high = data.frequency_array.reshape(-1, len(data.rf_channels)).max(axis=0)
    return np.stack([np.full_like(high, MIN_FREQUENCY), np.maximum(high, MIN_FREQUENCY)], -1)


def optimal_frequency_draws(data: MMMDataset, draws: Mapping[str, np.ndarray]) -> np.ndarray:
    """``(S, R)`` the optimal frequency of each R&F channel per draw (``rf_ec``, ``rf_slope``
    ``(S, R)`` in ``draws``)."""
    bounds = frequency_range(data)
    ec, slope = jnp.asarray(draws["rf_ec"]), jnp.asarray(draws["rf_slope"])
    best = np.asarray(optimal_frequency(ec, slope), dtype=np.float64)
    return np.clip(best, bounds[:, 0], bounds[:, 1])


def historical_frequency(data: MMMDataset) -> np.ndarray:
    """``(R,)`` reach-weighted mean frequency of each R&F channel over the data."""
    index = [data.channels.index(ch) for ch in data.rf_channels]
    return mean_frequency(data.exposure[..., index], data.frequency_array)


def frequency_summaries(
    data: MMMDataset, draws: Mapping[str, np.ndarray]
) -> dict[str, FrequencySummary]:
    """Per R&F channel its :class:`FrequencySummary` (empty without R&F channels)."""
    if not data.rf_channels or "rf_ec" not in draws:
        return {}
    best = optimal_frequency_draws(data, draws)
    bounds = frequency_range(data)
    hist = historical_frequency(data)
    out = {}
    for r, ch in enumerate(data.rf_channels):
        out[ch] = FrequencySummary(
            optimal=Interval.model_validate(stat(best[:, r])),
            historical=float(hist[r]),
            search_range=(float(bounds[r, 0]), float(bounds[r, 1])),
            ec=Interval.model_validate(stat(np.asarray(draws["rf_ec"])[:, r])),
            slope=Interval.model_validate(stat(np.asarray(draws["rf_slope"])[:, r])),
        )
    return out


__all__ = [
    "frequency_range",
    "frequency_summaries",
    "historical_frequency",
    "optimal_frequency_draws",
]
