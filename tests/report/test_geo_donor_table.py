"""The GeoLift page's donor table lists donors with a visible weight only (no rows of 0.000 or
-0.000) and says how many it left out."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, timedelta

from mixflow.experiments import GeoMethod, GeoResult
from mixflow.report.experiment_pages import render_geo_report


def _small_result() -> GeoResult:
    dates = tuple(date(2021, 1, 1) + timedelta(days=i) for i in range(6))
    return GeoResult(
        method=GeoMethod.sc,
        treated=("a",),
        test_dates=dates[4:],
        att_by_date=(4.0, 6.0),
        incremental_kpi=10.0,
        counterfactual_kpi=1_000.0,
        lift_pct=1.0,
        weights={"b": 1.0},
        scaled_l2_imbalance=0.1,
        p_value=0.2,
        ci_90=(1.0, 19.0),
        ci_95=(0.0, 20.0),
        ridge_lambda=None,
        dates=dates,
        series_actual=(1.0,) * 6,
        series_counterfactual=(1.0,) * 6,
    )


def _donor_rows(page: str) -> list[tuple[str, str]]:
    section = page.split("Donor weights", 1)[1]
    return re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">([^<]+)</td></tr>", section)


def test_zero_weights_are_left_out_and_counted() -> None:
    weights = {"b": 0.7, "c": -0.2, "d": -0.0000001, "e": 0.0, "f": 0.0004}
    result = dataclasses.replace(_small_result(), weights=weights)
    page = render_geo_report(result)
    rows = _donor_rows(page)
    assert [name for name, _ in rows] == ["b", "c"]  # by decreasing |weight|
    assert all(value.strip("-") != "0.000" for _, value in rows)
    assert "3 donors with weight 0.000 (|weight| &lt; 0.0005) not shown." in page


def test_no_note_when_every_donor_has_weight() -> None:
    page = render_geo_report(dataclasses.replace(_small_result(), weights={"b": 1.0}))
    assert [name for name, _ in _donor_rows(page)] == ["b"]
    assert "not shown" not in page
