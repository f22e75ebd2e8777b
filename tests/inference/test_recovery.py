"""Parameter recovery on simulated brands with known truth (slow: real NUTS fits).

Criteria from the model's contract: over several seeds, the true ROI lies inside the 90% HDI
for at least 80% of channels (a calibrated 90% interval would cover ~90%; 80% leaves room for
binomial noise over 15 channel-fits), and the median absolute relative ROI error is under 20%.
"""

from __future__ import annotations

import numpy as np
import pytest

from mixflow.analysis import hdi
from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import BrandSimulation, simulate_brand
from mixflow.spec import parse_config
from mixflow.workflow import fit_dataset


def _fit_and_score(
    sim: BrandSimulation, seed: int, warmup: int, draws: int
) -> tuple[list[bool], list[float]]:
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
    post = fit_dataset(config, dataset_from_frame(brand.frame, config.data))
    roi = post.samples["roi"].reshape(-1, len(brand.true_roi))
    band = hdi(roi)
    covered, errors = [], []
    for i, ch in enumerate(post.dataset.channels):
        truth = brand.true_roi[ch]
        covered.append(bool(band[i, 0] <= truth <= band[i, 1]))
        errors.append(abs(float(np.median(roi[:, i])) - truth) / truth)
    return covered, errors


@pytest.mark.slow
def test_national_recovery_over_seeds() -> None:
    covered: list[bool] = []
    errors: list[float] = []
    for seed in (11, 12, 13):
        c, e = _fit_and_score(BrandSimulation(n_weeks=156), seed, warmup=500, draws=500)
        covered += c
        errors += e
    assert np.mean(covered) >= 0.8, f"coverage {np.mean(covered):.2f}: {covered}"
    assert np.median(errors) < 0.20, f"median abs ROI error {np.median(errors):.2f}: {errors}"


@pytest.mark.slow
def test_geo_recovery_over_seeds() -> None:
    covered: list[bool] = []
    errors: list[float] = []
    for seed in (21, 22):
        sim = BrandSimulation(n_weeks=104, n_geos=6)
        c, e = _fit_and_score(sim, seed, warmup=400, draws=400)
        covered += c
        errors += e
    assert np.mean(covered) >= 0.8, f"coverage {np.mean(covered):.2f}: {covered}"
    assert np.median(errors) < 0.20, f"median abs ROI error {np.median(errors):.2f}: {errors}"
