"""``mixflow schema NAME``: valid JSON equal to the committed schema; an unknown name is one
line listing the allowed names, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mixflow.cli.main import app
from mixflow.cli.schema import SchemaName

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["summary", "plan"])
def test_schema_prints_the_committed_json_schema(name: str) -> None:
    res = CliRunner().invoke(app, ["schema", name])
    assert res.exit_code == 0, res.output
    printed = json.loads(res.stdout)
    assert printed["type"] == "object"
    assert printed == json.loads((REPO / "docs" / "schemas" / f"{name}.json").read_text())


def test_every_name_has_a_committed_schema() -> None:
    for name in SchemaName:
        assert (REPO / "docs" / "schemas" / f"{name.value}.json").is_file()


def test_unknown_name_is_one_line_listing_the_allowed_names() -> None:
    res = CliRunner().invoke(app, ["schema", "bogus"])
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "bogus" in lines[0]
    for name in SchemaName:
        assert f"'{name.value}'" in lines[0]
    assert "Traceback" not in res.output
