"""The design: the dataset scaled for a well-conditioned sampler, plus what maps back.

Scaling (documented in docs/model.md):
- KPI: per capita (geo models), divided by ``kpi_scale`` = mean per-capita KPI, so ``y`` has
  mean 1.
- Media: per capita exposure divided by ``media_scale[c]`` = the channel's mean non-zero
  per-capita exposure, so a typical active week is 1.
- Controls: standardized (mean 0, sd 1 over the panel).
- Time runs over the data window plus ``max_lag`` padding periods with no new media, so each
  channel's carryover after the last period is counted in its contribution and ROI.
Quantities in original units come back through ``value_weight`` (currency per scaled KPI unit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mixflow.data.dataset import MMMDataset
from mixflow.data.lift_tests import LiftTest
from mixflow.errors import SpecError
from mixflow.model.calibration import CalibrationArrays, calibration_arrays
from mixflow.model.organic import organic_fields
from mixflow.model.rf import rf_arrays, rf_fields
from mixflow.spec.model_spec import GeoSaturation, ModelSpec, PriorParameterization, Trend
from mixflow.spec.priors import (
    ADSTOCK_PARAMETERS,
    SATURATION_PARAMETERS,
    prior_args,
    resolved_prior,
)
from mixflow.transforms.adstock import channel_major, lag_stack


@dataclass(frozen=True, eq=False)
class Design:
    """Arrays fed to the NumPyro model; ``T' = T + max_lag`` (padded time).

    Attributes:
        y: ``(G, T)`` scaled KPI.
        obs_mask: ``(T,)`` True for periods in the likelihood (not held out).
        x_lag: ``(L+1, G, T', C)`` lag stack of scaled exposure.
        fourier: ``(T', 2F)`` seasonality features.
        trend_t: ``(T',)`` time scaled to 0..1 over the data window.
        knots: ``(T', n_knots)`` hinge features ``max(t - knot, 0)`` (piecewise trend).
        controls: ``(G, T', K)`` standardized controls (held at the last value in padding).
        events: ``(G, T', E)`` event dummies (0 in padding).
        value_weight: ``(G, T')`` currency per scaled KPI unit (kpi_scale * population * rpk).
        spend_total: ``(C,)`` spend over the data window.
        roi_loc, roi_scale: ``(C,)`` log-median and log-sd of the ROI priors.
        level_loc: ``(G,)`` prior centre of each geo's level (intercept plus mean media
            contribution): its mean scaled KPI over the fitted periods.
        coef_sigma: ``(C,)`` half-normal scales (coefficient parameterization).
        calibration: lift tests laid on the panel (none by default).
        component_priors: per adstock / saturation parameter, ``(family, args)`` with ``args``
            ``(n_args, C)`` the prior's parameters per channel (see :mod:`mixflow.spec.priors`).
    """

    y: np.ndarray
    obs_mask: np.ndarray
    x_lag: np.ndarray
    fourier: np.ndarray
    trend_t: np.ndarray
    knots: np.ndarray
    controls: np.ndarray
    events: np.ndarray
    value_weight: np.ndarray
    spend_total: np.ndarray
    roi_loc: np.ndarray
    roi_scale: np.ndarray
    coef_sigma: np.ndarray
    kpi_scale: float
    media_scale: np.ndarray
    control_mean: np.ndarray
    control_std: np.ndarray
    population: np.ndarray
    level_loc: np.ndarray
    n_times: int
    max_lag: int
    calibration: CalibrationArrays | None = None
    component_priors: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)
    #: ``(G, C)`` each geo's own mean active exposure relative to ``media_scale`` when the
    #: saturation is geo-relative (``model.geo_saturation``); ``None``: ones
    geo_scale: np.ndarray | None = None
    #: ``(L+1, G, T', O)`` lag stack of scaled organic exposure and ``(O,)`` its scale
    #: (mixflow.model.organic); ``None`` without organic channels
    organic_x: np.ndarray | None = None
    organic_scale: np.ndarray | None = None
    #: R&F channels (mixflow.model.rf): ``(R,)`` channel positions, ``(L+1, G, T', R)``
    #: frequency lag stack, ``(R,)`` reference frequencies; ``None`` without R&F channels
    rf_index: np.ndarray | None = None
    rf_freq: np.ndarray | None = None
    rf_reference: np.ndarray | None = None

    @property
    def exposure_unit(self) -> np.ndarray:
        """``(G, C)`` original exposure per unit of scaled exposure, per geo and channel."""
        unit = self.population[:, None] * self.media_scale[None, :]
        return unit if self.geo_scale is None else unit * self.geo_scale

    @property
    def n_geos(self) -> int:
        return int(self.y.shape[0])

    @property
    def n_channels(self) -> int:
        return int(self.x_lag.shape[3])

    @property
    def is_geo(self) -> bool:
        return self.n_geos > 1

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays the model function takes (a pytree of float32 arrays): the fields above
        and ``x_media``, ``x_lag`` laid out channel-major ``(C, L+1, G * T')``."""
        names = [
            "y",
            "x_lag",
            "fourier",
            "trend_t",
            "knots",
            "controls",
            "events",
            "value_weight",
            "spend_total",
            "roi_loc",
            "roi_scale",
            "coef_sigma",
        ]
        out = {n: np.asarray(getattr(self, n), dtype=np.float32) for n in names}
        # the likelihood's layout of the same lag stack (see transforms.adstock.channel_major)
        out["x_media"] = np.ascontiguousarray(channel_major(out["x_lag"]))
        out["obs_mask"] = np.asarray(self.obs_mask, dtype=bool)
        out["level_loc"] = np.asarray(self.level_loc, dtype=np.float32)
        cal = self.calibration or CalibrationArrays.empty(
            self.n_geos, self.n_times + self.max_lag, self.max_lag
        )
        out["cal_channel"] = np.asarray(cal.channel, dtype=np.int32)
        out["cal_geo"] = np.asarray(cal.geo, dtype=np.int32)
        # the padded periods of the tests' window (the time-varying media multiplier's times)
        out["cal_time"] = np.arange(*cal.window, dtype=np.int32)
        for name in ("x", "dx", "weight", "obs", "se"):
            out[f"cal_{name}"] = np.asarray(getattr(cal, name), dtype=np.float32)
        if cal.freq is not None and cal.rf is not None:  # lift tests with R&F channels
            out["cal_freq"] = np.asarray(cal.freq, dtype=np.float32)
            out["cal_rf"] = np.asarray(cal.rf, dtype=np.int32)
        for name, (_, args) in self.component_priors.items():
            out[f"prior_{name}"] = np.asarray(args, dtype=np.float32)
        if self.organic_x is not None:
            out["organic_x"] = np.asarray(self.organic_x, dtype=np.float32)
        out.update(rf_arrays(self.rf_index, self.rf_freq, self.rf_reference))
        return out


def fourier_features(n: int, period: float, terms: int, start: int = 0) -> np.ndarray:
    """``(n, 2 * terms)`` sin/cos pairs of the period (in periods), from period ``start``."""
    t = np.arange(start, start + n, dtype=np.float64)
    cols = []
    for k in range(1, terms + 1):
        angle = 2.0 * math.pi * k * t / period
        cols += [np.sin(angle), np.cos(angle)]
    return np.stack(cols, axis=-1) if cols else np.zeros((n, 0))


def time_features(
    start: int, n: int, spec: ModelSpec, n_fit: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trend time, hinge features and Fourier terms for periods ``start .. start + n - 1``.

    Time is scaled so the fitted periods (the first ``n_fit``) run from 0 to 1; later periods
    (holdout, carryover padding, a simulated future) continue the same line.
    """
    trend_t = np.arange(start, start + n, dtype=np.float64) / max(n_fit - 1, 1)
    n_knots = spec.trend_knots if spec.trend is Trend.PIECEWISE else 0
    knot_pos = np.linspace(0.0, 1.0, n_knots + 2)[1:-1]
    knots = np.maximum(trend_t[:, None] - knot_pos[None, :], 0.0) if n_knots else np.zeros((n, 0))
    fourier = fourier_features(n, spec.seasonality_period, spec.fourier_terms, start)
    return trend_t, knots, fourier


def _pad_time(a: np.ndarray, pad: int, mode: str) -> np.ndarray:
    """Pad axis 1 of a ``(G, T, ...)`` array with zeros or the last value."""
    if pad == 0:
        return a
    if mode == "zeros":
        tail = np.zeros((a.shape[0], pad, *a.shape[2:]), dtype=a.dtype)
    else:
        tail = np.repeat(a[:, -1:], pad, axis=1)
    return np.concatenate([a, tail], axis=1)


def media_scale_of(exposure_pc: np.ndarray) -> np.ndarray:
    """``(C,)`` mean non-zero per-capita exposure per channel (1 where a channel is all zero)."""
    c = exposure_pc.shape[-1]
    flat = exposure_pc.reshape(-1, c)
    nonzero = flat > 0
    counts = nonzero.sum(axis=0)
    sums = np.where(nonzero, flat, 0.0).sum(axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), 1.0)


def scale_exposure(
    exposure: np.ndarray, population: np.ndarray, media_scale: np.ndarray
) -> np.ndarray:
    """``(G, T, C)`` scaled exposure from original units."""
    return exposure / population[:, None, None] / media_scale[None, None, :]


def build_design(
    data: MMMDataset,
    spec: ModelSpec,
    holdout_weeks: int = 0,
    lift_tests: tuple[LiftTest, ...] = (),
) -> Design:
    """Scale ``data`` for the model; the last ``holdout_weeks`` periods are left out of the
    likelihood; ``lift_tests`` become calibration terms (see :mod:`mixflow.model.calibration`)."""
    t = data.n_times
    lag = spec.max_lag
    if holdout_weeks >= t - 10:
        raise SpecError(
            f"fit.holdout_weeks={holdout_weeks} leaves fewer than 10 of {t} periods to fit"
        )
    pop = data.population
    kpi_pc = data.kpi / pop[:, None]
    kpi_scale = float(np.mean(kpi_pc))
    if not kpi_scale > 0:
        raise SpecError("the KPI's mean is not positive; mixflow models a positive KPI")
    y = kpi_pc / kpi_scale

    exposure_pc = data.exposure / pop[:, None, None]
    media_scale = media_scale_of(exposure_pc)
    geo_scale = None
    if data.n_geos > 1 and spec.geo_saturation is GeoSaturation.RELATIVE:
        # Hill/logistic of x / r_g equals the curve with its half point scaled by r_g: each
        # geo saturates relative to its own typical exposure (adstock is linear, so the
        # order does not matter)
        geo_scale = (
            np.stack([media_scale_of(exposure_pc[i]) for i in range(data.n_geos)])
            / media_scale[None, :]
        )
        geo_scale = np.where(exposure_pc.max(axis=1) > 0, geo_scale, 1.0)
    unit_scale = media_scale[None, :] if geo_scale is None else media_scale * geo_scale
    x = _pad_time(exposure_pc / unit_scale[:, None, :], lag, "zeros")
    x_lag = lag_stack(x, lag)

    t_all = t + lag
    trend_t, knots, fourier = time_features(0, t_all, spec, t - holdout_weeks)

    ctrl = data.controls
    c_mean = ctrl.reshape(-1, ctrl.shape[-1]).mean(axis=0) if ctrl.shape[-1] else np.zeros(0)
    c_std = ctrl.reshape(-1, ctrl.shape[-1]).std(axis=0) if ctrl.shape[-1] else np.zeros(0)
    c_std = np.where(c_std > 0, c_std, 1.0)
    controls = _pad_time((ctrl - c_mean) / c_std, lag, "last")
    events = _pad_time(data.events, lag, "zeros")
    rpk = _pad_time(data.revenue_per_kpi, lag, "last")
    value_weight = kpi_scale * pop[:, None] * rpk

    spend_total = data.spend.sum(axis=(0, 1))
    total_value = float(data.kpi_value.sum())
    default_roi = spec.priors.media_share * total_value / max(float(spend_total.sum()), 1e-12)
    roi_prior = dict(spec.priors.roi)
    roi_loc = np.array(
        [
            math.log(roi_prior[ch].median) if ch in roi_prior else math.log(default_roi)
            for ch in data.channels
        ]
    )
    roi_scale = np.array(
        [roi_prior[ch].sigma if ch in roi_prior else spec.priors.roi_sigma for ch in data.channels]
    )
    coef = {ch: p.sigma for ch, p in spec.priors.coefficient.items()}
    coef_sigma = np.array([coef.get(ch, 1.0) for ch in data.channels])
    if spec.priors.parameterization is PriorParameterization.ROI and np.any(spend_total <= 0):
        bad = [ch for ch, s in zip(data.channels, spend_total, strict=True) if s <= 0]
        raise SpecError(f"ROI priors need spend for every channel; no spend for {bad}")

    obs_mask = np.arange(t) < t - holdout_weeks
    return Design(
        y=y,
        obs_mask=obs_mask,
        x_lag=x_lag,
        fourier=fourier,
        trend_t=trend_t,
        knots=knots,
        controls=controls,
        events=events,
        value_weight=value_weight,
        spend_total=spend_total,
        roi_loc=roi_loc,
        roi_scale=roi_scale,
        coef_sigma=coef_sigma,
        kpi_scale=kpi_scale,
        media_scale=media_scale,
        control_mean=c_mean,
        control_std=c_std,
        population=pop,
        level_loc=np.mean(y[:, obs_mask], axis=1),
        n_times=t,
        max_lag=lag,
        calibration=calibration_arrays(lift_tests, data, lag, kpi_scale, unit_scale, x)
        if lift_tests
        else None,
        component_priors=component_prior_arrays(spec, data.channels),
        geo_scale=geo_scale,
        **organic_fields(data, lag),
        **rf_fields(data, lag),
    )


def component_prior_arrays(
    spec: ModelSpec, channels: tuple[str, ...]
) -> dict[str, tuple[str, np.ndarray]]:
    """Per adstock and saturation parameter of ``spec``, its prior family and the parameters
    ``(n_args, C)`` of each channel's prior (the config's, else the default)."""
    out: dict[str, tuple[str, np.ndarray]] = {}
    for params, priors in (
        (ADSTOCK_PARAMETERS[spec.adstock], spec.priors.adstock),
        (SATURATION_PARAMETERS[spec.saturation], spec.priors.saturation),
    ):
        for par in params:
            chosen = [resolved_prior(par, priors, ch, spec.max_lag) for ch in channels]
            families = sorted({p.distribution for p in chosen})
            if len(families) > 1:  # the config's validation says so first; specs built in code
                raise SpecError(
                    f"model.priors: the channels' priors of '{par.name}' mix distributions "
                    f"{families}; give every channel the same distribution"
                )
            args = np.array([prior_args(p) for p in chosen], dtype=np.float64).T
            out[par.name] = (families[0], args)
    return out
