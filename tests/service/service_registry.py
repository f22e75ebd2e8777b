"""Registry helpers for the service tests: gate policies a tiny MAP fit passes or fails, and
copying a template MLflow store into a test's MIXFLOW_HOME."""

from __future__ import annotations

import shutil
from pathlib import Path

#: a policy a tiny MAP fit passes, and one it fails (80 weeks < 1000). The service tests are
#: about routes, not the gates, so PASSING lists point_estimate as advisory (the default
#: policy blocks a MAP fit; tests/lifecycle covers that)
PASSING = {
    "min_weeks": 0,
    "default_roi_bounds": (0.0, 1e6),
    "baseline_negative_prob_max": 1.0,
    "spend_coverage_min": 0.0,
    "advisory": ("prior_shift", "point_estimate"),
}
FAILING = {**PASSING, "min_weeks": 1000}


def install_registry(template: Path, home: Path) -> None:
    """Copy the template's MLflow database and audit trail into ``home`` (the artifacts stay
    in the template, which the copied store points at and nothing writes to)."""
    home.mkdir(parents=True, exist_ok=True)
    for name in ("mlflow.db", "audit.jsonl"):
        shutil.copyfile(template / name, home / name)
