"""Saved plans: named scenarios of a workspace, each with the plan, the model version it was
simulated on, the results of that simulation and its author. Saving needs the analyst role;
reading them any role. Names are unique within a workspace (a second one answers 409)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mixflow.errors import ConflictError, NotFoundError
from mixflow.service import audit
from mixflow.service.auth import Caller, Role, require
from mixflow.service.db.models import SavedPlan
from mixflow.service.routers.planning import (
    PlanSpec,
    Ref,
    SimulateResponse,
    loaded_model,
    simulate_plan,
)

router = APIRouter(prefix="/api/v1/plans", tags=["plans"])

Viewer = Annotated[Caller, Depends(require(Role.viewer))]
Analyst = Annotated[Caller, Depends(require(Role.analyst))]


def _session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


Db = Annotated[Session, Depends(_session)]


class SavePlanRequest(BaseModel):
    """Save ``plan`` under ``name``, simulated on version ``ref`` of ``model_name``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="unique in the workspace")
    model_name: str = Field(min_length=1, max_length=64)
    ref: Ref = "champion"
    plan: PlanSpec


class PlanSummary(BaseModel):
    """A saved plan without its results."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    model_name: str
    version: int
    plan: PlanSpec
    author: str = Field(description="name of the API key that saved it (else its id)")
    created_at: datetime


class SavedPlanOut(PlanSummary):
    """A saved plan with the results of its simulation when it was saved."""

    results: SimulateResponse


class PlanPage(BaseModel):
    """One page of the workspace's saved plans, newest first."""

    model_config = ConfigDict(frozen=True)

    items: list[PlanSummary]
    total: int
    limit: int
    offset: int


def _summary(row: SavedPlan) -> PlanSummary:
    return PlanSummary(
        id=row.id,
        name=row.name,
        model_name=row.model_name,
        version=int(row.model_version),
        plan=PlanSpec.model_validate(row.plan),
        author=row.author,
        # SQLite hands back naive datetimes; they were written in UTC
        created_at=row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC),
    )


def _out(row: SavedPlan) -> SavedPlanOut:
    return SavedPlanOut(
        **_summary(row).model_dump(), results=SimulateResponse.model_validate(row.results)
    )


def _duplicate(name: str) -> ConflictError:
    return ConflictError(f"a plan named {name!r} already exists in this workspace")


@router.post("", response_model=SavedPlanOut, status_code=201)
def save_plan(
    body: SavePlanRequest, caller: Analyst, db: Db, request: Request, response: Response
) -> SavedPlanOut:
    """Simulate ``plan`` on the model version and store it with its results (audited)."""
    taken = select(SavedPlan.id).where(
        SavedPlan.workspace == caller.workspace, SavedPlan.name == body.name
    )
    if db.scalar(taken) is not None:
        raise _duplicate(body.name)
    stored, model = loaded_model(request, caller.workspace, body.model_name, body.ref)
    results = simulate_plan(stored, model, body.plan, ("body", "plan"))
    now = datetime.now(UTC)
    row = SavedPlan(
        id=secrets.token_hex(8),
        workspace=caller.workspace,
        name=body.name,
        model_name=body.model_name,
        model_version=str(stored.version),
        plan=body.plan.as_mapping(),
        results=results.model_dump(mode="json"),
        author=caller.actor,
        created_at=now,
    )
    db.add(row)
    audit.record(
        db,
        caller,
        request,
        "plan.save",
        f"plans/{row.id}",
        {"name": body.name, "model_name": body.model_name, "version": stored.version},
    )
    try:
        db.commit()  # the plan and its audit row together
    except IntegrityError:  # saved concurrently under the same name
        db.rollback()
        raise _duplicate(body.name) from None
    response.headers["Location"] = f"/api/v1/plans/{row.id}"
    return _out(row)


@router.get("", response_model=PlanPage)
def list_plans(
    caller: Viewer,
    db: Db,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    model_name: Annotated[str | None, Query(max_length=64)] = None,
) -> PlanPage:
    """The workspace's saved plans, newest first (optionally of one model)."""
    where = [SavedPlan.workspace == caller.workspace]
    if model_name is not None:
        where.append(SavedPlan.model_name == model_name)
    total = db.scalar(select(func.count()).select_from(SavedPlan).where(*where)) or 0
    rows = db.scalars(
        select(SavedPlan)
        .where(*where)
        .order_by(SavedPlan.created_at.desc(), SavedPlan.id)
        .limit(limit)
        .offset(offset)
    )
    return PlanPage(items=[_summary(r) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/{plan_id}", response_model=SavedPlanOut)
def get_plan(plan_id: str, caller: Viewer, db: Db) -> SavedPlanOut:
    """One saved plan of the workspace, with its results."""
    row = db.get(SavedPlan, plan_id)
    if row is None or row.workspace != caller.workspace:
        raise NotFoundError(f"plan {plan_id!r} not found")
    return _out(row)
