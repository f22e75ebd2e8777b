"""Intervals of a geo experiment's effect over time: per test date and cumulative.

The analysis (:mod:`mixflow.experiments.geo`) gives one conformal interval, for the total
incremental KPI over the whole test window. The same test inversion gives the bands of the
effect-over-time chart (Chernozhukov, Wuthrich & Zhu 2021, the per-period conformal intervals
augsynth and GeoLift draw):

- **per date** ``t``: the other test dates are left out, and ``H0: effect on t = tau`` is tested
  with a window of that one date (the estimator refitted on every kept date with ``tau``
  removed, ``|residual on t|`` ranked among the cyclic shifts of the residuals). The interval
  is the range of ``tau`` (per treated location) not rejected at the level.
- **cumulative through the k-th test date**: the test dates after it are left out, and a
  constant effect ``tau`` over the first ``k`` dates is tested as the analysis tests the whole
  window; the interval is that range times ``k`` times the number of treated locations (total
  incremental KPI). At the last date it is the analysis's own ``ci_90`` (same data, grid and
  ridge penalty).

The ridge penalty of ASCM is held at the analysis's (chosen on the pre-period). Each interval
inverts the test on a grid of 161 effects, ``estimate +- 4 (pre-RMSE + |estimate|)``, widened
(twice at most, doubling) while the range not rejected touches the grid's edge. With ``n`` dates
kept the smallest p-value is ``1 / n``, so a per-date 90% interval needs ``n >= 10``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np

from mixflow.errors import SpecError
from mixflow.experiments.geo import GeoPanel, GeoResult, conformal_p_value, fit_synthetic_control

_GRID_POINTS: Final = 161
_GRID_HALF_WIDTH: Final = 4.0
_WIDENINGS: Final = 2


@dataclass(frozen=True)
class GeoEffectBands:
    """The effect over the test window with conformal intervals at ``level``.

    ``effect*``: per test date, the treated locations' average KPI minus the synthetic
    control's (KPI per location and date). ``cumulative*``: the total incremental KPI (every
    treated location) from the first test date through each date. All tuples have one entry
    per test date, in ``dates`` order."""

    level: float
    dates: tuple[date, ...]
    effect: tuple[float, ...]
    effect_lower: tuple[float, ...]
    effect_upper: tuple[float, ...]
    cumulative: tuple[float, ...]
    cumulative_lower: tuple[float, ...]
    cumulative_upper: tuple[float, ...]

    def __post_init__(self) -> None:
        if not 0.0 < self.level < 1.0:
            raise SpecError(f"level must lie in (0, 1), got {self.level}")
        n = len(self.dates)
        for name in (
            "effect",
            "effect_lower",
            "effect_upper",
            "cumulative",
            "cumulative_lower",
            "cumulative_upper",
        ):
            if len(getattr(self, name)) != n:
                raise SpecError(f"{name} has {len(getattr(self, name))} values for {n} dates")


def effect_bands(panel: GeoPanel, result: GeoResult, level: float = 0.90) -> GeoEffectBands:
    """The per-date and cumulative intervals of ``result``, analysed on ``panel`` (see the
    module doc for the method)."""
    if not 0.0 < level < 1.0:
        raise SpecError(f"level must lie in (0, 1), got {level}")
    dates = np.array(panel.dates)
    window = np.isin(dates, np.array(result.test_dates))
    treated = [panel.locations.index(name) for name in result.treated]
    target = panel.kpi[:, treated].mean(axis=1)
    donors = np.delete(panel.kpi, treated, axis=1)
    test_idx = np.flatnonzero(window)
    cells = len(treated)
    rows: list[tuple[float, float, float, float, float, float]] = []
    for k, t in enumerate(test_idx):
        alone = ~window
        alone[t] = True
        point, lo, hi = _invert(
            target[alone], donors[alone], int(t) - int(window[:t].sum()), 1, result, level
        )
        through = ~window
        through[test_idx[: k + 1]] = True
        scale = cells * (k + 1)
        c_point, c_lo, c_hi = _invert(
            target[through], donors[through], int(test_idx[0]), k + 1, result, level
        )
        rows.append((point, lo, hi, c_point * scale, c_lo * scale, c_hi * scale))
    columns = list(zip(*rows, strict=True)) if rows else [()] * 6
    return GeoEffectBands(level, tuple(result.test_dates), *(tuple(c) for c in columns))


def _invert(
    target: np.ndarray,
    donors: np.ndarray,
    first: int,
    length: int,
    result: GeoResult,
    level: float,
) -> tuple[float, float, float]:
    """``(estimate, lower, upper)`` of a constant effect per treated location over the window
    of ``length`` dates from row ``first`` (every row before it precedes the test) of ``target`` ``(n,)`` / ``donors`` ``(n, n_donors)``,
    by inverting the conformal test on a grid (widened while the kept range touches an edge)."""
    post = np.zeros(len(target), dtype=bool)
    post[first : first + length] = True
    pre = np.arange(len(target)) < first  # the weights are fitted before the test, as analysed
    fit = fit_synthetic_control(target, donors, pre, result.method, result.ridge_lambda)
    estimate = float(np.mean(target[post] - fit.counterfactual[post]))
    half = _GRID_HALF_WIDTH * (fit.pre_rmse + abs(estimate)) + 1e-9
    for _ in range(_WIDENINGS + 1):
        grid = np.linspace(estimate - half, estimate + half, _GRID_POINTS)
        p = np.array(
            [
                conformal_p_value(
                    target, donors, post, result.method, float(tau), result.ridge_lambda
                )
                for tau in grid
            ]
        )
        kept = np.flatnonzero(p > 1.0 - level)
        if kept.size == 0:  # the grid is too coarse: the estimate alone, as the analysis does
            return estimate, estimate, estimate
        if kept[0] > 0 and kept[-1] < _GRID_POINTS - 1:
            break
        half *= 2.0
    return estimate, float(grid[kept[0]]), float(grid[kept[-1]])


__all__ = ["GeoEffectBands", "effect_bands"]
