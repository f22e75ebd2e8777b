"""Saved plans: the server simulates and stores the results and the author, an audit row goes
with it, names are unique per workspace (409), reads are paged and never cross workspaces."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from planning_support import Env, fitted_run, make_env
from sqlalchemy import select

from mixflow.service.db.models import AuditEvent, SavedPlan

PLANS = "/api/v1/plans"
PLAN = {"budget": 2e5, "horizon_weeks": 6, "shares": {"tv": 0.5, "search": 0.5}}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    run = fitted_run(tmp_path_factory.getbasetemp())
    yield from make_env(tmp_path_factory.mktemp("plans_home"), run)


def _save(env: Env, name: str, who: str = "analyst", **extra: object) -> httpx.Response:
    body = {"name": name, "model_name": "brand", "ref": "champion", "plan": PLAN, **extra}
    return env.client.post(PLANS, json=body, headers=env.headers(who))


def test_saved_plan_holds_the_simulation_author_and_version(env: Env) -> None:
    r = env.client.post(
        PLANS,
        json={"name": "q3 split", "model_name": "brand", "ref": 1, "plan": PLAN},
        headers={**env.headers("analyst"), "X-Request-ID": "req-plan-1"},
    )
    assert r.status_code == 201, r.text
    saved = r.json()
    assert r.headers["location"] == f"/api/v1/plans/{saved['id']}"
    assert (saved["name"], saved["model_name"], saved["version"]) == ("q3 split", "brand", 1)
    assert saved["author"] == "analyst-key"
    assert saved["plan"]["shares"] == PLAN["shares"]
    simulated = env.client.post(
        "/api/v1/models/brand/simulate",
        json={"ref": 1, "plan": PLAN},
        headers=env.headers("viewer"),
    )
    assert saved["results"] == simulated.json()
    got = env.client.get(f"{PLANS}/{saved['id']}", headers=env.headers("viewer"))
    assert got.status_code == 200
    assert got.json()["results"] == saved["results"]
    with env.client.app.state.sessions() as s:  # type: ignore[attr-defined]
        events = list(
            s.scalars(select(AuditEvent).where(AuditEvent.target == f"plans/{saved['id']}"))
        )
    assert len(events) == 1
    event = events[0]
    assert (event.workspace, event.actor, event.role) == ("acme", "analyst-key", "analyst")
    assert event.action == "plan.save"
    assert event.request_id == "req-plan-1"
    assert event.detail == {"name": "q3 split", "model_name": "brand", "version": 1}


def test_a_duplicate_name_is_409_and_stores_nothing(env: Env) -> None:
    assert _save(env, "dup").status_code == 201
    again = _save(env, "dup", who="admin")
    assert again.status_code == 409
    assert again.json()["detail"] == "a plan named 'dup' already exists in this workspace"
    with env.client.app.state.sessions() as s:  # type: ignore[attr-defined]
        rows = list(s.scalars(select(SavedPlan).where(SavedPlan.name == "dup")))
        audits = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "plan.save")))
    assert len(rows) == 1
    assert sum(1 for a in audits if a.detail.get("name") == "dup") == 1
    # the same name in another workspace is another plan (404 there: no model 'brand')
    assert _save(env, "dup", who="other").status_code == 404


def test_roles_viewer_reads_but_may_not_save(env: Env) -> None:
    r = _save(env, "by viewer", who="viewer")
    assert r.status_code == 403
    assert env.client.post(PLANS, json={"name": "x"}).status_code == 401
    assert env.client.get(PLANS).status_code == 401
    assert env.client.get(PLANS, headers=env.headers("viewer")).status_code == 200


def test_bad_plan_is_422_with_the_cli_wording_and_stores_nothing(env: Env) -> None:
    r = env.client.post(
        PLANS,
        json={
            "name": "bad",
            "model_name": "brand",
            "plan": {"budget": 1e5, "horizon_weeks": 4, "shares": {"tv": 2}},
        },
        headers=env.headers("analyst"),
    )
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"loc": ["body", "plan"], "msg": "plan shares must be >= 0 and sum to 1, got sum 2.0000"}
    ]
    listed = env.client.get(PLANS, headers=env.headers("viewer")).json()
    assert "bad" not in [p["name"] for p in listed["items"]]
    r = env.client.post(
        PLANS,
        json={"name": "", "model_name": "brand", "plan": PLAN},
        headers=env.headers("analyst"),
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "name"]


def test_list_is_paged_newest_first_and_workspace_bound(env: Env) -> None:
    for name in ("page a", "page b", "page c"):
        assert _save(env, name).status_code == 201
    h = env.headers("viewer")
    everything = env.client.get(PLANS, params={"limit": 500}, headers=h).json()
    names = [p["name"] for p in everything["items"]]
    assert names.index("page c") < names.index("page b") < names.index("page a")
    total = everything["total"]
    assert total == len(names) >= 3
    first = env.client.get(PLANS, params={"limit": 2, "offset": 0}, headers=h).json()
    rest = env.client.get(PLANS, params={"limit": 500, "offset": 2}, headers=h).json()
    assert [p["name"] for p in first["items"] + rest["items"]] == names
    assert (first["total"], first["limit"], first["offset"]) == (total, 2, 0)
    assert "results" not in first["items"][0]
    by_model = env.client.get(PLANS, params={"model_name": "other"}, headers=h).json()
    assert by_model == {"items": [], "total": 0, "limit": 50, "offset": 0}
    # another workspace sees none of them, and each one is 404 there
    theirs = env.client.get(PLANS, headers=env.headers("other")).json()
    assert theirs["total"] == 0
    one = everything["items"][0]["id"]
    assert env.client.get(f"{PLANS}/{one}", headers=env.headers("other")).status_code == 404
    assert env.client.get(f"{PLANS}/nope", headers=h).status_code == 404
    assert env.client.get(PLANS, params={"limit": 0}, headers=h).status_code == 422
