"""mixflow: Bayesian marketing mix modeling on JAX/NumPyro.

The Python API, in the order of a project (docs/python-api.md has a worked example)::

    import mixflow

    cfg, data = mixflow.validate_config("examples/meridian_national.yaml")  # config + dataset
    posterior = mixflow.fit_dataset(cfg, data)          # NUTS / MAP / SVI, per cfg.fit
    analysis = mixflow.analyze(posterior)               # summary, contributions, curves
    mixflow.write_run(posterior, analysis, "runs/x")    # the run folder `mixflow fit` writes
    posterior = mixflow.load_run("runs/x")              # ... and read back
    mixflow.score_run(posterior)                        # PSIS-LOO and WAIC
    mixflow.compare_runs({"a": post_a, "b": post_b})    # which the data favour
    sim = mixflow.Simulator(posterior)                  # what-if plans over every draw
    result = mixflow.optimize_budget(sim, mixflow.BudgetProblem(horizon=13, budget=2e6))
    mixflow.register("runs/x", "brand-x", settings)     # MLflow registry, governance gates

Names load on first use, so ``import mixflow`` stays light (the command line starts from here);
``dir(mixflow)`` lists them all. Every name is also importable from the package that defines it
(``mixflow.workflow``, ``mixflow.analysis``, ``mixflow.simulate``, ...).
"""

from __future__ import annotations

import importlib
from typing import Any

from mixflow.errors import (
    ConvergenceError,
    DataError,
    MixflowError,
    RunDirError,
    SpecError,
)

# no TYPE_CHECKING imports of the API here: every module imports `mixflow` (for __version__),
# and the import contract would read them as each layer importing all the others; the module
# __getattr__ types the lazy names as Any
__version__ = "0.1.0"

#: public name -> (module, attribute): imported when first used
_API: dict[str, tuple[str, str]] = {
    # configs, data, fits and run folders
    "validate_config": ("mixflow.workflow", "validate_config"),
    "with_overrides": ("mixflow.workflow", "with_overrides"),
    "fit_dataset": ("mixflow.workflow", "fit_dataset"),
    "fit_run": ("mixflow.workflow", "fit_run"),
    "write_run": ("mixflow.workflow", "write_run"),
    "load_run": ("mixflow.workflow", "load_run"),
    "MMMDataset": ("mixflow.data.dataset", "MMMDataset"),
    "Posterior": ("mixflow.posterior.posterior", "Posterior"),
    # analysis of a fit
    "analyze": ("mixflow.analysis.summary", "analyze"),
    "Analysis": ("mixflow.analysis.summary", "Analysis"),
    "geo_breakdown": ("mixflow.analysis.geo_breakdown", "geo_breakdown"),
    "GeoBreakdown": ("mixflow.analysis.geo_breakdown", "GeoBreakdown"),
    "score_run": ("mixflow.posterior.comparison", "score_run"),
    "compare_runs": ("mixflow.posterior.comparison", "compare_runs"),
    "RunComparison": ("mixflow.posterior.comparison", "RunComparison"),
    "render_report": ("mixflow.report", "render_report"),
    # plans and budgets
    "Simulator": ("mixflow.simulate", "Simulator"),
    "Plan": ("mixflow.simulate", "Plan"),
    "load_plan": ("mixflow.simulate", "load_plan"),
    "plan_from_totals": ("mixflow.simulate", "plan_from_totals"),
    "plan_like_last": ("mixflow.simulate", "plan_like_last"),
    "summarize_plan": ("mixflow.simulate", "summarize"),
    "BudgetProblem": ("mixflow.optimize", "BudgetProblem"),
    "BudgetOptimizer": ("mixflow.optimize", "BudgetOptimizer"),
    "OptimizationResult": ("mixflow.optimize", "OptimizationResult"),
    # not "optimize": that name is the subpackage mixflow.optimize once it is imported
    "optimize_budget": ("mixflow.optimize", "optimize"),
    # lifecycle
    "register": ("mixflow.lifecycle", "register"),
    "LifecycleSettings": ("mixflow.lifecycle", "LifecycleSettings"),
    "settings_from_env": ("mixflow.lifecycle", "settings_from_env"),
    # simulated brands with known truth
    "BrandSimulation": ("mixflow.datasets", "BrandSimulation"),
    "simulate_brand": ("mixflow.datasets", "simulate_brand"),
}


def __getattr__(name: str) -> Any:
    if name in _API:
        module, attribute = _API[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value  # later lookups skip this hook
        return value
    raise AttributeError(f"module 'mixflow' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})


#: the errors, the version and every name of :data:`_API`
__all__ = [
    "Analysis",
    "BrandSimulation",
    "BudgetOptimizer",
    "BudgetProblem",
    "ConvergenceError",
    "DataError",
    "GeoBreakdown",
    "LifecycleSettings",
    "MMMDataset",
    "MixflowError",
    "OptimizationResult",
    "Plan",
    "Posterior",
    "RunComparison",
    "RunDirError",
    "Simulator",
    "SpecError",
    "__version__",
    "analyze",
    "compare_runs",
    "fit_dataset",
    "fit_run",
    "geo_breakdown",
    "load_plan",
    "load_run",
    "optimize_budget",
    "plan_from_totals",
    "plan_like_last",
    "register",
    "render_report",
    "score_run",
    "settings_from_env",
    "simulate_brand",
    "summarize_plan",
    "validate_config",
    "with_overrides",
    "write_run",
]
