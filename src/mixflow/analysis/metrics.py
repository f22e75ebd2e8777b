"""Fit quality: R², MAPE and NRMSE of the posterior mean against the actual KPI."""

from __future__ import annotations

import numpy as np


def fit_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """R², MAPE (over non-zero actuals) and NRMSE (RMSE / range of actuals), flattened."""
    a = np.asarray(actual, dtype=np.float64).reshape(-1)
    p = np.asarray(predicted, dtype=np.float64).reshape(-1)
    resid = a - p
    sst = float(np.sum((a - a.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / sst if sst > 0 else float("nan")
    nz = a != 0
    mape = float(np.mean(np.abs(resid[nz] / a[nz]))) if nz.any() else float("nan")
    rng = float(a.max() - a.min())
    nrmse = float(np.sqrt(np.mean(resid**2))) / rng if rng > 0 else float("nan")
    return {"r2": r2, "mape": mape, "nrmse": nrmse}
