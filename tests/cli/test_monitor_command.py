"""``mixflow monitor MODEL``: what MODEL names (a run folder, a registry URI, a registered
model's name with its champion by default), and ``mixflow schema monitor``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mixflow.cli.main import app
from mixflow.cli.monitor import monitor_target
from mixflow.lifecycle.errors import RegistryError
from mixflow.lifecycle.monitor_schema import monitor_json_schema

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("model", "alias", "uri"),
    [
        ("brand", None, "models:/brand@champion"),
        ("brand", "challenger", "models:/brand@challenger"),
        ("brand@challenger", None, "models:/brand@challenger"),
        ("my.brand-2", None, "models:/my.brand-2@champion"),
        ("models:/brand/3", None, "models:/brand/3"),
    ],
)
def test_a_name_is_a_registered_model(model: str, alias: str | None, uri: str) -> None:
    assert monitor_target(model, alias) == uri


def test_an_existing_folder_is_a_run_directory(tmp_path: Path) -> None:
    run = tmp_path / "brand"
    run.mkdir()
    assert monitor_target(str(run)) == run


@pytest.mark.parametrize(
    ("model", "alias", "message"),
    [
        ("runs/missing", None, "'runs/missing' is neither a run directory nor a registered"),
        ("brand@challenger", "champion", "already names alias 'challenger'; drop --alias"),
        ("models:/brand/3", "champion", "cannot be combined with the URI"),
    ],
)
def test_what_is_not_a_model_is_named(model: str, alias: str | None, message: str) -> None:
    with pytest.raises(RegistryError, match=message):
        monitor_target(model, alias)


def test_a_missing_folder_path_exits_2_in_one_line() -> None:
    res = CliRunner().invoke(app, ["monitor", "runs/missing", "--actuals", "x.csv"])
    assert res.exit_code == 2
    last = res.output.strip().splitlines()[-1]
    assert last.startswith("error: MODEL 'runs/missing' is neither a run directory")
    assert "posterior.nc" not in res.output


def test_schema_monitor_prints_the_committed_schema() -> None:
    res = CliRunner().invoke(app, ["schema", "monitor"])
    assert res.exit_code == 0, res.output
    committed = json.loads((REPO / "docs" / "schemas" / "monitor.json").read_text())
    assert json.loads(res.stdout) == committed == monitor_json_schema()
