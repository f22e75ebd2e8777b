"""Analysis of a geo experiment: synthetic control, augmented synthetic control and
difference-in-differences on a long (date, location, KPI) table.

Shapes: a panel holds ``kpi`` of shape ``(n_times, n_locations)``; the pre-period is every date
before the test window (``n_pre`` dates), the post-period is the test window (``n_post`` dates).

Estimators (all fitted on the *average* series of the treated locations, after removing each
series' pre-period mean, i.e. with unit fixed effects as GeoLift does by default):

- ``sc``: donor weights ``w >= 0``, ``sum(w) = 1`` minimising the pre-period squared imbalance
  (NNLS with a heavily weighted sum-to-one row, then renormalised).
- ``ascm``: ridge-augmented SC (Ben-Michael, Feller & Rothstein 2021). The SC weights get the
  correction ``Xc (Xc' Xc + lambda I)^-1 (x1 - X0' w)`` where ``Xc`` holds the donors' pre-period
  series centred across donors, so the weights still sum to one but may be negative. The ridge
  penalty ``lambda`` is chosen on the pre-period: the last ``min(n_post, n_pre // 3)`` pre-period
  dates are held out as a pseudo test window (true effect zero), the estimator is fitted on the
  earlier dates for each ``lambda`` on a log grid (``10^-6 .. 10^0`` times the largest squared
  singular value of ``Xc``) and the ``lambda`` with the smallest held-out squared error wins.
- ``did``: uniform donor weights (difference-in-differences against the donor average).

Inference: conformal inference by test inversion (Chernozhukov, Wuthrich & Zhu 2021; the
``inf_type="conformal"`` of augsynth that GeoLift reports). Under ``H0: effect = tau`` on every
treated date, ``tau`` is subtracted from the treated series in the test window, the estimator is
refitted on *all* dates, and the statistic ``|sum of residuals over the test window|`` is compared
with the same statistic on every cyclic shift of the residual series (moving-block permutations).
The p-value of ``tau = 0`` is ``p_value``; ``ci_90``/``ci_95`` are the ranges of ``tau`` on a grid
(``att +- 4 (pre-RMSE + |att|)``, 161 points) that are not rejected, times the number of treated
location-dates, i.e. intervals for the total incremental KPI. With ``n_times`` dates the smallest
attainable p-value is ``1 / n_times``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from scipy.optimize import nnls

from mixflow.errors import DataError, SpecError, did_you_mean
from mixflow.experiments.methods import RESULT_SCHEMA_VERSION, GeoMethod

_LAMBDA_GRID: Final = np.logspace(-6.0, 0.0, 13)
_SUM_TO_ONE_WEIGHT: Final = 1e3
_WEIGHT_TOL: Final = 1e-6
_CI_GRID_HALF_WIDTH: Final = 4.0
_CI_GRID_POINTS: Final = 161
INFERENCE: Final = "conformal (moving-block permutations, test inversion)"


@dataclass(frozen=True)
class GeoPanel:
    """A balanced panel: ``kpi`` and optional ``spend`` of shape ``(n_times, n_locations)``."""

    dates: tuple[date, ...]
    locations: tuple[str, ...]
    kpi: np.ndarray
    spend: np.ndarray | None = None


class GeoResultDocument(BaseModel):
    """``result.json`` of ``mixflow experiment analyze``: the typed, versioned document (its
    JSON Schema is ``mixflow schema result``'s geo arm).

    ``att`` is the average effect per treated location and test date (KPI units);
    ``att_by_date`` is that effect on each test date, in ``test_dates`` order. ``lift_pct`` is
    ``None`` when the counterfactual KPI is 0. ``ci_90``/``ci_95`` bound the total incremental
    KPI. Documents of version 1 (``att`` the per-date list, the average in ``att_mean``) are
    upgraded on reading (:func:`mixflow.experiments.results.parse_result`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[2] = RESULT_SCHEMA_VERSION
    kind: Literal["geo"] = "geo"
    method: GeoMethod
    treated: list[str]
    test_dates: list[date]
    att: float
    att_by_date: list[float]
    incremental_kpi: float
    counterfactual_kpi: float
    lift_pct: float | None
    weights: dict[str, float]
    scaled_l2_imbalance: float
    p_value: float
    ci_90: tuple[float, float]
    ci_95: tuple[float, float]
    ridge_lambda: float | None
    spend: float | None
    iroas: float | None
    cost_per_incremental: float | None
    inference: str = INFERENCE

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON object written to ``result.json``."""
        return self.model_dump(mode="json")


@dataclass(frozen=True)
class GeoResult:
    """The analysed experiment. KPI figures are in the KPI's units; ``att_by_date`` is the
    effect per treated location on each test date and :attr:`att` its average; ``lift_pct`` is
    in percent; ``series_*`` are the treated locations' average series over every date (for
    charts)."""

    method: GeoMethod
    treated: tuple[str, ...]
    test_dates: tuple[date, ...]
    att_by_date: tuple[float, ...]
    incremental_kpi: float
    counterfactual_kpi: float
    lift_pct: float
    weights: dict[str, float]
    scaled_l2_imbalance: float
    p_value: float
    ci_90: tuple[float, float]
    ci_95: tuple[float, float]
    ridge_lambda: float | None
    dates: tuple[date, ...] = field(repr=False)
    series_actual: tuple[float, ...] = field(repr=False)
    series_counterfactual: tuple[float, ...] = field(repr=False)
    spend: float | None = None

    @property
    def iroas(self) -> float | None:
        """Incremental KPI per unit of spend in the treated locations over the test window."""
        if self.spend is None or self.spend == 0:
            return None
        return self.incremental_kpi / self.spend

    @property
    def cost_per_incremental(self) -> float | None:
        """Spend per incremental KPI unit (None when there is no spend or no increment)."""
        if self.spend is None or self.incremental_kpi == 0:
            return None
        return self.spend / self.incremental_kpi

    @property
    def att(self) -> float:
        """The average treatment effect on the treated: per treated location and test date,
        averaged over the test dates."""
        return float(np.mean(self.att_by_date))

    def to_document(self) -> GeoResultDocument:
        """The typed ``result.json``."""
        return GeoResultDocument(
            method=self.method,
            treated=list(self.treated),
            test_dates=list(self.test_dates),
            att=self.att,
            att_by_date=list(self.att_by_date),
            incremental_kpi=self.incremental_kpi,
            counterfactual_kpi=self.counterfactual_kpi,
            lift_pct=None if math.isnan(self.lift_pct) else self.lift_pct,
            weights=dict(self.weights),
            scaled_l2_imbalance=self.scaled_l2_imbalance,
            p_value=self.p_value,
            ci_90=self.ci_90,
            ci_95=self.ci_95,
            ridge_lambda=self.ridge_lambda,
            spend=self.spend,
            iroas=self.iroas,
            cost_per_incremental=self.cost_per_incremental,
        )

    def to_dict(self) -> dict[str, Any]:
        """``result.json``'s JSON object (see :class:`GeoResultDocument`)."""
        return self.to_document().to_json_dict()


# --------------------------------------------------------------------------- input


def panel_from_table(
    table: pd.DataFrame,
    *,
    date_column: str,
    location_column: str,
    kpi_column: str,
    spend_column: str | None = None,
) -> GeoPanel:
    """Pivot a long table into a balanced :class:`GeoPanel`; raise :class:`DataError` naming the
    column, location or date that breaks the contract."""
    needed = [date_column, location_column, kpi_column]
    if spend_column is not None:
        needed.append(spend_column)
    for column in needed:
        if column not in table.columns:
            raise DataError(
                f"column '{column}' not found{did_you_mean(column, table.columns)}; "
                f"columns: {', '.join(map(str, table.columns))}"
            )
    frame = table[needed].copy()
    frame[location_column] = frame[location_column].astype(str)
    try:
        frame[date_column] = pd.to_datetime(frame[date_column]).dt.normalize()
    except (ValueError, TypeError) as err:
        raise DataError(f"column '{date_column}' has values that are not dates: {err}") from err
    for column in needed:
        missing = frame[column].isna()
        if missing.any():
            row = frame[missing].iloc[0]
            raise DataError(
                f"column '{column}' has {int(missing.sum())} missing value(s), first at "
                f"location '{row[location_column]}', date {row[date_column]}"
            )
    value_columns = [kpi_column] + ([spend_column] if spend_column is not None else [])
    for column in value_columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise DataError(f"column '{column}' must be numeric, got {frame[column].dtype}")
    duplicated = frame.duplicated([date_column, location_column])
    if duplicated.any():
        row = frame[duplicated].iloc[0]
        raise DataError(
            f"unbalanced panel: location '{row[location_column]}' has more than one row on "
            f"{row[date_column].date()}"
        )
    kpi = frame.pivot(index=date_column, columns=location_column, values=kpi_column).sort_index()
    if kpi.isna().any().any():
        location = str(kpi.columns[kpi.isna().any(axis=0)][0])
        when = kpi.index[kpi[location].isna()][0]
        raise DataError(f"unbalanced panel: location '{location}' has no row on {when.date()}")
    spend = None
    if spend_column is not None:
        spend_frame = frame.pivot(index=date_column, columns=location_column, values=spend_column)
        spend = spend_frame.sort_index()[kpi.columns].to_numpy(float)
    return GeoPanel(
        dates=tuple(ts.date() for ts in kpi.index),
        locations=tuple(str(c) for c in kpi.columns),
        kpi=kpi.to_numpy(float),
        spend=spend,
    )


def _window(panel: GeoPanel, start: date, end: date) -> np.ndarray:
    """Boolean mask ``(n_times,)`` of the test window; it must leave pre-period dates."""
    if end < start:
        raise SpecError(f"test window end {end} is before its start {start}")
    first, last = panel.dates[0], panel.dates[-1]
    if start <= first or start > last or end > last:
        raise DataError(
            f"test window {start}..{end} must lie inside the data ({first}..{last}) and leave "
            "pre-period dates before it"
        )
    dates = np.array(panel.dates)
    mask = (dates >= start) & (dates <= end)
    n_pre = int((dates < start).sum())
    if n_pre < 3:
        raise DataError(f"only {n_pre} pre-period date(s) before {start}; need at least 3")
    return np.asarray(mask, dtype=bool)


def _treated_index(panel: GeoPanel, treated: Sequence[str]) -> np.ndarray:
    if not treated:
        raise SpecError("no treated locations given")
    index = []
    for name in treated:
        if name not in panel.locations:
            raise DataError(
                f"treated location '{name}' not in the data{did_you_mean(name, panel.locations)}"
            )
        index.append(panel.locations.index(name))
    if len(panel.locations) - len(set(index)) < 2:
        raise DataError("need at least two control locations besides the treated ones")
    return np.array(sorted(set(index)))


# --------------------------------------------------------------------------- estimators


def sc_weights(target: np.ndarray, donors: np.ndarray) -> np.ndarray:
    """Synthetic-control weights ``(n_donors,)``: ``w >= 0``, ``sum(w) = 1``, minimising
    ``||target - donors @ w||`` where ``target`` is ``(n_pre,)`` and ``donors`` ``(n_pre,
    n_donors)``. Solved as NNLS with an extra, heavily weighted row ``sum(w) = 1``."""
    scale = float(np.sqrt(np.mean(donors**2))) or 1.0
    penalty = _SUM_TO_ONE_WEIGHT * scale * math.sqrt(donors.shape[0])
    a = np.vstack([donors, np.full((1, donors.shape[1]), penalty)])
    b = np.append(target, penalty)
    w, _ = nnls(a, b, maxiter=50 * donors.shape[1])
    total = w.sum()
    return w / total if total > 0 else np.full(donors.shape[1], 1.0 / donors.shape[1])


def _ridge_correction(
    target: np.ndarray, donors: np.ndarray, w: np.ndarray, lam: float
) -> np.ndarray:
    """ASCM weight correction ``(n_donors,)``: ``Xc (Xc' Xc + lam I)^-1 (x1 - X0' w)`` written in
    its ``n_donors x n_donors`` dual form; sums to zero."""
    xc = donors.T - donors.T.mean(axis=0)  # (n_donors, n_pre), centred across donors
    gram = xc @ xc.T + lam * np.eye(xc.shape[0])
    return np.asarray(np.linalg.solve(gram, xc @ (target - donors @ w)))


def _demean(series: np.ndarray, pre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Subtract each column's mean over the ``pre`` rows; return (centred, means)."""
    means = series[pre].mean(axis=0)
    return series - means, means


def _fit_weights(
    target: np.ndarray,
    donors: np.ndarray,
    pre: np.ndarray,
    method: GeoMethod,
    lam: float | None = None,
) -> tuple[np.ndarray, float | None]:
    """Donor weights for the de-meaned ``target`` ``(n_times,)`` from ``donors`` ``(n_times,
    n_donors)`` fitted on the ``pre`` rows; returns (weights, ridge lambda or None). ``lam``:
    a ridge penalty chosen before (else chosen on the pre-period)."""
    n_donors = donors.shape[1]
    if method is GeoMethod.did:
        return np.full(n_donors, 1.0 / n_donors), None
    t_c, _ = _demean(target[:, None], pre)
    d_c, _ = _demean(donors, pre)
    w = sc_weights(t_c[pre, 0], d_c[pre])
    if method is GeoMethod.sc:
        return w, None
    if lam is None:
        lam = _choose_lambda(target, donors, pre)
    return w + _ridge_correction(t_c[pre, 0], d_c[pre], w, lam), lam


def _choose_lambda(target: np.ndarray, donors: np.ndarray, pre: np.ndarray) -> float:
    """Ridge penalty by a pseudo test window at the end of the pre-period (see module doc)."""
    pre_idx = np.flatnonzero(pre)
    holdout = max(1, min(int((~pre).sum()), len(pre_idx) // 3))
    train = np.zeros_like(pre)
    train[pre_idx[:-holdout]] = True
    valid = pre_idx[-holdout:]
    t_c, _ = _demean(target[:, None], train)
    d_c, _ = _demean(donors, train)
    w = sc_weights(t_c[train, 0], d_c[train])
    xc = d_c[train].T - d_c[train].T.mean(axis=0)
    top = float(np.linalg.norm(xc, 2)) ** 2 or 1.0
    best, best_err = top, math.inf
    for ratio in _LAMBDA_GRID:
        lam = float(ratio * top)
        w_aug = w + _ridge_correction(t_c[train, 0], d_c[train], w, lam)
        err = float(np.mean((t_c[valid, 0] - d_c[valid] @ w_aug) ** 2))
        if err < best_err:
            best, best_err = lam, err
    return best


@dataclass(frozen=True)
class SyntheticControlFit:
    """Donor weights and the counterfactual of one target series (see fit_synthetic_control)."""

    weights: np.ndarray  # (n_donors,)
    counterfactual: np.ndarray  # (n_times,)
    pre_rmse: float
    imbalance: float
    ridge_lambda: float | None


def fit_synthetic_control(
    target: np.ndarray,
    donors: np.ndarray,
    pre: np.ndarray,
    method: GeoMethod,
    lam: float | None = None,
) -> SyntheticControlFit:
    """Fit ``method`` and build the counterfactual of ``target`` with unit fixed effects.

    ``target`` is ``(n_times,)``, ``donors`` ``(n_times, n_donors)``, ``pre`` a boolean mask of
    the periods the weights are fitted on. Shared by the analysis here and the placebo designs
    of :mod:`mixflow.experiments.design`."""
    weights, lam = _fit_weights(target, donors, pre, method, lam)
    t_c, t_mean = _demean(target[:, None], pre)
    d_c, _ = _demean(donors, pre)
    counterfactual = t_mean[0] + d_c @ weights
    gap = t_c[pre, 0] - d_c[pre] @ weights
    uniform = t_c[pre, 0] - d_c[pre].mean(axis=1)
    uniform_norm = float(np.linalg.norm(uniform))
    imbalance = float(np.linalg.norm(gap)) / uniform_norm if uniform_norm > 0 else 0.0
    pre_rmse = float(np.sqrt(np.mean(gap**2)))
    return SyntheticControlFit(weights, counterfactual, pre_rmse, imbalance, lam)


# --------------------------------------------------------------------------- analysis


def analyze_panel(
    panel: GeoPanel,
    treated: Sequence[str],
    start: date,
    end: date,
    method: GeoMethod = GeoMethod.ascm,
) -> GeoResult:
    """Estimate the effect of the test on the treated locations over ``start..end`` (inclusive)."""
    post = _window(panel, start, end)
    pre = np.array(panel.dates) < start
    treated_idx = _treated_index(panel, treated)
    donor_idx = np.setdiff1d(np.arange(len(panel.locations)), treated_idx)
    target = panel.kpi[:, treated_idx].mean(axis=1)
    donors = panel.kpi[:, donor_idx]
    fit = fit_synthetic_control(target, donors, pre, method)
    n_treated = len(treated_idx)
    att = target[post] - fit.counterfactual[post]
    incremental = float(att.sum() * n_treated)
    counterfactual_total = float(fit.counterfactual[post].sum() * n_treated)
    p_value, ci_90, ci_95 = _conformal_inference(
        target, donors, post, method, fit, float(att.mean()), n_treated
    )
    names = [panel.locations[i] for i in donor_idx]
    weights = {
        name: float(w) for name, w in zip(names, fit.weights, strict=True) if abs(w) > _WEIGHT_TOL
    }
    spend = None
    if panel.spend is not None:
        spend = float(panel.spend[np.ix_(post, treated_idx)].sum())
    return GeoResult(
        method=method,
        treated=tuple(panel.locations[i] for i in treated_idx),
        test_dates=tuple(d for d, p in zip(panel.dates, post, strict=True) if p),
        att_by_date=tuple(float(a) for a in att),
        incremental_kpi=incremental,
        counterfactual_kpi=counterfactual_total,
        lift_pct=100.0 * incremental / counterfactual_total if counterfactual_total else math.nan,
        weights=weights,
        scaled_l2_imbalance=fit.imbalance,
        p_value=p_value,
        ci_90=ci_90,
        ci_95=ci_95,
        ridge_lambda=fit.ridge_lambda,
        dates=panel.dates,
        series_actual=tuple(float(v) for v in target),
        series_counterfactual=tuple(float(v) for v in fit.counterfactual),
        spend=spend,
    )


def conformal_p_value(
    target: np.ndarray,
    donors: np.ndarray,
    post: np.ndarray,
    method: GeoMethod = GeoMethod.ascm,
    tau: float = 0.0,
    ridge_lambda: float | None = None,
) -> float:
    """Conformal p-value of ``H0: effect = tau`` per treated date (see module doc).

    ``target`` ``(n_times,)`` is the treated average, ``donors`` ``(n_times, n_donors)`` the
    controls, ``post`` ``(n_times,)`` the boolean test window. The estimator is refitted on
    every date with ``tau`` removed from the window, and ``|sum of residuals over the window|``
    is compared with the same statistic on every cyclic shift of the residuals. The ASCM ridge
    penalty is held at ``ridge_lambda`` (default: chosen on the pre-period, as the analysis
    does): choosing it again on the refit would pick it on a single held-out date.
    """
    adjusted = target - tau * post
    if method is GeoMethod.ascm and ridge_lambda is None:
        ridge_lambda = _choose_lambda(adjusted, donors, ~post)
    fit = fit_synthetic_control(
        adjusted, donors, np.ones_like(post, dtype=bool), method, ridge_lambda
    )
    residual = adjusted - fit.counterfactual
    n_times = len(residual)
    window = np.flatnonzero(post)
    shifts = np.arange(n_times)[:, None]
    stats = np.abs(residual[(window[None, :] - shifts) % n_times].sum(axis=1))
    return float(np.mean(stats >= stats[0] - 1e-9 * (1.0 + stats[0])))


def _conformal_inference(
    target: np.ndarray,
    donors: np.ndarray,
    post: np.ndarray,
    method: GeoMethod,
    fit: SyntheticControlFit,
    att_mean: float,
    n_treated: int,
) -> tuple[float, tuple[float, float], tuple[float, float]]:
    """p-value of no effect and 90 % / 95 % intervals of the total incremental KPI by inverting
    the conformal test over a grid of constant effects ``tau`` (the ridge penalty of ``fit``
    held fixed)."""
    lam = fit.ridge_lambda

    def p_of(tau: float) -> float:
        return conformal_p_value(target, donors, post, method, tau, lam)

    p_value = p_of(0.0)
    half = _CI_GRID_HALF_WIDTH * (fit.pre_rmse + abs(att_mean)) + 1e-9
    grid = np.linspace(att_mean - half, att_mean + half, _CI_GRID_POINTS)
    p_grid = np.array([p_of(float(t)) for t in grid])
    cells = n_treated * int(post.sum())

    def interval(level: float) -> tuple[float, float]:
        kept = grid[p_grid > 1.0 - level]
        if kept.size == 0:  # the grid is too coarse: fall back to the point estimate
            kept = np.array([att_mean])
        return float(kept.min() * cells), float(kept.max() * cells)

    return p_value, interval(0.90), interval(0.95)


def analyze_geo_experiment(
    table: pd.DataFrame,
    *,
    date_column: str,
    location_column: str,
    kpi_column: str,
    treated: Sequence[str],
    start: date,
    end: date,
    method: GeoMethod = GeoMethod.ascm,
    spend_column: str | None = None,
) -> GeoResult:
    """Validate a long table and analyse the geo experiment (see :func:`analyze_panel`)."""
    panel = panel_from_table(
        table,
        date_column=date_column,
        location_column=location_column,
        kpi_column=kpi_column,
        spend_column=spend_column,
    )
    return analyze_panel(panel, treated, start, end, method)
