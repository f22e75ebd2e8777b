"""GET /api/v1/audit: the workspace's audit rows, newest first (admin)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from mixflow.service import audit
from mixflow.service.auth import Caller, Role, require

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

Admin = Annotated[Caller, Depends(require(Role.admin))]


def _session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


Db = Annotated[Session, Depends(_session)]


class AuditEventOut(BaseModel):
    """One mutating call: who (key name, role), what (action, target), when, request id."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    at: datetime
    workspace: str
    actor: str
    role: str
    action: str
    target: str
    request_id: str
    detail: dict[str, Any]


@router.get("", response_model=list[AuditEventOut])
def list_audit(
    caller: Admin,
    db: Db,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[int | None, Query(ge=1, description="only rows with a smaller id")] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
) -> list[AuditEventOut]:
    """The workspace's audit rows, newest first; page on with ``before`` = the last id."""
    rows = audit.list_events(db, caller.workspace, limit=limit, before=before, action=action)
    return [AuditEventOut.model_validate(r) for r in rows]
