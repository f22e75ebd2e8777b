"""The YAML configuration schema (pydantic, frozen, unknown keys are errors with a did-you-mean).

The validated sections are the specs the rest of mixflow uses: :class:`ModelSpec` (the ``model``
section), :class:`PriorSpec` (``model.priors``) and :class:`FitConfig` (``fit``); there is no
second set of value objects to keep in step. Options with fixed choices are the enums of
:mod:`mixflow.spec.options`. Errors read as :mod:`mixflow.schema_errors` formats them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from mixflow.data.schema import DataConfig, MediaConfig
from mixflow.errors import SpecError, did_you_mean
from mixflow.schema_errors import StrictModel, format_validation_error
from mixflow.spec.options import (
    Adstock,
    CalibrationMethod,
    ChainMethod,
    FitMethod,
    GeoSaturation,
    InitMass,
    Likelihood,
    PriorParameterization,
    Saturation,
    Trend,
)
from mixflow.spec.priors import (
    ADSTOCK_PARAMETERS,
    SATURATION_PARAMETERS,
    ChannelPriors,
    check_component_priors,
    check_one_family,
)


class SeasonalityConfig(StrictModel):
    period: float = Field(default=52.18, gt=1.0)
    fourier_terms: int = Field(default=3, ge=0, le=20)


class RoiPriorConfig(StrictModel):
    """LogNormal ROI prior stated by its median (original units) and log-scale sigma."""

    distribution: Literal["lognormal"] = "lognormal"
    median: float = Field(gt=0)
    sigma: float = Field(gt=0)


class CoefficientPriorConfig(StrictModel):
    distribution: Literal["halfnormal"] = "halfnormal"
    sigma: float = Field(gt=0)


class PriorSpec(StrictModel):
    """Priors on media effects and on the adstock / saturation parameters.

    ``roi`` maps channel -> ROI prior; channels not listed get the data-derived default: a
    lognormal whose median makes all media together explain ``media_share`` of the KPI value
    (each channel in proportion to its spend), with log-sd ``roi_sigma``. ``adstock`` and
    ``saturation`` map channel -> parameter -> prior (see :mod:`mixflow.spec.priors`).
    """

    #: ``roi`` (default): priors on each channel's ROI, the coefficient is derived from it.
    #: ``coefficient``: half-normal priors on the coefficients of the scaled model.
    parameterization: PriorParameterization = PriorParameterization.ROI
    roi: dict[str, RoiPriorConfig] = Field(default_factory=dict)
    coefficient: dict[str, CoefficientPriorConfig] = Field(default_factory=dict)
    #: default ROI prior: media explains about this share of the KPI (median) ...
    media_share: float = Field(default=0.25, gt=0, lt=1)
    #: ... with this log-scale spread for each channel's ROI
    roi_sigma: float = Field(default=1.0, gt=0)
    adstock: ChannelPriors = Field(default_factory=dict)
    saturation: ChannelPriors = Field(default_factory=dict)


class ModelSpec(StrictModel):
    """The ``model`` section: the model's structure and priors (frozen, validated)."""

    adstock: Adstock = Adstock.GEOMETRIC
    max_lag: int = Field(default=8, ge=0, le=52)
    saturation: Saturation = Saturation.HILL
    seasonality: SeasonalityConfig = Field(default_factory=SeasonalityConfig)
    trend: Trend = Trend.LINEAR
    trend_knots: int = Field(default=4, ge=1, le=50)
    #: ``trend: spline``: periods between the spline's knots (mixflow.model.baseline)
    #: (26 since issue 17's drifting-baseline study; saved runs hold theirs, config.json
    #: records every field)
    trend_knot_weeks: float = Field(default=26.0, ge=4.0, le=520.0)
    #: ``trend: spline``: also a linear slope under the spline, which, unlike the spline,
    #: carries on after the fitted periods (mixflow.model.baseline)
    trend_slope: bool = False
    #: one multiplier of every paid channel's effect that drifts smoothly over time
    #: (mixflow.model.time_varying), with knots every ``media_knot_weeks`` periods
    time_varying_media: bool = False
    media_knot_weeks: float = Field(default=52.0, ge=4.0, le=520.0)
    likelihood: Likelihood = Likelihood.NORMAL
    #: geo models: ``relative`` (the default) measures each geo's saturation against its own
    #: mean exposure, ``pooled`` against the panel's (see docs/model.md, "Geo heterogeneity");
    #: national models ignore it. A saved run's config without it reads as ``pooled``
    #: (:data:`SAVED_CONFIG_DEFAULTS`)
    geo_saturation: GeoSaturation = GeoSaturation.RELATIVE
    priors: PriorSpec = Field(default_factory=PriorSpec)

    @model_validator(mode="after")
    def _component_priors(self) -> ModelSpec:
        check_component_priors(
            "adstock", self.adstock.value, ADSTOCK_PARAMETERS[self.adstock], self.priors.adstock
        )
        check_component_priors(
            "saturation",
            self.saturation.value,
            SATURATION_PARAMETERS[self.saturation],
            self.priors.saturation,
        )
        return self

    @property
    def seasonality_period(self) -> float:
        return self.seasonality.period

    @property
    def fourier_terms(self) -> int:
        return self.seasonality.fourier_terms

    def __hash__(self) -> int:  # dict fields: hash the canonical JSON (jit static argument)
        return hash(self.model_dump_json())


class FitConfig(StrictModel):
    """The ``fit`` section: how the posterior is computed."""

    method: FitMethod = FitMethod.NUTS
    chains: int = Field(default=4, ge=1, le=64)
    # limits: a run folder holds chains x draws of every site in memory and on disk
    warmup: int = Field(default=1000, ge=10, le=100_000)
    draws: int = Field(default=1000, ge=10, le=100_000)
    #: NumPy's and JAX's generators take a non-negative seed of at most 63 bits
    seed: int = Field(default=1, ge=0, le=2**63 - 1)
    holdout_weeks: int = Field(default=0, ge=0)
    target_accept: float = Field(default=0.9, gt=0.5, lt=1.0)
    max_tree_depth: int = Field(default=10, ge=3, le=15)
    chain_method: ChainMethod = ChainMethod.AUTO
    #: NUTS's starting mass matrix: ``laplace`` (inverse Hessian at the posterior mode) or
    #: ``identity`` (NumPyro's default); see docs/model.md
    init_mass: InitMass = InitMass.LAPLACE
    svi_steps: int = Field(default=3000, ge=10, le=1_000_000)
    progress_bar: bool = True


class LiftTestConfig(StrictModel):
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


class CalibrationConfig(StrictModel):
    #: experiments table (CSV), relative to the config file; see docs/model.md
    experiments: str | None = None
    #: ``likelihood``: each test is an extra likelihood term on the model-implied lift;
    #: ``roi_prior``: the tests set the tested channels' ROI priors instead
    method: CalibrationMethod = CalibrationMethod.LIKELIHOOD
    #: lift tests written inline (mixflow inlines the experiments table here when it fits, so a
    #: run's saved config carries its tests)
    tests: list[LiftTestConfig] = Field(default_factory=list)


class MixflowConfig(StrictModel):
    name: str | None = None
    data: DataConfig
    model: ModelSpec = Field(default_factory=ModelSpec)
    fit: FitConfig = Field(default_factory=FitConfig)
    calibration: CalibrationConfig | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("name must not be empty")
        return v

    @model_validator(mode="after")
    def _prior_channels(self) -> MixflowConfig:
        channels = self.data.channels
        p = self.model.priors
        for section, names in (
            ("roi", p.roi),
            ("coefficient", p.coefficient),
            ("adstock", p.adstock),
            ("saturation", p.saturation),
        ):
            for name in names:
                if name not in channels:
                    raise ValueError(
                        f"model.priors.{section}: unknown channel '{name}'"
                        f"{did_you_mean(name, channels)}; channels are: "
                        f"{', '.join(sorted(channels))}"
                    )
        m = self.model
        check_one_family("adstock", ADSTOCK_PARAMETERS[m.adstock], p.adstock, channels, m.max_lag)
        check_one_family(
            "saturation", SATURATION_PARAMETERS[m.saturation], p.saturation, channels, m.max_lag
        )
        return self


#: the names of the sections' schemas before they became the specs themselves
ModelConfig = ModelSpec
PriorsConfig = PriorSpec
FitSection = FitConfig


# ---------------------------------------------------------------------------------- loading
def parse_config(raw: Any, source: str = "config") -> MixflowConfig:
    """Validate a parsed YAML/JSON mapping into a :class:`MixflowConfig`."""
    if not isinstance(raw, dict):
        raise SpecError(
            f"{source}: expected a mapping with keys data, model, fit; got {type(raw).__name__}"
        )
    try:
        return MixflowConfig.model_validate(raw)
    except ValidationError as err:
        raise SpecError(format_validation_error(err, source, MixflowConfig)) from None


#: options whose default changed: a run's saved ``config.json`` written before a key existed was
#: fitted with the value here, not with today's default (``section -> key -> value``)
SAVED_CONFIG_DEFAULTS: Final[Mapping[str, Mapping[str, str]]] = {
    # the default became ``relative`` (issue 21); every geo run saved before had ``pooled``
    "model": {"geo_saturation": GeoSaturation.POOLED.value},
}


def parse_saved_config(raw: Any, source: str = "config.json") -> MixflowConfig:
    """:func:`parse_config` for a config a run saved (``config.json``): a key of
    :data:`SAVED_CONFIG_DEFAULTS` it lacks reads as the value the run was fitted with, so old
    runs load and reproduce as fitted. New configs (YAML, the API) use :func:`parse_config`."""
    if isinstance(raw, dict):
        raw = dict(raw)
        for section, defaults in SAVED_CONFIG_DEFAULTS.items():
            part = raw.get(section, {})
            if isinstance(part, dict):
                raw[section] = {**defaults, **part}
    return parse_config(raw, source)


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


#: a lognormal ROI prior (the value object calibration and refresh build)
LogNormalPrior = RoiPriorConfig

__all__ = [
    "SAVED_CONFIG_DEFAULTS",
    "CalibrationConfig",
    "CoefficientPriorConfig",
    "DataConfig",
    "FitConfig",
    "LiftTestConfig",
    "LogNormalPrior",
    "MediaConfig",
    "MixflowConfig",
    "ModelSpec",
    "PriorSpec",
    "RoiPriorConfig",
    "SeasonalityConfig",
    "format_validation_error",
    "load_config",
    "parse_config",
    "parse_saved_config",
]
