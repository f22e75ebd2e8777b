"""The Bayesian MMM: design (scaling) and the NumPyro model function."""

from mixflow.model.design import Design, build_design
from mixflow.model.mmm import (
    adstock_weights,
    baseline_components,
    media_coefficients,
    mmm_model,
    predict,
    sample_params,
    saturated_media,
)

__all__ = [
    "Design",
    "adstock_weights",
    "baseline_components",
    "build_design",
    "media_coefficients",
    "mmm_model",
    "predict",
    "sample_params",
    "saturated_media",
]
