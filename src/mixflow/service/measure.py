"""Requests and latency by route for ``/metrics``, as a plain ASGI middleware.

Starlette's ``@app.middleware("http")`` wraps every request in a ``BaseHTTPMiddleware``: a
task and a memory stream per call, a noticeable share of a 3 ms what-if answer. This one only
watches the ``http.response.start`` message; the route is read from the scope once routing has
filled it in.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from mixflow.service.app import Metrics


class MeasureMiddleware:
    """Count each HTTP request by method, route and status, and time it by method and route."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # an exception before any response: what the error handler answers

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            method = scope.get("method", "")
            self.metrics.requests.labels(method, path, str(status)).inc()
            self.metrics.latency.labels(method, path).observe(time.perf_counter() - start)


__all__ = ["MeasureMiddleware"]
