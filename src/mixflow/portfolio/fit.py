"""Fit every model of a portfolio on Ray: one task per model, retried when a worker or a node is
lost, one model's failure recorded without stopping the others, resumable.

A task is a pure function of (merged config, data, settings) -> run folder (:func:`fit_model`),
so Ray may run it again after a lost worker without harm: the run folder is written as one unit
(:func:`mixflow.workflow.write_run`). The driver (:func:`fit_portfolio`) keeps
``DIR/portfolio.json`` up to date after every finished model (written atomically), so a killed
driver loses nothing that finished, and a re-run skips every model whose config and data
fingerprints already succeeded in ``DIR``.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mixflow.analysis.schema import SUMMARY_FILE, load_summary
from mixflow.analysis.summary import analyze
from mixflow.data.folders import verify_folder
from mixflow.data.io import atomic_write_text
from mixflow.data.loaders import load_dataset
from mixflow.errors import MixflowError, RunDirError
from mixflow.lifecycle.gates import GatePolicy
from mixflow.portfolio.schema import ModelRecord, ModelState, PortfolioRecord
from mixflow.portfolio.spec import Portfolio, PortfolioModel
from mixflow.spec.config import parse_config
from mixflow.spec.model_spec import inline_calibration
from mixflow.workflow import fit_dataset, with_overrides, write_run
from mixflow.workflow.runs import check_channel_names

#: the file ``portfolio fit`` writes into DIR
RECORD_FILE = "portfolio.json"
#: run folders go under DIR/RUNS_DIR/NAME
RUNS_DIR = "runs"
#: how often Ray runs a task again after its worker or node died (not after a model's error)
MAX_RETRIES = 3

#: what a worker calls before its first JAX computation: ``setup(n_devices)``
WorkerSetup = Callable[[int], None]


@dataclass(frozen=True)
class FitTask:
    """Everything one model's fit needs; picklable, so Ray ships it to any node.

    ``tracking_env`` holds the lifecycle's environment variables (``MIXFLOW_HOME`` made
    absolute, ``MLFLOW_TRACKING_URI``) for ``register``."""

    name: str
    config: dict[str, Any]
    config_path: str
    run_dir: str
    config_fingerprint: str
    portfolio: str
    register: bool = False
    policy: GatePolicy | None = None
    value_per_kpi: float | None = None
    tracking_env: dict[str, str] = field(default_factory=dict)
    #: the registry name (default ``name``; the service registers ``<workspace>.<name>``)
    registered_name: str | None = None
    #: who the registration's audit names
    actor: str = "portfolio"


def _node_id() -> str | None:
    try:
        import ray

        if ray.is_initialized():
            return str(ray.get_runtime_context().get_node_id())
    except Exception:
        return None
    return None


def _peak_rss_mib() -> float | None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _failed(task: FitTask, message: str, t0: float, data_fp: str | None = None) -> ModelRecord:
    return ModelRecord(
        state=ModelState.FAILED,
        error=message,
        wall_seconds=time.perf_counter() - t0,
        config_fingerprint=task.config_fingerprint,
        data_fingerprint=data_fp,
        node=_node_id(),
        peak_rss_mib=_peak_rss_mib(),
    )


def fit_model(task: FitTask, setup: WorkerSetup | None = None) -> ModelRecord:
    """Fit one model and write its run folder (and register it when asked): the Ray task.

    Every error of the model itself (bad data, a config the data contradicts, a failed fit) is
    returned as a ``failed`` record with its message, never raised: Ray's retries are kept for
    lost workers and nodes, where running the task again can help."""
    t0 = time.perf_counter()
    data_fp: str | None = None
    try:
        cfg = parse_config(task.config, source=task.config_path)
        if setup is not None:
            setup(cfg.fit.chains)
        base = Path(task.config_path).parent
        cfg = with_overrides(inline_calibration(cfg, base), progress_bar=False)
        data = load_dataset(cfg.data, base)
        data_fp = data.fingerprint()
        check_channel_names(data.channels)
        posterior = fit_dataset(cfg, data)
        analysis = analyze(posterior)
        with tempfile.TemporaryDirectory() as tmp:
            merged = Path(tmp) / "config.yaml"
            merged.write_text(yaml.safe_dump(task.config, sort_keys=False), encoding="utf-8")
            write_run(posterior, analysis, Path(task.run_dir), config_file=merged)
        version, gates_ok = None, None
        if task.register:
            from mixflow.lifecycle import register, settings_from_env

            info = register(
                Path(task.run_dir),
                task.registered_name or task.name,
                settings_from_env(task.tracking_env),
                policy=task.policy,
                actor=task.actor,
                reason=f"portfolio {task.portfolio}",
            )
            version, gates_ok = info.version, info.gates_passed
    except MixflowError as err:
        return _failed(task, str(err), t0, data_fp)
    except Exception as err:
        return _failed(task, f"{type(err).__name__}: {err}", t0, data_fp)
    # the file, not the in-memory object: summary.json's format is the stable contract
    summary = load_summary(Path(task.run_dir) / SUMMARY_FILE)
    diag = posterior.diagnostics
    return ModelRecord(
        state=ModelState.SUCCEEDED,
        run_dir=task.run_dir,
        registered_version=version,
        gates_passed=gates_ok,
        wall_seconds=time.perf_counter() - t0,
        rhat_max=diag.rhat_max,
        ess_bulk_min=diag.ess_bulk_min,
        roi={ch: v.roi.mean for ch, v in summary.channels.items()},  # the reported statistic
        kpi_type=data.kpi_type.value,
        value_per_kpi=task.value_per_kpi,
        config_fingerprint=task.config_fingerprint,
        data_fingerprint=data_fp,
        node=_node_id(),
        peak_rss_mib=_peak_rss_mib(),
    )


def data_fingerprint(model: PortfolioModel) -> str | None:
    """The fingerprint of the model's dataset, or ``None`` when it cannot be loaded (the fit
    task then reports why)."""
    try:
        cfg = inline_calibration(model.parsed(), model.base)
        return load_dataset(cfg.data, model.base).fingerprint()
    except MixflowError:
        return None


def read_record(out_dir: Path) -> PortfolioRecord | None:
    """``DIR/portfolio.json``, or ``None`` when there is none; an unreadable one is refused."""
    path = Path(out_dir) / RECORD_FILE
    if not path.is_file():
        return None
    try:
        return PortfolioRecord.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (UnicodeDecodeError, ValueError) as err:
        raise RunDirError(
            f"{path} is not a portfolio record ({type(err).__name__}); move it away to refit"
        ) from None


def _reusable(
    prev: ModelRecord | None, model: PortfolioModel, data_fp: str | None, register: bool
) -> bool:
    if prev is None or prev.state is not ModelState.SUCCEEDED or data_fp is None:
        return False
    if prev.config_fingerprint != model.config_fingerprint or prev.data_fingerprint != data_fp:
        return False
    if register and prev.registered_version is None:
        return False
    try:
        verify_folder(Path(str(prev.run_dir)))
    except MixflowError:
        return False
    return True


def write_record(
    portfolio: Portfolio, out_dir: Path, records: Mapping[str, ModelRecord]
) -> PortfolioRecord:
    """Write ``DIR/portfolio.json`` atomically (models in the portfolio file's order)."""
    ordered = {m.name: records[m.name] for m in portfolio.models if m.name in records}
    doc = PortfolioRecord(
        portfolio=portfolio.name,
        file=str(portfolio.path),
        models=ordered,
        succeeded=sum(r.state is ModelState.SUCCEEDED for r in ordered.values()),
        failed=sum(r.state is ModelState.FAILED for r in ordered.values()),
    )
    atomic_write_text(
        Path(out_dir) / RECORD_FILE, json.dumps(doc.model_dump(mode="json"), indent=2)
    )
    return doc


@dataclass(frozen=True)
class RayOptions:
    """Where and how the tasks run.

    Attributes:
        address: a Ray cluster (``ray start --head`` prints it) or ``None``: ``RAY_ADDRESS``
            when set, else a local Ray started for this call and stopped after it.
        cpus_per_fit: CPUs each fit task declares (Ray runs as many at once as fit).
        local_cpus: CPUs of a local Ray (default: this machine's count).
        max_retries: re-runs of a task whose worker or node died.
    """

    address: str | None = None
    cpus_per_fit: int = 1
    local_cpus: int | None = None
    max_retries: int = MAX_RETRIES


def _start_ray(opts: RayOptions) -> bool:
    """Connect to (or start) Ray; ``True`` when this call started it (and must stop it)."""
    import ray

    if ray.is_initialized():
        return False
    address = opts.address or os.environ.get("RAY_ADDRESS") or None
    if address:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    else:
        ray.init(
            num_cpus=opts.local_cpus or os.cpu_count() or 1,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.WARNING,
        )
    return True


def fit_portfolio(
    portfolio: Portfolio,
    out_dir: Path,
    *,
    ray_options: RayOptions | None = None,
    register: bool = False,
    tracking_env: Mapping[str, str] | None = None,
    setup: WorkerSetup | None = None,
    progress: bool = True,
    name_prefix: str = "",
    actor: str = "portfolio",
) -> PortfolioRecord:
    """Fit (or resume) every model of ``portfolio`` into ``out_dir``; see the module docstring.
    With ``register``, model ``NAME`` is registered as ``name_prefix + NAME`` by ``actor``.

    Returns the record written to ``DIR/portfolio.json``."""
    opts = ray_options or RayOptions()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    prev = read_record(out_dir)
    records: dict[str, ModelRecord] = {}
    todo: list[FitTask] = []
    env = dict(tracking_env or {})
    for m in portfolio.models:
        data_fp = data_fingerprint(m)
        old = prev.models.get(m.name) if prev else None
        if old is not None and _reusable(old, m, data_fp, register):
            # the value per KPI is read by optimize, not by the fit: the entry's current one holds
            records[m.name] = old.model_copy(
                update={"resumed": True, "value_per_kpi": m.value_per_kpi}
            )
            continue
        todo.append(
            FitTask(
                name=m.name,
                config=m.config,
                config_path=str(m.config_path),
                run_dir=str(out_dir / RUNS_DIR / m.name),
                config_fingerprint=m.config_fingerprint,
                portfolio=portfolio.name,
                register=register,
                policy=m.policy,
                value_per_kpi=m.value_per_kpi,
                tracking_env=env,
                registered_name=name_prefix + m.name,
                actor=actor,
            )
        )
    write_record(portfolio, out_dir, records)
    if todo:
        _run_on_ray(portfolio, out_dir, todo, records, opts, setup, progress)
    return write_record(portfolio, out_dir, records)


def _run_on_ray(
    portfolio: Portfolio,
    out_dir: Path,
    todo: list[FitTask],
    records: dict[str, ModelRecord],
    opts: RayOptions,
    setup: WorkerSetup | None,
    progress: bool,
) -> None:
    import ray
    from ray.exceptions import RayError
    from tqdm.auto import tqdm

    started = _start_ray(opts)
    try:
        remote = ray.remote(
            num_cpus=opts.cpus_per_fit, max_retries=opts.max_retries, retry_exceptions=False
        )(fit_model)
        pending = {remote.remote(t, setup): t for t in todo}  # type: ignore[call-arg]
        failed = 0
        with tqdm(total=len(todo), desc="models", unit="model", disable=not progress) as bar:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                task = pending.pop(done[0])
                try:
                    rec: ModelRecord = ray.get(done[0])
                except RayError as err:  # retries exhausted: the worker or node kept dying
                    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
                    rec = ModelRecord(
                        state=ModelState.FAILED,
                        error=f"{type(err).__name__}: {first}",
                        config_fingerprint=task.config_fingerprint,
                    )
                records[task.name] = rec
                failed += rec.state is ModelState.FAILED
                write_record(portfolio, out_dir, records)
                bar.update(1)
                bar.set_postfix(failed=failed)
    finally:
        if started:
            ray.shutdown()


__all__ = [
    "MAX_RETRIES",
    "RECORD_FILE",
    "RUNS_DIR",
    "FitTask",
    "RayOptions",
    "data_fingerprint",
    "fit_model",
    "fit_portfolio",
    "read_record",
    "write_record",
]
