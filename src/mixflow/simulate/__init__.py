"""Plans and forward simulation over the full posterior."""

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
from mixflow.simulate.summary import compare, summarize

__all__ = [
    "Plan",
    "SimulationDraws",
    "Simulator",
    "channel_shares",
    "compare",
    "geo_split",
    "load_plan",
    "next_period",
    "plan_from_dict",
    "plan_from_totals",
    "plan_like_last",
    "summarize",
    "time_pattern",
]
