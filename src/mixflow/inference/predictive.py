"""Posterior predictive draws and pointwise log-likelihood of the KPI, for ``posterior.nc``.

Both are computed with NumPyro (:class:`numpyro.infer.Predictive` and
:func:`numpyro.infer.log_likelihood`) over the model of :mod:`mixflow.model.mmm`, on an evenly
thinned subset of the posterior draws (the same draws for both), and returned in the KPI's own
units (currency for a revenue KPI, units for conversions): the model's scaled KPI times
``kpi_scale * population_g``, and the log density shifted by the log of that factor (the
change of variables), so that the log-likelihood is that of the KPI as the data state it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
from numpyro.infer import Predictive, log_likelihood
from numpyro.primitives import Messenger

from mixflow.model.design import Design
from mixflow.model.mmm import mmm_model
from mixflow.spec.model_spec import ModelSpec

#: the likelihood site of the model
KPI_SITE = "y"
#: draws kept (over all chains) for the predictive and log-likelihood groups: enough for
#: PSIS-LOO and predictive checks ...
MAX_PREDICTIVE_DRAWS = 1000
#: ... and fewer for big geo panels, down to this many, so that each group holds at most
#: :data:`MAX_PREDICTIVE_VALUES` float32 values (8 MB): Meridian's 20 geos x 156 weeks keep 641
MIN_PREDICTIVE_DRAWS = 250
MAX_PREDICTIVE_VALUES = 2_000_000


@dataclass(frozen=True)
class PredictiveDraws:
    """What the predictive groups of ``posterior.nc`` hold.

    Attributes:
        draw_index: ``(D,)`` the posterior draws (within each chain) they were computed on.
        kpi: ``(chains, D, G, T)`` posterior predictive KPI over every period, held-out ones
            included, in KPI units (float32).
        log_likelihood: ``(chains, D, G, T_fit)`` pointwise log density of the observed KPI
            at the fitted (not held-out) periods, in KPI units (float32).
        fitted: ``(T,)`` True for the fitted periods (the model's ``obs_mask``).
    """

    draw_index: np.ndarray
    kpi: np.ndarray
    log_likelihood: np.ndarray
    fitted: np.ndarray


class _Unobserved(Messenger):
    """Samples the named sites from their distribution instead of taking the observed value
    (what the posterior predictive needs; NumPyro offers conditioning, not its inverse)."""

    def __init__(self, fn: Callable[..., Any], names: frozenset[str]) -> None:
        self.names = names
        super().__init__(fn)

    def process_message(self, msg: dict[str, Any]) -> None:
        if msg["type"] == "sample" and msg["name"] in self.names:
            msg["value"] = None
            msg["is_observed"] = False


def thinned_draw_index(n_draws: int, n_chains: int, max_draws: int) -> np.ndarray:
    """``(D,)`` evenly spaced draw positions per chain, ``D * n_chains <= max(max_draws,
    n_chains)``."""
    keep = max(1, min(n_draws, max_draws // max(n_chains, 1)))
    return np.unique(np.linspace(0, n_draws - 1, keep).round().astype(int))


def predictive_draw_budget(n_geos: int, n_times: int) -> int:
    """How many draws the predictive groups keep for a ``(n_geos, n_times)`` panel."""
    fit = MAX_PREDICTIVE_VALUES // max(n_geos * n_times, 1)
    return max(MIN_PREDICTIVE_DRAWS, min(MAX_PREDICTIVE_DRAWS, fit))


def predictive_draws(
    design: Design,
    spec: ModelSpec,
    samples: dict[str, np.ndarray],
    rng_key: jax.Array,
    max_draws: int | None = None,
) -> PredictiveDraws:
    """Posterior predictive KPI and pointwise log-likelihood for posterior ``samples``
    ``{site: (chains, draws, ...)}`` of the model ``spec`` fitted to ``design``; ``rng_key``
    drives the predictive noise; ``max_draws`` defaults to :func:`predictive_draw_budget`."""
    arrays = design.arrays()
    if max_draws is None:
        max_draws = predictive_draw_budget(design.n_geos, design.n_times)
    first = next(iter(samples.values()))
    chains, draws = int(first.shape[0]), int(first.shape[1])
    index = thinned_draw_index(draws, chains, max_draws)
    kept = {k: np.asarray(v)[:, index] for k, v in samples.items() if k != KPI_SITE}
    flat = {k: v.reshape(-1, *v.shape[2:]) for k, v in kept.items()}

    def model(a: dict[str, Any]) -> None:
        mmm_model(a, spec)

    def unobserved(a: dict[str, Any]) -> None:
        with _Unobserved(None, frozenset({KPI_SITE})):  # type: ignore[arg-type]
            mmm_model(a, spec)

    ll = np.asarray(log_likelihood(model, flat, arrays)[KPI_SITE])
    pred = Predictive(unobserved, posterior_samples=flat, return_sites=[KPI_SITE])
    y_rep = np.asarray(pred(rng_key, arrays)[KPI_SITE])
    # scaled KPI -> KPI units: y_kpi = y * kpi_scale * population_g
    factor = design.kpi_scale * np.asarray(design.population, dtype=np.float64)[:, None]
    fitted = np.asarray(design.obs_mask, dtype=bool)
    ll_kpi = (ll - np.log(factor))[..., fitted]
    shape = (chains, len(index))
    return PredictiveDraws(
        draw_index=index,
        kpi=(y_rep * factor).astype(np.float32).reshape(*shape, *y_rep.shape[1:]),
        log_likelihood=ll_kpi.astype(np.float32).reshape(*shape, *ll_kpi.shape[1:]),
        fitted=fitted,
    )
