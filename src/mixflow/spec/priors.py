"""Priors of the adstock and saturation parameters: the YAML schema and the defaults.

In the config, ``model.priors.adstock`` and ``model.priors.saturation`` map a channel to its
parameters' priors, each a distribution name and its parameters (PyMC / NumPyro names)::

    model:
      priors:
        adstock:
          tv: {alpha: {distribution: beta, alpha: 2, beta: 3}}
        saturation:
          tv: {half_saturation: {distribution: lognormal, mu: 0.3, sigma: 0.5}}

Channels and parameters not listed keep the defaults of :data:`ADSTOCK_PARAMETERS` and
:data:`SATURATION_PARAMETERS` (on scaled media, where a channel's mean non-zero weekly exposure is
1). A share in (0, 1) takes ``beta``; a positive parameter takes ``lognormal``, ``gamma`` or
``halfnormal``. The channels of one parameter share one distribution family (their parameters may
differ), so the model samples each parameter as one vector over channels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field, FiniteFloat, PositiveFloat

from mixflow.errors import did_you_mean
from mixflow.schema_errors import StrictModel
from mixflow.spec.options import Adstock, Saturation


class BetaPrior(StrictModel):
    """``Beta(alpha, beta)``: mean ``alpha / (alpha + beta)``."""

    distribution: Literal["beta"] = "beta"
    alpha: PositiveFloat
    beta: PositiveFloat
    ARGS: ClassVar[tuple[str, ...]] = ("alpha", "beta")


class LogNormalParamPrior(StrictModel):
    """``LogNormal(mu, sigma)`` on the log scale: median ``exp(mu)``."""

    distribution: Literal["lognormal"] = "lognormal"
    mu: FiniteFloat
    sigma: PositiveFloat
    ARGS: ClassVar[tuple[str, ...]] = ("mu", "sigma")


class GammaPrior(StrictModel):
    """``Gamma(alpha, beta)`` with shape ``alpha`` and rate ``beta``: mean ``alpha / beta``."""

    distribution: Literal["gamma"] = "gamma"
    alpha: PositiveFloat
    beta: PositiveFloat
    ARGS: ClassVar[tuple[str, ...]] = ("alpha", "beta")


class HalfNormalPrior(StrictModel):
    """``HalfNormal(sigma)``."""

    distribution: Literal["halfnormal"] = "halfnormal"
    sigma: PositiveFloat
    ARGS: ClassVar[tuple[str, ...]] = ("sigma",)


ParameterPrior = Annotated[
    BetaPrior | LogNormalParamPrior | GammaPrior | HalfNormalPrior,
    Field(discriminator="distribution"),
]
#: channel -> parameter -> prior
ChannelPriors = dict[str, dict[str, ParameterPrior]]


def prior_args(prior: ParameterPrior) -> tuple[float, ...]:
    """The distribution's parameters in NumPyro's order (``Beta(alpha, beta)`` ...)."""
    return tuple(float(getattr(prior, a)) for a in prior.ARGS)


class Support(StrEnum):
    UNIT = "unit"
    POSITIVE = "positive"


#: distributions allowed for a parameter of each support
FAMILIES: dict[Support, tuple[str, ...]] = {
    Support.UNIT: ("beta",),
    Support.POSITIVE: ("lognormal", "gamma", "halfnormal"),
}
_SUPPORT_WORDS = {Support.UNIT: "a share in (0, 1)", Support.POSITIVE: "a positive parameter"}


@dataclass(frozen=True)
class ComponentParameter:
    """A per-channel parameter of a component: its name, support, default prior (which may
    depend on the model's ``max_lag``) and what it means."""

    name: str
    support: Support
    default: Callable[[int], ParameterPrior]
    description: str


ADSTOCK_PARAMETERS: dict[Adstock, tuple[ComponentParameter, ...]] = {
    Adstock.GEOMETRIC: (
        ComponentParameter(
            "alpha",
            Support.UNIT,
            lambda _l: BetaPrior(alpha=1.0, beta=3.0),
            "weekly retention, mean 0.25",
        ),
    ),
    Adstock.WEIBULL: (
        ComponentParameter(
            "shape",
            Support.POSITIVE,
            lambda _l: LogNormalParamPrior(mu=0.0, sigma=0.5),
            "Weibull shape, median 1",
        ),
        ComponentParameter(
            "scale",
            Support.POSITIVE,
            lambda lag: LogNormalParamPrior(mu=math.log(max(lag, 1) / 3.0 + 0.5), sigma=0.5),
            "Weibull scale in periods, median max_lag/3 + 0.5",
        ),
    ),
    Adstock.BINOMIAL: (
        ComponentParameter(
            "peak",
            Support.UNIT,
            lambda _l: BetaPrior(alpha=1.5, beta=4.0),
            "peak lag / max_lag, mean 0.27",
        ),
    ),
}

SATURATION_PARAMETERS: dict[Saturation, tuple[ComponentParameter, ...]] = {
    Saturation.HILL: (
        ComponentParameter(
            "half_saturation",
            Support.POSITIVE,
            lambda _l: LogNormalParamPrior(mu=0.0, sigma=0.7),
            "scaled exposure at half effect, median 1 (the mean non-zero week)",
        ),
        ComponentParameter(
            "slope",
            Support.POSITIVE,
            lambda _l: LogNormalParamPrior(mu=0.0, sigma=0.4),
            "Hill slope, median 1",
        ),
    ),
    Saturation.LOGISTIC: (
        # sd 0.5 (95%: 0.6-4.4): a rate of 5+ saturates a typical week (tanh > 0.98), so an
        # always-on channel's effect becomes a constant the intercept can take over; that
        # unidentified ridge (sd 0.7 reached it) cost chains hundreds of divergences
        ComponentParameter(
            "lam",
            Support.POSITIVE,
            lambda _l: LogNormalParamPrior(mu=0.5, sigma=0.5),
            "logistic rate, median 1.65",
        ),
    ),
}


def check_component_priors(
    section: str, kind: str, params: tuple[ComponentParameter, ...], priors: ChannelPriors
) -> None:
    """Raise ``ValueError`` naming the first unknown parameter or unsupported distribution in
    ``priors`` (``section`` is ``adstock`` or ``saturation``, ``kind`` the component)."""
    by_name = {p.name: p for p in params}
    for channel, per_param in priors.items():
        for name, prior in per_param.items():
            where = f"model.priors.{section}.{channel}"
            if name not in by_name:
                raise ValueError(
                    f"{where}: unknown parameter '{name}'{did_you_mean(name, by_name)}; "
                    f"{kind} {section} has: {', '.join(by_name)}"
                )
            support = by_name[name].support
            if prior.distribution not in FAMILIES[support]:
                raise ValueError(
                    f"{where}.{name}: distribution '{prior.distribution}' does not fit "
                    f"{_SUPPORT_WORDS[support]}; allowed: {', '.join(FAMILIES[support])}"
                )


def check_one_family(
    section: str,
    params: tuple[ComponentParameter, ...],
    priors: ChannelPriors,
    channels: tuple[str, ...],
    max_lag: int,
) -> None:
    """Raise ``ValueError`` when the channels of one parameter would use different
    distribution families (the defaults included)."""
    for par in params:
        used: dict[str, str] = {}
        for ch in channels:
            prior = resolved_prior(par, priors, ch, max_lag)
            used.setdefault(prior.distribution, ch)
        if len(used) > 1:
            shown = ", ".join(f"{fam} ({ch})" for fam, ch in used.items())
            raise ValueError(
                f"model.priors.{section}: the channels' priors of '{par.name}' mix "
                f"distributions: {shown}; give every channel the same distribution (its "
                f"parameters may differ)"
            )


def resolved_prior(
    par: ComponentParameter, priors: Mapping[str, Mapping[str, ParameterPrior]], ch: str, lag: int
) -> ParameterPrior:
    """The prior of parameter ``par`` for channel ``ch``: the config's, else the default."""
    return priors.get(ch, {}).get(par.name) or par.default(lag)


__all__ = [
    "ADSTOCK_PARAMETERS",
    "FAMILIES",
    "SATURATION_PARAMETERS",
    "BetaPrior",
    "ChannelPriors",
    "ComponentParameter",
    "GammaPrior",
    "HalfNormalPrior",
    "LogNormalParamPrior",
    "ParameterPrior",
    "Support",
    "check_component_priors",
    "check_one_family",
    "prior_args",
    "resolved_prior",
]
