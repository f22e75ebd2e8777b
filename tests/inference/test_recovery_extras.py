"""Recovery of organic contributions and a promotion's effect (slow: real NUTS fits).

The criteria are the paid channels' (tests/inference/test_recovery.py): the true value inside
the 90% HDI for at least 80% of the quantities, and a median absolute relative error under 20%.
Each seed simulates a 104-week national brand with three paid channels plus
``mixflow.datasets.extras``: an organic channel run in campaigns (2-6 active weeks between
pauses), a 0/1 promotion on about a fifth of the weeks (+8% of the KPI) and a drifting baseline
(a 10% level shift plus a slow wave), fitted with ``trend: spline`` at 2 chains x 300 draws to
stay within the suite's budget. The sampler must report no divergences on any of them.
"""

from __future__ import annotations

import numpy as np
import pytest

from mixflow.analysis import analyze
from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand
from mixflow.datasets.extras import BrandExtras, add_extras
from mixflow.spec import parse_config
from mixflow.workflow import fit_dataset

SEEDS = (41, 42, 43)


def _fit(seed: int) -> tuple[list[bool], list[float], int]:
    sim = BrandSimulation(n_weeks=104, channels=DEFAULT_CHANNELS[:3])
    brand = simulate_brand(sim, np.random.default_rng(seed))
    brand, truth = add_extras(
        brand, BrandExtras(drift_amplitude=0.1), np.random.default_rng(1000 + seed)
    )
    cfg = dict(brand.config)
    cfg["model"] = {**cfg["model"], "trend": "spline"}
    cfg["fit"] = {"chains": 2, "warmup": 300, "draws": 300, "seed": seed, "progress_bar": False}
    config = parse_config(cfg)
    summary = analyze(fit_dataset(config, dataset_from_frame(brand.frame, config.data))).summary
    pairs = [
        (summary.organic[name].contribution, true)
        for name, true in truth.organic_contribution.items()
    ]
    pairs.append((summary.treatments["promo"].contribution, truth.promo_effect))
    covered = [s.hdi_90[0] <= true <= s.hdi_90[1] for s, true in pairs]
    errors = [abs(s.median - true) / true for s, true in pairs]
    return covered, errors, int(summary.diagnostics.divergences or 0)


@pytest.fixture(scope="module")
def scores() -> tuple[list[bool], list[float], list[int]]:
    covered: list[bool] = []
    errors: list[float] = []
    divergences: list[int] = []
    for seed in SEEDS:
        c, e, d = _fit(seed)
        covered += c
        errors += e
        divergences.append(d)
    return covered, errors, divergences


@pytest.mark.slow
@pytest.mark.xdist_group("recovery_extras")
def test_organic_and_promotion_are_covered(
    scores: tuple[list[bool], list[float], list[int]],
) -> None:
    covered, _, _ = scores
    assert np.mean(covered) >= 0.8, f"coverage {np.mean(covered):.2f}: {covered}"


@pytest.mark.slow
@pytest.mark.xdist_group("recovery_extras")
def test_organic_and_promotion_error(scores: tuple[list[bool], list[float], list[int]]) -> None:
    _, errors, _ = scores
    assert np.median(errors) < 0.20, f"median abs error {np.median(errors):.2f}: {errors}"


@pytest.mark.slow
@pytest.mark.xdist_group("recovery_extras")
def test_spline_baseline_fits_without_divergences(
    scores: tuple[list[bool], list[float], list[int]],
) -> None:
    _, _, divergences = scores
    assert divergences == [0] * len(SEEDS), divergences
