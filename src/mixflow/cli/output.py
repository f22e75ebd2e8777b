"""Terminal output shared by several command modules (a support module: it imports no command
module)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from mixflow.lifecycle import GateResult
    from mixflow.lifecycle.registry import ModelVersionInfo


def fmt_amount(value: Any) -> str:
    """Money or KPI units in the one number format of reports and charts (``2.5M``, ``640k``,
    ``12.35``; :func:`mixflow.report.fmt.fmt_amount`), imported on first use: the report
    package pulls in its templates and charts, which a command's start-up should not pay."""
    from mixflow.report.fmt import fmt_amount as amount

    return amount(value)


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON (NaN refused: the output is strict JSON)."""
    typer.echo(json.dumps(data, indent=2, allow_nan=False))


def print_gates(gates: Sequence[GateResult]) -> None:
    """One line per governance gate: name, status, detail."""
    width = max((len(g.name) for g in gates), default=4) + 2
    typer.echo(f"  {'gate':<{width}}{'status':<16}detail")
    for g in gates:
        typer.echo(f"  {g.name:<{width}}{g.status.value:<16}{g.detail}")


def print_registration(info: ModelVersionInfo) -> None:
    """What ``mixflow register`` (and ``fit --register``) prints about the new version."""
    warnings = sum(g.warning for g in info.gates)
    verdict = "all gates passed" if info.gates_passed else "GATES FAILED"
    if warnings:
        verdict += f", {warnings} warning(s)"
    typer.echo(f"registered {info.name} version {info.version} (run {info.run_id}): {verdict}")
    print_gates(info.gates)
