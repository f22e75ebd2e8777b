"""Request and response models of the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Health(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: str
    revision: str | None = None


class Me(BaseModel):
    model_config = ConfigDict(frozen=True)

    key_id: str
    workspace: str
    role: str = Field(description="viewer, analyst or admin")


class JobOut(BaseModel):
    """A job as clients see it (no worker internals beyond its state)."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: str
    kind: str
    state: str
    attempts: int
    result: dict[str, Any] | None = None
    error: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
