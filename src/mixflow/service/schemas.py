"""Request and response models of the API."""

from __future__ import annotations

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
