"""`mixflow compare` carries the weak-identification flag `mixflow optimize` carries (issue 17):
a plan moving budget, against the first plan, into a channel whose ROI the data left close to
its prior names the move and the probability that the extra spend loses money."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from mixflow.cli.main import app
from mixflow.optimize.schema import WeakMove

runner = CliRunner()
BUDGET, WEEKS = 4e5, 8


@pytest.fixture(scope="module")
def weak_search(tmp_path_factory: pytest.TempPathFactory, weak_search_run: Path) -> Path:
    """A folder holding ``run`` (:func:`weak_search_run`: search weakly identified, tv not) and
    three plans of the same budget: ``base`` (tv 0.7, search 0.3), ``more_search`` (0.4, 0.6),
    ``less_search`` (0.8, 0.2)."""
    folder = tmp_path_factory.mktemp("compare_weak")
    (folder / "run").symlink_to(weak_search_run, target_is_directory=True)
    for name, tv in (("base", 0.7), ("more_search", 0.4), ("less_search", 0.8)):
        plan = {"name": name, "budget": BUDGET, "horizon_weeks": WEEKS}
        plan["shares"] = {"tv": tv, "search": round(1.0 - tv, 6)}
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(plan))
    return folder


def _compare(folder: Path, *plans: str, as_json: bool) -> str:
    files = [str(folder / f"{p}.yaml") for p in plans]
    res = runner.invoke(app, ["compare", str(folder / "run"), *files, *(["--json"] * as_json)])
    assert res.exit_code == 0, res.output
    return res.output


def test_compare_names_the_move_into_a_weakly_identified_channel(weak_search: Path) -> None:
    from mixflow.analysis.schema import load_summary

    summary = load_summary(weak_search / "run" / "summary.json")
    assert summary.weakly_identified() == ["search"]
    out = json.loads(_compare(weak_search, "base", "more_search", "less_search", as_json=True))
    assert out["reference"] == "base"
    # less_search moves budget into tv (well identified) only: nothing to say
    assert out["weakly_identified_moves"]["less_search"] == []
    assert "base" not in out["weakly_identified_moves"]
    (raw,) = out["weakly_identified_moves"]["more_search"]
    move = WeakMove.model_validate(raw)  # the same entry as plan.json's
    assert move.channel == "search"
    assert move.spend_moved == pytest.approx(0.3 * BUDGET, rel=1e-9)
    assert move.sd_ratio == pytest.approx(summary.channels["search"].roi_prior.sd_ratio)  # type: ignore[union-attr]
    # the probability, recomputed here on the same draws: more_search against more_search
    # with search's spend scaled back to base's total
    from mixflow.cli.runtime import simulator_for
    from mixflow.simulate import load_plan

    sim = simulator_for(weak_search / "run")
    plan = load_plan(weak_search / "more_search.yaml", sim.posterior.dataset)
    search = plan.channels.index("search")
    scale = np.ones(len(plan.channels))
    scale[search] = 0.3 / 0.6
    gain = (
        sim.simulate(plan).incremental_value_with_tail
        - sim.simulate(plan.with_spend(plan.spend * scale)).incremental_value_with_tail
    )
    assert move.prob_loses_money == pytest.approx(float(np.mean(gain < 0.3 * BUDGET)), abs=1e-12)
    assert move.incremental_revenue.mean == pytest.approx(float(gain.mean()), rel=1e-9)


def test_compare_console_warns_only_for_the_plan_moving_into_it(weak_search: Path) -> None:
    text = _compare(weak_search, "base", "more_search", "less_search", as_json=False)
    warnings = [line for line in text.splitlines() if "weakly identified" in line]
    (line,) = warnings
    assert line.startswith("WARNING: plan 'more_search' against 'base': the plan moves 120k")
    assert "into search, whose ROI is weakly identified" in line
    assert "P(the moved spend returns less than it costs) = " in line
    # a comparison whose other plan moves none says nothing
    quiet = _compare(weak_search, "base", "less_search", as_json=False)
    assert "weakly identified" not in quiet and "WARNING" not in quiet
