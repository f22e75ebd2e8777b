"""Model and fit specifications: the YAML schema, whose validated sections are the frozen specs."""

from mixflow.spec.config import MixflowConfig, load_config, parse_config
from mixflow.spec.model_spec import (
    Adstock,
    FitConfig,
    FitMethod,
    Likelihood,
    LogNormalPrior,
    ModelSpec,
    PriorParameterization,
    PriorSpec,
    Saturation,
    Trend,
    fit_config_from_config,
    model_spec_from_config,
)

__all__ = [
    "Adstock",
    "FitConfig",
    "FitMethod",
    "Likelihood",
    "LogNormalPrior",
    "MixflowConfig",
    "ModelSpec",
    "PriorParameterization",
    "PriorSpec",
    "Saturation",
    "Trend",
    "fit_config_from_config",
    "load_config",
    "model_spec_from_config",
    "parse_config",
]
