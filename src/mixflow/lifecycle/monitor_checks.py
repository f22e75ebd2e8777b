"""The monitor's statistics, pure NumPy: every threshold is read off the posterior predictive.

A check computes one statistic on the actual weeks and the same statistic on each predictive
trajectory (a draw of the KPI the model expects for those weeks, used as a pseudo-actual). The
share of trajectories at least as extreme is the check's predictive p-value; a check warns when
it falls below ``warn_alpha`` and alerts below ``alert_alpha``. If the model is right, a check
therefore warns on a share ``warn_alpha`` of windows whatever the window's length, the
parameter uncertainty (a draw whose trend runs high runs high in every week) or the residuals'
autocorrelation, as long as the trajectories carry all three. The last comes from an AR(1) fit
to the training residuals (:func:`residual_autocorrelation`, :func:`ar1_noise`).

Shapes: ``N`` predictive trajectories, ``G`` geos, ``H`` monitored weeks, ``C`` channels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

#: the largest lag-1 autocorrelation used for the predictive noise: beyond it the residuals
#: are a random walk in all but name and a window of weeks says little about drift
MAX_AUTOCORRELATION = 0.9


def residual_autocorrelation(residuals: np.ndarray) -> float:
    """Lag-1 autocorrelation of training residuals ``(G, T)`` (actual minus the posterior-mean
    fit), pooled over geos, each geo's residuals centred first; clipped to
    ``[0, MAX_AUTOCORRELATION]`` (a negative value would narrow the bands and is not trusted)."""
    r = np.asarray(residuals, dtype=np.float64)
    r = r - r.mean(axis=1, keepdims=True)
    den = float(np.sum(r * r))
    if r.shape[1] < 3 or den <= 0:
        return 0.0
    phi = float(np.sum(r[:, 1:] * r[:, :-1])) / den
    return float(np.clip(phi, 0.0, MAX_AUTOCORRELATION))


def ar1_noise(
    sd: np.ndarray,
    phi: float,
    horizon: int,
    rng: np.random.Generator,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """``(N, G, H)`` AR(1) residuals with marginal sd ``sd (N, G)`` and coefficient ``phi``.

    ``start (G,)``: the last training residual per geo; the first week then continues from it
    (mean ``phi x start``). Without it the first week is drawn from the stationary law.
    """
    n, g = sd.shape
    eps = rng.standard_normal((n, g, horizon))
    innovation = np.sqrt(1.0 - phi * phi) * sd
    out = np.empty((n, g, horizon))
    if start is None:
        prev = sd * eps[:, :, 0]
    else:
        prev = phi * np.asarray(start, np.float64)[None, :] + innovation * eps[:, :, 0]
    out[:, :, 0] = prev
    for t in range(1, horizon):
        prev = phi * prev + innovation * eps[:, :, t]
        out[:, :, t] = prev
    return out


@dataclass(frozen=True)
class CheckOutcome:
    """One check: the statistic on the actuals, its predictive p-value, and the statistic's
    values at which a warning and an alert start (the ``1 - alpha`` predictive quantiles)."""

    statistic: float
    p_value: float
    warn_threshold: float
    alert_threshold: float


def standardize(actual: np.ndarray, trajectories: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weekly residuals in predictive sds: ``z (H,)`` of ``actual (H,)`` and ``zr (N, H)`` of
    each trajectory in ``trajectories (N, H)``, against the trajectories' mean and sd."""
    mean = trajectories.mean(axis=0)
    sd = np.maximum(trajectories.std(axis=0, ddof=1), 1e-12)
    return (actual - mean) / sd, (trajectories - mean) / sd


def bias_check(
    z: np.ndarray, zr: np.ndarray, warn_alpha: float, alert_alpha: float
) -> CheckOutcome:
    """The window's mean standardized residual, in units of its predictive sd (a z-score).

    The sd is that of the trajectories' own window means, so it carries the residuals'
    autocorrelation and the parameter uncertainty: for H independent weeks it would be
    ``1 / sqrt(H)``; ``1 / sd**2`` is the window's effective number of weeks. Two-sided
    Normal tail (a mean of many weeks is close to Normal; it also resolves small alphas that
    a few thousand trajectories cannot).
    """
    means = zr.mean(axis=1)
    score = float((z.mean() - means.mean()) / max(float(means.std(ddof=1)), 1e-12))
    return CheckOutcome(
        statistic=score,
        p_value=float(2.0 * stats.norm.sf(abs(score))),
        warn_threshold=float(stats.norm.isf(warn_alpha / 2.0)),
        alert_threshold=float(stats.norm.isf(alert_alpha / 2.0)),
    )


def effective_weeks(zr: np.ndarray) -> float:
    """``1 / var(mean of zr over weeks)``: how many independent weeks the window is worth."""
    return float(1.0 / max(float(zr.mean(axis=1).var(ddof=1)), 1e-12))


def cusum_paths(z: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided tabular CUSUM of ``z (..., H)`` with allowance ``k``: the upper path
    ``S+_t = max(0, S+_{t-1} + z_t - k)`` and the lower ``S-_t = max(0, S-_{t-1} - z_t - k)``,
    each ``(..., H)``."""
    z = np.asarray(z, dtype=np.float64)
    up = np.zeros(z.shape)
    lo = np.zeros(z.shape)
    s_up = np.zeros(z.shape[:-1])
    s_lo = np.zeros(z.shape[:-1])
    for t in range(z.shape[-1]):
        s_up = np.maximum(0.0, s_up + z[..., t] - k)
        s_lo = np.maximum(0.0, s_lo - z[..., t] - k)
        up[..., t], lo[..., t] = s_up, s_lo
    return up, lo


def cusum_check(
    z: np.ndarray, zr: np.ndarray, k: float, warn_alpha: float, alert_alpha: float
) -> tuple[CheckOutcome, np.ndarray, np.ndarray]:
    """The largest value either CUSUM path of ``z`` reaches over the window, against the same
    maximum over the trajectories ``zr (N, H)``; also returns the actual paths ``(H,)``. The
    alert threshold is the CUSUM's ``h``, here set so that a share ``alert_alpha`` of
    same-process windows of this length crosses it."""
    up, lo = cusum_paths(z, k)
    r_up, r_lo = cusum_paths(zr, k)
    ref = np.maximum(r_up.max(axis=1), r_lo.max(axis=1))
    stat = float(max(up.max(), lo.max()))
    outcome = CheckOutcome(
        statistic=stat,
        p_value=float(np.mean(ref >= stat)),
        warn_threshold=float(np.quantile(ref, 1.0 - warn_alpha)),
        alert_threshold=float(np.quantile(ref, 1.0 - alert_alpha)),
    )
    return outcome, up, lo


def first_crossing(up: np.ndarray, lo: np.ndarray, h: float) -> int | None:
    """The first week index where either CUSUM path exceeds ``h`` (``None``: never)."""
    over = np.flatnonzero(np.maximum(up, lo) > h)
    return int(over[0]) if len(over) else None


def coverage_check(
    actual: np.ndarray, draws: np.ndarray, interval: float, warn_alpha: float, alert_alpha: float
) -> CheckOutcome:
    """Share of geo-weeks of ``actual (G, H)`` inside the central ``interval`` of ``draws
    (N, G, H)``, against the same share for each trajectory (one-sided: too few inside)."""
    a = 0.5 * (1.0 - interval)
    lo, hi = np.quantile(draws, [a, 1.0 - a], axis=0)
    inside = float(np.mean((actual >= lo) & (actual <= hi)))
    ref = np.mean((draws >= lo) & (draws <= hi), axis=(1, 2))
    return CheckOutcome(
        statistic=inside,
        p_value=float(np.mean(ref <= inside)),
        warn_threshold=float(np.quantile(ref, warn_alpha)),
        alert_threshold=float(np.quantile(ref, alert_alpha)),
    )


@dataclass(frozen=True)
class SpendRange:
    """Weekly spend on one channel (summed over geos, currency): the range the training weeks
    saw, the new weeks' range, how many new weeks fall outside the training range widened by
    ``margin``, and the new weeks' spend over that of the same weeks of the year in training
    (``None`` when no training week lies within 3 days of year of any new week)."""

    channel: str
    train_min: float
    train_max: float
    new_min: float
    new_max: float
    weeks_above: int
    weeks_below: int
    vs_same_weeks: float | None


def spend_ranges(
    history: np.ndarray,
    new: np.ndarray,
    channels: tuple[str, ...],
    history_dates: np.ndarray,
    dates: np.ndarray,
    margin: float,
) -> tuple[SpendRange, ...]:
    """Per channel, weekly spend ``new (H, C)`` against ``history (T, C)`` (both summed over
    geos). A week is above the range when it spends more than ``(1 + margin) x`` the training
    maximum and below when less than ``(1 - margin) x`` the training minimum."""
    hi = history.max(axis=0)
    lo = history.min(axis=0)
    same = _same_weeks_spend(history, history_dates, dates)
    out = []
    for c, ch in enumerate(channels):
        ref = same[:, c]
        ratio = (
            float(new[:, c].sum() / ref.sum()) if np.isfinite(ref).all() and ref.sum() > 0 else None
        )
        out.append(
            SpendRange(
                channel=ch,
                train_min=float(lo[c]),
                train_max=float(hi[c]),
                new_min=float(new[:, c].min()),
                new_max=float(new[:, c].max()),
                weeks_above=int(np.sum(new[:, c] > (1.0 + margin) * hi[c])),
                weeks_below=int(np.sum(new[:, c] < (1.0 - margin) * lo[c])),
                vs_same_weeks=ratio,
            )
        )
    return tuple(out)


def _same_weeks_spend(
    history: np.ndarray, history_dates: np.ndarray, dates: np.ndarray
) -> np.ndarray:
    """``(H, C)`` mean training spend of the weeks within 3 days of year of each new week (NaN
    where there is none): the like-season yardstick of the new spend."""
    hist_doy = _day_of_year(history_dates)
    out = np.full((len(dates), history.shape[1]), np.nan)
    for t, doy in enumerate(_day_of_year(dates)):
        gap = np.abs(hist_doy - doy)
        match = np.minimum(gap, 365 - gap) <= 3
        if match.any():
            out[t] = history[match].mean(axis=0)
    return out


def _day_of_year(dates: np.ndarray) -> np.ndarray:
    d = np.asarray(dates, dtype="datetime64[D]")
    return (d - d.astype("datetime64[Y]")).astype(np.int64)


__all__ = [
    "MAX_AUTOCORRELATION",
    "CheckOutcome",
    "SpendRange",
    "ar1_noise",
    "bias_check",
    "coverage_check",
    "cusum_check",
    "cusum_paths",
    "effective_weeks",
    "first_crossing",
    "residual_autocorrelation",
    "spend_ranges",
    "standardize",
]
