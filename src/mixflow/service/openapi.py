"""The OpenAPI document lists every error a route can answer, as ``application/problem+json``.

FastAPI documents a route's success and, for routes with input, a 422 in its own shape. The
service answers every 4xx as a problem (:mod:`mixflow.service.problems`), so this adds, per
operation, the problems it can give, from rules that hold for every router (the planner's and
those added later included):

- 401 and 403 on every operation that needs a key (those with ``security``): no or a bad key;
  a role that may not, or a browser session without its CSRF header;
- 404 on every operation with a path parameter (a resource of another workspace is 404 too),
  and on those that name a model in their body (saving a plan);
- 409 where a conflict can happen (saving a plan under a taken name, moving an alias while a
  gate fails or to an archived version);
- 413 on every operation with a request body (past ``MIXFLOW_MAX_UPLOAD_BYTES``);
- 422 on every operation with input (its ``errors: [{loc, msg}]``);
- 429 on the operations that queue a job (past the workspace's queued-jobs quota).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from mixflow.service.problems import PROBLEM

API_PREFIX = "/api/v1"
#: (method, path) -> extra statuses beyond the rules above
EXTRA: dict[tuple[str, str], tuple[int, ...]] = {
    ("post", "/api/v1/plans"): (404, 409),
    ("put", "/api/v1/models/{name}/aliases/{alias}"): (409,),
    ("post", "/api/v1/fits"): (429,),
    ("post", "/api/v1/experiments/analyze"): (429,),
}
DESCRIPTIONS = {
    401: "missing, unknown or revoked API key",
    403: "the key's role may not do this (or a browser session without its CSRF header)",
    404: "not found in the caller's workspace (another workspace's resources included)",
    409: "conflict with the current state",
    413: "request body over MIXFLOW_MAX_UPLOAD_BYTES",
    422: "invalid input: errors names each field",
    429: "the workspace's queued-jobs quota is reached",
}


class ProblemError(BaseModel):
    """One invalid field: where (``loc``) and what is wrong (``msg``)."""

    loc: list[str]
    msg: str


class Problem(BaseModel):
    """An error answer (RFC 9457, ``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field("about:blank", description="always about:blank: the status says it")
    title: str
    status: int
    detail: str
    instance: str | None = Field(None, description="the request's path")
    errors: list[ProblemError] | None = Field(None, description="422 only: each invalid field")


def problem_statuses(method: str, path: str, operation: dict[str, Any]) -> list[int]:
    """The problem statuses ``operation`` (of the OpenAPI document) can answer."""
    statuses: set[int] = set(EXTRA.get((method, path), ()))
    if operation.get("security"):
        statuses |= {401, 403}
    if "{" in path:
        statuses.add(404)
    if "requestBody" in operation:
        statuses |= {413, 422}
    if operation.get("parameters"):
        statuses.add(422)
    return sorted(statuses)


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with each operation's problem responses and the ``Problem`` component."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in problem_schema.pop("$defs", {}).items():
        components.setdefault(name, sub)
    components["Problem"] = problem_schema
    ref = {"$ref": "#/components/schemas/Problem"}
    for path, item in schema.get("paths", {}).items():
        if not path.startswith(API_PREFIX):
            continue
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            for status in problem_statuses(method, path, operation):
                responses[str(status)] = {
                    "description": DESCRIPTIONS[status],
                    "content": {PROBLEM: {"schema": ref}},
                }
    # FastAPI's own 422 shape is replaced everywhere: drop its schemas once unreferenced
    text = json.dumps(schema["paths"])
    for name in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{name}" not in text:
            components.pop(name, None)
    return schema


def install(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI document list each operation's problems (built once, on the
    first request for it, when every router is in)."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(plain())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


__all__ = ["EXTRA", "Problem", "document_problems", "install", "problem_statuses"]
