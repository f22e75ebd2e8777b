"""``mixflow reproduce RUN_ID``: refit a logged run from its own config and data snapshot and
say whether the summary comes out the same."""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mixflow.analysis.schema import SUMMARY_FILE, load_summary
from mixflow.lifecycle.errors import RegistryError
from mixflow.lifecycle.settings import LifecycleSettings
from mixflow.lifecycle.tracking import RUN_ARTIFACT_PATH, make_client

#: fields that legitimately differ between two identical fits
VOLATILE = frozenset({"created_at", "fit_seconds", "mixflow_version"})


@dataclass(frozen=True)
class ReproduceResult:
    run_id: str
    matches: bool
    differences: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "matches": self.matches,
            "differences": list(self.differences),
        }


def compare_summaries(a: Any, b: Any, rtol: float = 1e-9, path: str = "") -> list[str]:
    """Paths where two summaries differ, walking their JSON forms (:meth:`RunSummary.to_json`)
    field by field (numbers within ``rtol`` count as equal)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(set(a) | set(b)):
            if key in VOLATILE:
                continue
            sub = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                out.append(f"{sub}: only in {'original' if key in a else 'refit'}")
            else:
                out += compare_summaries(a[key], b[key], rtol, sub)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in compare_summaries(x, y, rtol, f"{path}[{i}]")
        ]
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        same = math.isclose(float(a), float(b), rel_tol=rtol, abs_tol=1e-12)
        return [] if same else [f"{path}: {a!r} != {b!r}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def logged_chains(run_id: str, settings: LifecycleSettings) -> int:
    """The number of chains run ``run_id`` was fitted with (its logged ``fit.chains`` param):
    what the command line needs to set JAX up for :func:`reproduce` exactly as ``mixflow fit``
    set it up (one CPU device per chain, so that the chains run in parallel as they did)."""
    from mlflow.exceptions import MlflowException

    client = make_client(settings)
    try:
        params = client.get_run(run_id).data.params
    except MlflowException:
        raise RegistryError(f"run '{run_id}' is not in the tracking store") from None
    text = params.get("fit.chains", "1")
    return int(text) if text.isdigit() else 1


def reproduce(run_id: str, settings: LifecycleSettings) -> ReproduceResult:
    """Download run ``run_id``'s logged run directory, refit it with the same config (seed
    included) on the same data snapshot, and compare the summaries.

    The refit is :func:`mixflow.workflow.runs.fit_dataset`, the function ``mixflow fit`` runs;
    the process must be set up as ``fit`` sets it up (``setup_jax(logged_chains(...))`` on the
    command line): with fewer devices than chains the chains would run vectorized instead of
    in parallel and draw other numbers, so that case is refused rather than reported as a
    difference."""
    import jax

    from mixflow.analysis.summary import analyze
    from mixflow.data.dataset import MMMDataset
    from mixflow.data.folders import verify_folder
    from mixflow.inference.fit import resolve_chain_method
    from mixflow.spec.config import parse_saved_config
    from mixflow.workflow.runs import fit_dataset

    client = make_client(settings)
    staging = Path(tempfile.mkdtemp(prefix="mixflow-reproduce-"))
    try:
        try:
            client.download_artifacts(run_id, RUN_ARTIFACT_PATH, str(staging))
        except Exception as err:  # MLflow raises its own exception types for unknown runs
            raise RegistryError(f"run '{run_id}' has no logged run directory: {err}") from None
        run_dir = staging / RUN_ARTIFACT_PATH
        verify_folder(run_dir)
        raw = json.loads((run_dir / "config.json").read_text())
        config = parse_saved_config(raw, "config.json")
        if config.fit.method == "nuts" and config.fit.chain_method == "auto":
            method = resolve_chain_method("auto", config.fit.chains)
            if method != "parallel":
                raise RegistryError(
                    f"run '{run_id}' ran {config.fit.chains} chains in parallel; this process "
                    f"has {jax.local_device_count()} device(s), so they would run {method} and "
                    "draw other numbers (set up JAX with one device per chain, as `mixflow "
                    "reproduce` does)"
                )
        data = MMMDataset.load(run_dir)
        original = load_summary(run_dir / SUMMARY_FILE)
        refit = analyze(fit_dataset(config, data)).summary
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    diffs = compare_summaries(original.to_json(), refit.to_json())
    return ReproduceResult(run_id, not diffs, tuple(diffs))
