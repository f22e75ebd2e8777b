"""End-to-end steps shared by the CLI (and later the service): config -> fit -> run directory."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mixflow.analysis.calibration import calibration_document
from mixflow.analysis.geo_breakdown import GEO_CONTRIBUTIONS_FILE, GEO_ROI_FILE, geo_breakdown
from mixflow.analysis.schema import SUMMARY_FILE
from mixflow.analysis.summary import Analysis, analyze
from mixflow.data.dataset import MMMDataset
from mixflow.data.folders import writing_folder
from mixflow.data.io import FORMULA_PREFIXES, atomic_write_bytes, atomic_write_text, csv_bytes
from mixflow.data.loaders import load_dataset
from mixflow.errors import SpecError
from mixflow.inference.fit import fit_design
from mixflow.model.calibration import model_spec_for
from mixflow.model.design import build_design
from mixflow.posterior.posterior import Posterior
from mixflow.schema_errors import format_validation_error
from mixflow.spec.config import MixflowConfig, load_config
from mixflow.spec.model_spec import FitMethod, fit_config_from_config, inline_calibration

#: measured lift vs model-implied lift per lift test (calibrated runs only)
CALIBRATION_FILE = "calibration.json"


def validate_config(path: Path) -> tuple[MixflowConfig, MMMDataset]:
    """Load and check a config and its data; raises SpecError/DataError with the reason.

    The returned config carries its lift tests inline (the experiments table is read here)."""
    cfg, base = load_config(path)
    cfg = inline_calibration(cfg, base)
    data = load_dataset(cfg.data, base)
    check_channel_names(data.channels)
    spec, tests = model_spec_for(cfg, data)
    # checks holdout length, spend for ROI priors, lift tests against the panel
    build_design(data, spec, cfg.fit.holdout_weeks, tests)
    return cfg, data


#: longest channel name (it becomes part of MLflow metric names, at most 250 characters)
MAX_CHANNEL_NAME = 200


def check_channel_names(channels: Sequence[str]) -> None:
    """Refuse channel names that a later step would misread: ones a spreadsheet runs as a
    formula in a CSV export (starting with ``= + - @``, tab or CR), and ones MLflow refuses in
    the per-channel metric names ``register`` logs (a path that is not normal: ``a//b``,
    ``a/./b``, ``../x``, a trailing ``/``; longer than :data:`MAX_CHANNEL_NAME`)."""
    for name in channels:
        if name.startswith(FORMULA_PREFIXES):
            raise SpecError(
                f"channel name {name!r} starts with {name[0]!r}: a spreadsheet would read it as "
                "a formula; rename the column"
            )
        key = f"roi_mean.{name}"
        if len(name) > MAX_CHANNEL_NAME or posixpath.normpath(key) != key:
            raise SpecError(
                f"channel name {name!r} cannot be an MLflow metric name (at most "
                f"{MAX_CHANNEL_NAME} characters, no '//', '/./', '..' path parts or trailing "
                "'/'); rename the column"
            )


def with_overrides(cfg: MixflowConfig, **fit_overrides: Any) -> MixflowConfig:
    """A copy of ``cfg`` with fit settings replaced (``None`` values are ignored)."""
    changes = {k: v for k, v in fit_overrides.items() if v is not None}
    if not changes:
        return cfg
    # validated, as the config file's own fit section is: "map" becomes FitMethod.MAP (a bare
    # model_copy kept the string, and `fit --method map` failed on it)
    try:
        fit = type(cfg.fit).model_validate({**cfg.fit.model_dump(), **changes})
    except ValidationError as err:
        raise SpecError(format_validation_error(err, "fit overrides", type(cfg.fit))) from None
    return cfg.model_copy(update={"fit": fit})


def fit_dataset(cfg: MixflowConfig, data: MMMDataset) -> Posterior:
    """Fit the model described by ``cfg`` to ``data``."""
    spec, tests = model_spec_for(cfg, data)
    fit_cfg = fit_config_from_config(cfg)
    design = build_design(data, spec, fit_cfg.holdout_weeks, tests)
    out = fit_design(design, spec, fit_cfg)
    return Posterior(out.samples, cfg, data, out.diagnostics, out.method, out.sample_stats)


def write_run(
    posterior: Posterior, analysis: Analysis, out_dir: Path, config_file: Path | None = None
) -> None:
    """Write the run folder as one unit: posterior, summary.json, tables (and calibration.json
    for a calibrated model) go to a temporary sibling, then ``manifest.json`` (every file's size
    and SHA-256), then the sibling replaces ``out_dir`` as a whole (see
    :mod:`mixflow.data.folders`). Refused with :class:`~mixflow.errors.RunDirError` while
    another process writes ``out_dir``."""
    out_dir = Path(out_dir)
    with writing_folder(out_dir) as tmp:
        _write_files(posterior, analysis, tmp, config_file)


def _write_files(
    posterior: Posterior, analysis: Analysis, out_dir: Path, config_file: Path | None
) -> None:
    posterior.save(out_dir)
    atomic_write_text(
        out_dir / SUMMARY_FILE, json.dumps(analysis.summary.to_json(), indent=2, allow_nan=False)
    )
    for name, frame in (
        ("contributions.csv", analysis.contributions),
        ("response_curves.csv", analysis.response_curves),
        ("adstock.csv", analysis.adstock),
        ("prior_posterior.csv", analysis.prior_posterior),
    ):
        atomic_write_bytes(out_dir / name, csv_bytes(frame))
    if posterior.dataset.n_geos > 1:
        geo = geo_breakdown(posterior)
        atomic_write_bytes(out_dir / GEO_ROI_FILE, csv_bytes(geo.roi))
        atomic_write_bytes(out_dir / GEO_CONTRIBUTIONS_FILE, csv_bytes(geo.contributions))
    if config_file is not None:
        atomic_write_bytes(out_dir / "config.yaml", Path(config_file).read_bytes())
    document = calibration_document(posterior)
    if document.tests:
        text = json.dumps(document.to_json_dict(), indent=2, allow_nan=False)
        atomic_write_text(out_dir / CALIBRATION_FILE, text)


def load_run(run_dir: Path) -> Posterior:
    """The posterior of a run folder, refused (:class:`~mixflow.errors.RunDirError`) when the
    folder is incomplete, altered or damaged; see :meth:`Posterior.load`."""
    return Posterior.load(Path(run_dir))


def fit_run(
    config_path: Path,
    out_dir: Path,
    method: FitMethod | None = None,
    progress_bar: bool | None = None,
) -> tuple[Posterior, Analysis]:
    """Validate, fit, analyse and write ``out_dir``: what ``mixflow fit`` does.

    ``out_dir`` is checked and locked before any work (a second fit into it is refused at once,
    not after minutes of sampling), and written as one unit (see :func:`write_run`)."""
    with writing_folder(out_dir) as tmp:
        cfg, data = validate_config(config_path)
        overrides = {"method": method.value if method else None, "progress_bar": progress_bar}
        cfg = with_overrides(cfg, **overrides)
        posterior = fit_dataset(cfg, data)
        analysis = analyze(posterior)
        _write_files(posterior, analysis, tmp, config_path)
    return posterior, analysis


__all__ = [
    "fit_dataset",
    "fit_run",
    "load_run",
    "validate_config",
    "with_overrides",
    "write_run",
]
