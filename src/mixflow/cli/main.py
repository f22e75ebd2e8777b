"""The ``mixflow`` app: assembled here from the command modules, run from here.

This is the one place that turns a :class:`~mixflow.errors.MixflowError` into what a terminal
shows: one line, ``error: ...``, and the error's exit code (2 for bad input); nothing prints a
traceback. Commands raise; they never catch a MixflowError to print it.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

try:  # Typer >= 0.26 raises the usage errors of its own copy of Click
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover - older Typer on the system Click
    from click.exceptions import UsageError  # type: ignore[assignment]

from mixflow.cli import (
    compare_runs,
    experiment,
    experiment_design,
    experiment_impact,
    lifecycle,
    monitor,
    plans,
    portfolio,
    runs,
    schema,
    service,
)
from mixflow.errors import MixflowError

#: every command module, and the command group its commands go under (``None``: top level).
#: Registering a new module is one line here (see the package docstring).
COMMAND_MODULES: tuple[tuple[ModuleType, str | None], ...] = (
    (runs, None),
    (plans, None),
    (compare_runs, None),
    (lifecycle, None),
    (monitor, None),
    (service, None),
    (schema, None),
    (experiment, "experiment"),
    (experiment_design, "experiment"),
    (experiment_impact, "experiment"),
    (portfolio, "portfolio"),
)

#: help of each command group
GROUPS = {
    "experiment": "Experiments: analyse geo experiments and causal impact, design tests, pick "
    "the channel to test next.",
    "portfolio": "Portfolios: fit many models on Ray, split one budget across all of them.",
}


class MixflowGroup(TyperGroup):
    """The root command: every command and group runs inside its :meth:`invoke`."""

    # typer.Context is the public subclass of the click Context that TyperGroup declares
    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except MixflowError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(code=err.exit_code) from None
        except UsageError as err:
            # a bad option value or a missing argument of a command: one line, exit 2, as for
            # every other bad input (not Click's multi-line box)
            where = err.ctx.command_path if err.ctx is not None else "mixflow"
            typer.echo(f"error: {where}: {err.format_message()}", err=True)
            raise typer.Exit(code=2) from None


app = typer.Typer(
    name="mixflow",
    cls=MixflowGroup,
    help="Bayesian marketing mix modeling: validate data, fit models, report ROI.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from mixflow import __version__

        typer.echo(f"mixflow {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="print mixflow's version and exit"
        ),
    ] = False,
) -> None:
    """Bayesian marketing mix modeling: validate data, fit models, report ROI."""


def _assemble() -> None:
    groups: dict[str, typer.Typer] = {}
    for module, group in COMMAND_MODULES:
        commands: typer.Typer = module.app
        if group is None:
            app.add_typer(commands)
            continue
        if group not in groups:
            groups[group] = typer.Typer(help=GROUPS.get(group), no_args_is_help=True)
            app.add_typer(groups[group], name=group)
        groups[group].add_typer(commands)


_assemble()


def _exit_on_sigterm(signum: int, frame: object) -> None:
    # an exception unwinds the command: a fit's temporary folder is removed, an open MLflow
    # run is marked FAILED (exit status 143 = 128 + 15, as a shell reports it)
    raise SystemExit(143)


def run() -> None:
    """Console entry point."""
    import signal

    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    run()
