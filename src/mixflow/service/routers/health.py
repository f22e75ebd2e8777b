"""Liveness, readiness and Prometheus metrics (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from mixflow.errors import UnavailableError
from mixflow.service.db.migrate import current_revision
from mixflow.service.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health)
def readyz(request: Request) -> Health:
    """The database answers and is migrated, and the model store (MLflow registry) answers."""
    engine = request.app.state.engine
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        revision = current_revision(engine)
    except Exception:  # any database failure means not ready
        raise UnavailableError("the database is unreachable") from None
    if revision is None:
        raise UnavailableError("the database is not migrated: run mixflow db upgrade")
    try:
        from mixflow.lifecycle.tracking import make_client
        from mixflow.service.store import lifecycle_settings

        make_client(lifecycle_settings(request.app.state.settings)).search_registered_models(
            max_results=1
        )
    except Exception:  # any registry failure means not ready
        raise UnavailableError("the model store (MLflow registry) is unreachable") from None
    return Health(status="ready", revision=revision)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus metrics of this app."""
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
