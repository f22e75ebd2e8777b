"""Reach and frequency channels in simulation, optimization and the summary (MAP fit of a
simulated brand with one paid and one R&F channel)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mixflow.analysis.summary import analyze
from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand
from mixflow.datasets.rf import DEFAULT_RF_CHANNELS, add_rf_channels
from mixflow.errors import SpecError
from mixflow.optimize import BudgetOptimizer, BudgetProblem
from mixflow.optimize.rf import optimal_frequencies, optimal_simulator
from mixflow.optimize.schema import PlanDocument
from mixflow.posterior.posterior import Posterior
from mixflow.simulate import Simulator, plan_from_dict
from mixflow.spec import parse_config
from mixflow.transforms.saturation import hill
from mixflow.workflow import fit_dataset


@pytest.fixture(scope="module")
def posterior() -> Posterior:
    sim = BrandSimulation(n_weeks=104, channels=(DEFAULT_CHANNELS[0],), n_events=0)
    rng = np.random.default_rng(3)
    brand = add_rf_channels(simulate_brand(sim, rng), DEFAULT_RF_CHANNELS[:1], rng)
    cfg = dict(brand.config)
    cfg["fit"] = {"method": "map", "svi_steps": 600, "seed": 1, "progress_bar": False}
    config = parse_config(cfg)
    return fit_dataset(config, dataset_from_frame(brand.frame, config.data))


def _draw(posterior: Posterior, name: str) -> float:
    return float(posterior.flat_samples()[name].reshape(-1)[0])


def test_plan_at_the_historical_frequency_is_the_default(posterior: Posterior) -> None:
    data = posterior.dataset
    sim = Simulator(posterior)
    default = sim.simulate(plan_from_dict(data, {"like_last_weeks": 13}))
    ref = float(posterior.design.rf_reference[0])
    same = sim.simulate(plan_from_dict(data, {"like_last_weeks": 13, "frequency": {"video": ref}}))
    # national data: reach per spend at the mean frequency is the history's, the gain is 1
    np.testing.assert_allclose(same.media_value, default.media_value, rtol=1e-5)


def test_spend_at_a_frequency_buys_reach_through_the_cost_per_impression(
    posterior: Posterior,
) -> None:
    """At frequency f the spend buys reach spend * impressions_per_spend / f weighted by
    hill(f) / hill(f_ref): the same media input as spend * k at the history's own reach per
    spend, k = (hill(f) / f) / (hill(f_ref) / f_ref). A MAP fit has one draw, and from period
    0 there is no history to carry in, so both plans' effects match to float32 round-off."""
    data = posterior.dataset
    sim = Simulator(posterior)
    ec, slope = _draw(posterior, "rf_ec"), _draw(posterior, "rf_slope")
    ref = float(posterior.design.rf_reference[0])
    f = 1.1
    k = (float(hill(f, ec, slope)) / f) / (float(hill(ref, ec, slope)) / ref)
    base = plan_from_dict(data, {"like_last_weeks": 13})
    video = np.zeros_like(base.spend)
    video[..., 1] = base.spend[..., 1]
    at_f = plan_from_dict(data, {"like_last_weeks": 13, "frequency": {"video": f}})
    a = sim.simulate(at_f.with_spend(video), start=0).incremental_value_with_tail
    b = sim.simulate(base.with_spend(video * k), start=0).incremental_value_with_tail
    assert abs(k - 1.0) > 0.05  # the frequency matters
    np.testing.assert_allclose(a, b, rtol=1e-4)


@pytest.mark.parametrize(
    ("frequency", "expected"),
    [
        ({"tv": 2.0}, "plan frequency: 'tv' is not a reach and frequency channel"),
        ({"vidio": 2.0}, "did you mean 'video'"),
        ({"video": 0}, "plan frequency.video: expected a frequency above 0"),
        ({"video": "often"}, "plan frequency.video: expected a number, got 'often'"),
    ],
)
def test_plan_frequency_errors_name_the_field(
    posterior: Posterior, frequency: dict[str, object], expected: str
) -> None:
    with pytest.raises(SpecError) as err:
        plan_from_dict(posterior.dataset, {"like_last_weeks": 13, "frequency": frequency})
    assert expected in str(err.value)


def test_summary_reports_the_optimal_frequency_of_rf_channels_only(posterior: Posterior) -> None:
    summary = analyze(posterior).summary
    assert summary.channels["tv"].frequency is None
    freq = summary.channels["video"].frequency
    assert freq is not None
    ec, slope = _draw(posterior, "rf_ec"), _draw(posterior, "rf_slope")
    lo, hi = freq.search_range
    grid = np.linspace(lo, hi, 2001)
    best = grid[np.argmax(np.asarray(hill(grid, ec, slope)) / grid)]
    assert freq.optimal.mean == pytest.approx(best, abs=(hi - lo) / 1000)
    assert summary.channels["video"].roi.mean > 0


def test_summary_roi_of_an_rf_channel_is_its_fitted_roi(posterior: Posterior) -> None:
    """The analysis's contributions weight reach by the frequency gain, as the likelihood does:
    with ROI priors each channel's reported ROI is its ROI parameter (once it was not: the
    contributions left the gain out, and video's ROI was off by the gain's average)."""
    summary = analyze(posterior).summary
    roi = posterior.flat_samples()["roi"].reshape(-1)
    for i, ch in enumerate(posterior.dataset.channels):
        assert summary.channels[ch].roi.mean == pytest.approx(float(roi[i]), rel=1e-4), ch


def test_optimizer_reports_and_plans_at_the_optimal_frequency(posterior: Posterior) -> None:
    sim = Simulator(posterior)
    problem = BudgetProblem(horizon=13)
    result = BudgetOptimizer(sim).optimize(problem)
    doc = PlanDocument.model_validate(json.loads(json.dumps(result.to_dict())))
    assert doc.frequency is not None and set(doc.frequency) == {"video"}
    best = float(optimal_frequencies(sim)["video"].mean())
    assert doc.frequency["video"].optimal.mean == pytest.approx(best)
    assert doc.frequency["video"].planned == pytest.approx(doc.frequency["video"].historical)
    at_best = BudgetOptimizer(optimal_simulator(sim)).optimize(problem)
    assert at_best.plan.frequency == (("video", pytest.approx(best)),)
    # the optimal frequency buys at least as much as the historical one, for the same budget
    gained = at_best.expected.incremental_revenue["mean"]
    assert gained >= result.expected.incremental_revenue["mean"] * (1 - 1e-4)


def test_plan_file_frequency_round_trips_through_the_plan(posterior: Posterior) -> None:
    plan = plan_from_dict(posterior.dataset, {"like_last_weeks": 4, "frequency": {"video": 3}})
    assert plan.frequency == (("video", 3.0),)
    assert plan.with_spend(plan.spend * 2).frequency == plan.frequency
