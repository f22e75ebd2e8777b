"""Charts of simulated plans (the KPI per period on the plan's dates, split into baseline and
incremental, with its 90% band) and of an optimized allocation. Value axes use the one compact
number format (``2.5M``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mixflow.report.charts import (
    BASELINE_COLOR,
    _text,
    axes_figure,
    channel_colors,
    compact_formatter,
    png_bytes,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

CARRYOVER_COLOR = "#d9d9d9"


def plan_chart(summaries: list[dict[str, Any]]) -> bytes:
    """PNG of :func:`simulation_figure` (``mixflow simulate``'s ``simulation.png``)."""
    return png_bytes(simulation_figure(summaries))


def simulation_figure(summaries: list[dict[str, Any]]) -> Figure:
    """Expected KPI per period of each simulated plan (``simulation.json`` documents) with its
    90% HDI band, on the periods' dates. One plan with its split is drawn as stacked areas:
    the baseline (no media), the carryover of spend before the horizon, then each channel's
    increment from the plan; their top edge is the mean line. Periods without a date (older
    files) are numbered from 1."""
    fig, ax = axes_figure()
    split = len(summaries) == 1 and _has_split(summaries[0])
    if split:
        _stack(ax, summaries[0])
    for s in summaries:
        x = _period_axis(s["per_period"])
        mean = [p["kpi_mean"] for p in s["per_period"]]
        lo = [p["kpi_hdi_90"][0] for p in s["per_period"]]
        hi = [p["kpi_hdi_90"][1] for p in s["per_period"]]
        line = ax.plot(x, mean, color="#222222" if split else None, lw=1.6, label="expected KPI")
        ax.fill_between(
            x,
            lo,
            hi,
            alpha=0.15 if split else 0.2,
            color=line[0].get_color(),
            linewidth=0,
            label="90% HDI",
        )
        if not split:
            line[0].set_label(f"{_text(s['name'])} (mean)")
    name = _text(summaries[0]["name"]) if len(summaries) == 1 else "plans"
    ax.set_title(
        f"Simulated KPI per period: {name}" + (" (baseline and incremental)" if split else "")
    )
    ax.set_ylabel("Expected KPI per period")
    if all(_dated(s["per_period"]) for s in summaries):
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

        locator = AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        ax.set_xlabel("Period start date")
    else:
        ax.set_xlabel("Period of the horizon")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    ax.grid(alpha=0.3)
    return fig


def _stack(ax: Axes, summary: dict[str, Any]) -> None:
    periods = summary["per_period"]
    x = _period_axis(periods)
    channels = list(periods[0]["incremental_mean"])
    colors = channel_colors(channels)
    layers = [[p["baseline_mean"] for p in periods], [p["carryover_in_mean"] for p in periods]]
    layers += [[p["incremental_mean"][ch] for p in periods] for ch in channels]
    ax.stackplot(
        x,
        *layers,
        labels=["baseline (no media)", "carryover of earlier spend"]
        + [f"incremental: {_text(ch)}" for ch in channels],
        colors=[BASELINE_COLOR, CARRYOVER_COLOR, *(colors[ch] for ch in channels)],
        alpha=0.85,
        linewidth=0,
    )


def _has_split(summary: dict[str, Any]) -> bool:
    keys = ("baseline_mean", "carryover_in_mean", "incremental_mean")
    return bool(summary["per_period"]) and all(
        p.get(k) is not None for p in summary["per_period"] for k in keys
    )


def _dated(periods: list[dict[str, Any]]) -> bool:
    return bool(periods) and all(p.get("date") for p in periods)


def _period_axis(periods: list[dict[str, Any]]) -> np.ndarray:
    if _dated(periods):
        return np.array([p["date"] for p in periods], dtype="datetime64[D]")
    return np.array([p["period"] for p in periods])


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
