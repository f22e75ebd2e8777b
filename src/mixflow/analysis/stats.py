"""Posterior summaries: mean, median and 90% HDI (ArviZ)."""

from __future__ import annotations

from typing import Any

import numpy as np

HDI_PROB = 0.9


def hdi(draws: np.ndarray, prob: float = HDI_PROB) -> np.ndarray:
    """HDI over axis 0 of ``draws (S, ...)``: returns ``(..., 2)``."""
    import arviz as az

    arr = np.asarray(draws, dtype=np.float64)
    if arr.shape[0] < 2:
        return np.stack([arr[0], arr[0]], axis=-1)
    # ArviZ reads a 1-d array as draws and an n-d one as (chain, draw, *shape)
    out = az.hdi(arr if arr.ndim == 1 else arr[None, ...], hdi_prob=prob)
    return np.asarray(out)


def stat(draws: np.ndarray) -> dict[str, Any]:
    """``{"mean", "median", "hdi_90": [lo, hi]}`` of a 1-d array of draws."""
    arr = np.asarray(draws, dtype=np.float64).reshape(-1)
    lo, hi = hdi(arr)
    return {
        "mean": float(np.mean(arr)),
        "median": float(np.median(arr)),
        "hdi_90": [float(lo), float(hi)],
    }
