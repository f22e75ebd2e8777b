"""Self-contained HTML page of a monitor result: verdict, findings, the checks with their
thresholds and measured false-alarm rates, spend against the training range, two charts (value
axes in the one compact number format, ``2.5M``: no ``1e6`` offset)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mixflow.report.charts import compact_axes, png_bytes
from mixflow.report.templating import render_page

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from mixflow.lifecycle.monitor_schema import MonitorResult


def _dates(result: MonitorResult) -> np.ndarray:
    return np.array(result.dates, dtype="datetime64[D]")


def _date_axis(ax: Axes) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def fit_chart(result: MonitorResult) -> Figure:
    """Actual KPI per week against the predictive mean and its interval (geos summed)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    ax = fig.add_subplot()
    x = _dates(result)
    level = f"{result.metrics.interval:.0%}"
    ax.fill_between(
        x,
        result.series("lower"),
        result.series("upper"),
        alpha=0.25,
        label=f"{level} predictive band",
    )
    ax.plot(x, result.series("predicted"), label="predicted mean")
    ax.plot(x, result.series("actual"), "o-", color="black", markersize=3, label="actual")
    ax.set_ylabel("KPI per week")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    compact_axes(ax)
    _date_axis(ax)
    return fig


def cusum_chart(result: MonitorResult) -> Figure:
    """Standardized residuals per week with the two CUSUM paths and the alert threshold."""
    from matplotlib.figure import Figure

    from mixflow.lifecycle.monitor_schema import CheckName

    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    ax = fig.add_subplot()
    x = _dates(result)
    ax.bar(x, result.series("z"), width=4, color="#9e9e9e", label="standardized residual")
    ax.plot(x, result.series("cusum_upper"), color="#1f77b4", label="CUSUM (actual above)")
    ax.plot(
        x, -result.series("cusum_lower"), color="#ff7f0e", label="CUSUM (actual below), negated"
    )
    check = result.check(CheckName.cusum)
    for y in (check.alert_threshold, -check.alert_threshold):
        ax.axhline(y, color="#d62728", linestyle="--", linewidth=1)
    if check.crossed_week is not None:
        ax.axvline(x[result.dates.index(check.crossed_week)], color="#d62728", linewidth=1)
    ax.set_ylabel("predictive sds")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    compact_axes(ax)
    _date_axis(ax)
    return fig


def build_monitor_html(result: MonitorResult, model: str) -> str:
    """The page (``templates/monitor.html.j2``): verdict, findings, checks, spend, two charts."""
    return render_page(
        "monitor.html.j2",
        result=result,
        model=model,
        fit_png=png_bytes(fit_chart(result)),
        cusum_png=png_bytes(cusum_chart(result)),
    )


__all__ = ["build_monitor_html", "cusum_chart", "fit_chart"]
