"""/openapi.json lists each route's problem+json answers (401/403/404/409/413/422/429 where
they can occur), and the service's real error answers match what it lists."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from mixflow.service.openapi import Problem

REF = {"$ref": "#/components/schemas/Problem"}


def _operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): op
        for path, item in doc["paths"].items()
        if path.startswith("/api/v1")
        for method, op in item.items()
    }


def _problems(op: dict[str, Any]) -> set[int]:
    out = set()
    for status, answer in op["responses"].items():
        content = answer.get("content", {})
        if "application/problem+json" in content:
            assert content["application/problem+json"]["schema"] == REF
            out.add(int(status))
    return out


def test_every_route_lists_its_problems(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert "Problem" in doc["components"]["schemas"]
    ops = _operations(doc)
    assert len(ops) >= 20
    for (method, path), op in ops.items():
        listed = _problems(op)
        assert {401, 403} <= listed, (method, path)  # every /api/v1 route needs a key
        if "{" in path:
            assert 404 in listed, (method, path)
        if method in ("POST", "PUT"):
            assert {413, 422} <= listed, (method, path)
        # no FastAPI-shaped 422 is left: every error is a problem
        assert all(
            "application/json" not in a.get("content", {})
            for s, a in op["responses"].items()
            if s.startswith("4")
        ), (method, path)
    assert {409} <= _problems(ops[("PUT", "/api/v1/models/{name}/aliases/{alias}")])
    assert {404, 409} <= _problems(ops[("POST", "/api/v1/plans")])
    assert {429} <= _problems(ops[("POST", "/api/v1/fits")])
    assert {429} <= _problems(ops[("POST", "/api/v1/experiments/analyze")])
    assert 429 not in _problems(ops[("POST", "/api/v1/models/{name}/simulate")])
    assert 422 not in _problems(ops[("GET", "/api/v1/me")])  # no input


def test_real_error_answers_are_listed_and_match_the_problem_schema(
    client: TestClient, keys: dict[str, str]
) -> None:
    ops = _operations(client.get("/openapi.json").json())
    viewer = {"X-API-Key": keys["viewer"]}
    calls = [
        ("GET", "/api/v1/models/{name}", "/api/v1/models/nope", {}, None, 401),
        ("GET", "/api/v1/models/{name}", "/api/v1/models/nope", viewer, None, 404),
        ("POST", "/api/v1/fits", "/api/v1/fits", viewer, None, 403),
        (
            "POST",
            "/api/v1/models/{name}/simulate",
            "/api/v1/models/nope/simulate",
            viewer,
            {"plan": {"budgt": 1}},
            422,
        ),
    ]
    for method, route, url, headers, body, status in calls:
        r = client.request(method, url, headers=headers, json=body)
        assert r.status_code == status, (url, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert status in _problems(ops[(method, route)])
        problem = Problem.model_validate(r.json())
        assert problem.status == status
        if status == 422:
            assert problem.errors and "budgt" in problem.errors[0].msg
