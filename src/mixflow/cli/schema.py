"""``mixflow schema NAME``: print the JSON Schema of a file mixflow writes. Assembled by
:mod:`mixflow.cli.main`."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any

import typer

app = typer.Typer()


class SchemaName(StrEnum):
    """The outputs whose JSON Schema ``mixflow schema`` prints."""

    SUMMARY = "summary"
    PLAN = "plan"


def _summary() -> dict[str, Any]:
    from mixflow.analysis.schema import summary_json_schema

    return summary_json_schema()


def _plan() -> dict[str, Any]:
    from mixflow.optimize.schema import plan_json_schema

    return plan_json_schema()


SCHEMAS: dict[SchemaName, Callable[[], dict[str, Any]]] = {
    SchemaName.SUMMARY: _summary,
    SchemaName.PLAN: _plan,
}


@app.command("schema")
def schema(
    name: Annotated[
        SchemaName, typer.Argument(help="the output: summary (summary.json) or plan (plan.json)")
    ],
) -> None:
    """Print the JSON Schema of a file mixflow writes (summary.json, plan.json)."""
    typer.echo(json.dumps(SCHEMAS[name](), indent=2))
