"""Portfolios: many brand-market models fitted on Ray, and one budget split across all of them.

- :mod:`~mixflow.portfolio.spec`: the portfolio file (models by name and config, shared defaults,
  per-entry overrides), checked before anything starts.
- :mod:`~mixflow.portfolio.fit`: one Ray task per model (CPUs declared, retried when a worker or
  node is lost), failures recorded per model, resumable; ``DIR/portfolio.json``.
- :mod:`~mixflow.portfolio.joint`: the joint budget optimizer over every model's channels, on
  the same posterior simulation engine as ``mixflow optimize``.
- :mod:`~mixflow.portfolio.schema`: the typed documents ``portfolio.json`` and
  ``portfolio_plan.json``.
"""

from mixflow.portfolio.fit import FitTask, RayOptions, fit_model, fit_portfolio, read_record
from mixflow.portfolio.joint import (
    JointPlan,
    Member,
    PortfolioObjective,
    PortfolioOptimizer,
    PortfolioProblem,
    optimize_portfolio,
)
from mixflow.portfolio.schema import ModelRecord, ModelState, PortfolioPlan, PortfolioRecord
from mixflow.portfolio.spec import Portfolio, PortfolioModel, load_portfolio

__all__ = [
    "FitTask",
    "JointPlan",
    "Member",
    "ModelRecord",
    "ModelState",
    "Portfolio",
    "PortfolioModel",
    "PortfolioObjective",
    "PortfolioOptimizer",
    "PortfolioPlan",
    "PortfolioProblem",
    "PortfolioRecord",
    "RayOptions",
    "fit_model",
    "fit_portfolio",
    "load_portfolio",
    "optimize_portfolio",
    "read_record",
]
