"""The workspace's registered models: list, show (versions, aliases, gates), a version's typed
run summary and HTML report, moving an alias (promotion, admin) and archiving a version.

Names in paths are the client's (``revenue``); the registry holds ``<workspace>.<name>`` (see
:mod:`mixflow.service.store`). Another workspace's model answers 404 like a missing one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.orm import Session

from mixflow.analysis.schema import RunSummary, load_summary
from mixflow.errors import ConflictError, NotFoundError
from mixflow.lifecycle.errors import RegistryError
from mixflow.lifecycle.gates import GateResult, failed_gates
from mixflow.lifecycle.registry import (
    Alias,
    ModelVersionInfo,
    archive,
    list_models,
    model_versions,
    promote,
)
from mixflow.service import audit, store
from mixflow.service.auth import Caller, Role, require
from mixflow.service.settings import ServiceSettings

router = APIRouter(prefix="/api/v1/models", tags=["models"])

Viewer = Annotated[Caller, Depends(require(Role.viewer))]
Admin = Annotated[Caller, Depends(require(Role.admin))]
ModelName = Annotated[str, Path(description="the workspace's model name", max_length=64)]
VersionRef = Annotated[
    str, Path(description="a version number, or champion / challenger", max_length=20)
]


def _session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


Db = Annotated[Session, Depends(_session)]


def _settings(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


Settings = Annotated[ServiceSettings, Depends(_settings)]


class GateOut(BaseModel):
    """One governance gate's outcome at registration."""

    model_config = ConfigDict(frozen=True)

    name: str
    status: str = Field(description="passed, failed, warning or not_applicable")
    passed: bool = Field(description="false only for a failed blocking gate")
    value: float | None
    threshold: float | list[float] | None
    detail: str

    @classmethod
    def of(cls, gate: GateResult) -> GateOut:
        return cls(
            name=gate.name,
            status=gate.status.value,
            passed=gate.passed,
            value=gate.value,
            threshold=gate.threshold,
            detail=gate.detail,
        )


class VersionOut(BaseModel):
    """A registered version of a model."""

    model_config = ConfigDict(frozen=True)

    version: int
    run_id: str
    created_at: datetime
    aliases: list[str]
    gates_passed: bool
    archived: bool
    gates: list[GateOut]

    @classmethod
    def of(cls, info: ModelVersionInfo) -> VersionOut:
        return cls(
            version=info.version,
            run_id=info.run_id,
            created_at=datetime.fromtimestamp(info.created_ms / 1000, UTC),
            aliases=list(info.aliases),
            gates_passed=info.gates_passed,
            archived=info.archived,
            gates=[GateOut.of(g) for g in info.gates],
        )


class ModelOut(BaseModel):
    """A model of the workspace: its aliases (alias -> version) and latest version."""

    model_config = ConfigDict(frozen=True)

    name: str
    registered_name: str = Field(description="the MLflow registered-model name")
    aliases: dict[str, int]
    latest_version: int | None


class ModelDetail(ModelOut):
    """A model with every version, oldest first."""

    versions: list[VersionOut]


class AliasChange(BaseModel):
    """Move an alias to a version. ``override`` is a reason to promote despite failed gates
    (as ``mixflow promote --override``); without it a failing version is refused (409)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=1)
    reason: str = Field(min_length=1, max_length=2000, pattern=r"\S")
    override: str | None = Field(default=None, max_length=2000)


class AliasOut(BaseModel):
    """The alias after the move, the version it pointed at before, and the audit row."""

    model_config = ConfigDict(frozen=True)

    alias: str
    version: int
    previous: int | None
    overridden: bool
    audit_id: int


def _versions(settings: ServiceSettings, caller: Caller, name: str) -> list[ModelVersionInfo]:
    registered = store.registered_name(caller.workspace, name)
    try:
        return model_versions(registered, store.lifecycle_settings(settings))
    except RegistryError:
        raise NotFoundError(f"model {name!r} not found") from None


@router.get("", response_model=list[ModelOut])
def list_workspace_models(caller: Viewer, settings: Settings) -> list[ModelOut]:
    """The workspace's models, by name."""
    out = []
    for model in list_models(store.lifecycle_settings(settings)):
        name = store.split_registered_name(model.name, caller.workspace)
        if name is not None:
            out.append(
                ModelOut(
                    name=name,
                    registered_name=model.name,
                    aliases=model.aliases,
                    latest_version=model.latest_version,
                )
            )
    return out


@router.get("/{name}", response_model=ModelDetail)
def show_model(name: ModelName, caller: Viewer, settings: Settings) -> ModelDetail:
    """A model: every version with its gate results, and the aliases."""
    versions = _versions(settings, caller, name)
    aliases = {a: v.version for v in versions for a in v.aliases}
    return ModelDetail(
        name=name,
        registered_name=store.registered_name(caller.workspace, name),
        aliases=aliases,
        latest_version=max((v.version for v in versions), default=None),
        versions=[VersionOut.of(v) for v in versions],
    )


@router.get("/{name}/versions/{version}/summary", response_model=RunSummary)
def version_summary(
    name: ModelName, version: VersionRef, caller: Viewer, settings: Settings
) -> RunSummary:
    """The typed run summary (``summary.json``) of a version (or of ``champion``...)."""
    found = store.resolve_model(settings, caller.workspace, name, version)
    return load_summary(found.run_dir / "summary.json")


@router.get(
    "/{name}/versions/{version}/report",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}, "description": "the run's HTML report"}},
)
def version_report(
    name: ModelName, version: VersionRef, caller: Viewer, settings: Settings
) -> HTMLResponse:
    """The HTML report of the version's run (``report.html``)."""
    found = store.resolve_model(settings, caller.workspace, name, version)
    report = found.run_dir / "report.html"
    if not report.is_file():
        raise NotFoundError(f"model {name!r} version {found.version} has no report")
    return HTMLResponse(report.read_text(encoding="utf-8"))


def _lock(db: Session, key: str) -> None:
    """Serialize alias moves of one model across API processes, until the transaction ends:
    a PostgreSQL advisory lock; on SQLite the write lock the first insert takes does it."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})


@router.put("/{name}/aliases/{alias}", response_model=AliasOut)
def move_alias(
    name: ModelName,
    alias: Alias,
    change: AliasChange,
    request: Request,
    caller: Admin,
    settings: Settings,
    db: Db,
) -> AliasOut:
    """Point ``alias`` at ``version`` (a promotion, as ``mixflow promote``): 409 while a gate
    of that version fails and no ``override`` reason is given, or when it is archived.
    Concurrent moves are serialized; each is audited in order (here and in MLflow's trail)."""
    registered = store.registered_name(caller.workspace, name)
    info = store.find_version(settings, caller.workspace, name, change.version)
    failed = failed_gates(list(info.gates))
    override = (change.override or "").strip() or None
    if info.archived:
        raise ConflictError(f"model {name!r} version {info.version} is archived")
    if failed and override is None:
        names = ", ".join(f"{g.name} ({g.detail})" for g in failed)
        raise ConflictError(
            f"cannot promote {name} version {info.version} to {alias.value}: failed gates: "
            f"{names}; give an override reason to promote anyway"
        )
    _lock(db, registered)
    event = audit.record(db, caller, request, f"alias.{alias.value}", f"model:{name}", {})
    db.flush()  # takes the database's write lock (SQLite) before the registry moves
    previous = _holder(settings, caller, name, alias)
    try:
        moved = promote(
            registered,
            info.version,
            alias,
            by=caller.actor,
            reason=change.reason,
            settings=store.lifecycle_settings(settings),
            override_reason=override,
            audit_extra={"workspace": caller.workspace, "request_id": event.request_id},
        )
    except RegistryError as err:
        db.rollback()
        raise ConflictError(str(err)) from None
    event.detail = {
        "alias": alias.value,
        "version": moved.version,
        "previous": previous,
        "reason": change.reason,
        "override": override,
        "failed_gates": [g.name for g in failed],
    }
    db.commit()
    refs = getattr(request.app.state, "refs", None)
    if refs is not None:  # what-if calls in this process see the new holder at once
        refs.forget(caller.workspace, name)
    return AliasOut(
        alias=alias.value,
        version=moved.version,
        previous=previous,
        overridden=bool(failed),
        audit_id=event.id,
    )


def _holder(settings: ServiceSettings, caller: Caller, name: str, alias: Alias) -> int | None:
    try:
        return store.find_version(settings, caller.workspace, name, alias.value).version
    except NotFoundError:
        return None


@router.delete("/{name}/versions/{version}", response_model=VersionOut)
def archive_version(
    name: ModelName,
    version: Annotated[int, Path(ge=1)],
    request: Request,
    caller: Admin,
    settings: Settings,
    db: Db,
    reason: Annotated[str, Query(max_length=2000)] = "archived through the API",
) -> VersionOut:
    """Archive a version: its aliases are removed and it can no longer be promoted (the
    registry keeps it, for the audit trail and reproduction)."""
    registered = store.registered_name(caller.workspace, name)
    store.find_version(settings, caller.workspace, name, version)
    _lock(db, registered)
    audit.record(
        db, caller, request, "version.archive", f"model:{name}/{version}", {"reason": reason}
    )
    db.flush()
    info = archive(
        registered, version, caller.actor, reason or "archived", store.lifecycle_settings(settings)
    )
    db.commit()
    return VersionOut.of(info)
