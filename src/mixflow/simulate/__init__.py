"""Plans and forward simulation over the full posterior.

Build a :class:`Simulator` once per loaded posterior and reuse it for every question on that
model version (a service caches it, keyed by model version)::

    sim = Simulator.from_posterior(posterior)        # per-draw parameters, once
    sim.warm_up(horizons=(13, 52))                   # optional: compile before the first call
    draws = sim.simulate(plan)                       # SimulationDraws; cheap on a warm object
    summary = summarize(draws, plan)
    kpi, value = sim.outcome_fn(13)(spend)           # differentiable, what optimizers call

What does not depend on the plan (coefficients, adstock weights, the carryover from history,
the baseline per start period and horizon) is computed once per simulator; each call runs one
compiled float32 function per shape. Calls are thread-safe. See docs/simulate.md.
"""

from mixflow.simulate.builders import (
    channel_shares,
    geo_split,
    next_period,
    plan_from_dict,
    plan_from_totals,
    plan_like_last,
    time_pattern,
)
from mixflow.simulate.engine import SimulationDraws, Simulator
from mixflow.simulate.io import load_plan
from mixflow.simulate.plan import Plan
from mixflow.simulate.summary import compare, metric_draws, summarize

__all__ = [
    "Plan",
    "SimulationDraws",
    "Simulator",
    "channel_shares",
    "compare",
    "geo_split",
    "load_plan",
    "metric_draws",
    "next_period",
    "plan_from_dict",
    "plan_from_totals",
    "plan_like_last",
    "summarize",
    "time_pattern",
]
