"""Every error a client sees, as ``application/problem+json`` (RFC 9457), mapped here only.

A :class:`~mixflow.errors.MixflowError` keeps its message (they name the field and the
allowed values); anything unexpected becomes a 500 with no stack trace or internals.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mixflow.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    MixflowError,
    NotFoundError,
    QuotaError,
    UnauthenticatedError,
    UnavailableError,
)

PROBLEM = "application/problem+json"
_log = logging.getLogger("mixflow.service")

#: the HTTP status and title of each error class (the first match in this order wins); any
#: other MixflowError is about the caller's input: 422 titled with its class name
STATUS: tuple[tuple[type[MixflowError], int, str], ...] = (
    (UnauthenticatedError, 401, "Unauthenticated"),
    (ForbiddenError, 403, "Forbidden"),
    (NotFoundError, 404, "Not found"),
    (ConflictError, 409, "Conflict"),
    (InvalidInputError, 422, "Invalid input"),
    (QuotaError, 429, "Too Many Requests"),
    (UnavailableError, 503, "Service Unavailable"),
)


def problem(status: int, title: str, detail: str, request: Request, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    headers = {"WWW-Authenticate": "ApiKey"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


async def _mixflow_error(request: Request, exc: Exception) -> JSONResponse:
    for cls, status, title in STATUS:
        if isinstance(exc, cls):
            return problem(status, title, str(exc), request)
    # the library's errors are about the caller's input
    return problem(422, type(exc).__name__, str(exc), request)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    response = problem(exc.status_code, _title(exc.status_code), str(exc.detail), request)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    detail = f"{'.'.join(first['loc'])}: {first['msg']}"
    return problem(422, "Invalid request", detail, request, errors=errors)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    _log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "Internal Server Error", "an unexpected error occurred", request)


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def install(app: FastAPI) -> None:
    """Register the problem handlers on ``app``."""
    app.add_exception_handler(MixflowError, _mixflow_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
