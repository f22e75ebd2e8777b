"""A plan that moves budget into a weakly identified channel says so, with the probability that
the move loses money (issue 17 point 4): the rule on known draws, then through `mixflow optimize`
on a fit whose search ROI the data leave close to a tight prior."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mixflow.analysis.schema import load_summary
from mixflow.cli.main import app
from mixflow.optimize.identification import weak_move_notes, weak_moves
from mixflow.optimize.schema import PlanDocument, WeakMove

CHANNELS = ("tv", "search", "radio")


def _linear(roi: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Per-draw value of allocations ``xs (N, C)`` when each channel returns ``roi (S, C)``
    per unit: ``xs @ roi.T`` (N, S)."""
    return lambda xs: xs @ roi.T


def test_the_probability_of_losing_money_is_the_share_of_draws_returning_less_than_spent() -> None:
    rng = np.random.default_rng(0)
    roi = np.column_stack(
        [rng.lognormal(0.5, 0.2, 4000), rng.lognormal(0.1, 0.8, 4000), np.full(4000, 2.0)]
    )
    current = np.array([500.0, 300.0, 200.0])
    plan = np.array([300.0, 500.0, 200.0])  # 200 moved from tv into search
    ratios = {"tv": 0.9, "search": 0.8, "radio": 0.7}
    (move,) = weak_moves(plan, current, CHANNELS, ratios, _linear(roi), value_is_currency=True)
    # tv lost budget and radio kept its own: only the move into search is reported
    assert move["channel"] == "search" and move["spend_moved"] == pytest.approx(200.0)
    # linear returns: the extra 200 lose money exactly in the draws whose ROI is below 1
    assert move["prob_loses_money"] == pytest.approx(np.mean(roi[:, 1] < 1.0), abs=1e-12)
    assert move["incremental_revenue"]["mean"] == pytest.approx(200.0 * roi[:, 1].mean())
    assert move["sd_ratio"] == 0.8
    # the same entry validates as plan.json's typed WeakMove
    assert WeakMove.model_validate(move).channel == "search"
    (note,) = weak_move_notes([move])
    assert note.startswith("WARNING: the plan moves 200 into search, whose ROI is weakly")
    # the CLI passes the reports' compact money format
    (compact,) = weak_move_notes([{**move, "spend_moved": 2_202_828.0}], lambda v: f"<{v:.0f}>")
    assert compact.startswith("WARNING: the plan moves <2202828> into search")
    assert f"= {move['prob_loses_money']:.2f}" in note


def test_well_identified_unjudged_and_tiny_moves_are_not_reported() -> None:
    roi = np.full((10, 3), 1.5)
    current = np.array([500.0, 300.0, 200.0])
    plan = np.array([300.0, 500.0, 200.0])
    value = _linear(roi)
    # search below the 0.5 standard, or not judged (MAP: None): nothing to say
    for ratio in (0.49, None):
        ratios = {"search": ratio}
        assert weak_moves(plan, current, CHANNELS, ratios, value, value_is_currency=True) == []
    # a move of 0.1% of the plan's spend is the solver's rounding, not a decision
    nudged = np.array([499.0, 301.0, 200.0])
    assert weak_moves(nudged, current, CHANNELS, {"search": 0.9}, value, True) == []
    # a KPI without revenue per unit: the move is named, without a probability of losing money
    (move,) = weak_moves(plan, current, CHANNELS, {"search": 0.9}, value, value_is_currency=False)
    assert move["prob_loses_money"] is None
    assert "no probability of losing money" in weak_move_notes([move])[0]


def test_optimize_names_the_weakly_identified_channel_it_moves_budget_into(
    weak_search_run: Path, tmp_path: Path
) -> None:
    summary = load_summary(weak_search_run / "summary.json")
    assert summary.weakly_identified() == ["search"]
    out = tmp_path / "opt"
    res = CliRunner().invoke(
        app, ["optimize", str(weak_search_run), "--relative-bounds", "0.5:2", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    plan = PlanDocument.model_validate_json((out / "plan.json").read_text())
    assert plan.allocation["search"] > plan.current_allocation["search"]
    assert plan.weakly_identified_moves is not None
    (move,) = plan.weakly_identified_moves
    assert move.channel == "search"
    moved = plan.allocation["search"] - plan.current_allocation["search"]
    assert move.spend_moved == pytest.approx(moved)
    assert move.sd_ratio == pytest.approx(summary.channels["search"].roi_prior.sd_ratio)  # type: ignore[union-attr]
    assert move.prob_loses_money is not None and 0.0 <= move.prob_loses_money <= 1.0
    lo, hi = move.incremental_revenue.hdi_90
    assert lo is not None and hi is not None and lo <= move.incremental_revenue.mean <= hi  # type: ignore[operator]
    # the console, plan.json and plan.html say the same
    warning = next(line for line in res.output.splitlines() if "weakly identified" in line)
    assert warning.startswith("WARNING: the plan moves ") and "into search" in warning
    assert f"= {move.prob_loses_money:.2f}" in warning
    assert "into search, whose ROI is weakly" in (out / "plan.html").read_text()
    assert json.loads((out / "plan.json").read_text())["weakly_identified_moves"][0]["channel"]
