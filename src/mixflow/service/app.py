"""The app factory: ``create_app(settings)``. Nothing is created at import; routers and static
files are added here, so the planner (``service/web``) plugs in the same way."""

from __future__ import annotations

import os
from dataclasses import dataclass

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram

from mixflow.service import openapi, problems, web
from mixflow.service.audit import RequestIdMiddleware
from mixflow.service.cache import ModelCache, RefCache
from mixflow.service.db.session import make_engine, make_session_factory
from mixflow.service.jobs.metrics import JobCollector
from mixflow.service.limits import UploadLimit
from mixflow.service.measure import MeasureMiddleware
from mixflow.service.routers import audit as audit_routes
from mixflow.service.routers import (
    experiments,
    fits,
    health,
    jobs,
    me,
    models,
    monitor,
    planning,
    plans,
    portfolios,
)
from mixflow.service.settings import ServiceSettings


@dataclass(frozen=True)
class Metrics:
    """This app's own Prometheus registry (so two apps in one process do not clash)."""

    registry: CollectorRegistry
    requests: Counter
    latency: Histogram


def _metrics() -> Metrics:
    registry = CollectorRegistry()
    return Metrics(
        registry=registry,
        requests=Counter(
            "mixflow_http_requests",
            "HTTP requests",
            ["method", "route", "status"],
            registry=registry,
        ),
        latency=Histogram(
            "mixflow_http_request_seconds", "HTTP latency", ["method", "route"], registry=registry
        ),
    )


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """A FastAPI app serving ``settings`` (default: read from the environment)."""
    settings = settings or ServiceSettings()
    # a model version fetched from the registry must not draw MLflow's download progress bar
    # into the server's log, once per first request of each version
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    app = FastAPI(title="mixflow", version="1", docs_url="/docs", redoc_url=None)
    app.state.settings = settings
    app.state.engine = make_engine(settings)
    app.state.sessions = make_session_factory(app.state.engine)
    app.state.metrics = _metrics()
    app.state.metrics.registry.register(JobCollector(app.state.sessions))
    app.state.models = ModelCache(settings.simulator_cache)
    app.state.refs = RefCache(settings.ref_cache_seconds)
    problems.install(app)
    openapi.install(app)  # each route's problem+json answers in /openapi.json
    for router in (
        health.router,
        me.router,
        jobs.router,
        fits.router,
        planning.router,
        plans.router,
        models.router,
        monitor.router,
        experiments.router,
        portfolios.router,
        audit_routes.router,
    ):
        app.include_router(router)
    web.mount(app)  # the planner's pages at /, its scripts under /web/static

    app.add_middleware(MeasureMiddleware, metrics=app.state.metrics)
    app.add_middleware(UploadLimit, max_bytes=settings.max_upload_bytes)
    app.add_middleware(RequestIdMiddleware)  # outermost: every response carries X-Request-ID
    return app
