"""The planner's pages and its sign-in/sign-out routes (not part of the OpenAPI document)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Any

import jinja2
import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from mixflow.service.auth import Caller, Role, authenticate, get_session, require
from mixflow.service.web import session as web_session

router = APIRouter(include_in_schema=False)

#: the pages allow only their own scripts, styles and inline SVG/data images
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@cache
def environment() -> jinja2.Environment:
    """The pages' Jinja environment (package templates, autoescape, strict undefined)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("mixflow.service.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class SignIn(BaseModel):
    """The sign-in form: the key travels in this body only, never in a URL."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: str = Field(min_length=1, max_length=200)


def _caller(request: Request) -> Caller | None:
    with get_session(request) as db:
        return web_session.cookie_caller(request, db)


def _page(request: Request, template: str, caller: Caller | None, **context: Any) -> Response:
    csrf = ""
    if caller is not None:
        secret = web_session.session_secret(request.app.state.settings.home)
        csrf = web_session.csrf_token(secret, request.cookies[web_session.SESSION_COOKIE])
    html = (
        environment()
        .get_template(template)
        .render(
            caller=caller,
            csrf=csrf,
            can_fit=caller is not None and caller.role >= Role.analyst,
            can_promote=caller is not None and caller.role >= Role.admin,
            path=request.url.path,
            **context,
        )
    )
    return HTMLResponse(html, headers=_HEADERS)


def _to_signin() -> Response:
    return RedirectResponse("/signin", status_code=303)


@router.get("/")
def home(request: Request) -> Response:
    """The models page when signed in, else the sign-in page."""
    return RedirectResponse("/models" if _caller(request) else "/signin", status_code=303)


@router.get("/favicon.ico")
def favicon() -> Response:
    """No icon (browsers ask for one on every page, the report's included)."""
    return Response(status_code=204)


@router.get("/signin")
def signin_page(request: Request) -> Response:
    """The sign-in form."""
    if _caller(request) is not None:
        return RedirectResponse("/models", status_code=303)
    return _page(request, "signin.html.j2", None, title="Sign in")


@router.post("/web/session")
def sign_in(request: Request, body: SignIn) -> Response:
    """Check the key and set the session cookie (HttpOnly, SameSite=Strict)."""
    from mixflow.errors import UnauthenticatedError

    with get_session(request) as db:
        caller = authenticate(db, body.api_key.strip())
        row = None if caller is None else db.get(web_session.ApiKey, caller.key_id)
    if caller is None or row is None:
        raise UnauthenticatedError("the API key is unknown or revoked")
    secret = web_session.session_secret(request.app.state.settings.home)
    value = web_session.make_session(secret, row.id, row.digest)
    response = Response(status_code=204)
    response.set_cookie(
        web_session.SESSION_COOKIE,
        value,
        max_age=web_session.SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.delete("/web/session")
def sign_out(request: Request) -> Response:
    """End the session: the cookie is cleared (a valid session must send its CSRF token)."""
    _caller(request)  # raises 403 for a live session without its CSRF token
    response = Response(status_code=204)
    response.delete_cookie(web_session.SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/models")
def models_page(request: Request) -> Response:
    """The workspace's models."""
    caller = _caller(request)
    if caller is None:
        return _to_signin()
    return _page(request, "models.html.j2", caller, title="Models")


@router.get("/models/{name}")
def model_page(request: Request, name: str) -> Response:
    """One model's overview: ROI and mROI, contributions, response curves, diagnostics."""
    caller = _caller(request)
    if caller is None:
        return _to_signin()
    return _page(request, "overview.html.j2", caller, title=name, model=name, tab="overview")


@router.get("/models/{name}/planner")
def planner_page(request: Request, name: str) -> Response:
    """The budget planner of one model: simulate as you type, optimize, save scenarios."""
    caller = _caller(request)
    if caller is None:
        return _to_signin()
    return _page(
        request, "planner.html.j2", caller, title=f"{name}: Planner", model=name, tab="planner"
    )


@router.get("/scenarios")
def scenarios_page(request: Request) -> Response:
    """Saved scenarios: list, compare two, export as CSV."""
    caller = _caller(request)
    if caller is None:
        return _to_signin()
    return _page(request, "scenarios.html.j2", caller, title="Scenarios")


@router.get("/fits")
def fits_page(request: Request) -> Response:
    """Upload a config and data, follow the fit job (analysts and admins)."""
    caller = _caller(request)
    if caller is None:
        return _to_signin()
    return _page(request, "fits.html.j2", caller, title="Fits")


Viewer = Annotated[Caller, Depends(require(Role.viewer))]


@router.get("/web/models/{name}/versions/{version}/charts")
def charts(request: Request, name: str, version: str, caller: Viewer) -> dict[str, Any]:
    """The overview's chart data of a version: contribution per week (baseline and each
    channel) and each channel's response curve with its 90% band and today's spend."""
    from mixflow.service.store import resolve_model

    stored = resolve_model(request.app.state.settings, caller.workspace, name, version)
    return chart_data(stored.run_dir)


def chart_data(run_dir: Path) -> dict[str, Any]:
    """Chart series read from a run folder's ``contributions.csv`` and ``response_curves.csv``."""
    import pandas as pd

    from mixflow.report.rundir import CONTRIBUTIONS_FILE, RESPONSE_CURVES_FILE

    contrib = pd.read_csv(run_dir / CONTRIBUTIONS_FILE)
    curves = pd.read_csv(run_dir / RESPONSE_CURVES_FILE)
    channels = list(dict.fromkeys(curves["channel"].astype(str)))
    series = {"baseline": contrib["baseline"].astype(float).tolist()}
    series.update({ch: contrib[ch].astype(float).tolist() for ch in channels if ch in contrib})
    out: dict[str, Any] = {
        "contributions": {"dates": contrib["date"].astype(str).tolist(), "series": series},
        "curves": {},
    }
    for ch in channels:
        rows = curves[curves["channel"].astype(str) == ch].sort_values("spend")
        today = rows[np.isclose(rows["multiplier"].astype(float), 1.0)]
        out["curves"][ch] = {
            "spend": rows["spend"].astype(float).tolist(),
            "mean": rows["incremental_value_mean"].astype(float).tolist(),
            "lo": rows["incremental_value_hdi_lo"].astype(float).tolist(),
            "hi": rows["incremental_value_hdi_hi"].astype(float).tolist(),
            "current_spend": float(today["spend"].iloc[0]) if len(today) else None,
            "current_value": float(today["incremental_value_mean"].iloc[0]) if len(today) else None,
        }
    return out
