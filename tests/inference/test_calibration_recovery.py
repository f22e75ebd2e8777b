"""Calibration with lift tests on a simulated brand with known truth: go-dark tests on two
channels make those channels' ROI estimates closer to the truth and their intervals narrower,
and leave the untested channels as they were."""

from __future__ import annotations

import numpy as np
import pytest

from mixflow.analysis import RunSummary, analyze
from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import BrandSimulation, simulate_brand
from mixflow.datasets.lift import simulated_go_dark_test
from mixflow.spec.config import CalibrationConfig, LiftTestConfig, parse_config
from mixflow.workflow import fit_dataset, with_overrides

#: go-dark windows (period indices, inclusive) of the tested channels
TESTS = {"radio": (40, 47), "display": (70, 77)}
#: a test's standard error relative to its true lift (a well-powered geo experiment)
RELATIVE_SE = 0.15


def roi_errors(
    summary: RunSummary, truth: dict[str, float]
) -> dict[str, tuple[float, float, bool, float]]:
    """Per channel: |median / true - 1|, 90% HDI width / true ROI, truth inside the HDI, and
    median / true."""
    out = {}
    for ch, true in truth.items():
        roi = summary.channels[ch].roi
        lo, hi = roi.hdi_90
        rel = roi.median / true
        out[ch] = (abs(rel - 1.0), (hi - lo) / true, lo <= true <= hi, rel)
    return out


@pytest.mark.slow
def test_lift_tests_sharpen_the_tested_channels_and_spare_the_others() -> None:
    brand = simulate_brand(BrandSimulation(n_weeks=104), np.random.default_rng(3))
    assert brand.true_response is not None
    cfg = with_overrides(
        parse_config(brand.config), chains=4, warmup=400, draws=400, progress_bar=False
    )
    data = dataset_from_frame(brand.frame, cfg.data)
    rng = np.random.default_rng(103)
    tests = [
        simulated_go_dark_test(brand.true_response, data, ch, a, b, RELATIVE_SE, rng)
        for ch, (a, b) in TESTS.items()
    ]
    calibration = CalibrationConfig(tests=[LiftTestConfig(**t.to_record()) for t in tests])
    plain = roi_errors(analyze(fit_dataset(cfg, data)).summary, brand.true_roi)
    calibrated_cfg = cfg.model_copy(update={"calibration": calibration})
    calibrated = roi_errors(analyze(fit_dataset(calibrated_cfg, data)).summary, brand.true_roi)

    for ch in TESTS:
        err0, width0, _, _ = plain[ch]
        err1, width1, _, _ = calibrated[ch]
        assert err1 < err0, (ch, plain[ch], calibrated[ch])
        # a test with a 15% standard error on the channel's whole effect over 8 weeks pins the
        # ROI far tighter than the default prior (log-sd 1): at least a quarter narrower
        assert width1 < 0.75 * width0, (ch, plain[ch], calibrated[ch])
    for ch in set(brand.true_roi) - set(TESTS):
        # untested channels keep their estimate. Measured (this brand, 4 x 400): calibration
        # moved their median / truth by 0.5, 0.2 and 0.5 points (tv, search, social) at the
        # same seed; between two seeds of the same model the median moved by up to 6.6 points
        # (search: 1.258 vs 1.192), the Monte Carlo error of a median from 1,600 draws on a
        # channel whose interval is 2.5x its ROI wide. Tolerance: 10 points of the truth, that
        # spread plus half again (the earlier quarter-interval rule allowed +-62 for search)
        _, _, _, rel0 = plain[ch]
        rel1 = calibrated[ch][3]
        assert abs(rel1 - rel0) <= 0.10, (ch, plain[ch], calibrated[ch])
    # coverage: a 90% interval misses its truth one time in ten by design, so one channel at one
    # seed proves little; as in the recovery tests, at least 80% of the channels (4 of 5)
    covered = [ch for ch, (_, _, inside, _) in calibrated.items() if inside]
    assert len(covered) >= 0.8 * len(calibrated), calibrated
