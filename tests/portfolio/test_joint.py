"""The joint portfolio optimizer: one model's plan equals ``mixflow optimize``'s, the joint split
matches brute force over the fitted curves, beats the current split under the true response,
respects model and relative bounds, and refuses what it cannot value.

Two simulated brands with known truth (2 channels, 70 weeks; brand b's media work twice as hard
per unit of spend) are fitted once per module with SVI (100 draws).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from mixflow.analysis.summary import analyze
from mixflow.cli.main import app
from mixflow.data.dataset import KpiType
from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, SimulatedBrand, simulate_brand
from mixflow.errors import InfeasiblePlanError, SpecError
from mixflow.optimize import BudgetOptimizer, BudgetProblem, resolve
from mixflow.optimize.recent import current_split
from mixflow.portfolio import Member, PortfolioPlan, PortfolioProblem, optimize_portfolio
from mixflow.portfolio.fit import write_record
from mixflow.portfolio.schema import ModelRecord, ModelState
from mixflow.portfolio.spec import Portfolio
from mixflow.simulate import Simulator
from mixflow.spec import parse_config
from mixflow.workflow import fit_dataset, write_run

pytestmark = pytest.mark.slow  # two SVI fits: minutes on a busy 2-core machine

H = 13
SVI = {"method": "svi", "svi_steps": 300, "draws": 100, "seed": 2, "progress_bar": False}
CHANNELS = DEFAULT_CHANNELS[:2]
#: brand b: the same channels, twice the effect at a lower spend level
STRONG = tuple(
    dataclasses.replace(ch, effect_share=2 * ch.effect_share, weekly_spend=0.6 * ch.weekly_spend)
    for ch in CHANNELS
)


@dataclasses.dataclass(frozen=True)
class Fitted:
    brand: SimulatedBrand
    member: Member


def _fit(channels: tuple[Any, ...], seed: int, name: str) -> Fitted:
    brand = simulate_brand(
        BrandSimulation(n_weeks=70, channels=channels, n_events=1), np.random.default_rng(seed)
    )
    cfg = parse_config({**brand.config, "fit": SVI})
    posterior = fit_dataset(cfg, dataset_from_frame(brand.frame, cfg.data))
    return Fitted(brand, Member(name, Simulator(posterior, max_draws=100)))


@pytest.fixture(scope="module")
def brands() -> dict[str, Fitted]:
    return {"a": _fit(CHANNELS, 4, "a"), "b": _fit(STRONG, 5, "b")}


def _budget(fitted: dict[str, Fitted]) -> float:
    """The two brands' recent 13-week spend together."""
    return sum(
        float(np.asarray(f.member.simulator.posterior.dataset.spend[:, -H:]).sum())
        for f in fitted.values()
    )


def test_one_model_portfolio_plan_equals_its_single_model_plan(brands: dict[str, Fitted]) -> None:
    sim = brands["a"].member.simulator
    budget = 1.2e6
    single = BudgetOptimizer(sim).optimize(
        BudgetProblem(horizon=H, budget=budget),
        current=current_split(sim.posterior.dataset, budget),
    )
    plan = optimize_portfolio([brands["a"].member], PortfolioProblem(budget, H)).plan
    mine = plan.models["a"]
    for ch, amount in single.allocation.items():
        # the same starts, SLSQP settings and engine: equal up to float32 round-off
        assert mine.allocation[ch] == pytest.approx(amount, abs=1e-6 * budget)
        assert mine.current_allocation[ch] == pytest.approx(single.current_allocation[ch], rel=1e-9)
        assert mine.marginal_roi[ch] == pytest.approx(single.marginal_roi[ch], rel=1e-4)
    rev = single.expected.incremental_revenue["mean"]
    assert plan.expected.incremental_revenue.mean == pytest.approx(rev, rel=1e-5)
    assert plan.total_budget == budget and sum(mine.allocation.values()) == pytest.approx(budget)


def _grid_values(m: Member, budgets: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """``(B, S)`` posterior-mean incremental revenue of the first channel at ``share`` of
    ``budget``, the second channel the rest."""
    opt = BudgetOptimizer(m.simulator)
    fs = resolve(BudgetProblem(horizon=H, budget=1.0), m.simulator.posterior.dataset)
    b, s = np.meshgrid(budgets, shares, indexing="ij")
    xs = np.stack([(b * s).ravel(), (b * (1 - s)).ravel()], axis=1)
    _, value = opt.batch_draws(fs, xs)
    return value.mean(axis=1).reshape(b.shape)


def test_joint_split_reaches_the_brute_force_optimum_of_the_fitted_curves(
    brands: dict[str, Fitted],
) -> None:
    members = [f.member for f in brands.values()]
    total = _budget(brands)
    plan = optimize_portfolio(members, PortfolioProblem(total, H)).plan
    # brute force: 61 splits between the brands x 61 channel splits within each
    budgets = np.linspace(0.0, total, 61)
    shares = np.linspace(0.0, 1.0, 61)
    best_a = _grid_values(members[0], budgets, shares).max(axis=1)
    best_b = _grid_values(members[1], budgets[::-1], shares).max(axis=1)
    brute = float(np.max(best_a + best_b))
    assert plan.expected.incremental_revenue.mean >= 0.99 * brute
    # the budget moved towards the brand whose media work harder
    assert plan.models["b"].budget > plan.models["b"].current_budget


def _true_value(fitted: dict[str, Fitted], alloc: dict[str, dict[str, float]]) -> float:
    total = 0.0
    for name, f in fitted.items():
        data = f.member.simulator.posterior.dataset
        fs = resolve(BudgetProblem(horizon=H, budget=1.0), data)
        x = np.array([alloc[name][ch] for ch in data.channels])
        assert f.brand.true_response is not None
        total += f.brand.true_response.incremental_value(fs.spend(x))
    return total


def test_recommended_split_beats_current_shares_under_the_true_response(
    brands: dict[str, Fitted],
) -> None:
    members = [f.member for f in brands.values()]
    plan = optimize_portfolio(members, PortfolioProblem(_budget(brands), H)).plan
    recommended = _true_value(brands, {n: m.allocation for n, m in plan.models.items()})
    current = _true_value(brands, {n: m.current_allocation for n, m in plan.models.items()})
    assert recommended > current


def test_model_and_relative_bounds_hold(brands: dict[str, Fitted]) -> None:
    members = [f.member for f in brands.values()]
    total = _budget(brands)
    cap = 0.3 * total
    plan = optimize_portfolio(
        members,
        PortfolioProblem(total, H, relative_bounds=(0.7, 1.5), model_bounds={"b": (0.0, cap)}),
    ).plan
    assert plan.models["b"].budget <= cap * (1 + 1e-6)
    assert sum(m.budget for m in plan.models.values()) == pytest.approx(total, rel=1e-6)
    for m in plan.models.values():
        for ch, x in m.allocation.items():
            cur = m.current_allocation[ch]
            assert 0.7 * cur * (1 - 1e-6) <= x <= 1.5 * cur * (1 + 1e-6)


def test_contradicting_model_bounds_are_named(brands: dict[str, Fitted]) -> None:
    members = [f.member for f in brands.values()]
    with pytest.raises(InfeasiblePlanError, match=r"model 'a' min .*model 'b' min"):
        optimize_portfolio(
            members, PortfolioProblem(1e6, H, model_bounds={"a": (7e5, None), "b": (7e5, None)})
        )
    with pytest.raises(SpecError, match=r"unknown model 'c'"):
        optimize_portfolio(members, PortfolioProblem(1e6, H, model_bounds={"c": (0.0, 1.0)}))


def _stub(kpi_type: KpiType, has_revenue: bool) -> Any:
    valued = kpi_type is KpiType.REVENUE or has_revenue  # MMMDataset.value_is_currency
    data = SimpleNamespace(
        kpi_type=kpi_type, has_revenue_per_kpi=has_revenue, value_is_currency=valued
    )
    return SimpleNamespace(posterior=SimpleNamespace(dataset=data))


def test_a_kpi_without_revenue_needs_a_value_per_kpi() -> None:
    with pytest.raises(SpecError, match=r"model 'leads'.*set value_per_kpi"):
        Member("leads", _stub(KpiType.CONVERSIONS, False))
    assert Member("leads", _stub(KpiType.CONVERSIONS, False), 12.5).coefs == (12.5, 0.0)
    assert Member("sales", _stub(KpiType.CONVERSIONS, True)).coefs == (0.0, 1.0)
    with pytest.raises(SpecError, match=r"model 'rev': value_per_kpi is only for KPIs"):
        Member("rev", _stub(KpiType.REVENUE, False), 3.0)


def test_cli_writes_a_typed_plan_and_chart(brands: dict[str, Fitted], tmp_path: Path) -> None:
    records = {}
    for name, f in brands.items():
        run = tmp_path / "runs" / name
        posterior = f.member.simulator.posterior
        write_run(posterior, analyze(posterior), run)
        records[name] = ModelRecord(
            state=ModelState.SUCCEEDED, run_dir=str(run), config_fingerprint="x"
        )
    models = tuple(SimpleNamespace(name=n) for n in brands)
    write_record(Portfolio("p", tmp_path / "p.yaml", models), tmp_path, records)  # type: ignore[arg-type]
    total = _budget(brands)
    result = CliRunner().invoke(
        app,
        [
            "portfolio",
            "optimize",
            str(tmp_path),
            "--budget",
            str(total),
            "--horizon",
            str(H),
            "--model-bounds",
            f"a={0.2 * total:.0f}:",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "portfolio_plan.json").read_text())
    plan = PortfolioPlan.model_validate(doc)
    assert plan.to_json_dict() == doc
    assert set(plan.models) == {"a", "b"} and plan.models["a"].budget >= 0.2 * total * (1 - 1e-6)
    assert sum(m.budget for m in plan.models.values()) == pytest.approx(total, rel=1e-6)
    lo, hi = plan.expected.incremental_revenue.hdi_90
    assert lo <= plan.expected.incremental_revenue.mean <= hi
    assert 0.0 <= plan.probability_beats_current <= 1.0
    assert (tmp_path / "portfolio_plan.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
