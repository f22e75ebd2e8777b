"""ROI recovery of reach and frequency channels on a simulated national brand (slow: NUTS).

The brand: 156 weeks, one flighted paid channel (tv) and three R&F channels with different
frequency curves (``STUDY_RF_CHANNELS``), simulated inside the model class
(:func:`mixflow.datasets.rf.add_rf_channels`: reach weighted by a Hill curve of frequency, then
adstock and saturation). The criteria are the recovery tests' (tests/inference/test_recovery.py):
the true ROI inside the 90% HDI for at least 80% of the R&F channels, and a median absolute
relative ROI error under 20%.

Measured (4 x 300, this brand; errors video, ctv, olv): seed 1 11.6, 6.4, 22.7%, all covered;
seed 2 3.2, 7.1, 34.7%, all covered; seed 3 22.8, 13.9, 5.6%, all covered; seed 4 0.3, 41.0,
30.2%, ctv missed (``bench/rf_recovery.py`` reruns the study). Pooled over seeds 1-4: 11/12 covered (92%), median error 12.8%; one seed of
four (4) fails both criteria alone. The test fits seed 1 (4 x 300: about 20 s of CPU), the
first seed, not picked: it is a fixed-seed regression check of a representative fit.
"""

from __future__ import annotations

import numpy as np
import pytest

from mixflow.analysis import hdi
from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand
from mixflow.datasets.rf import STUDY_RF_CHANNELS, add_rf_channels
from mixflow.spec import parse_config
from mixflow.workflow import fit_dataset

RF_CHANNELS = STUDY_RF_CHANNELS


@pytest.fixture(scope="module")
def rf_scores() -> tuple[list[bool], list[float]]:
    seed = 1
    sim = BrandSimulation(n_weeks=156, channels=(DEFAULT_CHANNELS[0],), n_events=0)
    rng = np.random.default_rng(seed)
    brand = add_rf_channels(simulate_brand(sim, rng), RF_CHANNELS, rng)
    cfg = dict(brand.config)
    cfg["fit"] = {"chains": 4, "warmup": 300, "draws": 300, "seed": seed, "progress_bar": False}
    config = parse_config(cfg)
    data = dataset_from_frame(brand.frame, config.data)
    assert data.rf_channels == tuple(ch.name for ch in RF_CHANNELS)
    post = fit_dataset(config, data)
    assert post.diagnostics.divergences == 0
    roi = post.samples["roi"].reshape(-1, len(data.channels))
    band = hdi(roi)
    covered, errors = [], []
    for ch in data.rf_channels:
        i = data.channels.index(ch)
        truth = brand.true_roi[ch]
        covered.append(bool(band[i, 0] <= truth <= band[i, 1]))
        errors.append(abs(float(np.median(roi[:, i])) - truth) / truth)
    return covered, errors


@pytest.mark.slow
@pytest.mark.xdist_group("recovery_rf")
def test_rf_roi_coverage(rf_scores: tuple[list[bool], list[float]]) -> None:
    covered, _ = rf_scores
    assert np.mean(covered) >= 0.8, f"coverage {np.mean(covered):.2f}: {covered}"


@pytest.mark.slow
@pytest.mark.xdist_group("recovery_rf")
def test_rf_roi_error(rf_scores: tuple[list[bool], list[float]]) -> None:
    _, errors = rf_scores
    assert np.median(errors) < 0.20, f"median abs ROI error {np.median(errors):.2f}: {errors}"
