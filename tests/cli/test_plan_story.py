"""Issue 20, finding 5: what ``mixflow optimize`` says under its table (``plan_story``, pure)."""

from __future__ import annotations

from typing import Any

from mixflow.cli.plans import BREAK_EVEN_MROI, plan_story


def _stat(mean: float) -> dict[str, Any]:
    return {"mean": mean, "median": mean, "hdi_90": [0.8 * mean, 1.2 * mean]}


def _payload(objective: str, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "objective": objective,
        "budget": 1_900_000.0,
        "total_spend": 647_000.0,
        "allocation": {"tv": 400_000.0, "search": 247_000.0},
        "current_allocation": {"tv": 300_000.0, "search": 200_000.0},
        "expected": {
            "incremental_kpi": _stat(1_000.0),
            "incremental_revenue": _stat(900_000.0),
            "roi": _stat(1.39),
        },
        "current_expected": {
            "incremental_kpi": _stat(800.0),
            "incremental_revenue": _stat(700_000.0),
            "roi": _stat(1.4),
        },
        "marginal_roi": {"tv": 1.0, "search": 1.0},
        "prob_beats_current": 0.93,
    }
    return {**base, **changes}


def test_max_profit_prints_the_profit_and_the_spend_against_the_cap() -> None:
    story = plan_story(_payload("max_profit"), point_estimate=False, value_is_currency=True)
    # profit = incremental revenue - spend, for both plans
    assert story.lines[0] == (
        "objective max_profit, profit (incremental revenue - spend) (posterior mean): "
        "optimized 253k vs current 200k"
    )
    assert story.lines[1] == "spend 647k of a cap of 1.9M (34%); current plan 500k"
    assert story.lines[2] == "P(optimized beats current) = 0.93"


def test_max_revenue_below_break_even_warns_and_names_the_channels() -> None:
    payload = _payload("max_revenue", marginal_roi={"tv": 0.83, "search": 1.4})
    story = plan_story(payload, point_estimate=False, value_is_currency=True)
    assert story.lines[0].startswith("objective max_revenue, incremental revenue")
    assert story.lines[1].startswith("spend 647k of the budget 1.9M")
    assert len(story.notes) == 1
    assert f"below break-even ({BREAK_EVEN_MROI:g}) on tv 0.83:" in story.notes[0]
    assert "search" not in story.notes[0]
    # above break-even everywhere, or a KPI not valued in currency: no warning
    fine = plan_story(_payload("max_revenue"), point_estimate=False, value_is_currency=True)
    assert fine.notes == []
    unvalued = plan_story(payload, point_estimate=False, value_is_currency=False)
    assert unvalued.notes == []


def test_a_point_estimate_plan_shows_no_probability() -> None:
    story = plan_story(_payload("max_revenue"), point_estimate=True, value_is_currency=True)
    assert not any("P(optimized beats current)" in line for line in story.lines + story.notes)
    assert "(point estimate)" in story.lines[0]
    assert story.notes[0].startswith("point estimate (MAP fit)")
