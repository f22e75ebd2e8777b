"""Charts of simulated plans (KPI per period with its 90% band; plan comparisons)."""

from __future__ import annotations

from typing import Any

from mixflow.report.charts import axes_figure, compact_formatter, png_bytes


def plan_chart(summaries: list[dict[str, Any]]) -> bytes:
    """PNG: expected KPI per period of each simulated plan, with 90% HDI bands."""
    fig, ax = axes_figure()
    for s in summaries:
        periods = [p["period"] for p in s["per_period"]]
        mean = [p["kpi_mean"] for p in s["per_period"]]
        lo = [p["kpi_hdi_90"][0] for p in s["per_period"]]
        hi = [p["kpi_hdi_90"][1] for p in s["per_period"]]
        line = ax.plot(periods, mean, label=f"{s['name']} (mean)")[0]
        ax.fill_between(
            periods, lo, hi, alpha=0.2, color=line.get_color(), label=f"{s['name']} 90% HDI"
        )
    ax.set_title("Simulated KPI per period")
    ax.set_xlabel("Period of the horizon")
    ax.set_ylabel("Expected KPI")
    ax.yaxis.set_major_formatter(compact_formatter())
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return png_bytes(fig)


def allocation_chart(
    allocation: dict[str, float],
    current: dict[str, float],
    curves: dict[str, tuple[list[float], list[float]]],
) -> bytes:
    """PNG: current vs optimized spend per channel, and each channel's horizon response curve
    (incremental value vs its spend, others at the optimum) with both points marked."""
    import math

    from matplotlib.figure import Figure

    channels = list(allocation)
    n = len(channels)
    cols = min(3, n)
    rows = 1 + math.ceil(n / cols)
    fig = Figure(figsize=(4.0 * cols, 3.2 * rows), dpi=100, layout="constrained")
    grid = fig.add_gridspec(rows, cols)
    ax = fig.add_subplot(grid[0, :])
    x = list(range(n))
    ax.bar(
        [i - 0.2 for i in x],
        [current[c] for c in channels],
        width=0.4,
        label="current",
        color="#9e9e9e",
    )
    ax.bar(
        [i + 0.2 for i in x],
        [allocation[c] for c in channels],
        width=0.4,
        label="optimized",
        color="#1f77b4",
    )
    ax.set_xticks(x, channels)
    ax.set_ylabel("Spend over the horizon")
    ax.yaxis.set_major_formatter(compact_formatter())
    ax.set_title("Budget allocation: current vs optimized")
    ax.legend()
    for k, ch in enumerate(channels):
        sub = fig.add_subplot(grid[1 + k // cols, k % cols])
        spend, value = curves[ch]
        sub.plot(spend, value, color="#1f77b4")
        for amount, label, color in (
            (current[ch], "current", "#555555"),
            (allocation[ch], "optimized", "#d62728"),
        ):
            sub.axvline(amount, color=color, ls="--", lw=1, label=label)
        sub.set_title(ch, fontsize=10)
        sub.set_xlabel("Channel spend")
        sub.set_ylabel("Incremental revenue")
        sub.xaxis.set_major_formatter(compact_formatter())
        sub.yaxis.set_major_formatter(compact_formatter())
        sub.grid(alpha=0.3)
        if k == 0:
            sub.legend(fontsize=8)
    return png_bytes(fig)
