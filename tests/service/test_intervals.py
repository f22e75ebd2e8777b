"""The what-if answer's vectorised summaries give the numbers of the straightforward
per-series computation on fixed draws: ``mixflow.analysis.stats.stat`` (ArviZ's HDI) bit for
bit on the same series, and ``summarize`` to float64 round-off (sums in another order)."""

from __future__ import annotations

import numpy as np
import pytest

from mixflow.analysis.stats import stat
from mixflow.service.intervals import finite_rows, row_stats


@pytest.mark.parametrize("draws", [1, 2, 3, 999, 1000])
def test_row_stats_equal_stat_of_each_row(draws: int) -> None:
    rng = np.random.default_rng(draws)
    rows = np.concatenate(
        [
            rng.gamma(2.0, size=(4, draws)) * 1e5,
            rng.normal(size=(3, draws)),
            np.full((1, draws), 7.25),  # every window ties: ArviZ takes the first
            np.round(rng.normal(size=(2, draws)), 1),  # many ties among the draws
        ]
    )
    mean, band = row_stats(rows)
    for i, row in enumerate(rows):
        expected = stat(row)
        assert mean[i] == expected["mean"]
        assert band[i, 0] == expected["median"]
        assert [band[i, 1], band[i, 2]] == expected["hdi_90"]


def test_non_finite_rows_are_flagged_and_zeroed() -> None:
    rows = np.array([[1.0, 2.0, 3.0], [np.nan, 1.0, 2.0], [1.0, np.inf, 0.0]])
    safe, finite = finite_rows(rows)
    assert finite.tolist() == [True, False, False]
    assert np.array_equal(safe[0], rows[0])
    assert not safe[1:].any()


def test_the_service_answer_equals_summarize_on_fixed_draws() -> None:
    """simulate_plan's totals and per-channel figures are summarize()'s, on the same draws."""
    from dataclasses import dataclass
    from pathlib import Path
    from typing import Any

    from mixflow.optimize.schema import PlanInterval
    from mixflow.service.routers.planning import PlanSpec, simulate_plan
    from mixflow.service.store import StoredVersion
    from mixflow.simulate import Plan, SimulationDraws, summarize

    rng = np.random.default_rng(3)
    s, h, lag, c = 400, 6, 3, 3
    media_kpi = rng.gamma(2.0, size=(s, h + lag, c))
    media_value = media_kpi * rng.uniform(1.5, 2.5, size=(s, 1, c))
    base = rng.normal(100.0, 5.0, size=(s, h))
    draws = SimulationDraws(
        kpi=base + media_kpi[:, :h].sum(-1),
        baseline_kpi=base,
        media_kpi=media_kpi,
        carryover_in_kpi=np.zeros((s, h)),
        media_value=media_value,
        kpi_value=3.0 * (base + media_kpi[:, :h].sum(-1)),
        horizon=h,
    )
    spend = rng.uniform(0.0, 10.0, size=(1, h, c))
    spend[..., 2] = 0.0  # a channel that spends nothing: its ROI is null
    plan = Plan(spend, ("tv", "search", "radio"), ("national",), np.datetime64("2024-01-01"))

    @dataclass
    class _Data:
        kpi_type: Any = None
        period_days: int = 7

    class _Sim:
        posterior: Any = type("P", (), {"dataset": _Data()})()

        def simulate(self, _plan: Plan) -> SimulationDraws:
            return draws

    class _Model:
        simulator = _Sim()

    import mixflow.simulate as simulate_pkg

    original = simulate_pkg.plan_from_dict
    simulate_pkg.plan_from_dict = lambda data, mapping, **kw: plan  # type: ignore[assignment]
    try:
        stored = StoredVersion("ws", "brand", "ws.brand", 1, Path("."), None)  # type: ignore[arg-type]
        answer = simulate_plan(stored, _Model(), PlanSpec(budget=1.0, horizon_weeks=h), ("plan",))  # type: ignore[arg-type]
    finally:
        simulate_pkg.plan_from_dict = original
    expected = summarize(draws, plan)

    def same(interval: Any, figures: dict[str, Any] | None) -> None:
        # the answer sums periods and channels in another order than summarize(): float64
        # round-off of a sum of 9 terms, far below 1e-12 relative
        assert figures is not None
        got, want = interval.model_dump(), PlanInterval.model_validate(figures).model_dump()
        assert got.keys() == want.keys()
        for key in got:
            np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=0)

    same(answer.expected.incremental_kpi, expected["incremental_kpi_with_tail"])
    same(answer.expected.incremental_revenue, expected["incremental_revenue_with_tail"])
    same(answer.expected.roi, expected["roi_with_tail"])
    same(answer.profit, expected["profit_with_tail"])
    for ch in plan.channels:
        figures = expected["per_channel"][ch]
        same(answer.per_channel[ch].incremental_kpi, figures["incremental_kpi_with_tail"])
        same(answer.per_channel[ch].incremental_revenue, figures["incremental_revenue_with_tail"])
    # weekly: stat() of each week's series; the ROI of a channel without spend: nulls
    week_kpi = media_kpi[:, :h].sum(axis=2)
    for w in range(h):
        same(answer.per_week[w].kpi, stat(draws.kpi[:, w]))
        same(answer.per_week[w].incremental_kpi, stat(week_kpi[:, w]))
    roi_tv = media_value[:, :, 0].sum(axis=1) / spend[..., 0].sum()
    same(answer.per_channel["tv"].roi, stat(roi_tv))
    assert answer.per_channel["radio"].roi.mean is None
