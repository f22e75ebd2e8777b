"""Parameter recovery on simulated brands with known truth (slow: real NUTS fits).

Criteria from the model's contract: over several seeds, the true ROI lies inside the 90% HDI
for at least 80% of channels (a calibrated 90% interval would cover ~90%; 80% leaves room for
binomial noise over 10-15 channel-fits), and the median absolute relative ROI error is under
20%.

The geo brand meets both (measured: error 10.1%, 10/10 covered): its spend moves between geos
week to week as in Meridian's sample geo panels, and that geo-level variation identifies the
effects. The national brand meets the coverage criterion but not the error one (measured:
25.0%): its three always-on channels vary only ~30% week to week (as Meridian's national
channels do), which at 4% KPI noise leaves their ROI to the prior (90% HDIs spanning 5-35x);
the flighted channels are recovered. That criterion is kept as a strict xfail so the day it
passes is noticed, beside a passing ceiling at today's level plus a measured margin (35%) and a
per-class check (flighted channels' median error < 27%, always-on channels covered). What identifies such channels is an experiment: with one go-dark lift test
per always-on channel the same national brand meets both criteria (measured: 15.8%, 15/15).
"""

from __future__ import annotations

import numpy as np
import pytest

from mixflow.analysis import hdi
from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import BrandSimulation, simulate_brand
from mixflow.datasets.lift import simulated_go_dark_test
from mixflow.spec import parse_config
from mixflow.spec.config import CalibrationConfig, LiftTestConfig
from mixflow.workflow import fit_dataset

Scores = tuple[list[bool], list[float]]


#: go-dark lift tests (period indices, inclusive) on the national brand's always-on channels
LIFT_WINDOWS = {"search": (40, 47), "social": (70, 77), "display": (100, 107)}
#: a test's standard error relative to its true lift (a well-powered geo experiment)
LIFT_RELATIVE_SE = 0.15


def _fit_and_score(
    sim: BrandSimulation, seed: int, warmup: int, draws: int, lift_tests: bool = False
) -> Scores:
    brand = simulate_brand(sim, np.random.default_rng(seed))
    cfg = dict(brand.config)
    cfg["fit"] = {
        "chains": 4,
        "warmup": warmup,
        "draws": draws,
        "seed": seed,
        "progress_bar": False,
    }
    config = parse_config(cfg)
    data = dataset_from_frame(brand.frame, config.data)
    if lift_tests:
        assert brand.true_response is not None
        rng = np.random.default_rng(100 + seed)
        tests = [
            simulated_go_dark_test(brand.true_response, data, ch, a, b, LIFT_RELATIVE_SE, rng)
            for ch, (a, b) in LIFT_WINDOWS.items()
        ]
        calibration = CalibrationConfig(tests=[LiftTestConfig(**t.to_record()) for t in tests])
        config = config.model_copy(update={"calibration": calibration})
    post = fit_dataset(config, data)
    roi = post.samples["roi"].reshape(-1, len(brand.true_roi))
    band = hdi(roi)
    covered, errors = [], []
    for i, ch in enumerate(post.dataset.channels):
        truth = brand.true_roi[ch]
        covered.append(bool(band[i, 0] <= truth <= band[i, 1]))
        errors.append(abs(float(np.median(roi[:, i])) - truth) / truth)
    return covered, errors


def _over_seeds(
    sim: BrandSimulation, seeds: tuple[int, ...], n: int, lift_tests: bool = False
) -> Scores:
    covered: list[bool] = []
    errors: list[float] = []
    for seed in seeds:
        c, e = _fit_and_score(sim, seed, warmup=n, draws=n, lift_tests=lift_tests)
        covered += c
        errors += e
    return covered, errors


@pytest.fixture(scope="module")
def national() -> Scores:
    return _over_seeds(BrandSimulation(n_weeks=156), (11, 12, 13), 500)


@pytest.fixture(scope="module")
def national_with_lift_tests() -> Scores:
    return _over_seeds(BrandSimulation(n_weeks=156), (11, 12, 13), 500, lift_tests=True)


@pytest.fixture(scope="module")
def geo() -> Scores:
    return _over_seeds(BrandSimulation(n_weeks=104, n_geos=6), (21, 22), 400)


@pytest.mark.slow
@pytest.mark.xdist_group("recovery")
def test_national_roi_coverage(national: Scores) -> None:
    covered, _ = national
    assert np.mean(covered) >= 0.8, f"coverage {np.mean(covered):.2f}: {covered}"


@pytest.mark.slow
@pytest.mark.xdist_group("recovery")
@pytest.mark.xfail(
    raises=AssertionError,
    strict=True,
    reason="known gap: always-on channels prior-bound; median ROI error 25.0% > 20%",
)
def test_national_roi_error(national: Scores) -> None:
    _, errors = national
    assert np.median(errors) < 0.20, f"median abs ROI error {np.median(errors):.2f}: {errors}"


#: the national brand's channels, in DEFAULT_CHANNELS order, by spend pattern
FLIGHTED, ALWAYS_ON = (0, 4), (1, 2, 3)


@pytest.mark.slow
@pytest.mark.xdist_group("recovery")
def test_national_roi_error_floor(national: Scores) -> None:
    """The xfail above passes at any error above 20%; this ceiling fails on a regression.

    Measured (4 x 500, seeds 11-16, this fixture's settings): per-seed median errors 26.7,
    36.6, 10.9, 19.7, 16.2 and 27.6% (sd 9.3 points); pooled over seeds 11-13 (this fixture)
    25.0%, over 14-16 19.7%. Ceiling: 25.0% plus two Monte Carlo standard errors of a 3-seed
    pooled median (2 x 9.3 / sqrt(3) = 10.7 points) -> 35%."""
    _, errors = national
    assert np.median(errors) < 0.35, f"median abs ROI error {np.median(errors):.2f}: {errors}"


@pytest.mark.slow
@pytest.mark.xdist_group("recovery")
def test_national_flighted_channels_are_recovered(national: Scores) -> None:
    """Per class: the flighted channels (tv, radio) are identified, the always-on ones are
    prior-bound but covered.

    Measured (seeds 11-16): flighted errors tv 19.7, 16.4, 10.9, 0.6, 13.2, 7.4%, radio 26.7,
    19.6, 0.8, 32.0, 34.9, 27.6% (median over seeds 11-13: 18.0%, over 14-16: 20.4%); every
    always-on interval covered its truth (18/18) with errors from 1.9% to 128%. Ceiling on the
    flighted median: 18.0% plus two Monte Carlo standard errors of a 6-value median (per-channel
    sd ~10 points -> ~2 x 10 / sqrt(6) = 8) -> 27%."""
    covered, errors = national
    n = len(FLIGHTED) + len(ALWAYS_ON)
    flighted = [errors[i] for i in range(len(errors)) if i % n in FLIGHTED]
    always_on = [covered[i] for i in range(len(covered)) if i % n in ALWAYS_ON]
    assert np.median(flighted) < 0.27, f"flighted errors {flighted}"
    # 90% intervals on prior-bound channels: at most one miss in nine
    assert sum(always_on) >= len(always_on) - 1, f"always-on coverage {always_on}"


@pytest.mark.slow
@pytest.mark.xdist_group("recovery_geo")
def test_geo_roi_coverage(geo: Scores) -> None:
    covered, _ = geo
    assert np.mean(covered) >= 0.8, f"coverage {np.mean(covered):.2f}: {covered}"


@pytest.mark.slow
@pytest.mark.xdist_group("recovery_geo")
def test_geo_roi_error(geo: Scores) -> None:
    _, errors = geo
    assert np.median(errors) < 0.20, f"median abs ROI error {np.median(errors):.2f}: {errors}"


@pytest.mark.slow
@pytest.mark.xdist_group("recovery_lift")
def test_national_roi_recovery_with_lift_tests(national_with_lift_tests: Scores) -> None:
    covered, errors = national_with_lift_tests
    assert np.mean(covered) >= 0.8, f"coverage {np.mean(covered):.2f}: {covered}"
    assert np.median(errors) < 0.20, f"median abs ROI error {np.median(errors):.2f}: {errors}"
