"""Portfolios through the service: ``POST /api/v1/portfolios/fits`` queues a portfolio fit (a
durable job that fits every model on Ray and registers each in the workspace), and
``POST /api/v1/portfolios/optimize`` splits one budget over registered models of the workspace
with the joint optimizer of ``mixflow portfolio optimize``.

A portfolio fit's upload is one folder: the portfolio file, the model configs it names and the
data files (and lift tests) they name, all by bare file name. Every path the portfolio and its
configs name must stay inside that folder: a client never points the service at its own disk.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Annotated, Literal

import yaml
from fastapi import APIRouter, Depends, File, Form, Header, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session

from mixflow.errors import InvalidInputError, SpecError
from mixflow.portfolio.schema import PortfolioPlan
from mixflow.service import audit
from mixflow.service.audit import request_id
from mixflow.service.auth import Caller, Role, require
from mixflow.service.db.models import Job
from mixflow.service.jobs import store
from mixflow.service.routers.fits import save_upload
from mixflow.service.routers.planning import loaded_model
from mixflow.service.schemas import JobOut
from mixflow.service.store import check_model_name

router = APIRouter(prefix="/api/v1/portfolios", tags=["portfolios"])

Analyst = Annotated[Caller, Depends(require(Role.analyst))]
Viewer = Annotated[Caller, Depends(require(Role.viewer))]

#: most models one request may name (a portfolio fit or a joint optimize)
MAX_MODELS = 200


def _inside(path: Path, folder: Path, where: str) -> None:
    if not path.resolve().is_relative_to(folder.resolve()):
        raise InvalidInputError(
            f"{where}: {path.name!r} is outside the upload: name uploaded files by their bare "
            "file names"
        )


def check_upload(portfolio_file: Path) -> int:
    """Read the uploaded portfolio as ``mixflow portfolio fit`` does (same messages) and check
    that every config, data file and lift-test table it names is part of the upload; returns
    the number of models."""
    from mixflow.portfolio import load_portfolio

    folder = portfolio_file.parent
    try:
        raw = yaml.safe_load(portfolio_file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise InvalidInputError(f"{portfolio_file.name}: not valid YAML ({err})") from None
    entries = raw.get("models") if isinstance(raw, dict) else None
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        if isinstance(entry, dict) and isinstance(entry.get("config"), str):
            where = f"{portfolio_file.name}: models[{i}]: config"
            _inside(folder / entry["config"], folder, where)
    try:
        portfolio = load_portfolio(portfolio_file)
    except SpecError as err:  # the CLI's words, without the service's own folders
        raise SpecError(str(err).replace(f"{folder}/", "")) from None
    if len(portfolio.models) > MAX_MODELS:
        raise InvalidInputError(
            f"portfolio: {len(portfolio.models)} models; one request takes at most {MAX_MODELS}"
        )
    for m in portfolio.models:
        where = f"{portfolio_file.name}: model '{m.name}'"
        _inside(m.config_path, folder, f"{where}: config")
        cfg = m.parsed()
        _inside(m.base / cfg.data.path, folder, f"{where}: data.path")
        if cfg.calibration is not None and cfg.calibration.experiments:
            _inside(m.base / cfg.calibration.experiments, folder, f"{where}: experiments")
        check_model_name(m.name)
    return len(portfolio.models)


@router.post("/fits", response_model=JobOut, status_code=202)
def create_portfolio_fit(
    request: Request,
    response: Response,
    caller: Analyst,
    portfolio: Annotated[UploadFile, File(description="the portfolio YAML file")],
    files: Annotated[
        list[UploadFile],
        File(description="the model configs the portfolio names and the data files they name"),
    ],
    register_models: Annotated[
        bool,
        Form(
            alias="register",
            description="register each model as a new version of <model name> (with gates)",
        ),
    ] = True,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JobOut:
    """Validate the portfolio as ``mixflow portfolio fit`` does (same messages), then queue
    the job. It fits every model as one Ray task (the service's ``MIXFLOW_RAY_ADDRESS``, else a
    local Ray) and, with ``register``, registers each in the workspace; its result is the
    ``portfolio.json`` document (``mixflow schema portfolio``). One model's failure is recorded
    in it and does not stop the others."""
    settings = request.app.state.settings
    folder = settings.home / "uploads" / caller.workspace / secrets.token_hex(8)
    folder.mkdir(parents=True)
    try:
        for upload in files:
            save_upload(upload, folder, "files")
        portfolio_name = save_upload(portfolio, folder, "portfolio")
        n_models = check_upload(folder / portfolio_name)
        rid = request_id(request)
        payload = {
            "inputs": str(folder),
            "portfolio": portfolio_name,
            "workspace": caller.workspace,
            "register": register_models,
            "submitted_by": caller.actor,
            "request_id": rid,
        }

        def _audit(session: Session, job: Job) -> None:
            audit.record(
                session,
                caller,
                rid,
                "portfolio_fit.submit",
                f"job:{job.id}",
                {"models": n_models, "register": register_models},
            )

        with request.app.state.sessions() as session:
            job = store.enqueue(
                session,
                workspace=caller.workspace,
                kind="portfolio_fit",
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


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PortfolioModelRef(_Frozen):
    """One registered model of the workspace in the portfolio."""

    name: str = Field(max_length=200, description="the workspace's model name")
    ref: str | int = Field("champion", description="champion, challenger or a version number")
    value_per_kpi: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        description="currency per KPI unit, for a model whose KPI is not revenue",
    )


class PortfolioOptimizeRequest(_Frozen):
    """One budget split jointly over the models' channels (as ``mixflow portfolio optimize``)."""

    models: list[PortfolioModelRef] = Field(min_length=1, max_length=MAX_MODELS)
    budget: float = Field(description="total budget over the horizon, all models (currency)")
    horizon_weeks: int = Field(13, description="weeks in the plan")
    objective: Literal["max_revenue", "max_profit"] = "max_revenue"
    relative_bounds: tuple[float, float] | None = Field(
        None, description="[LO, HI] times each channel's spend in the current split"
    )
    model_bounds: dict[str, tuple[float, float | None]] = Field(
        default_factory=dict, description="{model: [MIN, MAX]} a model's total (MAX null: none)"
    )
    seed: int = Field(0, description="seed of the random solver starts")

    @model_validator(mode="after")
    def _unique(self) -> PortfolioOptimizeRequest:
        names = [m.name for m in self.models]
        if len(set(names)) != len(names):
            raise ValueError(f"models: each model may appear once, got {names}")
        return self


def _invalid(err: SpecError) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body",), "msg": str(err), "type": "invalid"}])


@router.post("/optimize", response_model=PortfolioPlan)
def optimize_portfolio_route(
    body: PortfolioOptimizeRequest, caller: Viewer, request: Request
) -> PortfolioPlan:
    """The joint plan (the ``portfolio_plan.json`` document, ``mixflow schema
    portfolio_plan``) over the workspace's registered models, each at ``ref``. A model name the
    workspace does not have answers 404."""
    from mixflow.portfolio import Member, PortfolioProblem, optimize_portfolio

    try:
        problem = PortfolioProblem(
            total_budget=body.budget,
            horizon=body.horizon_weeks,
            objective=body.objective,  # type: ignore[arg-type]
            relative_bounds=body.relative_bounds,
            model_bounds=dict(body.model_bounds),
        )
        members = []
        for m in body.models:
            _, model = loaded_model(request, caller.workspace, m.name, m.ref)
            members.append(Member(m.name, model.simulator, m.value_per_kpi))
        return optimize_portfolio(members, problem, seed=body.seed).plan
    except SpecError as err:  # bounds, values per KPI, infeasible budgets: the CLI's words
        raise _invalid(err) from None


__all__ = ["PortfolioModelRef", "PortfolioOptimizeRequest", "check_upload", "router"]
