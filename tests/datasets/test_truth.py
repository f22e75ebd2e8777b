"""The simulator's true response: it reproduces the simulated truth and scores plans sensibly."""

from __future__ import annotations

import numpy as np
import pytest

from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, SimulatedBrand, simulate_brand
from mixflow.datasets.truth import TrueResponse, compare_with_truth
from mixflow.errors import SpecError
from mixflow.optimize import BudgetProblem, resolve
from mixflow.spec.config import parse_config

NATIONAL = BrandSimulation(n_weeks=80)
GEO = BrandSimulation(
    n_weeks=60, n_geos=4, channels=DEFAULT_CHANNELS[:3], adstock="weibull", saturation="logistic"
)


def brand(sim: BrandSimulation, seed: int = 3) -> tuple[SimulatedBrand, TrueResponse]:
    b = simulate_brand(sim, np.random.default_rng(seed))
    assert b.true_response is not None
    return b, b.true_response


def historical_spend(b: SimulatedBrand, truth: TrueResponse) -> np.ndarray:
    """``(G, T, C)`` spend of the simulated frame (rows are geo-major)."""
    g = truth.pop.shape[0]
    cols = [b.frame[f"{ch}_spend"].to_numpy().reshape(g, -1) for ch in truth.channels]
    return np.stack(cols, axis=2)


@pytest.mark.parametrize("sim", [NATIONAL, GEO], ids=["national", "geo"])
def test_replaying_history_reproduces_true_contributions(sim: BrandSimulation) -> None:
    b, truth = brand(sim)
    got = truth.channel_values(historical_spend(b, truth), start=0)
    want = np.array([b.true_contribution[ch] for ch in truth.channels])
    # the simulator saturates in float32; the truth evaluates in float64
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_zero_plan_earns_nothing_despite_carryover() -> None:
    _, truth = brand(NATIONAL)
    zero = np.zeros((1, 13, len(truth.channels)))
    assert truth.incremental_value(zero) == 0.0
    assert truth.incremental_value(zero, with_tail=False) == 0.0


@pytest.mark.parametrize("sim", [NATIONAL, GEO], ids=["national", "geo"])
def test_more_spend_on_a_channel_never_lowers_its_value(sim: BrandSimulation) -> None:
    b, truth = brand(sim)
    base = historical_spend(b, truth)[:, -13:]
    for c in range(len(truth.channels)):
        values = []
        for factor in np.linspace(0.0, 4.0, 17):
            plan = base.copy()
            plan[:, :, c] = base[:, :, c] * factor + 1000.0 * factor
            values.append(truth.channel_values(plan)[c])
        assert np.all(np.diff(values) > 0), truth.channels[c]


def test_tail_adds_value_after_the_horizon() -> None:
    b, truth = brand(NATIONAL)
    plan = historical_spend(b, truth)[:, -13:]
    assert truth.incremental_value(plan) > truth.incremental_value(plan, with_tail=False) > 0


def test_gradient_matches_finite_differences() -> None:
    b, truth = brand(GEO)
    plan = historical_spend(b, truth)[:, -13:] + 100.0  # away from the kink at zero spend
    _, grad = truth.value_and_grad(plan)
    step = np.random.default_rng(0).uniform(-1.0, 1.0, plan.shape) * 50.0
    fd = (truth.incremental_value(plan + step) - truth.incremental_value(plan - step)) / 2.0
    assert float((grad * step).sum()) == pytest.approx(fd, rel=1e-5)


def test_true_optimum_beats_both_plans_within_the_constraints() -> None:
    b, truth = brand(NATIONAL)
    data = dataset_from_frame(b.frame, parse_config(b.config).data)
    problem = BudgetProblem(horizon=13, budget=1_500_000.0, relative_bounds=(0.5, 2.0))
    fs = resolve(problem, data)
    current = fs.hist_share * fs.total
    # a deliberately poor recommendation: every channel at its lower bound except the first,
    # which takes the rest of the budget (clipped to its upper bound, rest spread evenly)
    poor = fs.lo.astype(float).copy()
    poor[0] = min(fs.hi[0], fs.total - poor[1:].sum())
    poor[1:] += (fs.total - poor.sum()) / (len(poor) - 1)
    out = compare_with_truth(truth, fs, poor, current, n_random_starts=2)
    best = np.array([out.optimum_allocation[ch] for ch in fs.channels])
    assert not fs.violations(best)
    # each figure is the truth's own value of that plan, computed here independently
    assert out.current == pytest.approx(truth.incremental_value(fs.spend(current)), rel=1e-9)
    assert out.recommended == pytest.approx(truth.incremental_value(fs.spend(poor)), rel=1e-9)
    assert out.optimum == pytest.approx(truth.incremental_value(fs.spend(best)), rel=1e-9)
    assert out.optimum > out.current and out.optimum > out.recommended
    assert out.uplift == pytest.approx(out.recommended / out.current - 1.0)
    assert 0.0 < out.share_of_optimum < 1.0
    # recommending the true optimum scores a positive uplift and no regret
    again = compare_with_truth(truth, fs, best, current, n_random_starts=2)
    assert again.uplift == pytest.approx(out.optimum / out.current - 1.0, rel=1e-6)
    assert again.uplift > 0.0
    assert again.share_of_optimum == pytest.approx(1.0, abs=1e-6)
    # at the optimum the channels strictly inside their bounds share one marginal return
    _, grad = truth.value_and_grad(fs.spend(best))
    mroi = (grad * fs.mapping()).sum(axis=(0, 1))
    inside = (best > fs.lo + 1e-3 * fs.total) & (best < fs.hi - 1e-3 * fs.total)
    assert inside.sum() >= 2
    np.testing.assert_allclose(mroi[inside], mroi[inside].mean(), rtol=1e-3)


def test_spend_of_the_wrong_shape_names_the_expected_one() -> None:
    _, truth = brand(NATIONAL)
    with pytest.raises(SpecError, match=r"expected \(geos=1, periods, channels=5\)"):
        truth.incremental_value(np.zeros((1, 13, 4)))
