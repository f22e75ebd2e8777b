"""The monitor's checks on constructed series: thresholds from predictive trajectories that carry
AR(1) residuals keep normal windows quiet, a level shift alerts, spend only ever warns."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mixflow.errors import SpecError
from mixflow.lifecycle.monitor import Predictive, score
from mixflow.lifecycle.monitor_checks import (
    ar1_noise,
    cusum_paths,
    first_crossing,
    residual_autocorrelation,
    spend_ranges,
)
from mixflow.lifecycle.monitor_schema import CheckName, MonitorPolicy, MonitorStatus

H, T, N = 26, 104, 2000
LEVEL, SD, PHI = 1_000.0, 50.0, 0.6
CHANNELS = ("tv", "search")
HISTORY_DATES = np.datetime64("2022-01-03") + 7 * np.arange(T)
DATES = tuple(str(HISTORY_DATES[-1] + 7 * (i + 1)) for i in range(H))


def _trajectories(phi: float, rng: np.random.Generator) -> Predictive:
    sd = np.full((N, 1), SD)
    return Predictive(LEVEL + ar1_noise(sd, phi, H, rng), N, phi)


def _ar1_actual(rng: np.random.Generator, phi: float = PHI) -> np.ndarray:
    return LEVEL + ar1_noise(np.full((1, 1), SD), phi, H, rng)[0]


def _spend(rng: np.random.Generator, weeks: int, factor: float = 1.0) -> np.ndarray:
    base = np.array([50_000.0, 20_000.0])
    return factor * base * rng.uniform(0.8, 1.2, (1, weeks, 2))


def _score(actual: np.ndarray, pred: Predictive, new_factor: float = 1.0, seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    return score(
        actual,
        pred,
        _spend(rng, T),
        _spend(rng, H, new_factor),
        CHANNELS,
        DATES,
        HISTORY_DATES,
        MonitorPolicy(),
    )


def test_ar1_noise_has_the_stated_sd_and_autocorrelation() -> None:
    e = ar1_noise(np.full((4000, 1), 2.0), 0.6, 40, np.random.default_rng(0))[:, 0, :]
    # 160,000 values: the sd's standard error is about 0.01 (x a few for the autocorrelation)
    assert e.std() == pytest.approx(2.0, abs=0.05)
    lag1 = np.mean(e[:, 1:] * e[:, :-1]) / e.var()
    assert lag1 == pytest.approx(0.6, abs=0.03)


def test_residual_autocorrelation_recovers_phi_and_clips_negative_values() -> None:
    rng = np.random.default_rng(1)
    series = ar1_noise(np.ones((1, 3)), 0.5, 400, rng)[0]  # 3 geos x 400 weeks
    # 1,200 pairs: the estimate's sd is about sqrt((1 - 0.25) / 1200) = 0.025
    assert residual_autocorrelation(series) == pytest.approx(0.5, abs=0.08)
    alternating = np.tile([1.0, -1.0], 50)[None, :]
    assert residual_autocorrelation(alternating) == 0.0


def test_ar1_residuals_do_not_alarm_when_the_trajectories_carry_them() -> None:
    rng = np.random.default_rng(2)
    pred = _trajectories(PHI, rng)
    statuses = [_score(_ar1_actual(rng), pred).model_status for _ in range(60)]
    alerts = sum(s is MonitorStatus.alert for s in statuses)
    flagged = sum(s is not MonitorStatus.ok for s in statuses)
    # nominal: at most 3 x 1% alert and 3 x 5% warn; 60 windows allow 3 alerts and 12 flags
    # (beyond either is p < 0.05 under the nominal rates)
    assert alerts <= 3, statuses
    assert flagged <= 12, statuses


def test_the_same_residuals_alarm_often_against_independent_noise() -> None:
    # the control of the test above: thresholds that ignore the autocorrelation fire far more
    rng = np.random.default_rng(2)
    pred = _trajectories(0.0, rng)
    statuses = [_score(_ar1_actual(rng), pred).model_status for _ in range(60)]
    assert sum(s is not MonitorStatus.ok for s in statuses) >= 15


def test_a_level_shift_of_1_5_sd_alerts_through_bias_and_cusum() -> None:
    # with phi = 0.6 the 26 weeks are worth about 26 x 0.4 / 1.6 = 6.5 independent ones, so a
    # shift of 1.5 sds is a mean residual about 3.8 of its sds below zero
    rng = np.random.default_rng(3)
    pred = _trajectories(PHI, rng)
    result = _score(_ar1_actual(rng) - 1.5 * SD, pred)
    assert result.status is MonitorStatus.alert
    bias = result.check(CheckName.bias)
    assert bias.status is MonitorStatus.alert and bias.statistic < 0
    cusum = result.check(CheckName.cusum)
    assert cusum.status is MonitorStatus.alert and cusum.crossed_week in DATES
    assert any(f.check is CheckName.bias and "below" in f.message for f in result.findings)


def test_spend_out_of_range_warns_naming_the_channel_and_range_and_never_alerts() -> None:
    rng = np.random.default_rng(4)
    pred = _trajectories(PHI, rng)
    result = _score(LEVEL + np.zeros((1, H)), pred, new_factor=3.0)
    spend = [f for f in result.findings if f.check is CheckName.spend_range]
    assert {f.channel for f in spend} == set(CHANNELS)
    assert all(f.status is MonitorStatus.warn for f in spend)
    tv = next(s for s in result.spend if s.channel == "tv")
    msg = next(f.message for f in spend if f.channel == "tv")
    assert f"({tv.train_min:,.0f} to {tv.train_max:,.0f} a week" in msg
    assert tv.weeks_above == H
    # the KPI equals the predictive mean: spend alone leaves the model checks quiet
    assert result.model_status is MonitorStatus.ok
    assert result.status is MonitorStatus.warn


def test_spend_inside_the_range_gives_no_spend_finding() -> None:
    rng = np.random.default_rng(5)
    result = _score(LEVEL + np.zeros((1, H)), _trajectories(PHI, rng), new_factor=1.0)
    assert not [f for f in result.findings if f.check is CheckName.spend_range]


def test_spend_is_compared_with_the_same_weeks_of_the_year() -> None:
    # two years of spend that follows the season, then the next year's first 26 weeks at 1.5x:
    # against the same weeks the ratio is 1.5, against the whole history it would be ~1.9
    season = 1.0 + 0.8 * np.sin(2 * np.pi * np.arange(T) / 52.0)
    history = np.stack([season * 1000.0, np.full(T, 500.0)], axis=1)
    new = 1.5 * history[:H]
    dates = HISTORY_DATES[-1] + 7 * (1 + np.arange(H))
    (tv, flat) = spend_ranges(history, new, CHANNELS, HISTORY_DATES, dates, 0.1)
    assert tv.vs_same_weeks == pytest.approx(1.5, rel=0.03)
    assert flat.vs_same_weeks == pytest.approx(1.5, rel=1e-9)


def test_cusum_paths_and_first_crossing() -> None:
    up, lo = cusum_paths(np.ones(20), 0.5)
    # one sd above with allowance 0.5: the upper path grows 0.5 a week and passes 4 in week 9
    assert first_crossing(up, lo, 4.0) == 8
    assert not lo.any()
    assert first_crossing(*cusum_paths(np.zeros(20), 0.5), 4.0) is None


def test_policy_names_the_bad_fields() -> None:
    with pytest.raises(SpecError, match=re.escape("alert_alpha 0.2 and warn_alpha 0.1")):
        MonitorPolicy(alert_alpha=0.2)
