"""Adstock and saturation components: name, parameters with default priors, and the function.

The model looks components up by the spec's enum; each declares its parameters and their
default priors (on scaled media, where the mean non-zero weekly exposure of a channel is 1), so
adding a transform means adding one entry here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jax.numpy as jnp
import numpyro.distributions as dist

from mixflow.spec.model_spec import Adstock, Saturation
from mixflow.transforms import adstock as ad
from mixflow.transforms import saturation as sat

PriorFactory = Callable[[int], dist.Distribution]


@dataclass(frozen=True)
class ParamPrior:
    """A per-channel parameter: its name and the default prior (built for the max_lag)."""

    name: str
    prior: PriorFactory
    description: str


@dataclass(frozen=True)
class AdstockComponent:
    kind: Adstock
    params: tuple[ParamPrior, ...]
    weights: Callable[[Mapping[str, jnp.ndarray], int], jnp.ndarray]


@dataclass(frozen=True)
class SaturationComponent:
    kind: Saturation
    params: tuple[ParamPrior, ...]
    curve: Callable[[jnp.ndarray, Mapping[str, jnp.ndarray]], jnp.ndarray]


ADSTOCKS: dict[Adstock, AdstockComponent] = {
    Adstock.GEOMETRIC: AdstockComponent(
        kind=Adstock.GEOMETRIC,
        params=(
            ParamPrior("alpha", lambda _l: dist.Beta(1.0, 3.0), "weekly retention, mean 0.25"),
        ),
        weights=lambda p, lag: ad.geometric_weights(p["alpha"], lag),
    ),
    Adstock.WEIBULL: AdstockComponent(
        kind=Adstock.WEIBULL,
        params=(
            ParamPrior("shape", lambda _l: dist.LogNormal(0.0, 0.5), "Weibull shape, median 1"),
            ParamPrior(
                "scale",
                lambda lag: dist.LogNormal(math.log(max(lag, 1) / 3.0 + 0.5), 0.5),
                "Weibull scale in periods, median max_lag/3 + 0.5",
            ),
        ),
        weights=lambda p, lag: ad.weibull_weights(p["shape"], p["scale"], lag),
    ),
    Adstock.BINOMIAL: AdstockComponent(
        kind=Adstock.BINOMIAL,
        params=(
            ParamPrior("peak", lambda _l: dist.Beta(1.5, 4.0), "peak lag / max_lag, mean 0.27"),
        ),
        weights=lambda p, lag: ad.binomial_weights(p["peak"], lag),
    ),
}

SATURATIONS: dict[Saturation, SaturationComponent] = {
    Saturation.HILL: SaturationComponent(
        kind=Saturation.HILL,
        params=(
            ParamPrior(
                "half_saturation",
                lambda _l: dist.LogNormal(0.0, 0.7),
                "scaled exposure at half effect, median 1 (the mean non-zero week)",
            ),
            ParamPrior("slope", lambda _l: dist.LogNormal(0.0, 0.4), "Hill slope, median 1"),
        ),
        curve=lambda x, p: sat.hill(x, p["half_saturation"], p["slope"]),
    ),
    Saturation.LOGISTIC: SaturationComponent(
        kind=Saturation.LOGISTIC,
        params=(
            # sd 0.5 (95%: 0.6-4.4): a rate of 5+ saturates a typical week (tanh > 0.98), so an
            # always-on channel's effect becomes a constant the intercept can take over; that
            # unidentified ridge (sd 0.7 reached it) cost chains hundreds of divergences
            ParamPrior("lam", lambda _l: dist.LogNormal(0.5, 0.5), "logistic rate, median 1.65"),
        ),
        curve=lambda x, p: sat.logistic(x, p["lam"]),
    ),
}


def adstock_component(kind: Adstock) -> AdstockComponent:
    return ADSTOCKS[kind]


def saturation_component(kind: Saturation) -> SaturationComponent:
    return SATURATIONS[kind]
