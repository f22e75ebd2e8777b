"""POST /api/v1/models/{name}/monitor: score new weeks of actuals against a version's posterior
predictive, as ``mixflow monitor`` does (the same library function), and answer its result."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from mixflow.service import audit, store
from mixflow.service.auth import Caller, Role, require
from mixflow.service.routers.fits import save_upload

router = APIRouter(prefix="/api/v1/models", tags=["models"])

Analyst = Annotated[Caller, Depends(require(Role.analyst))]


def _session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


Db = Annotated[Session, Depends(_session)]


class MonitorOut(BaseModel):
    """The monitored version, the overall status and the monitor's full result document (the
    ``monitor.json`` that ``mixflow monitor --out`` writes)."""

    model_config = ConfigDict(frozen=True)

    model_name: str
    version: int
    status: str = Field(description="ok, warn or alert")
    result: dict[str, Any]


def _document(result: Any) -> dict[str, Any]:
    if hasattr(result, "model_dump"):
        dumped: dict[str, Any] = result.model_dump(mode="json")
        return dumped
    as_dict: dict[str, Any] = result.to_dict()
    return as_dict


@router.post("/{name}/monitor", response_model=MonitorOut)
def monitor_model(
    name: Annotated[str, Path(description="the workspace's model name", max_length=64)],
    request: Request,
    caller: Analyst,
    db: Db,
    actuals: Annotated[
        UploadFile, File(description="new weeks (CSV/Parquet) with the training columns")
    ],
    ref: Annotated[str, Form(description="champion, challenger or a version number")] = (
        "champion"
    ),
    seed: Annotated[int, Form(ge=0, le=2**31 - 1, description="seed of the noise")] = 0,
    policy: Annotated[
        UploadFile | None, File(description="YAML monitor policy (defaults if absent)")
    ] = None,
) -> MonitorOut:
    """Score the uploaded weeks with version ``ref`` of the model; its metrics are logged on
    the version's MLflow run (as the CLI does) and the call is audited."""
    from mixflow.data.loaders import read_table
    from mixflow.lifecycle.monitor import (
        load_actuals,
        load_monitor_policy,
        log_monitor_metrics,
        monitor,
        training_mape,
    )
    from mixflow.workflow import load_run

    settings = request.app.state.settings
    found = store.resolve_model(settings, caller.workspace, name, ref)
    folder = settings.home / "uploads" / caller.workspace / secrets.token_hex(8)
    folder.mkdir(parents=True)
    try:
        table = read_table(folder / save_upload(actuals, folder, "actuals"))
        monitor_policy = (
            load_monitor_policy(folder / save_upload(policy, folder, "policy"))
            if policy is not None
            else None
        )
        posterior = load_run(found.run_dir)
        result = monitor(
            posterior,
            load_actuals(table, posterior),
            policy=monitor_policy,
            training_mape=training_mape(found.run_dir),
            seed=seed,
            model=f"{name}/{found.version}",
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    document = _document(result)
    weeks = len(document.get("weeks") or document.get("dates") or [])
    uri = f"models:/{found.registered_name}/{found.version}"
    log_monitor_metrics(
        uri, result, posterior.dataset.n_times + weeks, store.lifecycle_settings(settings)
    )
    status = str(result.status.value)
    audit.record(
        db,
        caller,
        request,
        "model.monitor",
        f"model:{name}/{found.version}",
        {"status": status, "weeks": weeks},
    )
    db.commit()
    return MonitorOut(model_name=name, version=found.version, status=status, result=document)
