"""`mixflow refresh` through the CLI under the default `auto_promote: false` (docs/lifecycle.md:
"the same refresh ends `awaiting approval` and exits 1"): a challenger that passes every check
is registered and left for approval, exit 1, distinct from exit 0 (promoted, tested in
test_refresh.py) and exit 2 (bad input, test_refresh.py and tests/cli/test_promises_lifecycle.py).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from mixflow.cli.main import app
from mixflow.lifecycle import Alias, LifecycleSettings, model_versions, promote, register

NEW_WEEKS = 4


def _extend(src: Path, dst: Path, weeks: int) -> Path:
    """``src`` plus ``weeks`` more weeks (copies of its last ones, dated after it)."""
    frame = pd.read_csv(src)
    dates = pd.to_datetime(frame["date"])
    tail = frame.iloc[-weeks:].copy()
    tail["date"] = (dates.iloc[-weeks:] + pd.Timedelta(weeks=weeks)).dt.strftime("%Y-%m-%d")
    pd.concat([frame, tail], ignore_index=True).to_csv(dst, index=False)
    return dst


@pytest.mark.slow  # a MAP refit plus two registrations: ~20 s alone, minutes on a loaded box
def test_refresh_passing_every_check_awaits_approval_and_exits_1(
    svi_run_dir: Path, settings: LifecycleSettings, tmp_path: Path
) -> None:
    register(svi_run_dir, "brand", settings, actor="ana")
    promote("brand", 1, Alias.CHAMPION, "ana", "first", settings)
    data = _extend(svi_run_dir.parent / "data.csv", tmp_path / "ext.csv", NEW_WEEKS)
    policy = tmp_path / "refresh.yaml"
    # auto_promote left at its default (false); the checks are made unable to fail
    policy.write_text(
        f"holdout_weeks: {NEW_WEEKS}\nmax_roi_shift: 100.0\nholdout_tolerance: 100.0\n"
    )
    env = {"MIXFLOW_HOME": str(settings.home), "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
    args = ["refresh", "brand", "--data", str(data), "--policy", str(policy), "--by", "cron"]
    args += ["--out", str(tmp_path / "refresh")]
    res = CliRunner().invoke(app, args, env=env)
    assert res.exit_code == 1, res.output
    first = res.output.strip().splitlines()[0]
    assert first.endswith("against champion version 1: awaiting approval"), res.output
    assert "challenger version 2" in first
    assert "[FAILED]" not in res.output and "[ok] challenger passed every gate" in res.output
    # registered as the challenger, the champion unchanged
    versions = {v.version: v.aliases for v in model_versions("brand", settings)}
    assert versions == {1: ("champion",), 2: ("challenger",)}
