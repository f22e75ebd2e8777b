"""POST /api/v1/fits: upload a config and its data, validated before a fit job is queued."""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Header, Request, UploadFile

from mixflow.errors import InvalidInputError
from mixflow.service.auth import Caller, Role, require
from mixflow.service.jobs import store
from mixflow.service.schemas import JobOut

router = APIRouter(prefix="/api/v1/fits", tags=["fits"])

Analyst = Annotated[Caller, Depends(require(Role.analyst))]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


def _save(upload: UploadFile, folder: Path, field: str) -> str:
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
    caller: Analyst,
    config: Annotated[UploadFile, File(description="the YAML config (as for mixflow fit)")],
    data: Annotated[
        list[UploadFile], File(description="the files the config names (data, lift tests)")
    ],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JobOut:
    """Validate the upload as ``mixflow validate`` does (same messages), then queue the fit."""
    from mixflow.workflow.runs import validate_config

    settings = request.app.state.settings
    folder = settings.home / "uploads" / caller.workspace / secrets.token_hex(8)
    folder.mkdir(parents=True)
    try:
        for upload in data:
            _save(upload, folder, "data")
        config_name = _save(config, folder, "config")
        validate_config(folder / config_name)
        with request.app.state.sessions() as session:
            job = store.enqueue(
                session,
                workspace=caller.workspace,
                kind="fit",
                payload={"inputs": str(folder), "config": config_name},
                max_queued=settings.max_queued_jobs,
                idempotency_key=idempotency_key,
            )
            if job.payload.get("inputs") != str(folder):  # an earlier request's job
                shutil.rmtree(folder, ignore_errors=True)
            return JobOut.model_validate(job)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
