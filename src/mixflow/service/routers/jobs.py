"""Jobs of the caller's workspace: list, show, cancel."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from mixflow.service import audit
from mixflow.service.auth import Caller, Role, require
from mixflow.service.db.models import Job
from mixflow.service.jobs import store
from mixflow.service.jobs.store import JobState
from mixflow.service.schemas import JobOut

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])

Viewer = Annotated[Caller, Depends(require(Role.viewer))]
Analyst = Annotated[Caller, Depends(require(Role.analyst))]


def _session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


Db = Annotated[Session, Depends(_session)]


@router.get("", response_model=list[JobOut])
def list_jobs(
    caller: Viewer,
    db: Db,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    state: Annotated[JobState | None, Query(description="only jobs in this state")] = None,
    kind: Annotated[str | None, Query(max_length=30, description="fit, ...")] = None,
) -> list[JobOut]:
    """The workspace's jobs, newest first; ``offset`` pages on."""
    jobs = store.list_jobs(db, caller.workspace, limit, offset=offset, state=state, kind=kind)
    return [JobOut.from_job(j) for j in jobs]


@router.get("/{job_id}", response_model=JobOut)
def show_job(job_id: str, caller: Viewer, db: Db) -> JobOut:
    """One job of the workspace."""
    return JobOut.from_job(store.get_job(db, caller.workspace, job_id))


@router.delete("/{job_id}", response_model=JobOut)
def cancel_job(job_id: str, request: Request, caller: Analyst, db: Db) -> JobOut:
    """Cancel: a queued job at once, a running one within seconds (its process is killed)."""

    def _audit(session: Session, job: Job) -> None:
        audit.record(session, caller, request, "job.cancel", f"job:{job.id}", {"kind": job.kind})

    return JobOut.from_job(store.cancel(db, caller.workspace, job_id, on_cancel=_audit))
