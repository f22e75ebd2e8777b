"""What each kind of job does, run in the worker's child process (so it can be killed)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

#: a handler takes (payload, job folder) and returns the job's JSON result
Handler = Callable[[dict[str, Any], Path], dict[str, Any]]


def run_fit(payload: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Fit ``payload['config']`` (a config YAML in the upload folder ``payload['inputs']``)
    into ``folder/run``."""
    import numpyro

    numpyro.set_host_device_count(1)
    from mixflow.workflow.runs import fit_run

    run_dir = folder / "run"
    fit_run(Path(payload["inputs"]) / str(payload["config"]), run_dir, progress_bar=False)
    return {"run_dir": str(run_dir)}


HANDLERS: Mapping[str, Handler] = {"fit": run_fit}
