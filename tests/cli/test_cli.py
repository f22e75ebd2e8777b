"""The command line end to end on shipped examples: exit codes and one-line errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from conftest import REPO_ROOT
from mixflow.cli.main import app

runner = CliRunner()
EXAMPLES = REPO_ROOT / "examples"


def test_validate_shipped_examples() -> None:
    for name in ("robyn_weekly.yaml", "meridian_national.yaml", "meridian_geo.yaml"):
        result = runner.invoke(app, ["validate", str(EXAMPLES / name)])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("ok:")


def test_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    cfg = yaml.safe_load((EXAMPLES / "robyn_weekly.yaml").read_text())
    cfg["data"]["path"] = str((EXAMPLES / cfg["data"]["path"]).resolve())
    cfg["model"]["adstok"] = "geometric"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "did you mean 'adstock'" in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_bad_column_exits_2(tmp_path: Path) -> None:
    cfg = yaml.safe_load((EXAMPLES / "robyn_weekly.yaml").read_text())
    cfg["data"]["path"] = str((EXAMPLES / cfg["data"]["path"]).resolve())
    cfg["data"]["media"][0]["spend_column"] = "tv_s"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "tv_s" in result.output and "tv_S" in result.output


def test_fit_report_roundtrip_on_meridian_national(tmp_path: Path) -> None:
    cfg = yaml.safe_load((EXAMPLES / "meridian_national.yaml").read_text())
    cfg["data"]["path"] = str((EXAMPLES / cfg["data"]["path"]).resolve())
    cfg["fit"].update({"method": "map", "svi_steps": 1500})
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "run"
    result = runner.invoke(app, ["fit", str(path), "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["channels"]) == {"Channel0", "Channel1", "Channel2", "Channel3"}
    assert summary["kpi_type"] == "conversions"
    assert all(v["cpa"] is not None for v in summary["channels"].values())
    assert (out / "report.html").stat().st_size > 10_000
    (out / "report.html").unlink()
    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 0
    assert (out / "report.html").is_file()
    shutil.rmtree(out)


@pytest.mark.parametrize("module", ["mixflow", "mixflow.cli.main"])
def test_python_m_lists_every_command(module: str) -> None:
    # the console script and `python -m` must offer the same commands (the lifecycle and
    # experiment commands register themselves on the app of the imported module)
    out = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("fit", "experiment", "refresh", "register", "promote", "monitor", "demo"):
        assert f" {command} " in out, (command, out)


def test_command_line_starts_without_the_numeric_stack() -> None:
    # `mixflow --help` and argument errors answer at once: the command modules import pandas,
    # SciPy and JAX only inside the commands that use them (0.3 s start-up instead of 1.4 s)
    code = (
        "import sys, mixflow.cli.main; "
        "print(sorted(m for m in ('pandas', 'scipy', 'jax', 'numpyro') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]", out
