"""The fitted result: posterior draws + the config they came from + the data, saved and loaded.

A run directory holds ``posterior.nc`` (ArviZ InferenceData, netCDF4/HDF5), ``config.json`` (the
validated config), ``dataset.parquet``/``dataset.json`` (the canonical data) and
``posterior.json`` (fit metadata, schema version). Loading rebuilds the exact design, so every
analysis of a loaded posterior equals the analysis of the fresh one.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import jax
import numpy as np

from mixflow.data.dataset import MMMDataset
from mixflow.data.folders import verify_folder
from mixflow.data.io import atomic_write_text
from mixflow.errors import RunDirError
from mixflow.inference.diagnostics import Diagnostics
from mixflow.inference.predictive import PredictiveDraws, predictive_draws
from mixflow.model.calibration import model_spec_for
from mixflow.model.design import Design, build_design
from mixflow.posterior.groups import (
    posterior_coords,
    posterior_dims,
    predictive_from_groups,
    predictive_groups,
)
from mixflow.spec.config import MixflowConfig, parse_saved_config
from mixflow.spec.model_spec import FitMethod, ModelSpec

SCHEMA_VERSION = 1
POSTERIOR_FILE = "posterior.nc"
#: the PRNG stream (folded into the fit's seed) of the posterior predictive noise
PREDICTIVE_STREAM = 7


@dataclass(frozen=True, eq=False)
class Posterior:
    """Posterior draws ``{site: (chains, draws, ...)}`` with everything needed to use them."""

    samples: dict[str, np.ndarray]
    config: MixflowConfig
    dataset: MMMDataset
    diagnostics: Diagnostics
    method: FitMethod
    sample_stats: dict[str, np.ndarray] = field(default_factory=dict)
    #: the predictive groups as read from ``posterior.nc`` (``None``: computed when needed)
    predictive_draws: PredictiveDraws | None = field(default=None, repr=False)

    @cached_property
    def spec(self) -> ModelSpec:
        return model_spec_for(self.config, self.dataset)[0]

    @property
    def holdout_weeks(self) -> int:
        return self.config.fit.holdout_weeks

    @cached_property
    def design(self) -> Design:
        return build_design(self.dataset, self.spec, self.holdout_weeks)

    @property
    def n_draws(self) -> int:
        first = next(iter(self.samples.values()))
        return int(first.shape[0] * first.shape[1])

    def flat_samples(self, max_draws: int | None = None) -> dict[str, np.ndarray]:
        """Draws with chains merged: ``{site: (S, ...)}``, evenly thinned to ``max_draws``."""
        flat = {k: v.reshape(-1, *v.shape[2:]) for k, v in self.samples.items()}
        n = self.n_draws
        if max_draws is not None and n > max_draws:
            idx = np.linspace(0, n - 1, max_draws).round().astype(int)
            flat = {k: v[idx] for k, v in flat.items()}
        return flat

    @cached_property
    def predictive(self) -> PredictiveDraws:
        """Posterior predictive KPI and pointwise log-likelihood (see
        :mod:`mixflow.inference.predictive`): as loaded from ``posterior.nc``, or computed on
        first use with a key derived from ``fit.seed``."""
        if self.predictive_draws is not None:
            return self.predictive_draws
        key = jax.random.fold_in(jax.random.PRNGKey(self.config.fit.seed), PREDICTIVE_STREAM)
        return predictive_draws(self.design, self.spec, self.samples, key)

    # ------------------------------------------------------------------------ ArviZ
    def to_inference_data(self) -> Any:
        """The run as ArviZ InferenceData: ``posterior`` and ``sample_stats`` with named
        dimensions (channel, geo, controls, events, fourier_term, trend_knot), and
        ``observed_data``, ``posterior_predictive`` and ``log_likelihood`` of the KPI
        (variable ``kpi``; dimensions ``time`` as dates and, in a geo model, ``geo``)."""
        import arviz as az

        coords = posterior_coords(self.dataset, self.samples)
        dims = posterior_dims(self.dataset, self.samples)
        idata = az.from_dict(
            posterior=self.samples,
            sample_stats=self.sample_stats or None,
            coords=coords,
            dims=dims,
            attrs={"mixflow_schema_version": SCHEMA_VERSION, "method": self.method.value},
        )
        # from_dict keeps its own attributes only
        idata.posterior.attrs.update(
            mixflow_schema_version=SCHEMA_VERSION, method=self.method.value
        )
        idata.add_groups(predictive_groups(self.dataset, self.predictive))
        return idata

    # ------------------------------------------------------------------------ save / load
    def save(self, directory: Path) -> None:
        """Write the posterior files into ``directory`` (each write atomic)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        idata = self.to_inference_data()
        fd, tmp = tempfile.mkstemp(prefix=".posterior.", suffix=".nc.tmp", dir=directory)
        os.close(fd)
        try:
            idata.to_netcdf(tmp, engine="h5netcdf")
            # mkstemp creates 0600; give the file the mode a plain open() would
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, directory / POSTERIOR_FILE)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self.dataset.save(directory)
        atomic_write_text(directory / "config.json", self.config.model_dump_json(indent=2))
        meta = {
            "schema_version": SCHEMA_VERSION,
            "method": self.method.value,
            "diagnostics": self.diagnostics.to_dict(),
            "data_fingerprint": self.dataset.fingerprint(),
        }
        atomic_write_text(directory / "posterior.json", json.dumps(meta, indent=2))

    @classmethod
    def load(cls, directory: Path) -> Posterior:
        """Read a run folder written by :meth:`save` (through
        :func:`mixflow.workflow.write_run`): checked against its manifest first, and every file
        parsed with a :class:`RunDirError` naming the one that is damaged."""
        import arviz as az

        directory = Path(directory)
        verify_folder(directory)
        for name in (
            POSTERIOR_FILE,
            "config.json",
            "posterior.json",
            "dataset.parquet",
            "dataset.json",
        ):
            if not (directory / name).is_file():
                raise RunDirError(f"{directory}: missing {name}; is this a mixflow run directory?")
        meta = _read_json(directory, "posterior.json")
        if not isinstance(meta, dict) or meta.get("schema_version") != SCHEMA_VERSION:
            version = meta.get("schema_version") if isinstance(meta, dict) else None
            raise RunDirError(
                f"{directory}: schema_version {version} is not supported "
                f"(this mixflow reads {SCHEMA_VERSION})"
            )
        config = parse_saved_config(_read_json(directory, "config.json"), "config.json")
        try:
            idata = az.from_netcdf(directory / POSTERIOR_FILE, engine="h5netcdf")
            samples = {str(k): np.asarray(v.values) for k, v in idata.posterior.data_vars.items()}
            stats: dict[str, np.ndarray] = {}
            if "sample_stats" in idata.groups():
                stats = {
                    str(k): np.asarray(v.values) for k, v in idata.sample_stats.data_vars.items()
                }
            groups = {name: idata[name] for name in idata.groups()}
        except Exception:  # h5py/xarray raise OSError, ValueError, KeyError ... on damage
            raise RunDirError(
                f"{POSTERIOR_FILE} in {directory} is damaged (not a readable netCDF posterior)"
            ) from None
        try:
            diag = Diagnostics.from_dict(meta["diagnostics"])
            method = FitMethod(meta["method"])
            fingerprint = meta["data_fingerprint"]
        except (KeyError, TypeError, ValueError):
            raise RunDirError(f"posterior.json in {directory} is damaged (fit metadata)") from None
        try:
            dataset = MMMDataset.load(directory)
        except RunDirError:
            raise
        except Exception:  # pyarrow raises ArrowInvalid/OSError on a truncated file
            raise RunDirError(
                f"dataset.parquet/dataset.json in {directory} is damaged (not a readable dataset)"
            ) from None
        if dataset.fingerprint() != fingerprint:
            raise RunDirError(
                f"{directory}: dataset does not match the fingerprint the fit recorded"
            )
        try:
            # runs written before these groups existed have none: computed when needed
            predictive = predictive_from_groups(groups, dataset, config.fit.holdout_weeks)
        except (KeyError, ValueError):
            raise RunDirError(
                f"{POSTERIOR_FILE} in {directory} is damaged (its predictive groups)"
            ) from None
        return cls(samples, config, dataset, diag, method, stats, predictive)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _read_json(directory: Path, name: str) -> Any:
    try:
        return json.loads((directory / name).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise RunDirError(f"{name} in {directory} is damaged (not readable JSON)") from None


def recomputed_diagnostics(directory: Path) -> Diagnostics:
    """R-hat, ESS and divergences computed afresh from ``posterior.nc`` of a run folder (what
    the governance gates judge, rather than the numbers ``summary.json`` states)."""
    import arviz as az

    from mixflow.inference.diagnostics import compute_diagnostics

    path = Path(directory) / POSTERIOR_FILE
    meta = _read_json(Path(directory), "posterior.json")
    method = str(meta.get("method", "")) if isinstance(meta, dict) else ""
    try:
        idata = az.from_netcdf(path, engine="h5netcdf")
        samples = {str(k): np.asarray(v.values) for k, v in idata.posterior.data_vars.items()}
        diverging = None
        if "sample_stats" in idata.groups() and "diverging" in idata.sample_stats:
            diverging = np.asarray(idata.sample_stats["diverging"].values)
    except Exception:
        raise RunDirError(
            f"{POSTERIOR_FILE} in {directory} is damaged (not a readable netCDF posterior)"
        ) from None
    return compute_diagnostics(samples, diverging, None, 0.0, method)
