"""POST /api/v1/fits: upload a config, its data and the model name, validated before a fit job
is queued (the job fits, then registers the run in the workspace's model)."""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Header, Request, Response, UploadFile
from sqlalchemy.orm import Session

from mixflow.errors import InvalidInputError
from mixflow.service import audit
from mixflow.service.audit import request_id
from mixflow.service.auth import Caller, Role, require
from mixflow.service.db.models import Job
from mixflow.service.jobs import store
from mixflow.service.schemas import JobOut
from mixflow.service.store import check_model_name

router = APIRouter(prefix="/api/v1/fits", tags=["fits"])

Analyst = Annotated[Caller, Depends(require(Role.analyst))]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


def save_upload(upload: UploadFile, folder: Path, field: str) -> str:
    name = Path(upload.filename or "").name
    if not _NAME.match(name):
        raise InvalidInputError(
            f"{field}: file name {name!r} is invalid: expected letters, digits, '.', '_' or '-'"
        )
    with (folder / name).open("wb") as out:
        shutil.copyfileobj(upload.file, out)
    return name


@router.post("", response_model=JobOut, status_code=202)
def create_fit(
    request: Request,
    response: Response,
    caller: Analyst,
    config: Annotated[UploadFile, File(description="the YAML config (as for mixflow fit)")],
    data: Annotated[
        list[UploadFile], File(description="the data file(s) the config names (CSV or Parquet)")
    ],
    model_name: Annotated[
        str,
        Form(
            description="the workspace's model to register the fit as a new version of "
            "(1-64 characters a-z, A-Z, 0-9, '_', '-', '.')",
        ),
    ],
    lift_tests: Annotated[
        UploadFile | None, File(description="lift tests (CSV) the config names")
    ] = None,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JobOut:
    """Validate the upload as ``mixflow validate`` does (same messages), then queue the fit.
    The job fits, then registers the run as a new version of ``model_name``; its result is
    ``{"model_name", "version", "run_id"}``."""
    from mixflow.workflow.runs import validate_config

    check_model_name(model_name)
    settings = request.app.state.settings
    folder = settings.home / "uploads" / caller.workspace / secrets.token_hex(8)
    folder.mkdir(parents=True)
    try:
        for upload in data:
            save_upload(upload, folder, "data")
        if lift_tests is not None:
            save_upload(lift_tests, folder, "lift_tests")
        config_name = save_upload(config, folder, "config")
        validate_config(folder / config_name)
        rid = request_id(request)
        payload = {
            "inputs": str(folder),
            "config": config_name,
            "workspace": caller.workspace,
            "model_name": model_name,
            "submitted_by": caller.actor,
            "request_id": rid,
        }

        def _audit(session: Session, job: Job) -> None:
            audit.record(
                session, caller, rid, "fit.submit", f"job:{job.id}", {"model_name": model_name}
            )

        with request.app.state.sessions() as session:
            job = store.enqueue(
                session,
                workspace=caller.workspace,
                kind="fit",
                payload=payload,
                max_queued=settings.max_queued_jobs,
                idempotency_key=idempotency_key,
                on_queue=_audit,
            )
            if job.payload.get("inputs") != str(folder):  # an earlier request's job
                shutil.rmtree(folder, ignore_errors=True)
            response.headers["Location"] = f"/api/v1/jobs/{job.id}"
            return JobOut.from_job(job)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
