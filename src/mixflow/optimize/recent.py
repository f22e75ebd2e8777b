"""The budget problem "spend the last N weeks' budget again over the next N weeks", and the
current plan to compare an optimized split with: today's channel split at the same budget."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mixflow.data.dataset import MMMDataset
from mixflow.optimize.problem import BudgetProblem
from mixflow.optimize.result import OptimizationResult
from mixflow.optimize.solver import BudgetOptimizer
from mixflow.posterior.posterior import Posterior

#: weeks in the demo's plan; its budget is the spend of the last as many weeks of data
PLAN_WEEKS = 13
#: each channel's share of the budget stays within these multiples of its current share (the
#: last 13 weeks, :data:`~mixflow.optimize.constraints.CURRENT_WEEKS`)
RELATIVE_BOUNDS = (0.5, 2.0)


def current_split(data: MMMDataset, budget: float, weeks: int = PLAN_WEEKS) -> np.ndarray:
    """``(C,)`` each channel's share of spend over the last ``weeks`` periods, times ``budget``."""
    recent = np.asarray(data.spend[:, -weeks:], np.float64).sum(axis=(0, 1))
    return recent / recent.sum() * budget


def recent_budget_problem(
    posterior: Posterior, weeks: int = PLAN_WEEKS
) -> tuple[BudgetProblem, np.ndarray]:
    """Spend the last ``weeks`` weeks' total again over the next ``weeks`` (relative bounds
    :data:`RELATIVE_BOUNDS`); also returns the current plan: each channel's total over those
    weeks ``(C,)``, which spends the same budget."""
    budget = float(np.asarray(posterior.dataset.spend[:, -weeks:]).sum())
    problem = BudgetProblem(horizon=weeks, budget=budget, relative_bounds=RELATIVE_BOUNDS)
    return problem, current_split(posterior.dataset, budget, weeks)


def optimize_with_current(
    optimizer: BudgetOptimizer,
    problem: BudgetProblem,
    seed: int = 0,
    sd_ratios: Mapping[str, float | None] | None = None,
) -> OptimizationResult:
    """Solve ``problem`` as ``mixflow optimize`` and the service do: with a given budget that is
    spent in full, the current plan compared against is today's channel split (last 13 weeks)
    at that budget, like with like; otherwise the optimizer's default current plan."""
    current = None
    if problem.budget is not None and problem.objective.fixed_total:
        current = current_split(optimizer.simulator.posterior.dataset, problem.budget)
    return optimizer.optimize(problem, current=current, seed=seed, sd_ratios=sd_ratios)
