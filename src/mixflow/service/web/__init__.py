"""The web scenario planner: server-rendered pages with small scripts, served at ``/``.

Pages are shells rendered with Jinja2 (autoescaped); the scripts in ``static/`` call the same
``/api/v1`` routes every other client uses, signed in by the session cookie of
:mod:`mixflow.service.web.session`. Nothing is fetched from a CDN.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"


def mount(app: FastAPI) -> None:
    """Add the planner's pages, its session routes and its static files to ``app``."""
    from mixflow.service.web.router import router

    app.include_router(router)
    app.mount("/web/static", StaticFiles(directory=STATIC_DIR), name="web-static")
