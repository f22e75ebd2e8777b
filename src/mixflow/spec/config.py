"""The YAML configuration schema (pydantic, unknown keys are errors with a did-you-mean).

This is the boundary where configuration enters mixflow; inside, the frozen value objects of
:mod:`mixflow.spec.model_spec` are used instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mixflow.errors import SpecError, did_you_mean


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MediaConfig(_Strict):
    name: str = Field(min_length=1)
    spend_column: str
    exposure_column: str | None = None


class DataConfig(_Strict):
    path: str
    date_column: str = "date"
    geo_column: str | None = None
    population_column: str | None = None
    kpi_column: str
    kpi_type: Literal["revenue", "conversions"] = "revenue"
    revenue_per_kpi_column: str | None = None
    media: list[MediaConfig] = Field(min_length=1)
    controls: list[str] = Field(default_factory=list)
    events_column: str | None = None
    #: values of the events column that mean "no event"
    events_none_values: list[str] = Field(default_factory=lambda: ["na", "none", ""])

    @model_validator(mode="after")
    def _unique_names(self) -> DataConfig:
        names = [m.name for m in self.media]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"media names must be unique, repeated: {dupes}")
        if self.revenue_per_kpi_column and self.kpi_type == "revenue":
            raise ValueError("revenue_per_kpi_column is only allowed with kpi_type: conversions")
        if self.population_column and not self.geo_column:
            raise ValueError("population_column needs geo_column (population scales geo models)")
        return self


class SeasonalityConfig(_Strict):
    period: float = Field(default=52.18, gt=1.0)
    fourier_terms: int = Field(default=3, ge=0, le=20)


class RoiPriorConfig(_Strict):
    distribution: Literal["lognormal"] = "lognormal"
    median: float = Field(gt=0)
    sigma: float = Field(gt=0)


class CoefficientPriorConfig(_Strict):
    distribution: Literal["halfnormal"] = "halfnormal"
    sigma: float = Field(gt=0)


class PriorsConfig(_Strict):
    #: ``roi`` (default): priors on each channel's ROI, the coefficient is derived from it.
    #: ``coefficient``: half-normal priors on the coefficients of the scaled model.
    parameterization: Literal["roi", "coefficient"] = "roi"
    roi: dict[str, RoiPriorConfig] = Field(default_factory=dict)
    coefficient: dict[str, CoefficientPriorConfig] = Field(default_factory=dict)
    #: default ROI prior: media explains about this share of the KPI (median) ...
    media_share: float = Field(default=0.25, gt=0, lt=1)
    #: ... with this log-scale spread for each channel's ROI
    roi_sigma: float = Field(default=1.0, gt=0)


class ModelConfig(_Strict):
    adstock: Literal["geometric", "weibull", "binomial"] = "geometric"
    max_lag: int = Field(default=8, ge=0, le=52)
    saturation: Literal["hill", "logistic"] = "hill"
    seasonality: SeasonalityConfig = Field(default_factory=SeasonalityConfig)
    trend: Literal["none", "linear", "piecewise"] = "linear"
    trend_knots: int = Field(default=4, ge=1, le=50)
    likelihood: Literal["normal", "student_t"] = "normal"
    priors: PriorsConfig = Field(default_factory=PriorsConfig)


class FitSection(_Strict):
    method: Literal["nuts", "map", "svi"] = "nuts"
    chains: int = Field(default=4, ge=1, le=64)
    # limits: a run folder holds chains x draws of every site in memory and on disk
    warmup: int = Field(default=1000, ge=10, le=100_000)
    draws: int = Field(default=1000, ge=10, le=100_000)
    #: NumPy's and JAX's generators take a non-negative seed of at most 63 bits
    seed: int = Field(default=1, ge=0, le=2**63 - 1)
    holdout_weeks: int = Field(default=0, ge=0)
    target_accept: float = Field(default=0.9, gt=0.5, lt=1.0)
    max_tree_depth: int = Field(default=10, ge=3, le=15)
    chain_method: Literal["auto", "parallel", "vectorized", "sequential"] = "auto"
    #: NUTS's starting mass matrix: ``laplace`` (inverse Hessian at the posterior mode) or
    #: ``identity`` (NumPyro's default); see docs/model.md
    init_mass: Literal["laplace", "identity"] = "laplace"
    svi_steps: int = Field(default=3000, ge=10, le=1_000_000)
    progress_bar: bool = True


class LiftTestConfig(_Strict):
    """One lift test, inline (the columns of the experiments table)."""

    channel: str = Field(min_length=1)
    start: str
    end: str
    geos: str = ""
    spend_change: float
    incremental_kpi: float
    standard_error: float = Field(gt=0)
    measured_until: str | None = None
    #: where the test came from (``lift.csv row 2``), for messages
    source: str | None = None


class CalibrationConfig(_Strict):
    #: experiments table (CSV), relative to the config file; see docs/model.md
    experiments: str | None = None
    #: ``likelihood``: each test is an extra likelihood term on the model-implied lift;
    #: ``roi_prior``: the tests set the tested channels' ROI priors instead
    method: Literal["likelihood", "roi_prior"] = "likelihood"
    #: lift tests written inline (mixflow inlines the experiments table here when it fits, so a
    #: run's saved config carries its tests)
    tests: list[LiftTestConfig] = Field(default_factory=list)


class MixflowConfig(_Strict):
    name: str | None = None
    data: DataConfig
    model: ModelConfig = Field(default_factory=ModelConfig)
    fit: FitSection = Field(default_factory=FitSection)
    calibration: CalibrationConfig | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("name must not be empty")
        return v


# ---------------------------------------------------------------------------------- loading
def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """Allowed keys of the model found at ``loc`` in the schema tree."""
    model: Any = MixflowConfig
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        info = getattr(model, "model_fields", {}).get(part)
        if info is None:
            return []
        ann = info.annotation
        model = _model_of(ann)
    return list(getattr(model, "model_fields", {}).keys()) if model is not None else []


def _model_of(ann: Any) -> Any:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in getattr(ann, "__args__", ()) or ():
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def format_validation_error(err: ValidationError, source: str = "config") -> str:
    """One readable message per problem: ``config: model.adstok: unknown key (did you mean ...)``."""
    lines = []
    for e in err.errors():
        loc = tuple(e.get("loc", ()))
        where = ".".join(str(p) for p in loc) or "(top level)"
        if e.get("type") == "extra_forbidden":
            key = str(loc[-1])
            allowed = _fields_at(loc)
            hint = did_you_mean(key, allowed)
            lines.append(
                f"{source}: unknown key '{where}'{hint}; allowed here: {', '.join(allowed)}"
            )
        elif e.get("type") == "missing":
            lines.append(f"{source}: missing required key '{where}'")
        else:
            value = e.get("input")
            shown = "" if isinstance(value, dict | list) else f" (got {value!r})"
            msg = str(e.get("msg", "invalid value")).removeprefix("Value error, ")
            lines.append(f"{source}: {where}: {msg}{shown}")
    return "\n".join(lines)


def parse_config(raw: Any, source: str = "config") -> MixflowConfig:
    """Validate a parsed YAML/JSON mapping into a :class:`MixflowConfig`."""
    if not isinstance(raw, dict):
        raise SpecError(
            f"{source}: expected a mapping with keys data, model, fit; got {type(raw).__name__}"
        )
    try:
        return MixflowConfig.model_validate(raw)
    except ValidationError as err:
        raise SpecError(format_validation_error(err, source)) from None


def load_config(path: str | Path) -> tuple[MixflowConfig, Path]:
    """Read a YAML config; returns the config and the folder relative paths resolve against."""
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"config file not found: {p}")
    from mixflow.data.io import read_settings_text, yaml_problem

    text = read_settings_text(p, "config file")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:  # its own message quotes the line: name the position only
        raise SpecError(f"{p}: not valid YAML: {yaml_problem(err)}") from None
    return parse_config(raw, source=str(p)), p.resolve().parent
