"""``mixflow optimize --rf-frequency``: a bad value is one readable line and exit code 2."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from mixflow.cli.main import app


def test_bad_rf_frequency_names_the_option_and_the_allowed_values(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["optimize", str(tmp_path), "--out", str(tmp_path / "plan"), "--rf-frequency", "x"]
    )
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == ["error: --rf-frequency: expected 'historical' or 'optimal', got 'x'"]
