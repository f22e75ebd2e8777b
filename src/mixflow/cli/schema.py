"""``mixflow schema NAME``: print the JSON Schema of a file mixflow writes. Assembled by
:mod:`mixflow.cli.main`. The schemas are committed under ``docs/schemas/NAME.json`` (a test
keeps them equal to these)."""

from __future__ import annotations

import importlib
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
    RESULT = "result"
    CALIBRATION = "calibration"
    SIMULATION = "simulation"
    DESIGNS = "designs"
    NEXT = "next"
    MONITOR = "monitor"
    PORTFOLIO = "portfolio"
    PORTFOLIO_PLAN = "portfolio_plan"


def _built_by(module: str, function: str) -> Callable[[], dict[str, Any]]:
    """A schema built on demand by ``module.function()`` (only that module is imported)."""

    def build() -> dict[str, Any]:
        schema: dict[str, Any] = getattr(importlib.import_module(module), function)()
        return schema

    return build


#: each name's file and the function that builds its schema
SCHEMAS: dict[SchemaName, tuple[str, Callable[[], dict[str, Any]]]] = {
    SchemaName.SUMMARY: (
        "summary.json of `mixflow fit`",
        _built_by("mixflow.analysis.schema", "summary_json_schema"),
    ),
    SchemaName.PLAN: (
        "plan.json of `mixflow optimize`",
        _built_by("mixflow.optimize.schema", "plan_json_schema"),
    ),
    SchemaName.RESULT: (
        "result.json of `mixflow experiment analyze|impact`",
        _built_by("mixflow.experiments.results", "result_json_schema"),
    ),
    SchemaName.CALIBRATION: (
        "calibration.json of a calibrated fit",
        _built_by("mixflow.analysis.calibration", "calibration_json_schema"),
    ),
    SchemaName.SIMULATION: (
        "simulation.json of `mixflow simulate`",
        _built_by("mixflow.simulate.schema", "simulation_json_schema"),
    ),
    SchemaName.DESIGNS: (
        "designs.json of `mixflow experiment design`",
        _built_by("mixflow.experiments.design", "designs_json_schema"),
    ),
    SchemaName.NEXT: (
        "next.json of `mixflow experiment next`",
        _built_by("mixflow.experiments.value", "next_json_schema"),
    ),
    SchemaName.MONITOR: (
        "monitor.json of `mixflow monitor`",
        _built_by("mixflow.lifecycle.monitor_schema", "monitor_json_schema"),
    ),
    SchemaName.PORTFOLIO: (
        "portfolio.json of `mixflow portfolio fit`",
        _built_by("mixflow.portfolio.schema", "portfolio_json_schema"),
    ),
    SchemaName.PORTFOLIO_PLAN: (
        "portfolio_plan.json of `mixflow portfolio optimize`",
        _built_by("mixflow.portfolio.schema", "plan_json_schema"),
    ),
}


@app.command("schema")
def schema(
    name: Annotated[
        SchemaName,
        typer.Argument(help="; ".join(f"{k.value}: {file}" for k, (file, _) in SCHEMAS.items())),
    ],
) -> None:
    """Print the JSON Schema of a file mixflow writes (summary.json, plan.json, result.json,
    calibration.json, simulation.json, designs.json, next.json, monitor.json, portfolio.json,
    portfolio_plan.json)."""
    typer.echo(json.dumps(SCHEMAS[name][1](), indent=2))
