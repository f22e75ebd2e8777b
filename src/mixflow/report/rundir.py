"""Read and check the files of a run directory, the output of a fit.

The report reads files only: nothing here imports the math packages. Every problem with the
directory (a missing file, a missing key or column, an unreadable file) raises
:class:`~mixflow.errors.RunDirError` naming the file and the key or column. ``summary.json`` is
read as the typed :class:`~mixflow.analysis.schema.RunSummary` (that module imports only
pydantic).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd
from pydantic import ValidationError

from mixflow.analysis.calibration_schema import CalibrationDocument
from mixflow.analysis.schema import SUMMARY_FILE, RunSummary, load_summary
from mixflow.data.folders import verify_folder
from mixflow.errors import RunDirError

CONTRIBUTIONS_FILE: Final = "contributions.csv"
RESPONSE_CURVES_FILE: Final = "response_curves.csv"
ADSTOCK_FILE: Final = "adstock.csv"
PRIOR_POSTERIOR_FILE: Final = "prior_posterior.csv"
CALIBRATION_FILE: Final = "calibration.json"


CONTRIBUTION_COLUMNS: Final = (
    "date",
    "actual",
    "fitted",
    "fitted_hdi_lo",
    "fitted_hdi_hi",
    "is_holdout",
    "baseline",
    "intercept",
    "trend",
    "seasonality",
    "controls",
    "events",
)
RESPONSE_CURVE_COLUMNS: Final = (
    "channel",
    "multiplier",
    "spend",
    "incremental_kpi_mean",
    "incremental_kpi_hdi_lo",
    "incremental_kpi_hdi_hi",
    "incremental_value_mean",
    "incremental_value_hdi_lo",
    "incremental_value_hdi_hi",
    "roi_mean",
)
ADSTOCK_COLUMNS: Final = ("channel", "lag", "weight_mean", "weight_hdi_lo", "weight_hdi_hi")
PRIOR_POSTERIOR_COLUMNS: Final = (
    "channel",
    "quantity",
    "prior_median",
    "prior_hdi_lo",
    "prior_hdi_hi",
    "posterior_median",
    "posterior_hdi_lo",
    "posterior_hdi_hi",
)


@dataclass(frozen=True)
class RunFiles:
    """The parsed contents of a run directory.

    ``contributions`` has one row per period (``date`` parsed as datetime, ``is_holdout`` bool),
    KPI units summed over geos, one column per channel. ``response_curves`` and ``adstock`` are
    long tables keyed by ``channel`` (read as text). ``prior_posterior`` is ``None`` when the
    optional file is absent; ``calibration`` holds the lift tests of a calibrated model (measured
    vs model-implied lift), empty otherwise.
    """

    run_dir: Path
    summary: RunSummary
    contributions: pd.DataFrame
    response_curves: pd.DataFrame
    adstock: pd.DataFrame
    prior_posterior: pd.DataFrame | None
    calibration: tuple[Mapping[str, Any], ...] = ()

    @property
    def channels(self) -> list[str]:
        """Channel names in the order of ``summary.json``."""
        return list(self.summary.channels)

    @property
    def kpi_type(self) -> str:
        """``"revenue"`` or ``"conversions"``."""
        return self.summary.kpi_type


def read_run_dir(run_dir: Path) -> RunFiles:
    """Read and check every file the report needs from ``run_dir``."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirError(f"run directory {str(run_dir)!r} does not exist or is not a folder")
    verify_folder(run_dir)  # an incomplete or altered folder is refused (see data.folders)
    summary = load_summary(run_dir / SUMMARY_FILE)
    if not summary.channels:
        raise RunDirError(
            f"{SUMMARY_FILE}: key 'channels' is empty; a fit has at least one channel"
        )
    channels = list(summary.channels)
    contributions = _read_csv(
        run_dir / CONTRIBUTIONS_FILE, (*CONTRIBUTION_COLUMNS, *channels), text=()
    )
    try:
        contributions["date"] = pd.to_datetime(contributions["date"])
    except (ValueError, TypeError) as exc:
        raise RunDirError(f"{CONTRIBUTIONS_FILE}: column 'date' holds unreadable dates") from exc
    try:
        contributions["is_holdout"] = contributions["is_holdout"].astype(int).astype(bool)
    except (ValueError, TypeError) as exc:
        raise RunDirError(f"{CONTRIBUTIONS_FILE}: column 'is_holdout' must hold 0 or 1") from exc
    contributions = contributions.sort_values("date", ignore_index=True)

    prior_path = run_dir / PRIOR_POSTERIOR_FILE
    prior_posterior = (
        _read_csv(prior_path, PRIOR_POSTERIOR_COLUMNS, text=("channel", "quantity"))
        if prior_path.exists()
        else None
    )
    return RunFiles(
        run_dir=run_dir,
        summary=summary,
        contributions=contributions,
        response_curves=_read_csv(run_dir / RESPONSE_CURVES_FILE, RESPONSE_CURVE_COLUMNS),
        adstock=_read_csv(run_dir / ADSTOCK_FILE, ADSTOCK_COLUMNS),
        prior_posterior=prior_posterior,
        calibration=read_calibration(run_dir / CALIBRATION_FILE),
    )


def read_calibration(path: Path) -> tuple[Mapping[str, Any], ...]:
    """The lift tests of ``calibration.json`` (empty when the file is absent), read through
    :class:`~mixflow.analysis.calibration.CalibrationDocument` (any schema version), each as
    its JSON form."""
    if not path.exists():
        return ()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunDirError(f"{path.name} is not readable JSON: {exc}") from exc
    try:
        document = CalibrationDocument.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise RunDirError(f"{path.name}: {where}: {err['msg']}") from None
    return tuple(test.model_dump(mode="json") for test in document.tests)


def _require(mapping: Mapping[str, Any], keys: Sequence[str], prefix: str, file: str) -> None:
    missing = [f"{prefix}{key}" for key in keys if key not in mapping]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        names = ", ".join(repr(m) for m in missing)
        raise RunDirError(f"{file} lacks required key{plural} {names}")


def _read_csv(
    path: Path, columns: Sequence[str], text: Sequence[str] = ("channel",)
) -> pd.DataFrame:
    """Read a CSV; ``text`` columns stay strings (a channel named ``1`` is not the number 1)."""
    if not path.is_file():
        raise RunDirError(f"run directory lacks {path.name} (looked for {str(path)!r})")
    try:
        frame = pd.read_csv(path, dtype=dict.fromkeys(text, str))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RunDirError(f"{path.name} is not a readable CSV: {exc}") from exc
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        names = ", ".join(repr(m) for m in missing)
        raise RunDirError(f"{path.name} lacks column{plural} {names}")
    return frame
