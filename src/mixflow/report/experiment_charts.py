"""Charts of the experiment pages: a geo test's treated vs synthetic series and its effect
(with its per-date and cumulative conformal bands), a causal impact's three panels, a design's
power curves. Each returns a matplotlib ``Figure`` (object API, no pyplot);
:func:`mixflow.report.charts.png_bytes` renders it. Every value axis uses the one compact
number format (:func:`mixflow.report.charts.compact_axes`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from mixflow.report.charts import compact_axes

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from mixflow.experiments.design import DesignResult
    from mixflow.experiments.geo import GeoResult
    from mixflow.experiments.geo_bands import GeoEffectBands
    from mixflow.experiments.impact import ImpactResult

#: Designs drawn in the design page's power chart.
CHART_DESIGNS: Final = 5


def _shade(ax: object, result: GeoResult) -> None:
    import numpy as np

    first = np.datetime64(result.test_dates[0]) - np.timedelta64(12, "h")
    last = np.datetime64(result.test_dates[-1]) + np.timedelta64(12, "h")
    ax.axvspan(first, last, color="#ff9f1c", alpha=0.15, linewidth=0, label="test window")  # type: ignore[attr-defined]


def geo_series_chart(result: GeoResult) -> Figure:
    import numpy as np
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    ax = fig.add_subplot()
    dates = np.array(result.dates, dtype="datetime64[D]")
    ax.plot(dates, result.series_actual, color="#222222", label="treated (average)")
    ax.plot(dates, result.series_counterfactual, color="#1f77b4", ls="--", label="synthetic")
    _shade(ax, result)
    ax.set_ylabel("KPI per treated location")
    ax.legend(loc="upper left")
    ax.grid(True, axis="y", alpha=0.3)
    compact_axes(ax)
    _date_axis(ax)
    return fig


def geo_att_chart(result: GeoResult) -> Figure:
    """The gap (actual - synthetic) over every date, without intervals: the page's chart when
    no bands were computed (:func:`geo_effect_chart` draws them)."""
    import numpy as np
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    ax = fig.add_subplot()
    dates = np.array(result.dates, dtype="datetime64[D]")
    gap = np.array(result.series_actual) - np.array(result.series_counterfactual)
    ax.plot(dates, gap, color="#1f77b4", label="actual - synthetic")
    ax.axhline(0.0, color="#b8b8b8", linewidth=1)
    _shade(ax, result)
    ax.set_ylabel("ATT per location-day")
    ax.legend(loc="upper left")
    ax.grid(True, axis="y", alpha=0.3)
    compact_axes(ax)
    _date_axis(ax)
    return fig


def geo_effect_chart(result: GeoResult, bands: GeoEffectBands) -> Figure:
    """Two panels. Top: the effect per treated location and date (actual - synthetic) over
    every date, the test window shaded and its per-date conformal band; the pre-period gap
    shows how well the synthetic control fits. Bottom: the cumulative incremental KPI through
    each test date with its band; its last point is the page's incremental KPI and interval."""
    import numpy as np
    from matplotlib.figure import Figure

    level = f"{bands.level:.0%}"
    fig = Figure(figsize=(9.0, 6.6), layout="constrained")
    top, bottom = fig.subplots(2, 1, height_ratios=(1.1, 1.0))
    dates = np.array(result.dates, dtype="datetime64[D]")
    test = np.array(bands.dates, dtype="datetime64[D]")
    gap = np.array(result.series_actual) - np.array(result.series_counterfactual)
    _shade(top, result)
    top.fill_between(
        test,
        bands.effect_lower,
        bands.effect_upper,
        color="#1f77b4",
        alpha=0.25,
        linewidth=0,
        label=f"{level} conformal interval per date",
    )
    top.plot(dates, gap, color="#1f77b4", lw=1.4, label="actual - synthetic")
    top.axhline(0.0, color="#b8b8b8", linewidth=1)
    top.set_title("Effect over time")
    top.set_ylabel("effect per location-day")
    top.legend(loc="upper left", fontsize="small")
    bottom.fill_between(
        test,
        bands.cumulative_lower,
        bands.cumulative_upper,
        color="#1f77b4",
        alpha=0.25,
        linewidth=0,
        label=f"{level} conformal interval",
    )
    bottom.plot(test, bands.cumulative, color="#1f77b4", marker="o", ms=3, label="cumulative")
    bottom.axhline(0.0, color="#b8b8b8", linewidth=1)
    bottom.set_title("Cumulative incremental KPI over the test window (all treated locations)")
    bottom.set_ylabel("incremental KPI")
    bottom.legend(loc="upper left", fontsize="small")
    for ax in (top, bottom):
        ax.grid(True, axis="y", alpha=0.3)
        compact_axes(ax)
        _date_axis(ax)
    return fig


def _date_axis(ax: Axes) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def _time_axis(result: ImpactResult) -> np.ndarray:
    """Times as ``datetime64`` when the labels parse as dates, else positions."""
    import numpy as np
    import pandas as pd

    try:
        return np.asarray(pd.to_datetime(list(result.times)).to_numpy())
    except (ValueError, TypeError):
        return np.arange(len(result.times))


def _panel(
    ax: Axes, t: np.ndarray, mean: np.ndarray, lo: np.ndarray, hi: np.ndarray, label: str
) -> None:
    ax.fill_between(t, lo, hi, color="#1f77b4", alpha=0.2, linewidth=0)
    ax.plot(t, mean, color="#1f77b4", ls="--", label=label)
    ax.grid(True, axis="y", alpha=0.3)


def impact_chart(result: ImpactResult) -> Figure:
    """Three panels over time: observed vs counterfactual (90 % band), the point-wise effect
    and the cumulative effect; the post-period starts at the vertical line."""
    from matplotlib.figure import Figure

    s = result.series
    t = _time_axis(result)
    fig = Figure(figsize=(9.0, 8.4), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    _panel(axes[0], t, s.predicted_mean, s.predicted_lower, s.predicted_upper, "counterfactual")
    axes[0].plot(t, s.observed, color="#222222", label="observed")
    axes[0].set_ylabel(result.response)
    axes[0].legend(loc="upper left")
    _panel(axes[1], t, s.effect_mean, s.effect_lower, s.effect_upper, "point-wise effect")
    axes[1].set_ylabel("point-wise effect")
    _panel(axes[2], t, s.cumulative_mean, s.cumulative_lower, s.cumulative_upper, "cumulative")
    axes[2].set_ylabel("cumulative effect")
    for ax in axes[1:]:
        ax.axhline(0.0, color="#b8b8b8", linewidth=1)
    for ax in axes:
        ax.axvline(t[result.n_pre], color="#ff9f1c", ls=":", linewidth=1.5)
    compact_axes(*axes)
    if t.dtype.kind == "M":
        _date_axis(axes[2])
    return fig


def design_power_chart(result: DesignResult) -> Figure:
    """Power against injected lift for the top designs. Curves are dodged sideways by a small
    fraction of the effect grid's step and drawn with distinct markers, so designs with equal
    power stay visible; the legend sits outside the axes; the x-axis ends one grid step after
    the lift at which every drawn curve has reached power 1 (else at the largest lift)."""
    import numpy as np
    from matplotlib.figure import Figure

    s = result.settings
    shown = result.designs[:CHART_DESIGNS]
    fig = Figure(figsize=(10.0, 4.2), layout="constrained")
    ax = fig.add_subplot()
    effects = np.asarray([100 * e for e in (shown[0].effects if shown else s.effects)])
    step = float(np.min(np.diff(effects))) if effects.size > 1 else 1.0
    markers = ("o", "s", "^", "D", "v", "P", "X")
    for i, d in enumerate(shown):
        label = f"#{d.rank} {', '.join(d.treated)} ({d.test_length})"
        dodge = 0.08 * step * (i - (len(shown) - 1) / 2)
        ax.plot(effects + dodge, d.power, marker=markers[i % len(markers)], ms=4, label=label)
    ax.axhline(s.target_power, color="#d62728", ls="--", lw=1, label="target power")
    ax.axhline(s.alpha, color="#b8b8b8", ls=":", lw=1, label="alpha")
    full = [j for j in range(effects.size) if all(d.power[j] >= 0.999 for d in shown)]
    last = min(full[0] + 1, effects.size - 1) if full and shown else effects.size - 1
    ax.set_xlim(effects[0] - 0.5 * step, effects[last] + 0.5 * step)
    ax.set_xlabel("injected lift (%)")
    ax.set_ylabel("power")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig
