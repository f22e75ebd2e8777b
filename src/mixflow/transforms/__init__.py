"""Adstock and saturation transforms (pure jax.numpy) and their registry."""

from mixflow.transforms.adstock import (
    adstock_channel_major,
    apply_adstock,
    binomial_weights,
    channel_major,
    geometric_weights,
    lag_stack,
    weibull_weights,
)
from mixflow.transforms.registry import (
    ADSTOCKS,
    SATURATIONS,
    AdstockComponent,
    SaturationComponent,
    adstock_component,
    saturation_component,
)
from mixflow.transforms.saturation import hill, logistic

__all__ = [
    "ADSTOCKS",
    "SATURATIONS",
    "AdstockComponent",
    "SaturationComponent",
    "adstock_channel_major",
    "adstock_component",
    "apply_adstock",
    "binomial_weights",
    "channel_major",
    "geometric_weights",
    "hill",
    "lag_stack",
    "logistic",
    "saturation_component",
    "weibull_weights",
]
