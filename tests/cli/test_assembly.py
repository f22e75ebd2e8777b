"""The app is assembled from command modules; one handler maps MixflowError to the terminal."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from mixflow.analysis.schema import load_summary
from mixflow.cli.main import COMMAND_MODULES, MixflowGroup, app
from mixflow.data.folders import writing_folder
from mixflow.errors import ConvergenceError, SpecError

#: a complete summary.json written by an earlier mixflow
LEGACY_SUMMARY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_run" / "summary.json"


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


def test_summary_refuses_an_edited_summary_json(tmp_path: Path) -> None:
    summary = load_summary(LEGACY_SUMMARY)
    out = tmp_path / "run"
    with writing_folder(out) as tmp:
        (tmp / "summary.json").write_text(json.dumps(summary.to_json()), encoding="utf-8")
    runner = CliRunner()
    whole = runner.invoke(app, ["summary", str(out)])
    assert whole.exit_code == 0
    assert json.loads(whole.stdout) == summary.to_json()
    edited = summary.updated({"channels": {"tv": {"roi": {"median": 9.0}}}})
    (out / "summary.json").write_text(json.dumps(edited.to_json()), encoding="utf-8")
    edited = runner.invoke(app, ["summary", str(out)])
    assert edited.exit_code == 2
    assert edited.stderr.startswith("error: summary.json in ")
    assert "altered" in edited.stderr
    assert len(edited.stderr.splitlines()) == 1
