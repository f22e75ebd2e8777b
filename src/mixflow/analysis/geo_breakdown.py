"""Per-geo ROI and contributions of a geo model, with 90% HDIs over the posterior draws.

A channel's contribution in geo ``g`` is its media effect there over the data window plus the
carryover tail (as the national figures in :mod:`mixflow.analysis.draws`), in KPI units and in
currency; its ROI in ``g`` is that value divided by its spend in ``g``. Summed over geos, the
contributions are the national ones, and the spend-weighted mean of the geo ROIs is the national
ROI (draw by draw).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mixflow.analysis.stats import hdi
from mixflow.errors import SpecError

if TYPE_CHECKING:  # JAX loads on first computation: the report reads the file names only
    import jax.numpy as jnp

    from mixflow.posterior.posterior import Posterior
    from mixflow.spec.model_spec import ModelSpec

GEO_ROI_FILE = "geo_roi.csv"
GEO_CONTRIBUTIONS_FILE = "geo_contributions.csv"
#: the statistics of each quantity, as column suffixes
STATISTICS = ("mean", "median", "hdi_90_lo", "hdi_90_hi")


@dataclass(frozen=True, eq=False)
class GeoDraws:
    """Per-geo quantities over ``S`` draws.

    Attributes:
        contribution_kpi: ``(S, G, C)`` KPI units.
        contribution_value: ``(S, G, C)`` currency.
        spend: ``(G, C)`` spend over the data window (currency).
    """

    contribution_kpi: np.ndarray
    contribution_value: np.ndarray
    spend: np.ndarray

    @property
    def roi(self) -> np.ndarray:
        """``(S, G, C)`` value per currency unit of spend; NaN where a geo had no spend."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.spend > 0, self.contribution_value / self.spend, np.nan)


@dataclass(frozen=True, eq=False)
class GeoBreakdown:
    """The two tables: one row per (geo, channel).

    ``roi``: ``geo, channel, spend, roi_mean, roi_median, roi_hdi_90_lo, roi_hdi_90_hi``.
    ``contributions``: ``geo, channel, contribution_kpi_*, contribution_value_*`` with the same
    statistics, and ``share_of_kpi_mean`` (the mean contribution over the geo's observed KPI).
    """

    roi: pd.DataFrame
    contributions: pd.DataFrame


def _per_draw(
    params: Mapping[str, jnp.ndarray],
    arrays: Mapping[str, jnp.ndarray],
    kpi_unit: jnp.ndarray,
    spec: ModelSpec,
) -> tuple[jnp.ndarray, jnp.ndarray]:
    import jax.numpy as jnp

    from mixflow.model.mmm import media_coefficients, saturated_media, with_time_multiplier

    beta = media_coefficients(params, arrays, spec)  # (G, C)
    s = with_time_multiplier(params, arrays, saturated_media(params, arrays["x_lag"], spec, arrays))
    media = s * beta[:, None, :]  # (G, T', C)
    kpi = jnp.einsum("gtc,g->gc", media, kpi_unit)
    value = jnp.einsum("gtc,gt->gc", media, arrays["value_weight"])
    return kpi, value


def geo_draws(posterior: Posterior, max_draws: int | None = 1000) -> GeoDraws:
    """Per-geo contributions for (up to ``max_draws``, evenly thinned) posterior draws."""
    import jax
    import jax.numpy as jnp

    design = posterior.design
    arrays = {k: jnp.asarray(v) for k, v in design.arrays().items()}
    kpi_unit = jnp.asarray(design.kpi_scale * design.population, dtype=jnp.float32)
    flat = {k: jnp.asarray(v) for k, v in posterior.flat_samples(max_draws).items()}
    spec = posterior.spec

    @jax.jit
    def run(draws: dict[str, jnp.ndarray]) -> tuple[jnp.ndarray, jnp.ndarray]:
        return jax.lax.map(lambda p: _per_draw(p, arrays, kpi_unit, spec), draws, batch_size=50)

    kpi, value = run(flat)
    return GeoDraws(
        contribution_kpi=np.asarray(kpi, dtype=np.float64),
        contribution_value=np.asarray(value, dtype=np.float64),
        spend=np.asarray(posterior.dataset.spend, dtype=np.float64).sum(axis=1),
    )


def _stats(draws: np.ndarray, prefix: str) -> dict[str, np.ndarray]:
    """``{prefix_mean, prefix_median, prefix_hdi_90_lo, prefix_hdi_90_hi}`` of ``(S, G, C)``
    draws, each flattened ``(G * C,)`` geo-major; NaN where the draws are NaN."""
    finite = np.isfinite(draws).all(axis=0)
    safe = np.where(finite, draws, 0.0)
    bounds = hdi(safe)
    out = {
        "mean": safe.mean(axis=0),
        "median": np.median(safe, axis=0),
        "hdi_90_lo": bounds[..., 0],
        "hdi_90_hi": bounds[..., 1],
    }
    return {f"{prefix}_{k}": np.where(finite, v, np.nan).reshape(-1) for k, v in out.items()}


def geo_breakdown(posterior: Posterior, max_draws: int | None = 1000) -> GeoBreakdown:
    """Per-geo ROI and contributions (see :class:`GeoBreakdown`) of a geo model; a national
    model is refused with :class:`SpecError`."""
    data = posterior.dataset
    if data.n_geos < 2:
        raise SpecError("geo breakdown needs a geo model (data.geo_column); this run is national")
    q = geo_draws(posterior, max_draws)
    g, c = q.spend.shape
    keys = {
        "geo": np.repeat(np.asarray(data.geos, dtype=object), c),
        "channel": np.tile(np.asarray(data.channels, dtype=object), g),
    }
    roi = pd.DataFrame({**keys, "spend": q.spend.reshape(-1), **_stats(q.roi, "roi")})
    observed = data.kpi.sum(axis=1)[:, None]  # (G, 1)
    share = (q.contribution_kpi.mean(axis=0) / np.where(observed > 0, observed, np.nan)).reshape(-1)
    contributions = pd.DataFrame(
        {
            **keys,
            **_stats(q.contribution_kpi, "contribution_kpi"),
            **_stats(q.contribution_value, "contribution_value"),
            "share_of_kpi_mean": share,
        }
    )
    return GeoBreakdown(roi=roi, contributions=contributions)
