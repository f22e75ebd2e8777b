"""Adstock and saturation components: name, parameters (with default priors) and the function.

The model looks components up by the spec's enum. Each parameter's name, support and default
prior are declared in :mod:`mixflow.spec.priors` (the config may override them per channel);
this module adds the functions and turns a prior into a NumPyro distribution. Adding a transform
means adding one entry there and one here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jax.numpy as jnp
import numpyro.distributions as dist

from mixflow.spec.options import Adstock, Saturation
from mixflow.spec.priors import (
    ADSTOCK_PARAMETERS,
    SATURATION_PARAMETERS,
    ComponentParameter,
    prior_args,
)
from mixflow.transforms import adstock as ad
from mixflow.transforms import saturation as sat

#: NumPyro distribution of each prior family, taking the arguments in ``ARGS`` order
FAMILY_DISTRIBUTIONS: dict[str, Callable[..., dist.Distribution]] = {
    "beta": dist.Beta,
    "lognormal": dist.LogNormal,
    "gamma": dist.Gamma,
    "halfnormal": dist.HalfNormal,
}


def prior_distribution(family: str, args: jnp.ndarray | tuple[float, ...]) -> dist.Distribution:
    """The NumPyro distribution of ``family`` with parameters ``args``: an ``(n_args, ...)``
    array, or a tuple of floats (a scalar distribution)."""
    return FAMILY_DISTRIBUTIONS[family](*args)


def default_prior(par: ComponentParameter, max_lag: int) -> dist.Distribution:
    """The NumPyro distribution of ``par``'s default prior for a model of ``max_lag``."""
    prior = par.default(max_lag)
    return prior_distribution(prior.distribution, prior_args(prior))


@dataclass(frozen=True)
class AdstockComponent:
    kind: Adstock
    params: tuple[ComponentParameter, ...]
    weights: Callable[[Mapping[str, jnp.ndarray], int], jnp.ndarray]


@dataclass(frozen=True)
class SaturationComponent:
    kind: Saturation
    params: tuple[ComponentParameter, ...]
    curve: Callable[[jnp.ndarray, Mapping[str, jnp.ndarray]], jnp.ndarray]


ADSTOCKS: dict[Adstock, AdstockComponent] = {
    Adstock.GEOMETRIC: AdstockComponent(
        kind=Adstock.GEOMETRIC,
        params=ADSTOCK_PARAMETERS[Adstock.GEOMETRIC],
        weights=lambda p, lag: ad.geometric_weights(p["alpha"], lag),
    ),
    Adstock.WEIBULL: AdstockComponent(
        kind=Adstock.WEIBULL,
        params=ADSTOCK_PARAMETERS[Adstock.WEIBULL],
        weights=lambda p, lag: ad.weibull_weights(p["shape"], p["scale"], lag),
    ),
    Adstock.BINOMIAL: AdstockComponent(
        kind=Adstock.BINOMIAL,
        params=ADSTOCK_PARAMETERS[Adstock.BINOMIAL],
        weights=lambda p, lag: ad.binomial_weights(p["peak"], lag),
    ),
}

SATURATIONS: dict[Saturation, SaturationComponent] = {
    Saturation.HILL: SaturationComponent(
        kind=Saturation.HILL,
        params=SATURATION_PARAMETERS[Saturation.HILL],
        curve=lambda x, p: sat.hill(x, p["half_saturation"], p["slope"]),
    ),
    Saturation.LOGISTIC: SaturationComponent(
        kind=Saturation.LOGISTIC,
        params=SATURATION_PARAMETERS[Saturation.LOGISTIC],
        curve=lambda x, p: sat.logistic(x, p["lam"]),
    ),
}


def adstock_component(kind: Adstock) -> AdstockComponent:
    return ADSTOCKS[kind]


def saturation_component(kind: Saturation) -> SaturationComponent:
    return SATURATIONS[kind]


__all__ = [
    "ADSTOCKS",
    "FAMILY_DISTRIBUTIONS",
    "SATURATIONS",
    "AdstockComponent",
    "SaturationComponent",
    "adstock_component",
    "default_prior",
    "prior_distribution",
    "saturation_component",
]
