"""Log a run directory to MLflow: config as params, fit quality as metrics, the data as a
dataset input, files as artifacts.

Only :class:`mlflow.MlflowClient` is used (never the fluent ``mlflow.*`` API and its global
active run / tracking URI), so several stores can be used side by side in one process.

A run is either logged in one go after the fit (:func:`log_run`), or opened before a fit with
:func:`tracked_run` and filled in afterwards (``log_run(..., run_id=...)``): a fit that crashes
inside ``tracked_run`` leaves its run marked ``FAILED`` and nothing registered.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import socket
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mixflow.analysis.schema import SUMMARY_FILE, DiagnosticsSummary, RunSummary, load_summary
from mixflow.errors import RunDirError
from mixflow.lifecycle.settings import LifecycleSettings

if TYPE_CHECKING:
    from mlflow import MlflowClient

#: the artifact folder a run directory is logged under, inside the MLflow run
RUN_ARTIFACT_PATH = "run"
#: files every registrable run directory has (see mixflow.posterior.posterior)
REQUIRED_FILES = ("summary.json", "config.json", "posterior.json", "posterior.nc")
DIAGNOSTIC_METRICS = (
    "rhat_max",
    "ess_bulk_min",
    "ess_tail_min",
    "divergences",
    "divergence_rate",
    "fit_seconds",
)
FIT_METRICS = ("r2", "mape", "nrmse", "holdout_r2", "holdout_mape", "holdout_nrmse")
_PARAM_VALUE_MAX = 6000  # MLflow's limit on a param value (characters)
_BATCH = 100  # MLflow accepts at most 100 params / tags per log_batch call
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_\-. /]")
#: MLflow stores a dataset digest in a column of 36 characters
_DIGEST_CHARS = 16
#: tags naming the process that opened a run (to fail it once that process is gone)
HOST_TAG = "mixflow.host"
PID_TAG = "mixflow.pid"


def make_client(settings: LifecycleSettings) -> MlflowClient:
    """A client of the tracking store and registry of ``settings`` (creating the home folder)."""
    from mlflow import MlflowClient

    settings.ensure_home()
    return MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.registry_uri)


def ensure_experiment(client: MlflowClient, settings: LifecycleSettings) -> str:
    """The id of the settings' experiment, created on first use."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(settings.experiment_name)
    if found is not None:
        return str(found.experiment_id)
    location = settings.artifact_location if settings.embedded else None
    try:
        return str(client.create_experiment(settings.experiment_name, artifact_location=location))
    except MlflowException:  # created concurrently by another writer
        found = client.get_experiment_by_name(settings.experiment_name)
        if found is None:
            raise
        return str(found.experiment_id)


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested mapping -> ``{"a.b.c": "value"}``; lists become JSON text, values are truncated
    to MLflow's parameter limit."""
    out: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, prefix=f"{name}."))
            continue
        text = json.dumps(value) if isinstance(value, list | tuple) else str(value)
        out[_KEY_UNSAFE.sub("_", name)] = text[:_PARAM_VALUE_MAX]
    return out


def run_metrics(summary: RunSummary) -> dict[str, float]:
    """Diagnostics, fit metrics and per-channel posterior mean ROI (``roi_mean.<channel>``, the
    one statistic every output reports, :data:`~mixflow.analysis.schema.POINT_STATISTIC`) of a
    summary; ``None``/NaN skipped. Runs logged before this carry ``roi_median.<channel>``
    instead; nothing reads these metrics back, so both load and compare alike."""
    candidates: dict[str, Any] = {}
    candidates.update(summary.diagnostics.model_dump(include=set(DIAGNOSTIC_METRICS)))
    candidates.update(summary.fit.model_dump(include=set(FIT_METRICS)))
    for channel, table in summary.channels.items():
        candidates[_KEY_UNSAFE.sub("_", f"roi_mean.{channel}")] = table.roi.mean
    return {
        k: float(v)
        for k, v in candidates.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    }


def git_commit(cwd: Path) -> str | None:
    """``git rev-parse HEAD`` in ``cwd``, or ``None`` when that is not a git checkout."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def run_tags(summary: RunSummary, config: Mapping[str, Any], cwd: Path) -> dict[str, str]:
    """Versions, data fingerprint, seed, method and (when available) the git commit."""
    import jax
    import numpyro

    from mixflow import __version__

    tags = {
        "mixflow.version": __version__,
        "mixflow.jax_version": jax.__version__,
        "mixflow.numpyro_version": numpyro.__version__,
        "mixflow.data_fingerprint": summary.data.fingerprint,
        "mixflow.seed": str(config.get("fit", {}).get("seed", "")),
        "mixflow.method": summary.method,
        "mixflow.model_name": summary.name,
    }
    commit = git_commit(cwd)
    if commit is not None:
        tags["mlflow.source.git.commit"] = commit
        tags["mixflow.git_commit"] = commit
    return tags


def read_run_dir(run_dir: Path) -> tuple[RunSummary, dict[str, Any]]:
    """``(summary, config)`` of a run directory, checked as a whole: against its manifest
    (:func:`mixflow.data.folders.verify_folder`), and its diagnostics against those computed
    afresh from ``posterior.nc``, so that an edited summary cannot pass the gates.
    :class:`RunDirError` names a missing, damaged or altered file."""
    from mixflow.data.folders import verify_folder

    run_dir = Path(run_dir)
    verify_folder(run_dir)
    for name in REQUIRED_FILES:
        if not (run_dir / name).is_file():
            raise RunDirError(f"{run_dir}: missing {name}; is this a mixflow run directory?")
    _read_json_object(run_dir, SUMMARY_FILE)  # a damaged file is named as the others are
    summary = load_summary(run_dir / SUMMARY_FILE)
    config = _read_json_object(run_dir, "config.json")
    check_diagnostics(run_dir, summary)
    return summary, config


def _read_json_object(run_dir: Path, name: str) -> dict[str, Any]:
    try:
        value = json.loads((run_dir / name).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise RunDirError(f"{name} in {run_dir} is damaged (not readable JSON)") from None
    if not isinstance(value, dict):
        raise RunDirError(f"{name} in {run_dir} is damaged (not a JSON object)")
    return value


#: diagnostics the gates judge, and the tolerance a recomputation may differ by
_CHECKED_DIAGNOSTICS = {"rhat_max": 1e-6, "ess_bulk_min": 1e-6, "ess_tail_min": 1e-6}


def check_diagnostics(run_dir: Path, summary: RunSummary) -> None:
    """Refuse a summary whose R-hat, ESS or divergence count differ from those recomputed
    from the run's ``posterior.nc``."""
    from mixflow.posterior.posterior import recomputed_diagnostics

    keys = {*_CHECKED_DIAGNOSTICS, "divergences"}
    stated_diag = summary.diagnostics
    fresh_diag = DiagnosticsSummary.model_validate(recomputed_diagnostics(run_dir).to_dict())
    stated, fresh = stated_diag.model_dump(include=keys), fresh_diag.model_dump(include=keys)
    wrong = []
    for key, rtol in _CHECKED_DIAGNOSTICS.items():
        a, b = stated[key], fresh[key]
        if (a is None) != (b is None) or (
            a is not None
            and b is not None
            and not math.isclose(float(a), float(b), rel_tol=rtol, abs_tol=1e-9)
        ):
            wrong.append(f"{key} {a!r} (posterior.nc: {b!r})")
    if stated_diag.divergences != fresh_diag.divergences:
        wrong.append(
            f"divergences {stated_diag.divergences!r} (posterior.nc: {fresh_diag.divergences!r})"
        )
    if wrong:
        raise RunDirError(
            f"summary.json in {run_dir} was altered: its diagnostics differ from posterior.nc: "
            + "; ".join(wrong)
        )


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def start_run(
    settings: LifecycleSettings, run_name: str, tags: Mapping[str, str] | None = None
) -> str:
    """Open a new MLflow run (status ``RUNNING``) in the settings' experiment; its id. The run
    is tagged with this host and process id, and runs left ``RUNNING`` by a process of this host
    that no longer exists (killed) are marked ``FAILED`` first (:func:`fail_orphaned_runs`)."""
    client = make_client(settings)
    experiment_id = ensure_experiment(client, settings)
    fail_orphaned_runs(client, experiment_id)
    owner = {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}
    run = client.create_run(experiment_id, run_name=run_name, tags={**owner, **dict(tags or {})})
    return str(run.info.run_id)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_orphaned_runs(client: MlflowClient, experiment_id: str) -> list[str]:
    """Mark ``FAILED`` the runs of ``experiment_id`` left ``RUNNING`` by a process of this host
    that has ended (SIGKILL leaves no chance to do it at the time); their ids."""
    host = socket.gethostname()
    failed = []
    for run in client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'"):
        run_tags_ = run.data.tags
        pid = run_tags_.get(PID_TAG, "")
        if run_tags_.get(HOST_TAG) != host or not pid.isdigit() or _alive(int(pid)):
            continue
        client.set_terminated(run.info.run_id, status="FAILED")
        failed.append(str(run.info.run_id))
    return failed


def mark_failed(run_id: str, settings: LifecycleSettings) -> None:
    """Mark run ``run_id`` ``FAILED`` unless it already ended."""
    client = make_client(settings)
    if client.get_run(run_id).info.status == "RUNNING":
        client.set_terminated(run_id, status="FAILED")


@contextmanager
def held_signals() -> Iterator[Callable[[], None]]:
    """Hold SIGTERM and SIGINT for the ``with`` block (main thread only): a signal that
    arrives is recorded instead of handled, and delivered to the previous handlers when the
    block calls the ``release()`` it was given, or at the latest when it ends.

    Opening an MLflow run and entering the ``try`` that marks it ``FAILED`` are two steps; a
    signal between them (while ``create_run`` returns, say) used to leave the run
    ``RUNNING`` until the next registration's sweep. Opening under held signals and releasing
    them inside the ``try`` closes that window."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return
    pending: list[int] = []

    def hold(signum: int, frame: object) -> None:
        pending.append(signum)

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGTERM, signal.SIGINT)}
    released = False

    def release() -> None:
        nonlocal released
        if released:
            return
        released = True
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for signum in pending:
            signal.raise_signal(signum)  # the previous handler runs here, in the caller

    try:
        yield release
    finally:
        release()


@contextmanager
def tracked_run(
    settings: LifecycleSettings, run_name: str, tags: Mapping[str, str] | None = None
) -> Iterator[str]:
    """Open a run for the ``with`` block and yield its id; any exception escaping the block
    (``KeyboardInterrupt`` and ``SystemExit`` too) marks the run ``FAILED`` and propagates.
    The block ends the run itself (:func:`log_run` with ``run_id`` does)."""
    with held_signals() as release:
        run_id = start_run(settings, run_name, tags)
        try:
            release()
            yield run_id
        except BaseException:
            mark_failed(run_id, settings)
            raise


def dataset_input(run_dir: Path, summary: RunSummary, config: Mapping[str, Any]) -> Any:
    """The run's canonical dataset (``dataset.parquet``) as an MLflow dataset input: named by
    its content fingerprint, with the fingerprint's first characters as digest, the config's
    ``data.path`` as source and the KPI as target. ``None`` when the run directory has no
    ``dataset.parquet``."""
    import io

    import pandas as pd
    from mlflow.data.pandas_dataset import from_pandas

    # generated at import time by MLflow, so invisible to the type checker
    from mlflow.data.sources import LocalArtifactDatasetSource  # type: ignore[attr-defined]
    from mlflow.entities import DatasetInput, InputTag

    path = Path(run_dir) / "dataset.parquet"
    if not path.is_file():
        return None
    frame = pd.read_parquet(io.BytesIO(path.read_bytes()))
    fingerprint = summary.data.fingerprint
    source = str(config.get("data", {}).get("path") or path)
    dataset = from_pandas(
        frame,
        source=LocalArtifactDatasetSource(source),
        targets="kpi" if "kpi" in frame.columns else None,
        name=fingerprint or None,
        digest=fingerprint[:_DIGEST_CHARS] or None,
    )
    context = InputTag(key="mlflow.data.context", value="training")
    return DatasetInput(dataset=dataset._to_mlflow_entity(), tags=[context])


def log_run(
    run_dir: Path,
    settings: LifecycleSettings,
    run_name: str | None = None,
    cwd: Path | None = None,
    run_id: str | None = None,
) -> str:
    """Log ``run_dir`` as a finished MLflow run and return its run id: a new run, or the open
    run ``run_id`` (from :func:`start_run`). A failure while logging marks the run ``FAILED``.

    Params: the flattened ``config.json``. Metrics: diagnostics, fit metrics, mean ROI per
    channel. Tags: versions, data fingerprint, seed, method, git commit of ``cwd``. Input: the
    dataset (see :func:`dataset_input`). Artifacts: the whole run directory under ``run/``
    (config, summary, posterior.nc, report.html ...).
    """
    run_dir = Path(run_dir)
    summary, config = read_run_dir(run_dir)
    client = make_client(settings)
    tags = run_tags(summary, config, Path.cwd() if cwd is None else cwd)
    with held_signals() as release:
        if run_id is None:
            name = run_name or summary.name or run_dir.name
            run_id = start_run(settings, name)
        try:
            release()  # a signal held while the run opened is handled here, in the try
            _log_into(client, run_id, run_dir, summary, config, tags)
        except BaseException:
            client.set_terminated(run_id, status="FAILED")
            raise
    client.set_terminated(run_id, status="FINISHED")
    return run_id


def _log_into(
    client: MlflowClient,
    run_id: str,
    run_dir: Path,
    summary: RunSummary,
    config: Mapping[str, Any],
    tags: Mapping[str, str],
) -> None:
    from mlflow.entities import Metric, Param, RunTag

    run = client.get_run(run_id)
    params = [Param(k, v) for k, v in flatten(config).items()]
    for batch in _chunks(params, _BATCH):
        client.log_batch(run_id, params=batch)
    tag_list = [RunTag(k, v) for k, v in tags.items()]
    for batch in _chunks(tag_list, _BATCH):
        client.log_batch(run_id, tags=batch)
    metrics = [Metric(k, v, run.info.start_time, 0) for k, v in run_metrics(summary).items()]
    client.log_batch(run_id, metrics=metrics)
    data_input = dataset_input(run_dir, summary, config)
    if data_input is not None:
        client.log_inputs(run_id, datasets=[data_input])
    client.log_artifacts(run_id, str(run_dir), artifact_path=RUN_ARTIFACT_PATH)


__all__ = [
    "RUN_ARTIFACT_PATH",
    "check_diagnostics",
    "dataset_input",
    "ensure_experiment",
    "fail_orphaned_runs",
    "flatten",
    "git_commit",
    "log_run",
    "make_client",
    "mark_failed",
    "read_run_dir",
    "run_metrics",
    "run_tags",
    "start_run",
    "tracked_run",
]
