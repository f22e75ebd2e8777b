"""The caller's own identity (any role)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from mixflow.service.auth import Caller, Role, require
from mixflow.service.schemas import Me

router = APIRouter(prefix="/api/v1", tags=["auth"])

Viewer = Annotated[Caller, Depends(require(Role.viewer))]


@router.get("/me", response_model=Me)
def me(caller: Viewer) -> Me:
    """The workspace and role of the key used."""
    return Me(key_id=caller.key_id, workspace=caller.workspace, role=caller.role.name)
