"""The entry point: --version, and a terminal free of third-party import banners."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

import mixflow
from mixflow.cli.main import app


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"mixflow {mixflow.__version__}"


def test_cli_import_hides_arviz_banner_but_not_other_warnings(tmp_path: Path) -> None:
    # a fresh cache folder: ArviZ shows its FutureWarning banner once a day, stamped there
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "PYTHONWARNINGS": "default"}
    code = "import warnings, mixflow.cli.main, arviz\nwarnings.warn('still shown', FutureWarning)\n"
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "ArviZ is undergoing" not in proc.stderr
    assert "still shown" in proc.stderr
    # the banner was due: without mixflow's filter the same fresh cache shows it
    bare = subprocess.run(
        [sys.executable, "-c", "import arviz"],
        env={**env, "XDG_CACHE_HOME": str(tmp_path / "other")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "ArviZ is undergoing" in bare.stderr
