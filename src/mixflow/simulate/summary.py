"""Summaries of simulated plans: totals, revenue, profit, ROI, CPA with mean, median, 90% HDI,
and side-by-side comparisons with the probability that one plan beats another."""

from __future__ import annotations

from typing import Any

import numpy as np

from mixflow.analysis.stats import hdi, stat
from mixflow.simulate.engine import SimulationDraws
from mixflow.simulate.plan import Plan


def summarize(
    draws: SimulationDraws, plan: Plan, conversions: bool = False, period_days: int = 7
) -> dict[str, Any]:
    """JSON-ready summary of one plan's simulation. Each period of ``per_period`` has its date
    (``plan.start`` plus ``period_days`` per period) and its KPI's mean split into the baseline
    (no media), the carryover of spend before the horizon, and each channel's increment from
    the plan (the three add up to ``kpi_mean``)."""
    spend = plan.total
    inc_value_tail = draws.incremental_value_with_tail
    inc_kpi_tail = draws.incremental_kpi_with_tail
    band = hdi(draws.kpi)
    out: dict[str, Any] = {
        "name": plan.name,
        "horizon_weeks": plan.horizon,
        "start": str(plan.start),
        "spend": spend,
        "spend_by_channel": plan.by_channel(),
        "kpi_total": stat(draws.kpi.sum(axis=1)),
        "revenue_total": stat(draws.kpi_value.sum(axis=1)),
        "incremental_kpi": stat(draws.incremental_kpi),
        "incremental_kpi_with_tail": stat(inc_kpi_tail),
        "incremental_revenue": stat(draws.incremental_value),
        "incremental_revenue_with_tail": stat(inc_value_tail),
        "carryover_in_kpi": stat(draws.carryover_in_kpi.sum(axis=1)),
        "profit_with_tail": stat(inc_value_tail - spend),
        "roi_with_tail": stat(inc_value_tail / spend) if spend > 0 else None,
        "cpa_with_tail": stat(spend / np.maximum(inc_kpi_tail, 1e-12))
        if conversions and spend > 0
        else None,
        "per_channel": {
            ch: {
                "spend": plan.by_channel()[ch],
                "incremental_kpi_with_tail": stat(draws.media_kpi[:, :, i].sum(axis=1)),
                "incremental_revenue_with_tail": stat(draws.media_value[:, :, i].sum(axis=1)),
            }
            for i, ch in enumerate(plan.channels)
        },
        "per_period": [
            {
                "period": h + 1,
                "date": str(
                    plan.start.astype("datetime64[D]") + np.timedelta64(h * period_days, "D")
                ),
                "kpi_mean": float(draws.kpi[:, h].mean()),
                "kpi_hdi_90": [float(band[h, 0]), float(band[h, 1])],
                "baseline_mean": float(draws.baseline_kpi[:, h].mean()),
                "carryover_in_mean": float(draws.carryover_in_kpi[:, h].mean()),
                "incremental_mean": {
                    ch: float(draws.media_kpi[:, h, i].mean()) for i, ch in enumerate(plan.channels)
                },
            }
            for h in range(plan.horizon)
        ],
    }
    return out


def metric_draws(plan: Plan, draws: SimulationDraws, metric: str = "profit") -> np.ndarray:
    """``(S,)`` per-draw value of a plan on the metric :func:`compare` ranks by: ``profit``
    (incremental revenue with tail minus spend), ``revenue`` (incremental revenue with tail) or
    ``kpi`` (incremental KPI with tail): the objectives' names, ``max_profit`` etc."""
    if metric == "kpi":
        return draws.incremental_kpi_with_tail
    if metric == "revenue":
        return draws.incremental_value_with_tail
    return draws.incremental_value_with_tail - plan.total


def compare(results: list[tuple[Plan, SimulationDraws]], metric: str = "profit") -> dict[str, Any]:
    """Compare plans on the same posterior draws.

    ``metric``: ``profit`` (incremental revenue with tail minus spend), ``revenue`` or ``kpi``
    (incremental revenue or KPI with tail). ``prob_beats[a][b]`` is the share of draws in which plan ``a`` beats ``b``.
    """
    values = {plan.name: metric_draws(plan, draws, metric) for plan, draws in results}
    names = list(values)
    prob = {a: {b: float(np.mean(values[a] > values[b])) for b in names if b != a} for a in names}
    best = max(names, key=lambda n: float(np.mean(values[n])))
    return {
        "metric": metric,
        "plans": {n: stat(v) for n, v in values.items()},
        "prob_beats": prob,
        "best": best,
    }
