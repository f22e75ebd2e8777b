"""Prior against posterior of each channel's adstock and saturation parameters: the rows the
report's prior/posterior table adds below the ROI ones (``prior_posterior.csv``).

The prior is the one the model used (the config's, else the default of
:mod:`mixflow.spec.priors`), summarized by its mean (what the report shows), median and central
90% interval (as the ROI prior's row is); the posterior by its mean, median and 90% HDI.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as st

from mixflow.analysis.stats import hdi
from mixflow.posterior.posterior import Posterior
from mixflow.spec.priors import (
    ADSTOCK_PARAMETERS,
    SATURATION_PARAMETERS,
    ParameterPrior,
    resolved_prior,
)

#: tails of the prior's central 90% interval
_TAILS = (0.5, 0.05, 0.95)


def _frozen(prior: ParameterPrior) -> Any:
    if prior.distribution == "beta":
        frozen = st.beta(prior.alpha, prior.beta)
    elif prior.distribution == "lognormal":
        frozen = st.lognorm(s=prior.sigma, scale=np.exp(prior.mu))
    elif prior.distribution == "gamma":
        frozen = st.gamma(a=prior.alpha, scale=1.0 / prior.beta)
    else:
        frozen = st.halfnorm(scale=prior.sigma)
    return frozen


def prior_quantiles(prior: ParameterPrior) -> tuple[float, float, float]:
    """Median, 5% and 95% quantiles of ``prior``."""
    med, lo, hi = (float(_frozen(prior).ppf(q)) for q in _TAILS)
    return med, lo, hi


def prior_mean(prior: ParameterPrior) -> float:
    """The mean of ``prior`` (the statistic the report's table shows)."""
    return float(_frozen(prior).mean())


def component_prior_rows(posterior: Posterior) -> pd.DataFrame:
    """One row per channel and adstock / saturation parameter (``quantity`` is e.g.
    ``adstock.alpha``), with the columns of ``prior_posterior.csv``."""
    spec = posterior.spec
    samples = posterior.flat_samples()
    rows = []
    for section, params, priors in (
        ("adstock", ADSTOCK_PARAMETERS[spec.adstock], spec.priors.adstock),
        ("saturation", SATURATION_PARAMETERS[spec.saturation], spec.priors.saturation),
    ):
        for par in params:
            if par.name not in samples:
                continue
            draws = np.asarray(samples[par.name], dtype=np.float64).reshape(
                -1, len(posterior.dataset.channels)
            )
            band = hdi(draws)
            for i, ch in enumerate(posterior.dataset.channels):
                resolved = resolved_prior(par, priors, ch, spec.max_lag)
                med, lo, hi = prior_quantiles(resolved)
                rows.append(
                    {
                        "channel": ch,
                        "quantity": f"{section}.{par.name}",
                        "prior_median": med,
                        "prior_hdi_lo": lo,
                        "prior_hdi_hi": hi,
                        "posterior_median": float(np.median(draws[:, i])),
                        "posterior_hdi_lo": float(band[i, 0]),
                        "posterior_hdi_hi": float(band[i, 1]),
                        "prior_mean": prior_mean(resolved),
                        "posterior_mean": float(np.mean(draws[:, i])),
                    }
                )
    return pd.DataFrame(rows)


__all__ = ["component_prior_rows", "prior_mean", "prior_quantiles"]
