"""Analysis of a fitted posterior: contributions, ROI/mROI/CPA, response and adstock curves,
fit quality. Pure functions of (posterior, data).

The typed run summary (:mod:`mixflow.analysis.schema`) is imported eagerly; the numeric parts
load on first use, so that reading a ``summary.json`` (the CLI, the report) needs no JAX."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mixflow.analysis.schema import (
    SUMMARY_SCHEMA_VERSION,
    RunSummary,
    load_summary,
    parse_summary,
)

if TYPE_CHECKING:
    from mixflow.analysis.draws import DrawQuantities, compute_draws
    from mixflow.analysis.metrics import fit_metrics
    from mixflow.analysis.stats import hdi, stat
    from mixflow.analysis.summary import Analysis, analyze

#: public name -> the module that defines it (imported on first access)
_LAZY = {
    "Analysis": "mixflow.analysis.summary",
    "analyze": "mixflow.analysis.summary",
    "DrawQuantities": "mixflow.analysis.draws",
    "compute_draws": "mixflow.analysis.draws",
    "fit_metrics": "mixflow.analysis.metrics",
    "hdi": "mixflow.analysis.stats",
    "stat": "mixflow.analysis.stats",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mixflow.analysis' has no attribute {name!r}")


__all__ = [
    "SUMMARY_SCHEMA_VERSION",
    "Analysis",
    "DrawQuantities",
    "RunSummary",
    "analyze",
    "compute_draws",
    "fit_metrics",
    "hdi",
    "load_summary",
    "parse_summary",
    "stat",
]
