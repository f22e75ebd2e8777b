"""The app is assembled from command modules; one handler maps MixflowError to the terminal."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from mixflow.cli.main import COMMAND_MODULES, MixflowGroup, app
from mixflow.errors import ConvergenceError, SpecError


def _app_raising(err: Exception) -> typer.Typer:
    root = typer.Typer(cls=MixflowGroup)
    group = typer.Typer()

    @group.command()
    def boom() -> None:
        raise err

    @root.callback()
    def _root() -> None:
        pass

    root.add_typer(group, name="nested")
    return root


def test_a_mixflow_error_in_a_nested_command_is_one_line_and_its_own_exit_code() -> None:
    runner = CliRunner()
    bad = runner.invoke(_app_raising(SpecError("--x must be 1 or 2, got 3")), ["nested", "boom"])
    assert bad.exit_code == 2
    assert bad.stderr == "error: --x must be 1 or 2, got 3\n"
    assert bad.stdout == ""
    diverged = runner.invoke(_app_raising(ConvergenceError("chains diverged")), ["nested", "boom"])
    assert diverged.exit_code == 1
    assert diverged.stderr == "error: chains diverged\n"


def test_other_exceptions_are_not_swallowed() -> None:
    result = CliRunner().invoke(_app_raising(ZeroDivisionError("bug")), ["nested", "boom"])
    assert isinstance(result.exception, ZeroDivisionError)


def test_every_command_of_every_module_is_on_the_app() -> None:
    root = typer.main.get_command(app)
    assert isinstance(root, typer.core.TyperGroup)
    for module, group in COMMAND_MODULES:
        target = root if group is None else root.commands[group]
        assert isinstance(target, typer.core.TyperGroup)
        for info in module.app.registered_commands:
            name = info.name or info.callback.__name__.replace("_", "-")  # type: ignore[union-attr]
            assert name in target.commands, (module.__name__, name)


def test_a_bad_option_value_or_missing_argument_is_one_line_and_exit_2() -> None:
    runner = CliRunner()
    bad_number = runner.invoke(app, ["optimize", "runs/x", "--budget", "abc"])
    assert bad_number.exit_code == 2
    assert bad_number.stderr.splitlines() == [bad_number.stderr.strip()], (
        "one line, not Click's box"
    )
    assert bad_number.stderr.startswith("error: mixflow optimize: Invalid value for '--budget'")
    missing = runner.invoke(app, ["experiment", "design"])
    assert missing.exit_code == 2
    assert missing.stderr == "error: mixflow experiment design: Missing argument 'data'.\n"
    unknown = runner.invoke(app, ["fit", "--nope", "x"])
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith("error: mixflow fit: No such option: --nope")
