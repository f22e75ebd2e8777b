"""What each kind of job does, run in the worker's child process (so it can be killed).

A handler takes ``(payload, folder)``: the job's payload as the API queued it and the job's own
folder, ``<MIXFLOW_HOME>/jobs/<job id>`` (so the worker's home is ``folder.parents[1]``). It
returns the job's JSON result, or raises a :class:`~mixflow.errors.MixflowError` whose message
becomes the job's error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

#: a handler takes (payload, job folder) and returns the job's JSON result
Handler = Callable[[dict[str, Any], Path], dict[str, Any]]


def _setup_jax() -> None:
    """One CPU device, and the persistent compilation cache the CLI uses (a worker's second fit
    of the same shape then skips compiling)."""
    import numpyro

    numpyro.set_host_device_count(1)
    if os.environ.get("MIXFLOW_JAX_CACHE", "1") == "0":
        return
    import jax

    base = os.environ.get("MIXFLOW_CACHE_DIR") or str(
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mixflow"
    )
    path = Path(base) / "jax"
    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def report_progress(folder: Path, fraction: float) -> None:
    """Record that the job in ``folder`` is ``fraction`` (0-1) done; the worker copies it into
    the job's row at its next heartbeat."""
    tmp = folder / ".progress.tmp"
    tmp.write_text(f"{fraction:.3f}")
    tmp.replace(folder / "progress")


def read_progress(folder: Path) -> float | None:
    """The last fraction :func:`report_progress` recorded in ``folder``, or None."""
    try:
        return float((folder / "progress").read_text())
    except (OSError, ValueError):
        return None


def home_of(folder: Path) -> Path:
    """The worker's ``MIXFLOW_HOME`` given a job folder ``<home>/jobs/<id>``."""
    return Path(folder).parents[1]


def run_fit(payload: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Fit ``payload['config']`` (a config YAML in the upload folder ``payload['inputs']``)
    into ``folder/run``, then register the run as a new version of the workspace's model
    ``payload['model_name']`` (registered as ``<workspace>.<model_name>``, gates run with the
    default policy). Result: ``{"model_name", "version", "run_id"}``.

    Registration is the last step: a fit that fails or is cancelled (its process killed) before
    it registers no version."""
    _setup_jax()
    from mixflow.lifecycle.registry import register
    from mixflow.report import render_report
    from mixflow.report.model_card import model_card_html
    from mixflow.service.settings import ServiceSettings
    from mixflow.service.store import lifecycle_settings, registered_name
    from mixflow.workflow.runs import fit_run

    workspace = str(payload["workspace"])
    model_name = str(payload["model_name"])
    name = registered_name(workspace, model_name)
    run_dir = folder / "run"
    report_progress(folder, 0.1)
    fit_run(Path(payload["inputs"]) / str(payload["config"]), run_dir, progress_bar=False)
    report_progress(folder, 0.8)
    render_report(run_dir)  # as mixflow fit does: the version's artifacts include report.html
    report_progress(folder, 0.9)
    settings = lifecycle_settings(ServiceSettings(home=home_of(folder)))
    info = register(
        run_dir,
        name,
        settings,
        actor=str(payload.get("submitted_by") or "service"),
        reason=f"fit job {folder.name}",
        card_page=model_card_html,
        audit_extra={
            "workspace": workspace,
            "job_id": folder.name,
            "request_id": str(payload.get("request_id", "")),
        },
    )
    return {"model_name": model_name, "version": info.version, "run_id": info.run_id}


def run_experiment_analysis(payload: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Analyse a geo experiment as ``mixflow experiment analyze`` does, writing
    ``folder/out/result.json`` and ``report.html``; the result is ``result.json``'s content."""
    from datetime import date

    from mixflow.data.io import atomic_write_text
    from mixflow.data.loaders import read_table
    from mixflow.experiments.geo import analyze_panel, panel_from_table
    from mixflow.experiments.geo_bands import effect_bands
    from mixflow.experiments.methods import GeoMethod
    from mixflow.report.experiment_pages import render_geo_report

    panel = panel_from_table(
        read_table(Path(payload["inputs"]) / str(payload["data"])),
        date_column=str(payload["date_column"]),
        location_column=str(payload["location_column"]),
        kpi_column=str(payload["kpi_column"]),
        spend_column=payload.get("spend_column"),
    )
    result = analyze_panel(
        panel,
        list(payload["treated"]),
        date.fromisoformat(str(payload["start"])),
        date.fromisoformat(str(payload["end"])),
        GeoMethod(payload["method"]),
    )
    out = folder / "out"
    out.mkdir(parents=True, exist_ok=True)
    document = result.to_document()  # the typed GeoResultDocument, as the CLI writes it
    text = json.dumps(document.to_json_dict(), indent=2, allow_nan=False) + "\n"
    atomic_write_text(out / "result.json", text)
    atomic_write_text(out / "report.html", render_geo_report(result, effect_bands(panel, result)))
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def run_portfolio_fit(payload: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Fit the uploaded portfolio ``payload['portfolio']`` as ``mixflow portfolio fit`` does,
    one Ray task per model, into ``folder/out``; with ``payload['register']`` each model is
    registered as ``<workspace>.<name>`` with gates. The result is ``portfolio.json``'s
    content (a model's failure is recorded there, not raised)."""
    from mixflow.portfolio import RayOptions, fit_portfolio, load_portfolio
    from mixflow.service.settings import ServiceSettings
    from mixflow.service.store import SEPARATOR

    settings = ServiceSettings(home=home_of(folder))
    env = {"MIXFLOW_HOME": str(settings.home)}
    for name in ("MLFLOW_TRACKING_URI", "MIXFLOW_EXPERIMENT"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    workspace = str(payload["workspace"])
    record = fit_portfolio(
        load_portfolio(Path(payload["inputs"]) / str(payload["portfolio"])),
        folder / "out",
        ray_options=RayOptions(
            address=settings.ray_address or None, local_cpus=settings.ray_local_cpus or None
        ),
        register=bool(payload.get("register")),
        tracking_env=env,
        progress=False,
        name_prefix=f"{workspace}{SEPARATOR}",
        actor=str(payload.get("submitted_by") or "service"),
    )
    loaded: dict[str, Any] = json.loads(record.model_dump_json())
    return loaded


HANDLERS: Mapping[str, Handler] = {
    "fit": run_fit,
    "portfolio_fit": run_portfolio_fit,
    "experiment_analysis": run_experiment_analysis,
}
