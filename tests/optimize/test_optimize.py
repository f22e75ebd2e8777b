"""Budget optimizer: optimality against brute force, constraints, targets, risk measures.

One small posterior (3 channels, 70 weeks, SVI, 100 draws) serves the module; one
:class:`BudgetOptimizer` keeps the compiled functions across tests.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand
from mixflow.errors import InfeasiblePlanError, SpecError
from mixflow.optimize import (
    BudgetOptimizer,
    BudgetProblem,
    ChannelBound,
    FlightBudget,
    Objective,
    Risk,
    SpendPattern,
    resolve,
)
from mixflow.simulate import Simulator
from mixflow.spec import parse_config
from mixflow.workflow import fit_dataset

H = 13
CHANNELS = ("tv", "search", "social")
#: relative tolerance of every constraint check (the optimizer's contract)
RTOL = 1e-6
PROPERTY = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def opt() -> BudgetOptimizer:
    sim = BrandSimulation(n_weeks=70, n_geos=1, channels=DEFAULT_CHANNELS[:3], n_events=1)
    brand = simulate_brand(sim, np.random.default_rng(4))
    cfg = dict(brand.config)
    cfg["fit"] = {"method": "svi", "svi_steps": 300, "draws": 100, "seed": 2, "progress_bar": False}
    config = parse_config(cfg)
    posterior = fit_dataset(config, dataset_from_frame(brand.frame, config.data))
    return BudgetOptimizer(Simulator(posterior, max_draws=100))


@pytest.fixture(scope="module")
def budget(opt: BudgetOptimizer) -> float:
    """The default budget (last 52 weeks' average 13-week spend)."""
    return resolve(BudgetProblem(H), opt.simulator.posterior.dataset).total


def _alloc(result_allocation: dict[str, float]) -> np.ndarray:
    return np.array([result_allocation[ch] for ch in CHANNELS])


# ---------------------------------------------------------------------- optimality
def _simplex(n: int) -> np.ndarray:
    """``(M, 3)`` shares on the grid ``i/n`` summing to 1."""
    i, j = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    keep = i + j <= n
    return np.stack([i[keep], j[keep], n - i[keep] - j[keep]], axis=1) / n


@pytest.mark.parametrize(
    ("objective", "risk"),
    [(Objective.MAX_REVENUE, Risk.mean()), (Objective.MAX_REVENUE, Risk.cvar(0.2))],
    ids=["revenue-mean", "revenue-cvar"],
)
def test_three_channels_match_brute_force(
    opt: BudgetOptimizer, budget: float, objective: Objective, risk: Risk
) -> None:
    problem = BudgetProblem(H, budget=budget, objective=objective, risk=risk)
    best = float(opt.optimize(problem).objective_value)
    # coarse grid over the whole simplex (1% of the budget) finds the basin, whatever the
    # S-curves; a 0.05% grid over +-1% around its best resolves the optimum. At a smooth
    # maximum the loss is quadratic in the distance, so a point within 0.025% of the budget
    # loses ~1e-7 relative: the refined grid is the true optimum to far better than 0.1%.
    coarse = _simplex(100)
    values = opt.objective_value(problem, coarse * budget)
    centre = coarse[int(np.argmax(values))]
    d = np.linspace(-0.01, 0.01, 41)
    di, dj = (a.ravel() for a in np.meshgrid(d, d))
    fine = centre + np.stack([di, dj, -di - dj], axis=1)
    fine = fine[(fine >= 0).all(axis=1)]
    grid_best = max(float(values.max()), float(opt.objective_value(problem, fine * budget).max()))
    assert best >= grid_best * (1 - 1e-3)
    assert best <= grid_best * (1 + 1e-3)  # same objective, same draws: no free lunch


def test_two_free_channels_match_brute_force(opt: BudgetOptimizer, budget: float) -> None:
    locked = 0.3 * budget
    problem = BudgetProblem(
        H,
        budget=budget,
        objective=Objective.MAX_KPI,
        risk=Risk.quantile(0.2),
        locked={"tv": locked},
    )
    best = float(opt.optimize(problem).objective_value)
    # 1-d grid at 0.05% of the free budget (2001 points); same quadratic argument as above
    share = np.linspace(0.0, 1.0, 2001)
    free = budget - locked
    xs = np.stack([np.full_like(share, locked), share * free, (1 - share) * free], axis=1)
    grid_best = float(opt.objective_value(problem, xs).max())
    assert grid_best * (1 - 1e-3) <= best <= grid_best * (1 + 1e-3)


def test_equal_marginal_roi_at_unconstrained_channels(opt: BudgetOptimizer, budget: float) -> None:
    free = opt.optimize(BudgetProblem(H, budget=budget))
    cap = 0.7 * free.allocation["search"]
    res = opt.optimize(BudgetProblem(H, budget=budget, bounds={"search": ChannelBound(0.0, cap)}))
    assert res.at_bounds == {"search": "max"}
    assert res.allocation["search"] == pytest.approx(cap, rel=RTOL)
    m = res.marginal_roi
    # KKT: unconstrained channels share one marginal ROI. SLSQP stops once a step gains less
    # than ftol=1e-9 of the objective; moving budget between two channels whose mROI differ
    # by g gains ~g^2 / (2 curvature), so gaps of a few 1e-4 relative can remain (measured:
    # 1.4e-4); 0.5% leaves room for float32 gradients summed over 100 draws.
    assert m["tv"] == pytest.approx(m["social"], rel=5e-3)
    # the capped channel would take more budget: its marginal ROI is above the others'
    assert m["search"] > max(m["tv"], m["social"])
    # the unconstrained optimum has no bound active and one marginal ROI everywhere
    assert free.at_bounds == {}
    spread = np.ptp(list(free.marginal_roi.values())) / np.mean(list(free.marginal_roi.values()))
    assert spread < 5e-3


# ---------------------------------------------------------------------- constraints
@st.composite
def feasible_problems(draw: st.DrawFn, budget: float) -> BudgetProblem:
    scale = draw(st.floats(0.3, 3.0))
    b = budget * scale
    lo = [draw(st.floats(0.0, 0.45)) for _ in CHANNELS]
    hi = [lo[i] + draw(st.floats(0.0, 1.0)) for i in range(3)]
    lock = draw(st.sampled_from([None, *CHANNELS]))
    bounds = {ch: ChannelBound(lo[i] * b, hi[i] * b) for i, ch in enumerate(CHANNELS)}
    locked = {}
    if lock is not None:
        i = CHANNELS.index(lock)
        locked = {lock: (lo[i] + draw(st.floats(0.0, 1.0)) * (hi[i] - lo[i])) * b}
    los = [locked.get(ch, lo[i] * b) for i, ch in enumerate(CHANNELS)]
    his = [locked.get(ch, hi[i] * b) for i, ch in enumerate(CHANNELS)]
    objective = draw(st.sampled_from([Objective.MAX_REVENUE, Objective.MAX_PROFIT]))
    assume(sum(los) <= b * (1 - 1e-3))
    if objective is Objective.MAX_REVENUE:
        assume(sum(his) >= b * (1 + 1e-3))
    risk = draw(st.sampled_from([Risk.mean(), Risk.cvar(0.2)]))
    return BudgetProblem(H, budget=b, objective=objective, risk=risk, bounds=bounds, locked=locked)


@given(data=st.data())
@PROPERTY
def test_every_allocation_satisfies_the_constraints(
    opt: BudgetOptimizer, budget: float, data: st.DataObject
) -> None:
    problem = data.draw(feasible_problems(budget))
    res = opt.optimize(problem, seed=1)
    x = _alloc(res.allocation)
    b = float(problem.budget or 0.0)
    tol = RTOL * b
    if problem.objective is Objective.MAX_REVENUE:
        assert abs(x.sum() - b) <= tol
    else:
        assert x.sum() <= b + tol
    for i, ch in enumerate(CHANNELS):
        if ch in problem.locked:
            assert x[i] == pytest.approx(problem.locked[ch], rel=RTOL, abs=tol)
            assert res.at_bounds[ch] == "locked"
        else:
            assert problem.bounds[ch].min - tol <= x[i] <= problem.bounds[ch].max + tol


_INFEASIBLE = {
    "min_above_max": "channel 'search': min",
    "sum_min": "sum of channel minimums",
    "sum_max": "sum of channel maximums",
    "lock": "channel 'tv': locked at",
    "flight": "flight weeks [0, 4)",
    "relative": "relative bounds",
}


@given(kind=st.sampled_from(sorted(_INFEASIBLE)), f=st.floats(0.05, 0.9))
@PROPERTY
def test_infeasible_problems_name_the_constraint(
    opt: BudgetOptimizer, budget: float, kind: str, f: float
) -> None:
    b = budget
    problems = {
        "min_above_max": BudgetProblem(H, b, bounds={"search": ChannelBound(f * b, f * b * 0.9)}),
        "sum_min": BudgetProblem(
            H, b, bounds={ch: ChannelBound((1 + f) * b / 3) for ch in CHANNELS}
        ),
        "sum_max": BudgetProblem(
            H, b, bounds={ch: ChannelBound(0.0, (1 - f) * b / 3) for ch in CHANNELS}
        ),
        "lock": BudgetProblem(
            H, b, bounds={"tv": ChannelBound(0.0, f * b)}, locked={"tv": 1.01 * f * b}
        ),
        "flight": BudgetProblem(
            H,
            b,
            bounds={"tv": ChannelBound(f * b)},
            flights=(FlightBudget(0, 4, 0.9 * f * b * 4 / H, ("tv",)),),
        ),
        # tv may keep at least its historical share but is capped at half of it
        "relative": BudgetProblem(
            H,
            b,
            bounds={"tv": ChannelBound(0.0, 0.5 * _hist_share(opt)[0] * b)},
            relative_bounds=(1.0, 1 + f),
        ),
    }
    with pytest.raises(InfeasiblePlanError, match=_re(_INFEASIBLE[kind])):
        opt.optimize(problems[kind])


def _re(text: str) -> str:
    return re.escape(text)


def _hist_share(opt: BudgetOptimizer) -> np.ndarray:
    return resolve(BudgetProblem(H), opt.simulator.posterior.dataset).hist_share


def test_relative_bounds_hold_the_historical_shares(opt: BudgetOptimizer, budget: float) -> None:
    fs = resolve(BudgetProblem(H), opt.simulator.posterior.dataset)
    res = opt.optimize(BudgetProblem(H, budget=budget, relative_bounds=(0.9, 1.1)))
    share = _alloc(res.allocation) / budget
    assert np.all(share >= 0.9 * fs.hist_share - RTOL)
    assert np.all(share <= 1.1 * fs.hist_share + RTOL)
    assert set(res.at_bounds) <= set(CHANNELS)


def test_flight_caps_hold_with_the_historical_pattern(opt: BudgetOptimizer, budget: float) -> None:
    cap = 0.1 * budget
    problem = BudgetProblem(
        H, budget=budget, pattern=SpendPattern.HISTORICAL, flights=(FlightBudget(0, 4, cap),)
    )
    res = opt.optimize(problem)
    assert res.plan.spend[:, :4].sum() <= cap * (1 + RTOL)
    assert res.plan.total == pytest.approx(budget, rel=RTOL)
    assert res.allocation_by_period is not None
    assert sum(sum(v) for v in res.allocation_by_period.values()) == pytest.approx(budget, rel=1e-9)


# ---------------------------------------------------------------------- target objectives
def test_min_spend_reaches_the_kpi_target(opt: BudgetOptimizer, budget: float) -> None:
    current = opt.optimize(BudgetProblem(H, budget=budget))
    target = 0.8 * current.current_expected.incremental_kpi["mean"]
    problem = BudgetProblem(H, objective=Objective.MIN_SPEND_FOR_KPI, target_kpi=target)
    res = opt.optimize(problem)
    assert float(opt.objective_value(problem, res.allocation)) >= target
    assert res.objective_value >= target
    # optimized: cheaper than scaling the current plan until it reaches the target
    cur = _alloc(current.current_allocation)
    scaled = np.array([t * cur for t in np.linspace(0.05, 1.0, 96)])
    enough = opt.objective_value(problem, scaled) >= target
    assert res.total_spend <= scaled[enough].sum(axis=1).min()


def test_max_budget_keeps_the_roi_target(opt: BudgetOptimizer) -> None:
    problem = BudgetProblem(
        H, objective=Objective.MAX_BUDGET_AT_ROI, target_roi=1.5, risk=Risk.quantile(0.2)
    )
    res = opt.optimize(problem)
    assert float(opt.objective_value(problem, res.allocation)) >= 1.5
    # a little more spend in the same mix falls below the target: the budget is the largest
    assert float(opt.objective_value(problem, 1.01 * _alloc(res.allocation))) < 1.5


def test_unreachable_targets_raise(opt: BudgetOptimizer, budget: float) -> None:
    kpi = BudgetProblem(H, budget=budget, objective=Objective.MIN_SPEND_FOR_KPI, target_kpi=1e12)
    with pytest.raises(InfeasiblePlanError, match="is not reached even at the maximum spend"):
        opt.optimize(kpi)
    roi = BudgetProblem(H, objective=Objective.MAX_BUDGET_AT_ROI, target_roi=1e4)
    with pytest.raises(InfeasiblePlanError, match="target ROI 10000 is not reached"):
        opt.optimize(roi)


# ---------------------------------------------------------------------- risk
@given(seed=st.integers(0, 2**16))
@PROPERTY
def test_tail_risk_is_below_the_mean(opt: BudgetOptimizer, budget: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    xs = rng.dirichlet(np.ones(3), size=4) * budget * rng.uniform(0.2, 2.0)
    mean = opt.objective_value(BudgetProblem(H, risk=Risk.mean()), xs)
    for risk in (Risk.cvar(0.1), Risk.quantile(0.1), Risk.mean_minus_k_sd(1.0)):
        assert np.all(opt.objective_value(BudgetProblem(H, risk=risk), xs) <= mean)


def test_risk_averse_optimum_reports_a_lower_value(opt: BudgetOptimizer, budget: float) -> None:
    res = opt.optimize(BudgetProblem(H, budget=budget, risk=Risk.cvar(0.1)))
    mean_at_plan = opt.objective_value(BudgetProblem(H, budget=budget), res.allocation)
    assert res.objective_value <= float(mean_at_plan)
    assert res.objective_value == pytest.approx(
        float(opt.objective_value(res.problem, res.allocation)), rel=1e-6
    )


# ---------------------------------------------------------------------- contract
def test_result_matches_the_json_contract(opt: BudgetOptimizer, budget: float) -> None:
    res = opt.optimize(
        BudgetProblem(H, budget=budget, bounds={"tv": ChannelBound(0.0, 0.1 * budget)})
    )
    out = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert {
        "budget",
        "horizon_weeks",
        "allocation",
        "current_allocation",
        "expected",
        "current_expected",
        "marginal_roi",
        "at_bounds",
        "prob_beats_current",
        "objective",
        "risk",
    } <= set(out)
    assert out["budget"] == pytest.approx(budget) and out["horizon_weeks"] == H
    assert set(out["allocation"]) == set(CHANNELS) == set(out["marginal_roi"])
    for key in ("incremental_kpi", "incremental_revenue", "roi"):
        assert set(out["expected"][key]) == {"mean", "hdi_90"}  # one statistic: the mean
    assert out["at_bounds"] == {"tv": "max"}
    assert out["objective"] == "max_revenue" and out["risk"] == "mean"
    assert 0.0 <= out["prob_beats_current"] <= 1.0
    frame = res.to_frame()
    assert list(frame["channel"]) == list(CHANNELS)
    assert frame.loc[0, "at_bound"] == "max"
    assert frame["optimized"].sum() == pytest.approx(budget, rel=RTOL)


def test_default_current_plan_is_the_last_13_weeks(opt: BudgetOptimizer) -> None:
    res = opt.optimize(BudgetProblem(H))
    spend = opt.simulator.posterior.dataset.spend[:, -13:].sum(axis=(0, 1)) / 13 * H
    np.testing.assert_allclose(_alloc(res.current_allocation), spend, rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"horizon": 0}, "horizon must be a whole number of weeks >= 1"),
        ({"horizon": H, "objective": "max_money"}, "objective must be one of 'max_kpi'"),
        ({"horizon": H, "objective": "min_spend_for_kpi"}, "target_kpi must be a finite number"),
        ({"horizon": H, "target_roi": 2.0}, "target_roi is only used with objective"),
        ({"horizon": H, "budget": -1.0}, "budget must be a finite number > 0"),
        ({"horizon": H, "risk": "cvar:1.5"}, r"risk.level \(alpha\) for 'cvar' must be in"),
        ({"horizon": H, "relative_bounds": (1.2, 0.8)}, "relative_bounds must be"),
        ({"horizon": 4, "flights": (FlightBudget(2, 6, 1.0),)}, "past the horizon of 4 weeks"),
    ],
)
def test_problem_fields_are_validated(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        BudgetProblem(**kwargs)  # type: ignore[arg-type]


def test_unknown_channels_suggest_a_name(opt: BudgetOptimizer) -> None:
    with pytest.raises(SpecError, match="unknown channel 'serch' \\(did you mean 'search'\\?\\)"):
        opt.optimize(BudgetProblem(H, locked={"serch": 1.0}))


def test_allocation_curves_rise_from_zero_through_the_optimum(
    opt: BudgetOptimizer, budget: float
) -> None:
    from itertools import pairwise

    from mixflow.optimize.curves import allocation_curves

    result = opt.optimize(BudgetProblem(H, budget=budget))
    curves = allocation_curves(opt.simulator, result, points=11)
    assert set(curves) == set(CHANNELS)
    for ch, (spend, value) in curves.items():
        assert len(spend) == len(value) == 11
        assert spend[0] == 0.0 and value[0] == 0.0
        assert spend[-1] >= 2.0 * result.allocation[ch] * (1 - 1e-9)
        # more spend on one channel, the others held, never earns less (positive media effects)
        assert all(b >= a - 1e-6 * max(abs(a), 1.0) for a, b in pairwise(value))
        assert value[-1] > 0.0
