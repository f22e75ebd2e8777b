"""The design page's power chart: curves dodged apart, legend outside the axes, x-axis fit to
where the curves end (issue 20, finding 9)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from mixflow.experiments import GeoMethod
from mixflow.experiments.design import DesignSettings, design_experiment
from mixflow.experiments.geo import GeoPanel
from mixflow.report.experiment_charts import design_power_chart


def _panel() -> GeoPanel:
    rng = np.random.default_rng(4)
    n_days, n_loc = 60, 10
    level = rng.uniform(800, 1200, n_loc)
    kpi = level + level * 0.005 * rng.standard_normal((n_days, n_loc))
    dates = tuple(date(2022, 1, 1) + timedelta(days=d) for d in range(n_days))
    return GeoPanel(locations=tuple(f"loc{i}" for i in range(n_loc)), dates=dates, kpi=kpi)


def test_power_chart_is_readable() -> None:
    settings = DesignSettings(
        treated_sizes=(2,),
        test_lengths=(7,),
        effects=(0.0, 0.05, 0.1, 0.2, 0.4, 0.8),
        method=GeoMethod.did,
        n_windows=2,
        max_candidates=3,
        n_random=2,
    )
    result = design_experiment(_panel(), settings, rng=np.random.default_rng(0))
    shown = result.designs[:5]
    assert len(shown) >= 2
    fig = design_power_chart(result)
    ax = fig.axes[0]
    fig.canvas.draw()
    # the legend lies right of the plotting area, not over the curves
    legend = ax.get_legend()
    assert legend is not None
    legend_box = legend.get_window_extent()
    assert legend_box.x0 >= ax.get_window_extent().x1
    # equal power curves are drawn side by side, not on top of each other
    xs = [tuple(np.asarray(line.get_xdata()).tolist()) for line in ax.get_lines()[: len(shown)]]
    assert len(set(xs)) == len(xs)
    # the x-axis ends one step after every curve reached power 1 (low noise: well before 80%)
    full = [j for j, _ in enumerate(settings.effects) if all(d.power[j] >= 0.999 for d in shown)]
    assert full, [d.power for d in shown]
    end = 100 * settings.effects[min(full[0] + 1, len(settings.effects) - 1)]
    assert ax.get_xlim()[1] == pytest.approx(end + 0.5 * 5.0)  # half the 5-point grid step
    assert ax.get_xlim()[1] < 80.0  # narrower than the effect grid
