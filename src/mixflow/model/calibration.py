"""Lift tests in the model: each test laid on the scaled panel (its implied lift is computed by
:func:`mixflow.model.mmm.implied_lift`), and ROI priors from tests.

Likelihood calibration (the default): for test ``i`` on channel ``c`` the model's incremental
KPI of the test's spend change is

    lift_i = sum over measured (g, t) of beta_gc * [sat_c(adstock_c(x + dx_i)) - sat_c(adstock_c(x))]

in KPI units, carryover included (the measured cells run ``max_lag`` periods past the window
unless the test says otherwise), and the measurement enters as ``measured_i ~ Normal(lift_i,
se_i)``. The channel's response curve, carryover and coefficient are all tied to the test, not
just its ROI.

ROI-prior calibration (the alternative): each tested channel's ROI prior becomes a lognormal
centred on the tests' ROI, ``incremental value / spend change``, with log-sd ``se / |lift|``
(the delta method), tests of one channel pooled by inverse variance on the log scale. A test
measures the ROI of a spend *change*, which is close to the marginal ROI, so this prior leans
low for saturated channels; the likelihood method has no such bias.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mixflow.data.dataset import MMMDataset
from mixflow.data.lift_tests import LiftTest, spend_change_cells
from mixflow.errors import SpecError
from mixflow.spec.config import MixflowConfig
from mixflow.spec.model_spec import (
    CalibrationMethod,
    LogNormalPrior,
    ModelSpec,
    calibration_from_config,
    model_spec_from_config,
)
from mixflow.transforms.adstock import lag_stack


@dataclass(frozen=True, eq=False)
class CalibrationArrays:
    """Lift tests laid on the design's scaled panel (``n`` tests), cut to the cells they measure.

    A test's lift at a measured cell depends only on that cell's lag stack (the exposure of the
    ``L`` periods before it, with and without the test), so the model evaluates the tested
    channel's response on the measured window alone: the ``G'`` geos any test measures and the
    ``W`` periods from the first measured period of any test to the last, carryover included.

    Attributes:
        channel: ``(n,)`` tested channel index.
        geo: ``(G',)`` indices of the geos in the window.
        x: ``(L+1, G', W, n)`` lag stack of each test's channel's historical scaled exposure.
        dx: ``(L+1, G', W, n)`` lag stack of each test's scaled exposure change.
        weight: ``(G', W, n)`` measured cells, times ``population_g / mean population`` (the
            factor from scaled media units to ``unit``).
        obs, se: ``(n,)`` measured lift and its standard error, divided by ``unit``.
        unit: KPI units per model lift unit (``kpi_scale * mean population``).
        window: ``(first, last + 1)`` periods of the padded panel the window covers.
        freq: ``(L+1, G', W, n)`` lag stack of the tested channel's average frequency where it
            is a reach and frequency channel (its ``x`` and ``dx`` are reach, weighted by the
            frequency gain in the model; ones elsewhere), ``None`` without R&F channels.
        rf: ``(n,)`` the tested channel's position among the R&F channels, -1 for others.
    """

    channel: np.ndarray
    geo: np.ndarray
    x: np.ndarray
    dx: np.ndarray
    weight: np.ndarray
    obs: np.ndarray
    se: np.ndarray
    unit: float
    window: tuple[int, int] = (0, 1)
    freq: np.ndarray | None = None
    rf: np.ndarray | None = None

    @property
    def n_tests(self) -> int:
        return int(self.obs.shape[0])

    @staticmethod
    def empty(n_geos: int, n_padded: int, max_lag: int) -> CalibrationArrays:
        del n_padded  # the empty window is one period of one geo
        return CalibrationArrays(
            channel=np.zeros(0, dtype=np.int32),
            geo=np.zeros(1, dtype=np.int32),
            x=np.zeros((max_lag + 1, 1, 1, 0)),
            dx=np.zeros((max_lag + 1, 1, 1, 0)),
            weight=np.zeros((1, 1, 0)),
            obs=np.zeros(0),
            se=np.zeros(0),
            unit=1.0,
        )


def calibration_arrays(
    tests: Sequence[LiftTest],
    data: MMMDataset,
    max_lag: int,
    kpi_scale: float,
    media_scale: np.ndarray,
    scaled_exposure: np.ndarray,
) -> CalibrationArrays:
    """Lay ``tests`` on the panel. ``media_scale``: ``(C,)`` or ``(G, C)`` per-capita exposure
    per scaled unit; ``scaled_exposure`` is the design's ``(G, T', C)`` scaled exposure
    (padded), used to keep a go-dark test's exposure at or above zero and as the tests'
    historical exposure."""
    g, t_all = data.n_geos, data.n_times + max_lag
    if not tests:
        return CalibrationArrays.empty(g, t_all, max_lag)
    pop = data.population
    per_geo = np.broadcast_to(media_scale, (g, data.n_channels))
    unit = kpi_scale * float(pop.mean())
    channel, x, dx, weight, freq, rf = [], [], [], [], [], []
    for test in tests:
        cells = spend_change_cells(test, data, max_lag)
        c = cells.channel
        delta = np.zeros((g, t_all))
        delta[:, : data.n_times] = cells.exposure / pop[:, None] / per_geo[:, c, None]
        base = scaled_exposure[:, :, c]
        delta = np.maximum(base + delta, 0.0) - base
        channel.append(c)
        x.append(lag_stack(base[:, :, None], max_lag)[..., 0])
        dx.append(lag_stack(delta[:, :, None], max_lag)[..., 0])
        weight.append(cells.measured * (pop / pop.mean())[:, None])
        if data.rf_channels:
            # an R&F channel's extra spend buys reach at the cells' own frequency (the cost per
            # impression and the frequency of the history), so the gain weights x and dx alike
            name = data.channels[c]
            r = data.rf_channels.index(name) if name in data.rf_channels else -1
            f = np.ones((g, t_all))
            if r >= 0:
                f = np.zeros((g, t_all))
                f[:, : data.n_times] = data.frequency_array[:, :, r]
            rf.append(r)
            freq.append(lag_stack(f[:, :, None], max_lag)[..., 0])
    w_all = np.stack(weight, axis=-1)
    measured = np.asarray(w_all != 0).any(axis=-1)
    geo = np.flatnonzero(np.any(measured, axis=1))
    periods = np.flatnonzero(np.any(measured, axis=0))
    lo, hi = int(periods[0]), int(periods[-1]) + 1
    obs = np.array([tst.incremental_kpi for tst in tests]) / unit
    se = np.array([tst.standard_error for tst in tests]) / unit
    return CalibrationArrays(
        channel=np.array(channel, dtype=np.int32),
        geo=geo.astype(np.int32),
        x=np.stack(x, axis=-1)[:, geo, lo:hi],
        dx=np.stack(dx, axis=-1)[:, geo, lo:hi],
        weight=w_all[geo, lo:hi],
        obs=obs,
        se=se,
        unit=unit,
        window=(lo, hi),
        freq=np.stack(freq, axis=-1)[:, geo, lo:hi] if freq else None,
        rf=np.array(rf, dtype=np.int32) if freq else None,
    )


def roi_priors_from_tests(
    tests: Sequence[LiftTest], data: MMMDataset, max_lag: int
) -> dict[str, LogNormalPrior]:
    """Per tested channel, the lognormal ROI prior the tests imply (see the module doc)."""
    by_channel: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for test in tests:
        cells = spend_change_cells(test, data, max_lag)
        rpk = _revenue_per_kpi(data, cells.measured[:, : data.n_times])
        roi = test.incremental_kpi * rpk / test.spend_change
        if not roi > 0:
            raise SpecError(
                f"{test.label}: the test's ROI is {roi:.3g} (incremental_kpi "
                f"{test.incremental_kpi:g} for spend_change {test.spend_change:g}); a lognormal "
                "ROI prior needs a positive ROI; use calibration.method: likelihood instead"
            )
        log_sd = test.standard_error / abs(test.incremental_kpi)
        by_channel[test.channel].append((math.log(roi), log_sd))
    out = {}
    for ch, pairs in by_channel.items():
        precision = sum(1.0 / sd**2 for _, sd in pairs)
        mean = sum(m / sd**2 for m, sd in pairs) / precision
        out[ch] = LogNormalPrior(median=math.exp(mean), sigma=math.sqrt(1.0 / precision))
    return out


def _revenue_per_kpi(data: MMMDataset, cells: np.ndarray) -> float:
    """KPI-weighted revenue per KPI unit over the measured cells (1 for a revenue KPI)."""
    rpk = data.revenue_per_kpi
    kpi = np.where(cells, data.kpi, 0.0)
    total = kpi.sum()
    return float((rpk * kpi).sum() / total) if total > 0 else float(rpk[cells].mean())


def spec_with_test_priors(
    spec: ModelSpec, tests: Sequence[LiftTest], data: MMMDataset
) -> ModelSpec:
    """``spec`` with the tested channels' ROI priors replaced by the tests' (ROI-prior
    calibration); other channels keep theirs."""
    priors = roi_priors_from_tests(tests, data, spec.max_lag)
    new_priors = spec.priors.model_copy(update={"roi": {**spec.priors.roi, **priors}})
    return spec.model_copy(update={"priors": new_priors})


def model_spec_for(cfg: MixflowConfig, data: MMMDataset) -> tuple[ModelSpec, tuple[LiftTest, ...]]:
    """The spec a config fits and the lift tests that enter its likelihood: with ROI-prior
    calibration the tests are folded into the spec's priors (and no test enters the likelihood).
    ``cfg`` must be inlined (:func:`mixflow.spec.model_spec.inline_calibration`)."""
    spec = model_spec_from_config(cfg)
    cal = calibration_from_config(cfg)
    if cal is None:
        return spec, ()
    if cal.method is CalibrationMethod.ROI_PRIOR:
        return spec_with_test_priors(spec, cal.tests, data), ()
    return spec, cal.tests


__all__ = [
    "CalibrationArrays",
    "calibration_arrays",
    "model_spec_for",
    "roi_priors_from_tests",
    "spec_with_test_priors",
]
