"""The service's compare route carries `mixflow compare`'s weak-identification flag (issue 17):
the second plan's moves of budget, against the first, into a channel whose ROI the data left
close to its prior, with P(the extra spend returns less than it costs), computed by the same
function (:func:`mixflow.optimize.identification.compare_weak_moves`) as the CLI's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from planning_support import Env, make_env
from typer.testing import CliRunner

from mixflow.cli.main import app as cli

COMPARE = "/api/v1/models/brand/compare"
BUDGET, WEEKS = 4e5, 8


def _plan(name: str, tv: float) -> dict[str, Any]:
    shares = {"tv": tv, "search": round(1.0 - tv, 6)}
    return {"name": name, "budget": BUDGET, "horizon_weeks": WEEKS, "shares": shares}


BASE, MORE_SEARCH, LESS_SEARCH = _plan("base", 0.7), _plan("more_search", 0.4), _plan("less", 0.8)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, weak_search_run: Path) -> Iterator[Env]:
    """:func:`weak_search_run` (search weakly identified, tv not) registered as the champion of
    workspace acme's model 'brand'."""
    yield from make_env(tmp_path_factory.mktemp("compare_weak_home"), weak_search_run)


def _compare(env: Env, *plans: dict[str, Any]) -> dict[str, Any]:
    r = env.client.post(COMPARE, json={"plans": list(plans)}, headers=env.headers("viewer"))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_the_fit_has_one_weakly_identified_channel(env: Env) -> None:
    from mixflow.analysis.schema import load_summary

    assert load_summary(env.run_dir / "summary.json").weakly_identified() == ["search"]


def test_a_move_into_the_weak_channel_is_flagged_as_the_cli_flags_it(
    env: Env, tmp_path: Path
) -> None:
    body = _compare(env, BASE, MORE_SEARCH)
    assert body["reference"] == "base"
    assert list(body["weakly_identified_moves"]) == ["more_search"]  # the reference: not judged
    (move,) = body["weakly_identified_moves"]["more_search"]
    assert move["channel"] == "search"
    assert move["spend_moved"] == pytest.approx(0.3 * BUDGET, rel=1e-9)
    assert 0.0 <= move["prob_loses_money"] <= 1.0
    # the same entries as `mixflow compare --json` on the run the version was registered from
    files = []
    for plan in (BASE, MORE_SEARCH):
        files.append(tmp_path / f"{plan['name']}.yaml")
        files[-1].write_text(yaml.safe_dump(plan))
    res = CliRunner().invoke(cli, ["compare", str(env.run_dir), *map(str, files), "--json"])
    assert res.exit_code == 0, res.output
    ref = json.loads(res.output)
    assert ref["reference"] == body["reference"]
    (cli_move,) = ref["weakly_identified_moves"]["more_search"]
    assert move["prob_loses_money"] == pytest.approx(cli_move["prob_loses_money"], abs=1e-12)
    assert move["sd_ratio"] == pytest.approx(cli_move["sd_ratio"], rel=1e-12)
    for key in ("mean", "hdi_90"):
        got, want = move["incremental_revenue"][key], cli_move["incremental_revenue"][key]
        assert got == pytest.approx(want, rel=1e-9)


def test_a_plan_moving_nothing_into_it_gets_an_empty_list(env: Env) -> None:
    # less search than the reference: the budget moves into tv, which the data identify
    assert _compare(env, BASE, LESS_SEARCH)["weakly_identified_moves"] == {"less": []}
    # the other way round the same pair is flagged: the move is judged against the first plan
    (move,) = _compare(env, LESS_SEARCH, BASE)["weakly_identified_moves"]["base"]
    assert move["channel"] == "search"
    assert move["spend_moved"] == pytest.approx(0.1 * BUDGET, rel=1e-9)


def test_the_python_client_returns_the_moves(env: Env) -> None:
    from mixflow.client import MixflowClient

    mf = MixflowClient("http://testserver", api_key=env.keys["viewer"])
    own = mf._http
    # the client's own requests and parsing, answered by the app in this process
    mf._http = env.client
    env.client.headers["Authorization"] = f"Bearer {env.keys['viewer']}"
    try:
        out = mf.compare("brand", BASE, MORE_SEARCH)
    finally:
        del env.client.headers["Authorization"]
        mf._http = own
        mf.close()
    assert out.reference == "base"
    (move,) = out.weakly_identified_moves["more_search"]
    assert move.channel == "search" and move.spend_moved == pytest.approx(0.3 * BUDGET)
