"""The portfolio file: many models by name and config path, shared defaults, per-entry overrides.

::

    name: global-q1
    defaults:                     # applied to every entry (an entry's own values win)
      fit: {method: nuts, chains: 2, warmup: 500, draws: 500}
      priors: {roi_sigma: 0.8}    # merged into each config's model.priors
      policy: gates.yaml          # governance gates for --register (a path or a mapping)
    models:
      - name: brand-a-us          # a registry model name
        config: brands/a_us.yaml  # relative to this file
        fit: {seed: 3}
      - name: brand-b-de
        config: brands/b_de.yaml
        value_per_kpi: 42.0       # a conversions KPI without revenue per KPI: its value

:func:`load_portfolio` checks everything that can be checked without the data (the schema,
unique names, that each config exists and that each config with the overrides merged in is a
valid config) and raises :class:`~mixflow.errors.SpecError` naming the file and the field, so a
bad entry stops the command before any fitting starts.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from mixflow.errors import MixflowError, SpecError
from mixflow.lifecycle.gates import GatePolicy, load_policy, policy_from_dict
from mixflow.lifecycle.policy_files import read_mapping
from mixflow.lifecycle.registry import check_name
from mixflow.schema_errors import StrictModel, validate_mapping
from mixflow.spec.config import MixflowConfig, parse_config


class Overrides(StrictModel):
    """What the defaults set and an entry may override."""

    #: keys of the config's ``fit`` section (method, chains, warmup, draws, seed, ...)
    fit: dict[str, Any] = Field(default_factory=dict)
    #: merged (recursively) into the config's ``model.priors``
    priors: dict[str, Any] = Field(default_factory=dict)
    #: gate policy for ``--register``: a YAML path (relative to the portfolio file) or a mapping
    policy: str | dict[str, Any] | None = None
    #: currency per KPI unit, for a conversions KPI without a revenue-per-KPI column
    value_per_kpi: float | None = Field(default=None, gt=0, allow_inf_nan=False)


class ModelEntry(Overrides):
    """One model of the portfolio."""

    name: str
    config: str = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        try:
            return check_name(v)
        except MixflowError as err:  # a RegistryError: the registry's own words
            raise ValueError(str(err)) from None


class PortfolioFile(StrictModel):
    """The portfolio YAML."""

    name: str = "portfolio"
    defaults: Overrides = Field(default_factory=Overrides)
    models: list[ModelEntry] = Field(min_length=1)


@dataclass(frozen=True, eq=False)
class PortfolioModel:
    """An entry resolved: its config with the defaults and its overrides merged in.

    Attributes:
        name: the model's name (also its registry name and run folder name).
        config_path: the config file (absolute).
        config: the merged config as a plain mapping (what a fit task receives).
        base: the folder the config's relative paths resolve against.
        policy: the gate policy for registration (``None``: the default thresholds).
        value_per_kpi: currency per KPI unit (conversions KPIs without revenue), or ``None``.
        config_fingerprint: SHA-256 of the merged config (as validated, canonical JSON).
    """

    name: str
    config_path: Path
    config: dict[str, Any]
    base: Path
    policy: GatePolicy | None
    value_per_kpi: float | None
    config_fingerprint: str

    def parsed(self) -> MixflowConfig:
        return parse_config(self.config, source=f"{self.config_path}")


@dataclass(frozen=True, eq=False)
class Portfolio:
    """A loaded portfolio file: its name, where it is, and its models in file order."""

    name: str
    path: Path
    models: tuple[PortfolioModel, ...]

    def model(self, name: str) -> PortfolioModel:
        for m in self.models:
            if m.name == name:
                return m
        raise SpecError(f"{self.path}: no model named {name!r}")


def _merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged in, recursively for nested mappings (extra wins)."""
    out = copy.deepcopy(dict(base))
    for k, v in extra.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def config_fingerprint(cfg: MixflowConfig) -> str:
    """SHA-256 of a validated config (canonical JSON; the progress bar setting left out)."""
    dump = cfg.model_dump(mode="json")
    dump.get("fit", {}).pop("progress_bar", None)
    return hashlib.sha256(json.dumps(dump, sort_keys=True).encode()).hexdigest()


def _policy(value: str | dict[str, Any] | None, folder: Path, where: str) -> GatePolicy | None:
    if value is None:
        return None
    try:
        if isinstance(value, str):
            return load_policy(folder / value)
        return policy_from_dict(value)
    except SpecError as err:
        raise SpecError(f"{where}: policy: {err}") from None


def _resolve(entry: ModelEntry, i: int, defaults: Overrides, path: Path) -> PortfolioModel:
    where = f"{path}: models.{i} ({entry.name})"
    cfg_path = (path.parent / entry.config).resolve()
    if not cfg_path.is_file():
        raise SpecError(f"{where}: config: file not found: {cfg_path}")
    raw = read_mapping(cfg_path, "config file")
    fit = {**defaults.fit, **entry.fit}
    priors = _merge(defaults.priors, entry.priors)
    merged = _merge(raw, {"fit": fit, "model": {"priors": priors}} if priors else {"fit": fit})
    try:
        cfg = parse_config(merged, source=str(cfg_path))
    except SpecError as err:
        raise SpecError(f"{where}: {err}") from None
    policy = _policy(
        entry.policy if entry.policy is not None else defaults.policy, path.parent, where
    )
    value = entry.value_per_kpi if entry.value_per_kpi is not None else defaults.value_per_kpi
    return PortfolioModel(
        name=entry.name,
        config_path=cfg_path,
        config=merged,
        base=cfg_path.parent,
        policy=policy,
        value_per_kpi=value,
        config_fingerprint=config_fingerprint(cfg),
    )


def load_portfolio(path: Path) -> Portfolio:
    """Read and check a portfolio file (see the module docstring); raises SpecError."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"portfolio file not found: {path}")
    raw = read_mapping(path, "portfolio file")
    spec = validate_mapping(PortfolioFile, raw, str(path))
    seen: dict[str, int] = {}
    for i, entry in enumerate(spec.models):
        if entry.name in seen:
            raise SpecError(
                f"{path}: models.{i}.name: {entry.name!r} is already the name of "
                f"models.{seen[entry.name]}; model names must be unique"
            )
        seen[entry.name] = i
    models = tuple(_resolve(e, i, spec.defaults, path) for i, e in enumerate(spec.models))
    return Portfolio(name=spec.name, path=path.resolve(), models=models)


__all__ = [
    "ModelEntry",
    "Overrides",
    "Portfolio",
    "PortfolioFile",
    "PortfolioModel",
    "config_fingerprint",
    "load_portfolio",
]
