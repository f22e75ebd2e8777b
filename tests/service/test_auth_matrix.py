"""The auth matrix, derived from /openapi.json: every /api/v1 route x {no key, bad key, viewer,
analyst, admin, another workspace's admin} gives 401 / 403 / 404 / an allowed answer.

Authorization is a dependency on each route, not a handler check: a role below the route's
gives 403 before the body is even read, and a caller of another workspace gets 404 for every
resource of 'acme', exactly as for one that does not exist."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from service_registry import install_registry

from mixflow.service.jobs import store
from mixflow.service.settings import ServiceSettings

#: the least role of every route (a route missing here fails the first test: classify it)
MIN_ROLE = {
    ("GET", "/api/v1/me"): "viewer",
    ("GET", "/api/v1/jobs"): "viewer",
    ("GET", "/api/v1/jobs/{job_id}"): "viewer",
    ("DELETE", "/api/v1/jobs/{job_id}"): "analyst",
    ("POST", "/api/v1/fits"): "analyst",
    ("GET", "/api/v1/models"): "viewer",
    ("GET", "/api/v1/models/{name}"): "viewer",
    ("GET", "/api/v1/models/{name}/versions/{version}/summary"): "viewer",
    ("GET", "/api/v1/models/{name}/versions/{version}/report"): "viewer",
    ("PUT", "/api/v1/models/{name}/aliases/{alias}"): "admin",
    ("DELETE", "/api/v1/models/{name}/versions/{version}"): "admin",
    ("POST", "/api/v1/models/{name}/monitor"): "analyst",
    ("POST", "/api/v1/models/{name}/simulate"): "viewer",
    ("POST", "/api/v1/models/{name}/compare"): "viewer",
    ("POST", "/api/v1/models/{name}/optimize"): "viewer",
    ("POST", "/api/v1/plans"): "analyst",
    ("GET", "/api/v1/plans"): "viewer",
    ("GET", "/api/v1/plans/{plan_id}"): "viewer",
    ("POST", "/api/v1/experiments/analyze"): "analyst",
    ("POST", "/api/v1/portfolios/fits"): "analyst",
    ("POST", "/api/v1/portfolios/optimize"): "viewer",
    ("GET", "/api/v1/audit"): "admin",
}
RANK = {"viewer": 1, "analyst": 2, "admin": 3}


def _routes(client: TestClient) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    return [
        (method.upper(), path)
        for path, item in spec["paths"].items()
        if path.startswith("/api/v1")
        for method in item
    ]


def _concrete(path: str, job_id: str) -> str:
    values = {"job_id": job_id, "name": "revenue", "version": "1", "alias": "champion"}
    return re.sub(r"\{([^}]+)\}", lambda m: values.get(m.group(1), "0123456789abcdef"), path)


@pytest.fixture
def job_id(client: TestClient) -> str:
    with client.app.state.sessions() as s:  # type: ignore[attr-defined]
        job = store.enqueue(s, workspace="acme", kind="echo", payload={}, max_queued=10)
    return job.id


def test_every_api_route_is_classified(client: TestClient) -> None:
    routes = set(_routes(client))
    assert routes - set(MIN_ROLE) == set(), "add these routes to MIN_ROLE"
    assert ("POST", "/api/v1/fits") in routes and ("GET", "/api/v1/me") in routes


def test_every_api_route_needs_a_key(client: TestClient, keys: dict[str, str]) -> None:
    for method, path in _routes(client):
        for headers in ({}, {"X-API-Key": keys["viewer"][:-2] + "zz"}):
            r = client.request(method, _concrete(path, "x"), headers=headers)
            assert r.status_code == 401, (method, path, headers, r.status_code)
            assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("role", ["viewer", "analyst", "admin"])
def test_roles_below_a_route_are_refused_and_others_pass_auth(
    client: TestClient, keys: dict[str, str], role: str, job_id: str
) -> None:
    for method, path in _routes(client):
        r = client.request(method, _concrete(path, job_id), headers={"X-API-Key": keys[role]})
        if RANK[role] < RANK[MIN_ROLE[(method, path)]]:
            assert r.status_code == 403, (role, method, path, r.status_code)
            assert r.json()["detail"].startswith(f"this needs the {MIN_ROLE[(method, path)]}")
        else:
            assert r.status_code not in (401, 403), (role, method, path, r.status_code)


def test_reads_answer_200_in_the_own_workspace(
    client: TestClient,
    keys: dict[str, str],
    job_id: str,
    registry_template: object,
    no_tracking_server: None,
) -> None:
    settings: ServiceSettings = client.app.state.settings  # type: ignore[attr-defined]
    install_registry(registry_template, settings.home)  # type: ignore[arg-type]
    for method, path in _routes(client):
        if method != "GET" or "{plan_id}" in path:
            continue
        r = client.get(_concrete(path, job_id), headers={"X-API-Key": keys["admin"]})
        assert r.status_code == 200, (path, r.status_code, r.text[:200])


def test_another_workspace_gets_404_for_every_resource_of_acme(
    client: TestClient,
    keys: dict[str, str],
    job_id: str,
    registry_template: object,
    no_tracking_server: None,
) -> None:
    settings: ServiceSettings = client.app.state.settings  # type: ignore[attr-defined]
    install_registry(registry_template, settings.home)  # type: ignore[arg-type]
    bodies = {
        "PUT": {"version": 1, "reason": "x", "override": "x"},
        "POST": {"ref": "1", "plan": {}},
    }
    for method, path in _routes(client):
        if "{" not in path or "{plan_id}" in path:
            continue  # collection routes answer the caller's own (empty) workspace
        url = _concrete(path, job_id)
        if path.endswith("/monitor"):
            r = client.post(
                url,
                files={"actuals": ("a.csv", b"date\n", "text/csv")},
                headers={"X-API-Key": keys["other"]},
            )
        else:
            r = client.request(
                method, url, json=bodies.get(method), headers={"X-API-Key": keys["other"]}
            )
        assert r.status_code in (404, 422), (method, path, r.status_code)
        if r.status_code == 422:  # a body the route refuses first: try its own fields
            assert path.endswith(("/simulate", "/compare", "/optimize")), (path, r.text)
    for path in ("/api/v1/jobs", "/api/v1/models", "/api/v1/audit", "/api/v1/plans"):
        r = client.get(path, headers={"X-API-Key": keys["other"]})
        body = r.json()
        items = body["items"] if isinstance(body, dict) else body  # plans answer a page
        assert (r.status_code, items) == (200, []), path


def test_a_bearer_token_authenticates_like_the_header(
    client: TestClient, keys: dict[str, str]
) -> None:
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {keys['analyst']}"})
    assert (me.status_code, me.json()["role"]) == (200, "analyst")
    bad = client.get("/api/v1/me", headers={"Authorization": f"Bearer {keys['analyst']}x"})
    assert bad.status_code == 401 and bad.json()["detail"] == "the API key is unknown or revoked"
    basic = client.get("/api/v1/me", headers={"Authorization": "Basic eDp5"})
    assert basic.status_code == 401 and "Authorization: Bearer KEY" in basic.json()["detail"]
