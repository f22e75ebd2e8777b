"""Mean, median and 90% HDI of many series of draws at once, for the what-if answers.

:func:`mixflow.analysis.stats.stat` summarises one series through ArviZ (xarray on the way,
tens of microseconds each, milliseconds over a plan's few hundred series). Here every series is
a row of one ``(N, S)`` matrix: one sort, one reduction per figure. The numbers are the same as
``stat``'s, bit for bit (``tests/service/test_intervals.py``): each row's mean is NumPy's
pairwise sum of a contiguous row, as ``np.mean`` of a 1-d array; the median is the middle of
the sorted row (the mean of the two middle draws for an even count, as ``np.median``); the HDI
is ArviZ's (the narrowest window of ``floor(prob * S)`` sorted draws, the first on ties).
"""

from __future__ import annotations

import numpy as np

from mixflow.analysis.stats import HDI_PROB


def row_stats(rows: np.ndarray, prob: float = HDI_PROB) -> tuple[np.ndarray, np.ndarray]:
    """``(mean (N,), band (N, 3))`` of each row of ``rows (N, S)``; ``band`` holds
    ``(median, hdi_lo, hdi_hi)``. Rows must be finite (see :func:`finite_rows`)."""
    arr = np.ascontiguousarray(rows, dtype=np.float64)
    n_rows, n = arr.shape
    if n_rows == 0:
        return np.zeros(0), np.zeros((0, 3))
    mean = arr.mean(axis=1)
    ordered = np.sort(arr, axis=1)
    half = n // 2
    # np.median: the middle value, or the mean of the two middle ones, (a + b) / 2 exactly
    median = ordered[:, half] if n % 2 else (ordered[:, half - 1] + ordered[:, half]) / 2.0
    k = int(np.floor(prob * n))
    first = np.argmin(ordered[:, k:] - ordered[:, : n - k], axis=1)
    idx = np.arange(n_rows)
    band = np.stack([median, ordered[idx, first], ordered[idx, first + k]], axis=1)
    return mean, band


def finite_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``rows (N, S)`` with every non-finite row zeroed, and ``(N,)`` which rows were finite
    (a ratio over zero spend is NaN: its figures are nulls)."""
    arr = np.asarray(rows, dtype=np.float64)
    finite: np.ndarray = np.asarray(np.isfinite(arr).all(axis=1))
    if finite.all():
        return arr, finite
    return np.where(finite[:, None], arr, 0.0), finite


__all__ = ["finite_rows", "row_stats"]
