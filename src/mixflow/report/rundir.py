"""Read and check the files of a run directory, the output of a fit.

The report reads files only: nothing here imports the math packages. Every problem with the
directory (a missing file, a missing key or column, an unreadable file) raises
:class:`~mixflow.errors.RunDirError` naming the file and the key or column.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, cast

import pandas as pd

from mixflow.data.folders import verify_folder
from mixflow.errors import RunDirError

SUMMARY_FILE: Final = "summary.json"
CONTRIBUTIONS_FILE: Final = "contributions.csv"
RESPONSE_CURVES_FILE: Final = "response_curves.csv"
ADSTOCK_FILE: Final = "adstock.csv"
PRIOR_POSTERIOR_FILE: Final = "prior_posterior.csv"
CALIBRATION_FILE: Final = "calibration.json"
_CALIBRATION_KEYS: Final = ("channel", "start", "end", "incremental_kpi", "standard_error")

#: Newest ``summary.json`` schema this reader understands.
SCHEMA_VERSION: Final = 1

KpiType = Literal["revenue", "conversions"]
KPI_TYPES: Final[tuple[KpiType, ...]] = ("revenue", "conversions")

_SUMMARY_KEYS: Final = (
    "name",
    "created_at",
    "kpi_type",
    "data",
    "method",
    "channels",
    "diagnostics",
    "fit",
)
_DATA_KEYS: Final = ("start", "end")
_DIAGNOSTICS_KEYS: Final = ("ok", "flags")
_FIT_KEYS: Final = ("r2", "mape", "nrmse")
_CHANNEL_KEYS: Final = ("spend", "spend_share", "roi", "mroi", "contribution", "contribution_share")
_STAT_KEYS: Final = ("mean", "hdi_90")

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
    summary: Mapping[str, Any]
    contributions: pd.DataFrame
    response_curves: pd.DataFrame
    adstock: pd.DataFrame
    prior_posterior: pd.DataFrame | None
    calibration: tuple[Mapping[str, Any], ...] = ()

    @property
    def channels(self) -> list[str]:
        """Channel names in the order of ``summary.json``."""
        return list(self.summary["channels"])

    @property
    def kpi_type(self) -> KpiType:
        return cast(KpiType, self.summary["kpi_type"])


def read_run_dir(run_dir: Path) -> RunFiles:
    """Read and check every file the report needs from ``run_dir``."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirError(f"run directory {str(run_dir)!r} does not exist or is not a folder")
    verify_folder(run_dir)  # an incomplete or altered folder is refused (see data.folders)
    summary = read_summary(run_dir / SUMMARY_FILE)
    channels = list(summary["channels"])
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
    """The lift tests of ``calibration.json`` (empty when the file is absent)."""
    if not path.exists():
        return ()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunDirError(f"{path.name} is not readable JSON: {exc}") from exc
    tests = raw.get("tests") if isinstance(raw, dict) else None
    if not isinstance(tests, list):
        raise RunDirError(f"{path.name}: expected an object with a list 'tests'")
    for i, test in enumerate(tests):
        _require(test, (*_CALIBRATION_KEYS, "model_lift"), f"tests[{i}].", path.name)
        _require(test["model_lift"], _STAT_KEYS, f"tests[{i}].model_lift.", path.name)
    return tuple(tests)


def read_summary(path: Path) -> dict[str, Any]:
    """Parse ``summary.json`` and check that every key the report uses is present."""
    if not path.is_file():
        raise RunDirError(f"run directory lacks {path.name} (looked for {str(path)!r})")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunDirError(f"{path.name} is not readable JSON: {exc}") from exc
    if not isinstance(summary, dict):
        raise RunDirError(f"{path.name} must hold a JSON object, got {type(summary).__name__}")
    version = summary.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise RunDirError(
            f"{path.name} has schema_version {version!r}; this mixflow reads versions "
            f"up to {SCHEMA_VERSION} (written by mixflow {summary.get('mixflow_version')!r})"
        )
    _check_summary(summary, path.name)
    return summary


def _check_summary(summary: Mapping[str, Any], file: str) -> None:
    _require(summary, _SUMMARY_KEYS, "", file)
    if summary["kpi_type"] not in KPI_TYPES:
        raise RunDirError(
            f"{file}: key 'kpi_type' is {summary['kpi_type']!r}; allowed values: "
            f"{', '.join(KPI_TYPES)}"
        )
    _require(_mapping(summary, "data", file), _DATA_KEYS, "data.", file)
    diagnostics = _mapping(summary, "diagnostics", file)
    _require(diagnostics, _DIAGNOSTICS_KEYS, "diagnostics.", file)
    if not isinstance(diagnostics["flags"], list):
        raise RunDirError(f"{file}: key 'diagnostics.flags' must be a list")
    _require(_mapping(summary, "fit", file), _FIT_KEYS, "fit.", file)
    channels = _mapping(summary, "channels", file)
    if not channels:
        raise RunDirError(f"{file}: key 'channels' is empty; a fit has at least one channel")
    for name in channels:
        channel = _mapping(channels, name, file, prefix="channels.")
        prefix = f"channels.{name}."
        _require(channel, _CHANNEL_KEYS, prefix, file)
        for stat in ("roi", "mroi", "contribution", "contribution_share", "cpa"):
            if channel.get(stat) is not None:
                block = _mapping(channel, stat, file, prefix=prefix)
                _require(block, _STAT_KEYS, f"{prefix}{stat}.", file)
                hdi = block["hdi_90"]
                if not (isinstance(hdi, Sequence) and len(hdi) == 2):
                    raise RunDirError(f"{file}: key '{prefix}{stat}.hdi_90' must be [lo, hi]")


def _require(mapping: Mapping[str, Any], keys: Sequence[str], prefix: str, file: str) -> None:
    missing = [f"{prefix}{key}" for key in keys if key not in mapping]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        names = ", ".join(repr(m) for m in missing)
        raise RunDirError(f"{file} lacks required key{plural} {names}")


def _mapping(parent: Mapping[str, Any], key: str, file: str, prefix: str = "") -> Mapping[str, Any]:
    value = parent[key]
    if not isinstance(value, Mapping):
        raise RunDirError(
            f"{file}: key '{prefix}{key}' must be an object, got {type(value).__name__}"
        )
    return value


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
