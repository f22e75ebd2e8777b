"""The service's audit log (table ``audit_events``) and the request id that ties a row to a call.

Every mutating call adds one :class:`~mixflow.service.db.models.AuditEvent` in the same
transaction as its effect (the caller commits both); registry actions are also appended to the
MLflow audit trail (:mod:`mixflow.lifecycle.audit`) with the same request id.

The request id is the client's ``X-Request-ID`` when it sends a sensible one (1-64 characters of
letters, digits, ``.``, ``_``, ``-``), else a new random one; it is echoed on every response.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mixflow.service.auth import Caller
from mixflow.service.db.models import AuditEvent

HEADER = "X-Request-ID"
_VALID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Put the request id in ``request.state.request_id`` and on the response's header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers") or []).get(HEADER.lower().encode(), b"").decode("latin-1")
        rid = sent if _VALID.match(sent) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = rid
            await send(message)

        await self.app(scope, receive, with_header)


def request_id(request: Request) -> str:
    """The current request's id (set by :class:`RequestIdMiddleware`)."""
    return str(getattr(request.state, "request_id", "") or uuid.uuid4().hex)


def record(
    session: Session,
    caller: Caller,
    request: Request | str,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit row to ``session`` (committed with the caller's transaction)."""
    event = AuditEvent(
        at=datetime.now(UTC),
        workspace=caller.workspace,
        actor=caller.actor,
        role=caller.role.name,
        action=action,
        target=target,
        request_id=request if isinstance(request, str) else request_id(request),
        detail=detail or {},
    )
    session.add(event)
    return event


def list_events(
    session: Session,
    workspace: str,
    *,
    limit: int = 100,
    before: int | None = None,
    action: str | None = None,
) -> list[AuditEvent]:
    """The workspace's audit rows, newest first; ``before`` pages on (ids below it)."""
    query = select(AuditEvent).where(AuditEvent.workspace == workspace)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return list(session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)))


__all__ = ["HEADER", "RequestIdMiddleware", "list_events", "record", "request_id"]
