"""POST /api/v1/experiments/analyze: a geo-experiment analysis, the fields of
``mixflow experiment analyze``, run as a job whose result is its ``result.json``."""

from __future__ import annotations

import secrets
import shutil
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile
from sqlalchemy.orm import Session

from mixflow.errors import DataError, InvalidInputError, did_you_mean
from mixflow.experiments.methods import GeoMethod
from mixflow.service import audit
from mixflow.service.auth import Caller, Role, require
from mixflow.service.db.models import Job
from mixflow.service.jobs import store
from mixflow.service.routers.fits import save_upload
from mixflow.service.schemas import JobOut

router = APIRouter(prefix="/api/v1/experiments", tags=["experiments"])

Analyst = Annotated[Caller, Depends(require(Role.analyst))]
Column = Annotated[str, Form(min_length=1, max_length=200)]


def _date(value: str, field: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise InvalidInputError(f"{field} must be a date YYYY-MM-DD, got {value!r}") from None


@router.post("/analyze", response_model=JobOut, status_code=202)
def analyze_experiment(
    request: Request,
    response: Response,
    caller: Analyst,
    data: Annotated[UploadFile, File(description="long table (CSV/Parquet): date, location, KPI")],
    treated: Annotated[str, Form(min_length=1, description="comma-separated treated locations")],
    start: Annotated[str, Form(description="first test date (YYYY-MM-DD)")],
    end: Annotated[str, Form(description="last test date, inclusive (YYYY-MM-DD)")],
    date_column: Column = "date",
    location_column: Column = "location",
    kpi_column: Column = "Y",
    method: Annotated[GeoMethod, Form(description="estimator")] = GeoMethod.ascm,
    spend_column: Annotated[str | None, Form(max_length=200)] = None,
) -> JobOut:
    """Check the fields and the table's columns, then queue the analysis; the job's result is
    the ``result.json`` that ``mixflow experiment analyze`` writes."""
    from mixflow.data.loaders import read_table

    payload_dates = {"start": _date(start, "start"), "end": _date(end, "end")}
    if payload_dates["end"] < payload_dates["start"]:
        raise InvalidInputError(f"end {end} is before start {start}")
    locations = [name.strip() for name in treated.split(",") if name.strip()]
    if not locations:
        raise InvalidInputError("treated must name at least one location")
    settings = request.app.state.settings
    folder = settings.home / "uploads" / caller.workspace / secrets.token_hex(8)
    folder.mkdir(parents=True)
    try:
        name = save_upload(data, folder, "data")
        columns = list(read_table(folder / name).columns)
        for field, column in (
            ("date_column", date_column),
            ("location_column", location_column),
            ("kpi_column", kpi_column),
            ("spend_column", spend_column),
        ):
            if column is not None and column not in columns:
                raise DataError(
                    f"{field}: column {column!r} is not in the data{did_you_mean(column, columns)}"
                )
        rid = audit.request_id(request)
        payload = {
            "inputs": str(folder),
            "data": name,
            "treated": locations,
            **payload_dates,
            "date_column": date_column,
            "location_column": location_column,
            "kpi_column": kpi_column,
            "method": method.value,
            "spend_column": spend_column,
            "workspace": caller.workspace,
            "submitted_by": caller.actor,
            "request_id": rid,
        }

        def _audit(session: Session, job: Job) -> None:
            audit.record(session, caller, rid, "experiment.analyze", f"job:{job.id}")

        with request.app.state.sessions() as session:
            job = store.enqueue(
                session,
                workspace=caller.workspace,
                kind="experiment_analysis",
                payload=payload,
                max_queued=settings.max_queued_jobs,
                on_queue=_audit,
            )
        response.headers["Location"] = f"/api/v1/jobs/{job.id}"
        return JobOut.from_job(job)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
