"""The reworked charts of issue 20 (finding 9), checked on their figure objects: one compact
number format on every value axis (``2.5M``, no ``1e6`` offset), the GeoLift page's effect and
cumulative panels with their conformal bands, the plan chart on dates with baseline and
incremental stacked."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import ConciseDateFormatter, num2date
from matplotlib.figure import Figure

from mixflow.experiments.geo import GeoResult, analyze_panel, panel_from_table
from mixflow.experiments.geo_bands import GeoEffectBands, effect_bands
from mixflow.lifecycle.monitor import MonitorPolicy, Predictive, score
from mixflow.report.charts import compact_formatter
from mixflow.report.experiment_charts import geo_effect_chart, geo_series_chart
from mixflow.report.experiment_pages import render_geo_report
from mixflow.report.fmt import fmt_compact
from mixflow.report.monitor_report import cusum_chart, fit_chart
from mixflow.report.plan_charts import simulation_figure

GEOLIFT_TEST = Path(__file__).resolve().parents[2] / "data" / "geo_experiments" / "geolift_test.csv"
#: a compact tick label: 0, 12.5, -3, 640k, 2.5M, 3.49B (no offset, no scientific notation)
COMPACT = re.compile(r"^[−-]?\d{1,3}(\.\d+)?[kMB]?$|^0$")


def _drawn(fig: Figure) -> Figure:
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    return fig


def _assert_compact_y(ax: Axes) -> None:
    """Every y tick label is in the compact format and the axis shows no offset text."""
    assert ax.yaxis.get_offset_text().get_text() == ""
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels, "no tick labels drawn"
    for text in labels:
        assert COMPACT.match(text), f"{text!r} is not a compact label"
    assert len(set(labels)) == len(labels)  # neighbouring ticks never share a label


def test_compact_formatter_never_offsets_and_keeps_ticks_apart() -> None:
    fig = Figure()
    ax = fig.add_subplot()
    ax.plot([0, 1], [0.0, 3.49e9])
    ax.yaxis.set_major_formatter(compact_formatter())
    _drawn(fig)
    _assert_compact_y(ax)
    assert "3B" in [t.get_text() for t in ax.get_yticklabels()]
    # a narrow range around 1.23M: matplotlib's default would print a +1.23e6 offset; the
    # compact labels add digits until neighbouring ticks differ
    ax.set_ylim(1_234_000, 1_236_000)
    _drawn(fig)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert ax.yaxis.get_offset_text().get_text() == ""
    assert len(set(labels)) == len(labels) and all(label.endswith("M") for label in labels)


def _monitor_result() -> Any:
    """A monitor result with a KPI in the millions (where the old chart showed "1e6")."""
    weeks, rng = 8, np.random.default_rng(0)
    history = np.datetime64("2024-01-01") + 7 * np.arange(30)
    dates = tuple(str(history[-1] + 7 * (i + 1)) for i in range(weeks))
    draws = 2.5e6 + rng.normal(0.0, 5e4, (400, 1, weeks))
    return score(
        2.5e6 + 4e4 * rng.standard_normal((1, weeks)),
        Predictive(draws, 400, 0.0),
        np.ones((1, 30, 2)),
        np.ones((1, weeks, 2)),
        ("tv", "search"),
        dates,
        history,
        MonitorPolicy(),
    )


def test_monitor_charts_use_the_compact_format_and_dates() -> None:
    result = _monitor_result()
    for chart in (fit_chart, cusum_chart):
        fig = _drawn(chart(result))
        (ax,) = fig.axes
        _assert_compact_y(ax)
        assert isinstance(ax.xaxis.get_major_formatter(), ConciseDateFormatter)
    labels = [t.get_text() for t in _drawn(fit_chart(result)).axes[0].get_yticklabels()]
    assert any(label.endswith("M") for label in labels)  # 2.5M, not 2.5 with a 1e6 offset


@pytest.fixture(scope="module")
def geolift() -> tuple[GeoResult, GeoEffectBands]:
    panel = panel_from_table(
        pd.read_csv(GEOLIFT_TEST), date_column="date", location_column="location", kpi_column="Y"
    )
    result = analyze_panel(panel, ["chicago", "portland"], date(2021, 4, 1), date(2021, 4, 15))
    return result, effect_bands(panel, result)


def test_geo_bands_agree_with_the_analysis(geolift: tuple[GeoResult, GeoEffectBands]) -> None:
    result, bands = geolift
    assert bands.dates == result.test_dates
    # the per-date estimates are the analysis's own, inside their intervals
    assert bands.effect == pytest.approx(result.att_by_date, rel=1e-9)
    lo, mid, hi = (np.array(x) for x in (bands.effect_lower, bands.effect, bands.effect_upper))
    assert np.all(lo <= mid) and np.all(mid <= hi) and np.all(hi - lo > 0)
    # the cumulative estimate sums the per-date ones (x 2 treated locations) and ends at the
    # total; its last interval is the analysis's 90% interval (same test, data and grid)
    assert np.diff(bands.cumulative) == pytest.approx(2 * np.array(result.att_by_date[1:]))
    assert bands.cumulative[-1] == pytest.approx(result.incremental_kpi, rel=1e-9)
    assert (bands.cumulative_lower[-1], bands.cumulative_upper[-1]) == pytest.approx(
        result.ci_90, rel=1e-9
    )
    # GeoLift's test: significant over the window (p < 0.1), while the first days are not
    assert result.p_value < 0.1 and bands.cumulative_lower[-1] > 0 > bands.cumulative_lower[0]


def test_geo_effect_chart_draws_both_bands(geolift: tuple[GeoResult, GeoEffectBands]) -> None:
    result, bands = geolift
    fig = _drawn(geo_effect_chart(result, bands))
    top, bottom = fig.axes
    for ax, lower, upper in (
        (top, bands.effect_lower, bands.effect_upper),
        (bottom, bands.cumulative_lower, bands.cumulative_upper),
    ):
        (band,) = [c for c in ax.collections if "conformal" in str(c.get_label())]
        ys = band.get_paths()[0].vertices[:, 1]
        assert ys.min() == pytest.approx(min(lower)) and ys.max() == pytest.approx(max(upper))
        xs = num2date(band.get_paths()[0].vertices[:, 0])
        assert {x.date() for x in xs} == set(result.test_dates)  # the band covers the window
        _assert_compact_y(ax)
    (cumulative,) = [line for line in bottom.get_lines() if line.get_label() == "cumulative"]
    assert cumulative.get_ydata()[-1] == pytest.approx(result.incremental_kpi)
    _assert_compact_y(_drawn(geo_series_chart(result)).axes[0])


def test_geo_page_shows_the_banded_chart_and_says_how(
    geolift: tuple[GeoResult, GeoEffectBands],
) -> None:
    result, bands = geolift
    page = render_geo_report(result, bands)
    assert page.count("data:image/png;base64,") == 2
    assert "90% conformal intervals by test inversion" in page
    assert fmt_compact(result.incremental_kpi) in page  # 4.97k, the one format
    assert "without intervals" in render_geo_report(result)


def _summary(weeks: int = 13) -> dict[str, Any]:
    rng = np.random.default_rng(3)
    start = np.datetime64("2024-12-30")
    periods = []
    for h in range(weeks):
        base, carry = 1.0e6 + 1e4 * h, 1.5e5 * 0.8**h
        inc = {"tv": float(rng.uniform(2e4, 4e4)), "search": float(rng.uniform(3e4, 5e4))}
        total = base + carry + sum(inc.values())
        periods.append(
            {
                "period": h + 1,
                "date": str(start + np.timedelta64(7 * h, "D")),
                "kpi_mean": total,
                "kpi_hdi_90": [total - 3e4, total + 3e4],
                "baseline_mean": base,
                "carryover_in_mean": carry,
                "incremental_mean": inc,
            }
        )
    return {"name": "q1-flat", "per_period": periods}


def test_plan_chart_is_on_dates_and_stacks_baseline_and_increments() -> None:
    summary = _summary()
    fig = _drawn(simulation_figure([summary]))
    (ax,) = fig.axes
    _assert_compact_y(ax)
    # x: the periods' dates (Dec 30 .. Mar 24), not 1..13
    assert isinstance(ax.xaxis.get_major_formatter(), ConciseDateFormatter)
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert any(label in ("Jan", "Feb", "Mar", "2025") for label in labels), labels
    (line,) = [line for line in ax.get_lines() if line.get_label() == "expected KPI"]
    dates = [str(np.datetime64(d, "D")) for d in line.get_xdata()]
    assert dates == [p["date"] for p in summary["per_period"]]
    # stacked layers: baseline, carryover, then one per channel; the top edge is the total
    names = ["baseline (no media)", "carryover of earlier spend", "incremental: tv"]
    layers = [
        c for c in ax.collections if str(c.get_label()).startswith(("baseline", "carry", "incr"))
    ]
    assert [str(c.get_label()) for c in layers] == [*names, "incremental: search"]
    top = layers[-1].get_paths()[0].vertices
    for d, p in zip(line.get_xdata(), summary["per_period"], strict=True):
        at = top[np.isclose(top[:, 0], float(np.asarray(d, "datetime64[D]").astype(float)))]
        assert at[:, 1].max() == pytest.approx(p["kpi_mean"], rel=1e-9)
    first = layers[0].get_paths()[0].vertices
    assert first[:, 1].max() == pytest.approx(
        max(p["baseline_mean"] for p in summary["per_period"])
    )


def test_plan_chart_without_dates_or_split_still_draws() -> None:
    """A simulation.json written before dates and the split: periods 1..H, lines only."""
    summary = _summary(4)
    for p in summary["per_period"]:
        for key in ("date", "baseline_mean", "carryover_in_mean", "incremental_mean"):
            del p[key]
    fig = _drawn(simulation_figure([summary]))
    (ax,) = fig.axes
    assert list(ax.get_lines()[0].get_xdata()) == [1, 2, 3, 4]
    assert not [c for c in ax.collections if str(c.get_label()).startswith("baseline")]
    _assert_compact_y(ax)
