"""Request and response models of the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

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
    """A job as clients see it (no worker internals beyond its state).

    ``progress`` is 0 while queued and 1 once finished; while running, the last fraction the
    job reported (a fit: 0.1 fitting, 0.8 writing its report, 0.9 registering), else null."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    kind: str
    state: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    progress: float | None = Field(default=None, ge=0, le=1)
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    submitted_by: str | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    attempts: int = 0

    @classmethod
    def from_job(cls, job: Any) -> JobOut:
        """From a ``Job`` row."""
        payload = job.payload or {}
        progress = {"queued": 0.0, "running": payload.get("_progress")}.get(job.state, 1.0)
        return cls(
            job_id=job.id,
            kind=job.kind,
            state=job.state,
            progress=progress,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            submitted_by=payload.get("submitted_by"),
            result=job.result,
            error=job.error,
            attempts=job.attempts,
        )
