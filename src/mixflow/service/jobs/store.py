"""The job state machine. Every transition is one transaction on the job's row.

``queued -> running -> succeeded | failed | cancelled``; a running job whose lease expires
(its worker died) goes back to ``queued`` while attempts remain, else ``failed`` ("worker lost").
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mixflow.errors import NotFoundError, QuotaError
from mixflow.service.db.models import Job


class JobState(enum.StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


FINISHED = (JobState.succeeded, JobState.failed, JobState.cancelled)


def _now() -> datetime:
    return datetime.now(UTC)


def enqueue(
    session: Session,
    *,
    workspace: str,
    kind: str,
    payload: dict[str, Any],
    max_queued: int,
    idempotency_key: str | None = None,
    max_attempts: int = 2,
    on_queue: Callable[[Session, Job], object] | None = None,
) -> Job:
    """Queue a job (or return the one queued before with the same idempotency key).
    ``on_queue(session, job)`` runs in the same transaction as the insert (the audit row)."""
    if idempotency_key is not None:
        found = session.scalars(
            select(Job).where(Job.workspace == workspace, Job.idempotency_key == idempotency_key)
        ).first()
        if found is not None:
            return found
    queued = session.scalars(
        select(Job.id).where(Job.workspace == workspace, Job.state == JobState.queued)
    ).all()
    if len(queued) >= max_queued:
        raise QuotaError(
            f"workspace {workspace!r} has {len(queued)} queued jobs, the limit "
            f"(MIXFLOW_MAX_QUEUED_JOBS) is {max_queued}: wait for some to start"
        )
    job = Job(
        id=secrets.token_hex(8),
        workspace=workspace,
        kind=kind,
        state=JobState.queued,
        payload=payload,
        attempts=0,
        max_attempts=max_attempts,
        cancel_requested=False,
        idempotency_key=idempotency_key,
        created_at=_now(),
    )
    session.add(job)
    if on_queue is not None:
        on_queue(session, job)
    session.commit()
    return job


def get_job(session: Session, workspace: str, job_id: str) -> Job:
    """The job ``job_id`` of ``workspace`` (404 for another workspace's job too)."""
    job = session.scalars(select(Job).where(Job.id == job_id, Job.workspace == workspace)).first()
    if job is None:
        raise NotFoundError(f"job {job_id!r} not found")
    return job


def list_jobs(
    session: Session,
    workspace: str,
    limit: int = 100,
    *,
    offset: int = 0,
    state: JobState | None = None,
    kind: str | None = None,
) -> list[Job]:
    """The workspace's jobs, newest first, optionally of one ``state`` or ``kind``."""
    query = select(Job).where(Job.workspace == workspace)
    if state is not None:
        query = query.where(Job.state == state)
    if kind is not None:
        query = query.where(Job.kind == kind)
    query = query.order_by(Job.created_at.desc(), Job.id).offset(offset).limit(limit)
    return list(session.scalars(query))


def claim(session: Session, worker: str, lease: timedelta) -> Job | None:
    """Take the oldest queued job for ``worker``, or None. Safe with many workers: on
    PostgreSQL ``FOR UPDATE SKIP LOCKED``; on SQLite an UPDATE guarded by ``state='queued'``."""
    now = _now()
    postgres = session.get_bind().dialect.name == "postgresql"
    for _ in range(5):
        query = (
            select(Job.id)
            .where(Job.state == JobState.queued, Job.cancel_requested.is_(False))
            .order_by(Job.created_at)
            .limit(1)
        )
        if postgres:
            query = query.with_for_update(skip_locked=True)
        job_id = session.scalars(query).first()
        if job_id is None:
            session.rollback()
            return None
        taken = session.execute(
            update(Job)
            .execution_options(synchronize_session=False)
            .where(Job.id == job_id, Job.state == JobState.queued)
            .values(
                state=JobState.running,
                worker=worker,
                lease_until=now + lease,
                started_at=now,
                attempts=Job.attempts + 1,
            )
        )
        session.commit()
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            return session.get(Job, job_id, populate_existing=True)
    return None


def heartbeat(
    session: Session, job_id: str, worker: str, lease: timedelta, progress: float | None = None
) -> bool:
    """Extend the lease (and record ``progress``, 0-1, when given); False when the job is no
    longer this worker's or cancel was asked."""
    values: dict[str, Any] = {"lease_until": _now() + lease}
    if progress is not None:
        job = session.get(Job, job_id)
        if job is not None:
            values["payload"] = {**job.payload, "_progress": min(1.0, max(0.0, progress))}
    result = session.execute(
        update(Job)
        .execution_options(synchronize_session=False)
        .where(Job.id == job_id, Job.worker == worker, Job.state == JobState.running)
        .values(**values)
    )
    session.commit()
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    job = session.get(Job, job_id, populate_existing=True)
    return job is not None and not job.cancel_requested


def finish(
    session: Session,
    job_id: str,
    worker: str,
    state: JobState,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> bool:
    """Record the end of a job this worker holds; False if it no longer holds it."""
    done = session.execute(
        update(Job)
        .execution_options(synchronize_session=False)
        .where(Job.id == job_id, Job.worker == worker, Job.state == JobState.running)
        .values(state=state, result=result, error=error, finished_at=_now(), lease_until=None)
    )
    session.commit()
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def cancel(
    session: Session,
    workspace: str,
    job_id: str,
    on_cancel: Callable[[Session, Job], object] | None = None,
) -> Job:
    """Cancel: a queued job at once; a running one is flagged and its worker kills it.
    ``on_cancel(session, job)`` runs in the same transaction (the audit row)."""
    job = get_job(session, workspace, job_id)
    session.execute(
        update(Job)
        .execution_options(synchronize_session=False)
        .where(Job.id == job_id, Job.state == JobState.queued)
        .values(state=JobState.cancelled, finished_at=_now(), cancel_requested=True)
    )
    session.execute(
        update(Job)
        .execution_options(synchronize_session=False)
        .where(Job.id == job_id, Job.state == JobState.running)
        .values(cancel_requested=True)
    )
    if on_cancel is not None:
        on_cancel(session, job)
    session.commit()
    return session.get(Job, job.id, populate_existing=True) or job


def reap_expired(session: Session) -> int:
    """Jobs whose worker stopped heart-beating: requeued while attempts remain, else failed
    with "worker lost". Returns how many were changed."""
    now = _now()
    expired = session.scalars(
        select(Job).where(Job.state == JobState.running, Job.lease_until < now)
    ).all()
    changed = 0
    for job in expired:
        retry = job.attempts < job.max_attempts and not job.cancel_requested
        values: dict[str, Any] = (
            {"state": JobState.queued, "worker": None, "lease_until": None}
            if retry
            else {
                "state": JobState.failed,
                "error": "worker lost",
                "finished_at": now,
                "lease_until": None,
            }
        )
        res = session.execute(
            update(Job)
            .execution_options(synchronize_session=False)
            .where(Job.id == job.id, Job.state == JobState.running, Job.lease_until < now)
            .values(**values)
        )
        changed += res.rowcount  # type: ignore[attr-defined]
    session.commit()
    return changed
