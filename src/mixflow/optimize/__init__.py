"""Budget optimization over the full posterior: problems, constraints, solvers, results."""

from mixflow.optimize.constraints import FeasibleSet, resolve
from mixflow.optimize.problem import (
    BudgetProblem,
    ChannelBound,
    FlightBudget,
    Objective,
    Risk,
    RiskKind,
    SpendPattern,
)
from mixflow.optimize.result import BoundKind, OptimizationResult, OutcomeStats
from mixflow.optimize.solver import BudgetOptimizer, optimize

__all__ = [
    "BoundKind",
    "BudgetOptimizer",
    "BudgetProblem",
    "ChannelBound",
    "FeasibleSet",
    "FlightBudget",
    "Objective",
    "OptimizationResult",
    "OutcomeStats",
    "Risk",
    "RiskKind",
    "SpendPattern",
    "optimize",
    "resolve",
]
