"""Moving an alias through the API is seen at once by what-if calls in the same process, even
though those calls keep alias -> version answers for a while (service.cache.RefCache)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from planning_support import MODEL, WORKSPACE, Env, fitted_run, make_env

from mixflow.service.cache import RefCache
from mixflow.service.store import lifecycle_settings, registered_name

PLAN = {"horizon_weeks": 4, "budget": 4e5}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    run = fitted_run(tmp_path_factory.getbasetemp())
    yield from make_env(tmp_path_factory.mktemp("alias_home"), run)


def _champion_version(env: Env) -> int:
    r = env.client.post(
        f"/api/v1/models/{MODEL}/simulate",
        json={"ref": "champion", "plan": PLAN},
        headers=env.headers("viewer"),
    )
    assert r.status_code == 200, r.text
    return int(r.json()["model"]["version"])


def test_promotion_through_the_api_is_seen_by_the_next_simulate(env: Env) -> None:
    from mixflow.lifecycle.registry import register

    # an hour-long memory of alias answers: only the alias route's forget() can refresh it
    env.client.app.state.refs = RefCache(3600.0)  # type: ignore[attr-defined]
    assert _champion_version(env) == 1
    name = registered_name(WORKSPACE, MODEL)
    v2 = register(env.run_dir, name, lifecycle_settings(env.settings), actor="test").version
    # a registration alone moves no alias: the remembered answer is still right
    assert _champion_version(env) == 1
    r = env.client.put(
        f"/api/v1/models/{MODEL}/aliases/champion",
        json={"version": v2, "reason": "refit", "override": None},
        headers=env.headers("admin"),
    )
    assert r.status_code == 200, r.text
    assert _champion_version(env) == v2
