"""On a simulated brand with known truth, the optimized plan beats today's split under the
TRUE response, and its regret against the true optimum is small (slow: a real NUTS fit)."""

from __future__ import annotations

import numpy as np
import pytest

from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import BrandSimulation, simulate_brand
from mixflow.datasets.truth import optimize_recent_budget
from mixflow.simulate import Simulator
from mixflow.spec import parse_config
from mixflow.workflow import fit_dataset


@pytest.mark.slow
def test_optimized_plan_beats_current_split_under_the_truth() -> None:
    brand = simulate_brand(BrandSimulation(), np.random.default_rng(7))
    assert brand.true_response is not None
    cfg = dict(brand.config)
    cfg["fit"] = {"chains": 4, "warmup": 400, "draws": 400, "seed": 3, "progress_bar": False}
    config = parse_config(cfg)
    post = fit_dataset(config, dataset_from_frame(brand.frame, config.data))
    check = optimize_recent_budget(Simulator(post, max_draws=800), brand.true_response)
    truth = check.truth
    regret = 1.0 - truth.recommended / truth.optimum
    print(
        f"true value: recommended {truth.recommended:,.0f}, current {truth.current:,.0f}, "
        f"optimum {truth.optimum:,.0f}; regret {regret:.2%}"
    )
    assert truth.recommended > truth.current
    # the optimum is over the same constraints, so regret >= 0 up to solver tolerance; a
    # recommendation from a posterior this wide (ROI HDIs span 2-10x) should still land
    # within 5% of the true optimum's value (measured: 0.4%)
    assert -1e-6 <= regret < 0.05
