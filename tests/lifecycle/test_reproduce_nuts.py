"""``mixflow reproduce`` refits a registered NUTS run exactly as ``mixflow fit`` ran it: JAX set
up the same way (one device per chain, chains in parallel), the same fit function."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ConfigWriter = Callable[[Path, dict[str, Any]], Path]


def _mixflow(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MIXFLOW_HOME": str(home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run(
        [sys.executable, "-m", "mixflow", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_reproduce_matches_a_registered_two_chain_nuts_run(
    tmp_path: Path, small_brand_config: ConfigWriter
) -> None:
    fit = {"chains": 2, "warmup": 60, "draws": 60, "seed": 4, "progress_bar": False}
    config = small_brand_config(tmp_path, fit)
    home = tmp_path / "home"
    out = tmp_path / "run"
    done = _mixflow(["fit", str(config), "--out", str(out), "--no-report", "--register", "b"], home)
    assert done.returncode == 0, done.stderr
    shown = _mixflow(["models", "show", "b", "--json"], home)
    run_id = json.loads(shown.stdout)["versions"][0]["run_id"]
    again = _mixflow(["reproduce", run_id, "--json"], home)
    assert again.returncode == 0, again.stdout + again.stderr
    result = json.loads(again.stdout)
    assert result == {"run_id": run_id, "matches": True, "differences": []}
