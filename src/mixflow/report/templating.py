"""The one Jinja environment every page is rendered with.

Templates live in ``mixflow/report/templates`` (shipped as package data) and extend
``base.html.j2``, the page shell with the inline stylesheet. Autoescaping is on for every
template, so text from files, data and results is escaped unless a template marks it safe;
``StrictUndefined`` turns a misspelt name into an error instead of an empty cell. Number
formatting comes from :mod:`mixflow.report.fmt` as filters; ``data_uri`` embeds a PNG.
"""

from __future__ import annotations

import base64
from functools import cache
from typing import Any, Final

import jinja2

from mixflow.report.fmt import MISSING, filters

TEMPLATE_PACKAGE: Final = "mixflow.report"
TEMPLATE_FOLDER: Final = "templates"
BASE_TEMPLATE: Final = "base.html.j2"


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,...``: the image inline, so the page needs no other file."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


@cache
def environment() -> jinja2.Environment:
    """The report environment: package templates, autoescape, strict undefined, the filters.

    Built once per process (templates compile on first use and are kept); it holds no state
    that a render changes.
    """
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(TEMPLATE_PACKAGE, TEMPLATE_FOLDER),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(filters())
    env.filters["data_uri"] = png_data_uri
    env.globals["MISSING"] = MISSING
    return env


def render_page(template: str, **context: Any) -> str:
    """Render the page template ``template`` (a name under ``templates/``) with ``context``."""
    return environment().get_template(template).render(**context)


__all__ = ["BASE_TEMPLATE", "environment", "png_data_uri", "render_page"]
