"""Every /api/v1 route in /openapi.json needs a key (401 without), and every mutating route is
refused to a viewer (403): authorization is a dependency on each route, not a handler check."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def _routes(client: TestClient) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", "0123456789abcdef", path))
        for path, item in spec["paths"].items()
        if path.startswith("/api/v1")
        for method in item
    ]


def test_every_api_route_is_listed(client: TestClient) -> None:
    routes = _routes(client)
    assert ("POST", "/api/v1/fits") in routes and ("GET", "/api/v1/me") in routes


def test_every_api_route_needs_a_key(client: TestClient, keys: dict[str, str]) -> None:
    for method, path in _routes(client):
        for headers in ({}, {"X-API-Key": keys["viewer"][:-2] + "zz"}):
            r = client.request(method, path, headers=headers)
            assert r.status_code == 401, (method, path, headers, r.status_code)
            assert r.headers["content-type"] == "application/problem+json"


def test_mutating_routes_refuse_viewers(client: TestClient, keys: dict[str, str]) -> None:
    mutating = [(m, p) for m, p in _routes(client) if m in {"POST", "PUT", "PATCH", "DELETE"}]
    assert mutating
    for method, path in mutating:
        r = client.request(method, path, headers={"X-API-Key": keys["viewer"]})
        assert r.status_code == 403, (method, path, r.status_code)


def test_reads_allowed_to_every_role_in_own_workspace(
    client: TestClient, keys: dict[str, str]
) -> None:
    for role in ("viewer", "analyst", "admin", "other"):
        assert client.get("/api/v1/jobs", headers={"X-API-Key": keys[role]}).status_code == 200
        missing = client.get("/api/v1/jobs/0123456789abcdef", headers={"X-API-Key": keys[role]})
        assert missing.status_code == 404
