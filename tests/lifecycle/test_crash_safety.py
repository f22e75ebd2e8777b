"""A crash in the middle of a fit or of a registration leaves no half-registered version: no new
model version, no alias moved, no refresh decision audited, and the MLflow run marked FAILED."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from mixflow.lifecycle import (
    Alias,
    LifecycleSettings,
    audit_log,
    model_versions,
    promote,
    register,
)
from mixflow.lifecycle.tracking import make_client


def _extended(svi_run_dir: Path, dst: Path, weeks: int = 4) -> Path:
    """The fixture's data plus ``weeks`` more weeks (copies of its last ones)."""
    frame = pd.read_csv(svi_run_dir.parent / "data.csv")
    dates = pd.to_datetime(frame["date"])
    tail = frame.iloc[-weeks:].copy()
    tail["date"] = (dates.iloc[-weeks:] + pd.Timedelta(weeks=weeks)).dt.strftime("%Y-%m-%d")
    pd.concat([frame, tail], ignore_index=True).to_csv(dst, index=False)
    return dst


def _champion(svi_run_dir: Path, settings: LifecycleSettings) -> None:
    register(svi_run_dir, "brand", settings, actor="ana")
    promote("brand", 1, Alias.CHAMPION, "ana", "first model", settings)


def _runs(settings: LifecycleSettings) -> list[tuple[str, str]]:
    """``(run name, status)`` of every run in the experiment, sorted."""
    client = make_client(settings)
    experiment = client.get_experiment_by_name(settings.experiment_name)
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    return sorted((str(r.info.run_name), str(r.info.status)) for r in runs)


def _assert_nothing_half_registered(settings: LifecycleSettings) -> None:
    versions = model_versions("brand", settings)
    assert [(v.version, v.aliases) for v in versions] == [(1, ("champion",))]
    assert [r["action"] for r in audit_log("brand", settings)] == ["register", "promote"]


def test_a_fit_that_raises_marks_the_run_failed_and_registers_nothing(
    svi_run_dir: Path,
    settings: LifecycleSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from mixflow.cli.main import app
    from mixflow.lifecycle import refresh as refresh_module

    _champion(svi_run_dir, settings)

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("out of memory in the middle of the fit")

    monkeypatch.setattr(refresh_module, "fit_dataset", crash)
    data = _extended(svi_run_dir, tmp_path / "ext.csv")
    args = ["refresh", "brand", "--data", str(data), "--by", "cron"]
    res = CliRunner().invoke(app, args, env={"MIXFLOW_HOME": str(settings.home)})
    # exit 2, not 1: for a scheduler 1 means "registered, not promoted"
    assert res.exit_code == 2
    assert res.output.strip().splitlines()[-1] == (
        "error: refresh failed: RuntimeError: out of memory in the middle of the fit"
    )
    assert _runs(settings) == [("brand", "FINISHED"), ("brand refresh", "FAILED")]
    _assert_nothing_half_registered(settings)


def test_a_registration_that_fails_while_logging_creates_no_version(
    svi_run_dir: Path,
    settings: LifecycleSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlflow import MlflowClient

    _champion(svi_run_dir, settings)

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(MlflowClient, "log_artifacts", disk_full)
    with pytest.raises(OSError, match="No space left"):
        register(svi_run_dir, "brand", settings, actor="ana")
    # the champion's run, and the one whose artifacts could not be written
    assert _runs(settings) == [("brand", "FAILED"), ("brand", "FINISHED")]
    _assert_nothing_half_registered(settings)


_SIGTERM_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys

    import mixflow.lifecycle.refresh as refresh

    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # as `timeout` or a scheduler would
        raise AssertionError("SIGTERM did not stop the refresh")

    refresh.fit_dataset = terminated
    from mixflow.cli.main import run

    sys.argv = ["mixflow", "refresh", "brand", "--data", sys.argv[1], "--by", "cron"]
    run()
    """
)


def test_sigterm_during_a_refresh_exits_143_and_marks_the_run_failed(
    svi_run_dir: Path, settings: LifecycleSettings, tmp_path: Path
) -> None:
    _champion(svi_run_dir, settings)
    data = _extended(svi_run_dir, tmp_path / "ext.csv")
    env = os.environ | {
        "MIXFLOW_HOME": str(settings.home),
        "MIXFLOW_JAX_CACHE": "0",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run(
        [sys.executable, "-c", _SIGTERM_SCRIPT, str(data)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 143, done.stderr[-2000:]
    assert "SIGTERM did not stop" not in done.stderr
    assert _runs(settings) == [("brand", "FINISHED"), ("brand refresh", "FAILED")]
    _assert_nothing_half_registered(settings)


def test_held_signals_deliver_a_sigterm_only_at_release() -> None:
    import os
    import signal

    from mixflow.lifecycle.tracking import held_signals

    class Terminated(Exception):
        pass

    def on_term(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, on_term)
    reached = []
    try:
        with pytest.raises(Terminated), held_signals() as release:
            os.kill(os.getpid(), signal.SIGTERM)
            reached.append("after the signal")  # held: the block goes on
            release()
            reached.append("after release")  # not reached: delivered at release
        assert reached == ["after the signal"]
        assert signal.getsignal(signal.SIGTERM) is on_term  # the handler is back
        with held_signals():  # nothing pending: nothing raised, nothing left held
            pass
        with pytest.raises(Terminated):
            os.kill(os.getpid(), signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, previous)
