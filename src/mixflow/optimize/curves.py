"""Response curves around an optimized allocation (what plan.png draws beside the bars)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mixflow.optimize.result import OptimizationResult
    from mixflow.simulate import Simulator


def allocation_curves(
    sim: Simulator, result: OptimizationResult, points: int = 21
) -> dict[str, tuple[list[float], list[float]]]:
    """Each channel's incremental value over the horizon as its spend varies, the others held at
    the optimized plan: ``channel -> (total spends, mean incremental value)`` on ``points``
    totals from 0 to ``max(2 x optimized, 1.5 x current, 1)``. The optimized plan's flighting
    is scaled; a channel the optimizer left at 0 is spread evenly over periods and geos."""
    plan = result.plan
    h = plan.horizon
    # numpy spend in, (spend, value) out: the simulator's function converts the arrays
    fn: Any = sim.outcome_fn(h)
    opt = plan.spend
    curves = {}
    for i, ch in enumerate(plan.channels):
        top = max(2.0 * result.allocation[ch], 1.5 * result.current_allocation[ch], 1.0)
        total = max(result.allocation[ch], 1e-9)
        grid = np.linspace(0.0, top, points)
        values = []
        base = opt.copy()
        base[:, :, i] = 0.0
        v0 = float(np.mean(fn(base)[1]))
        for amount in grid:
            s = opt.copy()
            if result.allocation[ch] > 0:
                s[:, :, i] = opt[:, :, i] * (amount / total)
            else:
                s[:, :, i] = amount / (h * opt.shape[0])
            values.append(float(np.mean(fn(s)[1])) - v0)
        curves[ch] = (grid.tolist(), values)
    return curves
