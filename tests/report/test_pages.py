"""Every page of report/: one base layout, hostile names escaped, no external references.

The pages are rendered from small hand-built results (run directory, plan, monitor, geo
experiment, causal impact, design) whose names carry markup an attacker could plant in a data
file: a channel or location called ``<script>alert(1)</script>``, a model called
``"onmouseover=alert(1) x="``.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from markupsafe import escape

from mixflow.experiments.design import CostPerKpi, Design, DesignResult, DesignSettings
from mixflow.experiments.geo import GeoResult
from mixflow.experiments.impact import (
    Estimate,
    ImpactConfig,
    ImpactResult,
    ImpactSeries,
    RegressionPrior,
)
from mixflow.experiments.methods import GeoMethod
from mixflow.inference.diagnostics import Diagnostics
from mixflow.lifecycle.monitor import MonitorPolicy, Predictive, score
from mixflow.report import render_report
from mixflow.report.experiment_pages import (
    render_design_report,
    render_geo_report,
    render_impact_report,
)
from mixflow.report.monitor_report import build_monitor_html
from mixflow.report.plan_charts import plan_chart
from mixflow.report.plan_report import build_plan_html
from mixflow.report.templating import BASE_TEMPLATE, environment

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"onmouseover=alert(1) x="'
HOSTILE = (SCRIPT, ATTRIBUTE)


def _estimate(mean: float, sd: float) -> Estimate:
    ci_90, ci_95 = (mean - 1.6 * sd, mean + 1.6 * sd), (mean - 2 * sd, mean + 2 * sd)
    return Estimate(mean=mean, sd=sd, ci_90=ci_90, ci_95=ci_95)


def _days(n: int) -> tuple[date, ...]:
    return tuple(date(2024, 1, 1) + timedelta(days=i) for i in range(n))


def run_page(run_dir: Path) -> str:
    """``run_dir``: the ``hostile_run_dir`` fixture (channels named as in :data:`HOSTILE`)."""
    return render_report(run_dir).read_text(encoding="utf-8")


def plan_page(_: Path) -> str:
    channels = (*HOSTILE, "tv")
    stat = {"mean": 1_000.0, "median": 990.0, "hdi_90": [800.0, 1_200.0]}
    roi = {"mean": 1.4, "median": 1.4, "hdi_90": [1.1, 1.7]}
    expected = {"incremental_kpi": stat, "incremental_revenue": stat, "roi": roi}
    plan = {
        "budget": 300_000.0,
        "horizon_weeks": 8,
        "objective": SCRIPT,
        "risk": ATTRIBUTE,
        "allocation": dict.fromkeys(channels, 100_000.0),
        "current_allocation": {SCRIPT: 80_000.0, ATTRIBUTE: 120_000.0, "tv": 0.0},
        "marginal_roi": dict.fromkeys(channels, 1.1),
        "at_bounds": {SCRIPT: ATTRIBUTE},
        "expected": expected,
        "current_expected": expected,
        "prob_beats_current": 0.93,
    }
    per_period = [
        {"period": p, "kpi_mean": 10.0 + p, "kpi_hdi_90": [8.0, 12.0 + p]} for p in range(4)
    ]
    chart = plan_chart([{"name": SCRIPT, "per_period": per_period}])
    return build_plan_html(plan, chart)


def monitor_page(_: Path) -> str:
    # hostile channel names whose spend leaves the training range: they reach the findings
    # and the spend table
    weeks, rng = 6, np.random.default_rng(0)
    history_dates = np.datetime64("2024-01-01") + 7 * np.arange(20)
    dates = tuple(str(history_dates[-1] + 7 * (i + 1)) for i in range(weeks))
    draws = 100.0 + rng.normal(0.0, 5.0, (400, 1, weeks))
    result = score(
        100.0 + 5 * np.array([[0.1, -0.4, 1.2, 2.5, 3.1, 2.8]]),
        Predictive(draws, 400, 0.0),
        np.ones((1, 20, 2)),
        np.full((1, weeks, 2), 3.0),
        HOSTILE,
        dates,
        history_dates,
        MonitorPolicy(),
    )
    return build_monitor_html(result, model=SCRIPT + ATTRIBUTE)


def geo_page(_: Path) -> str:
    dates = _days(30)
    actual = tuple(100.0 + (5.0 if i >= 20 else 0.0) + np.sin(i) for i in range(30))
    counterfactual = tuple(100.0 + np.sin(i) for i in range(30))
    result = GeoResult(
        method=GeoMethod.ascm,
        treated=(SCRIPT,),
        test_dates=dates[20:],
        att_by_date=(5.0,) * 10,
        incremental_kpi=50.0,
        counterfactual_kpi=1_000.0,
        lift_pct=5.0,
        weights={ATTRIBUTE: 0.7, "north": 0.3},
        scaled_l2_imbalance=0.12,
        p_value=0.02,
        ci_90=(30.0, 70.0),
        ci_95=(25.0, 75.0),
        ridge_lambda=None,
        dates=dates,
        series_actual=actual,
        series_counterfactual=counterfactual,
        spend=25.0,
    )
    return render_geo_report(result)


def impact_page(_: Path) -> str:
    n, n_pre = 40, 30
    t = np.arange(n, dtype=float)
    band = np.ones(n)
    series = ImpactSeries(
        observed=10 + t,
        predicted_mean=10 + t,
        predicted_lower=9 + t,
        predicted_upper=11 + t,
        effect_mean=0 * t,
        effect_lower=-band,
        effect_upper=band,
        cumulative_mean=0 * t,
        cumulative_lower=-band,
        cumulative_upper=band,
    )
    diagnostics = Diagnostics(
        rhat_max=1.01,
        ess_bulk_min=400.0,
        ess_tail_min=380.0,
        divergences=0,
        divergence_rate=0.0,
        steps_per_draw=7.0,
        fit_seconds=2.5,
        method="nuts",
        chains=2,
        draws=200,
        flags=(SCRIPT,),
    )
    result = ImpactResult(
        response=SCRIPT,
        covariates=(ATTRIBUTE,),
        regression_prior=next(iter(RegressionPrior)),
        times=tuple(str(d) for d in _days(n)),
        n_pre=n_pre,
        actual_average=45.0,
        actual_cumulative=450.0,
        predicted_average=_estimate(44.0, 1.0),
        predicted_cumulative=_estimate(440.0, 10.0),
        effect_average=_estimate(1.0, 1.0),
        effect_cumulative=_estimate(10.0, 10.0),
        relative_effect_pct=_estimate(2.3, 2.0),
        p_value=0.2,
        coefficients={ATTRIBUTE: _estimate(0.9, 0.1)},
        observation_sd=_estimate(1.0, 0.1),
        level_sd=_estimate(0.01, 0.005),
        diagnostics=diagnostics,
        config=ImpactConfig(),
        series=series,
    )
    return render_impact_report(result)


def design_page(_: Path) -> str:
    effects = (0.0, 0.05, 0.1)
    designs = tuple(
        Design(
            rank=rank,
            treated=(SCRIPT, ATTRIBUTE),
            test_length=14,
            effects=effects,
            power=(0.1, 0.6, 0.95),
            mde=0.1 if rank == 1 else None,
            power_at_mde=0.95 if rank == 1 else None,
            baseline_kpi=10_000.0,
            mde_incremental_kpi=1_000.0 if rank == 1 else None,
            budget=2_500.0 if rank == 1 else None,
            scaled_l2_imbalance=0.2,
            relative_rmse=0.05,
            share_of_kpi=0.04,
            false_positive_rate=0.1,
            calibrated=rank == 1,
        )
        for rank in (1, 2)
    )
    result = DesignResult(
        designs=designs,
        settings=DesignSettings(treated_sizes=(2,), test_lengths=(14,), effects=effects),
        cpik=CostPerKpi(2.5, ATTRIBUTE),
        n_locations=12,
        n_times=90,
        n_candidates=5,
        n_simulated_sets=5,
        n_fits=150,
    )
    return render_design_report(result, top=10)


PAGES = {
    "run": run_page,
    "plan": plan_page,
    "monitor": monitor_page,
    "geo": geo_page,
    "impact": impact_page,
    "design": design_page,
}


@pytest.fixture(scope="module")
def pages(hostile_run_dir: Path) -> dict[str, str]:
    return {name: build(hostile_run_dir) for name, build in PAGES.items()}


@pytest.mark.parametrize("page", PAGES)
def test_page_escapes_hostile_names(pages: dict[str, str], page: str) -> None:
    text = pages[page]
    for raw in HOSTILE:
        assert raw not in text
        assert str(escape(raw)) in text  # &lt;script&gt;..., &#34;onmouseover=...
    assert "<script" not in text.lower()


@pytest.mark.parametrize("page", PAGES)
def test_page_has_no_external_references(pages: dict[str, str], page: str) -> None:
    text = pages[page]
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.I)
    assert not re.search(r"https?://", text)
    assert "<link" not in text.lower() and "@import" not in text and "url(" not in text
    images = re.findall(r'<img [^>]*src="([^"]*)"', text)
    assert images and all(src.startswith("data:image/png;base64,") for src in images)


def _shell(text: str) -> tuple[str, str]:
    """The page with its title and its ``<main>`` content cut out: what the layout contributes."""
    head, rest = text.split("<title>", 1)
    _title, rest = rest.split("</title>", 1)
    before_main, rest = rest.split("<main>", 1)
    _content, after_main = rest.rsplit("</main>", 1)
    return head + before_main, after_main


def test_pages_share_one_base_layout(pages: dict[str, str]) -> None:
    shells = {name: _shell(text) for name, text in pages.items()}
    assert len(set(shells.values())) == 1, sorted(shells)
    head, _tail = shells["run"]
    assert head.startswith("<!DOCTYPE html>") and "<style>" in head


def test_every_page_template_extends_the_base() -> None:
    env = environment()
    names = set(env.list_templates())
    assert {f"{page}.html.j2" for page in PAGES} | {BASE_TEMPLATE} <= names
    for page in PAGES:
        source, _, _ = env.loader.get_source(env, f"{page}.html.j2")  # type: ignore[union-attr]
        assert re.search(r'{%\s*extends\s+"base\.html\.j2"\s*%}', source), page


def test_undefined_name_in_a_template_is_an_error() -> None:
    import jinja2

    template = environment().from_string("{{ summary.no_such_key }}")
    with pytest.raises(jinja2.UndefinedError):
        template.render(summary={"name": "x"})
