"""The report's charts, drawn with matplotlib's object API on the Agg canvas.

Each ``*_chart`` function takes the parsed run directory and returns a matplotlib ``Figure``;
:func:`png_bytes` renders one. Figures are built with ``Figure`` + ``FigureCanvasAgg`` rather than
``pyplot`` so that rendering a report never touches pyplot's global figure registry or switches
the backend of the calling process (a notebook keeps its own); nothing needs closing, a figure
is freed when it goes out of scope. matplotlib is imported inside functions so that importing
``mixflow.report`` stays cheap.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from mixflow.analysis.schema import Interval
from mixflow.report.fmt import fmt_compact
from mixflow.report.rundir import RunFiles

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FIT_COLOR: Final = "#1f77b4"
ACTUAL_COLOR: Final = "#222222"
BASELINE_COLOR: Final = "#b8b8b8"
SPEND_COLOR: Final = "#9e9e9e"
HOLDOUT_COLOR: Final = "#ff9f1c"
BREAK_EVEN_COLOR: Final = "#d62728"
DPI: Final = 100
WIDE: Final = (9.0, 3.8)


def png_bytes(fig: Figure) -> bytes:
    """Render ``fig`` to PNG bytes with the Agg canvas (no timestamp, so output is repeatable)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def kpi_label(run: RunFiles) -> str:
    """``"Revenue"`` or ``"Conversions"``: the KPI, for axis labels."""
    return run.kpi_type.capitalize()


def value_label(run: RunFiles) -> str:
    """The unit of incremental value (``value_unit`` in summary.json, revenue by default)."""
    return run.summary.value_unit


def channel_colors(channels: list[str]) -> dict[str, Any]:
    """One stable color per channel, shared by every chart."""
    from matplotlib import colormaps

    cmap = colormaps["tab10" if len(channels) <= 10 else "tab20"]
    return {name: cmap(i % cmap.N) for i, name in enumerate(channels)}


def fit_chart(run: RunFiles) -> Figure:
    """Actual vs fitted KPI over time, the 90% band, and the holdout weeks shaded."""
    fig, ax = axes_figure()
    frame = run.contributions
    dates = frame["date"].to_numpy()
    ax.fill_between(
        dates,
        frame["fitted_hdi_lo"].to_numpy(float),
        frame["fitted_hdi_hi"].to_numpy(float),
        color=FIT_COLOR,
        alpha=0.25,
        linewidth=0,
        label="fitted, 90% HDI",
    )
    ax.plot(dates, frame["fitted"].to_numpy(float), color=FIT_COLOR, lw=1.8, label="fitted")
    ax.plot(
        dates,
        frame["actual"].to_numpy(float),
        color=ACTUAL_COLOR,
        lw=0.9,
        marker="o",
        markersize=2.5,
        label="actual",
    )
    _shade_holdout(ax, frame)
    _time_axis(ax)
    ax.set_title(f"Actual vs fitted {run.kpi_type}")
    ax.set_ylabel(f"{kpi_label(run)} per period")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return fig


def decomposition_chart(run: RunFiles) -> Figure:
    """Stacked areas of baseline plus each channel's contribution, with the actual KPI on top."""
    fig, ax = axes_figure()
    frame = run.contributions
    dates = frame["date"].to_numpy()
    channels = run.channels
    colors = channel_colors(channels)
    ax.stackplot(
        dates,
        frame["baseline"].to_numpy(float),
        *(frame[name].to_numpy(float) for name in channels),
        labels=["baseline", *(_text(name) for name in channels)],
        colors=[BASELINE_COLOR, *(colors[name] for name in channels)],
        alpha=0.85,
        linewidth=0,
    )
    ax.plot(dates, frame["actual"].to_numpy(float), color=ACTUAL_COLOR, lw=0.9, label="actual")
    _time_axis(ax)
    ax.set_title(f"Decomposition of {run.kpi_type}: baseline and channels")
    ax.set_ylabel(f"{kpi_label(run)} per period")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return fig


def roi_chart(run: RunFiles) -> Figure:
    """ROI per channel with 90% HDI error bars; break-even line at 1 for revenue KPIs."""
    fig, ax = axes_figure()
    channels = run.channels
    mean, lo, hi = _interval_arrays([run.summary.channels[name].roi for name in channels])
    x = np.arange(len(channels))
    point = run.summary.point_estimate
    ax.errorbar(
        x,
        mean,
        yerr=None if point else _error_bars(mean, lo, hi),
        fmt="o",
        color=FIT_COLOR,
        capsize=5,
        markersize=7,
        label=f"point estimate ({run.summary.method.upper()})"
        if point
        else "posterior mean, 90% HDI",
    )
    priors = [run.summary.channels[name].roi_prior for name in channels]
    # the lognormal prior's mean: the chart shows means throughout, as the tables do
    prior_mean = np.array(
        [_float(p.median * np.exp(p.sigma**2 / 2.0) if p else None) for p in priors]
    )
    if np.isfinite(prior_mean).any():
        ax.plot(x, prior_mean, "D", mfc="none", color=SPEND_COLOR, markersize=6, label="prior mean")
    if run.kpi_type == "revenue":
        ax.axhline(1.0, color=BREAK_EVEN_COLOR, ls="--", lw=1.2, label="break-even")
    _channel_axis(ax, channels)
    ax.set_title("Return on investment by channel")
    ax.set_ylabel(f"ROI ({value_label(run)} per unit of spend)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return fig


def calibration_chart(run: RunFiles) -> Figure:
    """Measured lift (± 1.645 se, a 90% interval) next to the model's implied lift (90% HDI)
    for each lift test."""
    fig, ax = axes_figure()
    tests = list(run.calibration)
    x = np.arange(len(tests))
    measured = np.array([_float(t["incremental_kpi"]) for t in tests])
    se = np.array([_float(t["standard_error"]) for t in tests])
    ax.errorbar(
        x - 0.12,
        measured,
        yerr=1.645 * se,
        fmt="s",
        color=ACTUAL_COLOR,
        capsize=5,
        label="experiment (90% interval)",
    )
    mean, lo, hi = _stat_arrays([t["model_lift"] for t in tests])
    ax.errorbar(
        x + 0.12,
        mean,
        yerr=_error_bars(mean, lo, hi),
        fmt="o",
        color=FIT_COLOR,
        capsize=5,
        label="model (90% HDI)",
    )
    ax.axhline(0.0, color=BASELINE_COLOR, lw=1.0)
    ax.set_xticks(x, [f"{t['channel']}\n{t['start']}" for t in tests])
    ax.set_title("Lift tests: experiment vs model")
    ax.set_ylabel(f"incremental {kpi_label(run)}")
    ax.yaxis.set_major_formatter(compact_formatter())
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return fig


def share_chart(run: RunFiles) -> Figure:
    """Grouped bars: each channel's share of spend next to its share of the KPI (90% HDI)."""
    from matplotlib.ticker import PercentFormatter

    fig, ax = axes_figure()
    channels = run.channels
    summary_channels = run.summary.channels
    spend_share = np.array([summary_channels[n].spend_share for n in channels])
    mean, lo, hi = _interval_arrays([summary_channels[n].contribution_share for n in channels])
    x = np.arange(len(channels))
    width = 0.38
    ax.bar(x - width / 2, spend_share, width, color=SPEND_COLOR, label="spend share")
    ax.bar(
        x + width / 2,
        mean,
        width,
        color=FIT_COLOR,
        yerr=_error_bars(mean, lo, hi),
        capsize=4,
        label="contribution share (mean, 90% HDI)",
    )
    _channel_axis(ax, channels)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.set_title("Contribution share vs spend share")
    ax.set_ylabel(f"Share of total spend / of total {run.kpi_type}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return fig


def response_curves_chart(run: RunFiles) -> Figure:
    """One panel per channel: incremental value vs spend with its 90% band; a dot at today's spend."""
    from matplotlib.figure import Figure

    channels = run.channels
    ncols = min(3, len(channels))
    nrows = math.ceil(len(channels) / ncols)
    fig = Figure(figsize=(3.4 * ncols + 0.4, 2.9 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    colors = channel_colors(channels)
    curves = run.response_curves
    for ax, name in zip(axes, channels, strict=False):
        rows = curves[curves["channel"] == name].sort_values("spend")
        _response_panel(ax, rows, colors[name])
        ax.set_title(_text(name), fontsize="medium")
        ax.set_xlabel("Total spend over the data window")
        ax.set_ylabel(f"Incremental {value_label(run)}")
    for ax in axes[len(channels) :]:
        ax.set_visible(False)
    axes[0].legend(loc="upper left", fontsize="x-small")
    fig.suptitle("Response curves: incremental value vs total spend (mean, 90% HDI)")
    return fig


def adstock_chart(run: RunFiles) -> Figure:
    """Adstock weights by lag for each channel (mean with 90% HDI band)."""
    from matplotlib.ticker import MaxNLocator

    fig, ax = axes_figure()
    colors = channel_colors(run.channels)
    table = run.adstock
    for name in run.channels:
        rows = table[table["channel"] == name].sort_values("lag")
        if rows.empty:
            continue
        lag = rows["lag"].to_numpy(float)
        ax.fill_between(
            lag,
            rows["weight_hdi_lo"].to_numpy(float),
            rows["weight_hdi_hi"].to_numpy(float),
            color=colors[name],
            alpha=0.15,
            linewidth=0,
        )
        ax.plot(
            lag,
            rows["weight_mean"].to_numpy(float),
            marker="o",
            color=colors[name],
            label=_text(name),
        )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Adstock decay by channel (mean, 90% HDI)")
    ax.set_xlabel("Lag (weeks)")
    ax.set_ylabel("Weight (share of the effect)")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return fig


#: The report's charts in page order: (key, alt text, builder).
CHARTS: Final[tuple[tuple[str, str, Callable[[RunFiles], Figure]], ...]] = (
    ("fit", "Actual vs fitted KPI over time", fit_chart),
    ("decomposition", "Decomposition of the KPI into baseline and channels", decomposition_chart),
    ("roi", "ROI per channel with 90% HDI", roi_chart),
    ("share", "Contribution share vs spend share per channel", share_chart),
    ("response_curves", "Response curves per channel", response_curves_chart),
    ("adstock", "Adstock decay by lag per channel", adstock_chart),
)


def axes_figure(size: tuple[float, float] = WIDE) -> tuple[Figure, Axes]:
    """A figure with one axes: horizontal grid lines, compact y tick labels."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    ax = fig.add_subplot()
    ax.grid(True, axis="y", alpha=0.3)
    ax.yaxis.set_major_formatter(compact_formatter())
    return fig, ax


def compact_formatter() -> Any:
    """The one tick formatter of every chart: :func:`~mixflow.report.fmt.fmt_compact` labels
    (``2.5M``, ``640k``), never a ``1e6`` offset or scientific notation. A ``FuncFormatter``
    whose digits grow past 3 only when the axis's ticks would otherwise share a label (ticks
    500 apart around 1.23M read ``1.2345M``, ``1.235M``)."""
    from matplotlib.ticker import FuncFormatter

    digits = [3]

    def label(value: float, _pos: int | None) -> str:
        return fmt_compact(value, digits[0])

    class _Compact(FuncFormatter):
        def set_locs(self, locs: Any) -> None:
            super().set_locs(locs)
            values = sorted({float(v) for v in locs})
            digits[0] = next(
                (
                    d
                    for d in range(3, 10)
                    if len({fmt_compact(v, d) for v in values}) == len(values)
                ),
                10,
            )

    return _Compact(label)


def compact_axes(*axes: Axes, x: bool = False) -> None:
    """Give every ``axes``' y axis (and x axis, with ``x``) the compact formatter."""
    for ax in axes:
        ax.yaxis.set_major_formatter(compact_formatter())
        if x:
            ax.xaxis.set_major_formatter(compact_formatter())


def _time_axis(ax: Axes) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.set_xlabel("Period start date")


def _shade_holdout(ax: Axes, frame: pd.DataFrame) -> None:
    """Shade the holdout periods, half a period beyond the first and last holdout dates."""
    holdout = frame["is_holdout"].to_numpy(bool)
    if not holdout.any():
        return
    dates = frame["date"]
    step = dates.diff().median() if len(dates) > 1 else pd.Timedelta(weeks=1)
    first, last = dates[holdout].min(), dates[holdout].max()
    ax.axvspan(
        (first - step / 2).to_datetime64(),
        (last + step / 2).to_datetime64(),
        color=HOLDOUT_COLOR,
        alpha=0.15,
        linewidth=0,
        label=f"holdout ({int(holdout.sum())} periods)",
    )


def _channel_axis(ax: Axes, channels: list[str]) -> None:
    ax.set_xticks(np.arange(len(channels)))
    rotate = len(channels) > 4 or max(len(name) for name in channels) > 12
    ax.set_xticklabels(
        [_text(name) for name in channels],
        rotation=30 if rotate else 0,
        ha="right" if rotate else "center",
    )
    ax.set_xlabel("Channel")


def _response_panel(ax: Axes, rows: pd.DataFrame, color: Any) -> None:
    if rows.empty:
        ax.text(0.5, 0.5, "no curve in file", ha="center", va="center", transform=ax.transAxes)
        return
    spend = rows["spend"].to_numpy(float)
    mean = rows["incremental_value_mean"].to_numpy(float)
    ax.fill_between(
        spend,
        rows["incremental_value_hdi_lo"].to_numpy(float),
        rows["incremental_value_hdi_hi"].to_numpy(float),
        color=color,
        alpha=0.2,
        linewidth=0,
        label="90% HDI",
    )
    ax.plot(spend, mean, color=color, lw=1.8, label="mean")
    current = int(np.argmin(np.abs(rows["multiplier"].to_numpy(float) - 1.0)))
    ax.plot(spend[current], mean[current], "o", color=ACTUAL_COLOR, label="historical spend")
    ax.grid(True, alpha=0.3)
    ax.xaxis.set_major_formatter(compact_formatter())
    ax.yaxis.set_major_formatter(compact_formatter())


def _stat_arrays(stats: list[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mean, hdi_lo, hdi_hi)`` arrays, NaN where a statistic is absent."""
    mean = np.array([_float(s.get("mean")) for s in stats])
    lo = np.array([_float((s.get("hdi_90") or [None, None])[0]) for s in stats])
    hi = np.array([_float((s.get("hdi_90") or [None, None])[1]) for s in stats])
    return mean, lo, hi


def _interval_arrays(stats: list[Interval]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mean, hdi_lo, hdi_hi)`` arrays of the summary's intervals."""
    mean = np.array([s.mean for s in stats], dtype=float)
    lo = np.array([s.hdi_90[0] for s in stats], dtype=float)
    hi = np.array([s.hdi_90[1] for s in stats], dtype=float)
    return mean, lo, hi


def _error_bars(mean: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Asymmetric error bar lengths ``(2, n)``; clipped at 0 (a mean can sit outside its HDI)."""
    below = np.nan_to_num(np.clip(mean - lo, 0.0, None))
    above = np.nan_to_num(np.clip(hi - mean, 0.0, None))
    return np.vstack([below, above])


def _float(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _text(name: str) -> str:
    """Make a file-supplied name safe for matplotlib text: no mathtext, no hidden legend entry."""
    safe = str(name).replace("$", r"\$")
    return f" {safe}" if safe.startswith("_") else safe
