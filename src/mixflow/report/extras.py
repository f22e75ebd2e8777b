"""The report's time-varying baseline chart (``model.trend: spline``) and the context of its
organic-channel and treatment table (``templates/extras.html.j2``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mixflow.report.charts import axes_figure, kpi_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from mixflow.report.rundir import RunFiles

BASELINE_ALT = "Time-varying baseline: intercept plus the spline trend per period"
MEDIA_MULTIPLIER_ALT = (
    "Time-varying media effect: the multiplier of every paid channel's effect per period, "
    "posterior mean and 90% HDI"
)


def baseline_chart(run: RunFiles) -> Figure | None:
    """The baseline level (intercept plus trend, posterior mean per period) beside the actual
    KPI, for a run with a time-varying baseline; ``None`` for other trends."""
    if run.summary.model.trend != "spline":
        return None
    frame = run.contributions
    if "trend" not in frame or "intercept" not in frame:
        return None
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    fig, ax = axes_figure()
    dates = frame["date"].to_numpy()
    level = frame["intercept"].to_numpy(float) + frame["trend"].to_numpy(float)
    ax.plot(dates, frame["actual"].to_numpy(float), color="0.6", lw=0.8, label="actual")
    ax.plot(dates, level, color="C3", lw=2.0, label="baseline level (intercept + trend)")
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.set_xlabel("Period start date")
    ax.set_ylabel(f"{kpi_label(run)} per period")
    ax.set_title("Time-varying baseline (random-walk spline, held flat after the fitted weeks)")
    ax.legend(loc="upper left", fontsize="small")
    return fig


def media_multiplier_chart(run: RunFiles) -> Figure | None:
    """The time-varying media multiplier per period (posterior mean and 90% HDI band, 1 = the
    fitted weeks' geometric mean), for a run with ``model.time_varying_media``; ``None``
    otherwise."""
    frame = run.contributions
    cols = ("media_multiplier", "media_multiplier_low", "media_multiplier_high")
    if not run.summary.model.time_varying_media or not all(c in frame for c in cols):
        return None
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    fig, ax = axes_figure()
    dates = frame["date"].to_numpy()
    mean, low, high = (frame[c].to_numpy(float) for c in cols)
    ax.fill_between(dates, low, high, color="C0", alpha=0.25, lw=0, label="90% HDI")
    ax.plot(dates, mean, color="C0", lw=2.0, label="posterior mean")
    ax.axhline(1.0, color="0.4", lw=0.8, ls="--")
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.set_xlabel("Period start date")
    ax.set_ylabel("Media effect multiplier (1 = average)")
    ax.set_title("How effective media were over time (all paid channels)")
    ax.legend(loc="upper left", fontsize="small")
    return fig


__all__ = ["BASELINE_ALT", "MEDIA_MULTIPLIER_ALT", "baseline_chart", "media_multiplier_chart"]
