"""Organic channels' contributions, treatments' effects and the time-varying baseline, per draw.

A treatment's effect is measured against its stated ``baseline`` value: in a period it is
``coef_k * (x_gt - baseline) / sd_k`` (the model's control term for the standardized column),
so a promotion flag with baseline 0 contributes nothing in the weeks without a promotion, and
its total is the KPI the promotions added. Organic contributions include their carryover after
the data, as paid channels' do. Everything in original units, geos summed.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from mixflow.analysis.schema import Interval, OrganicSummary, TreatmentSummary
from mixflow.analysis.stats import stat
from mixflow.model.organic import organic_media
from mixflow.posterior.posterior import Posterior


@dataclass(frozen=True, eq=False)
class ExtrasDraws:
    """Arrays over ``S`` draws: ``organic_kpi (S, T, O)`` per period (data window),
    ``organic_total_kpi`` / ``organic_value (S, O)`` with the carryover tail,
    ``treatment_kpi (S, T, R)``, ``treatment_value (S, R)`` over the data window, and
    ``trend_kpi (S, T)`` the trend part of the baseline."""

    organic_names: tuple[str, ...]
    treatment_names: tuple[str, ...]
    treatment_baselines: tuple[float, ...]
    organic_kpi: np.ndarray
    organic_total_kpi: np.ndarray
    organic_value: np.ndarray
    treatment_kpi: np.ndarray
    treatment_value: np.ndarray


def compute_extras(posterior: Posterior, max_draws: int | None = 1000) -> ExtrasDraws | None:
    """The organic and treatment quantities of ``posterior`` (``None`` when it has neither)."""
    data, design = posterior.dataset, posterior.design
    if not data.organic_names and not data.treatments:
        return None
    t = data.n_times
    arrays = {k: jnp.asarray(v) for k, v in design.arrays().items()}
    kpi_unit = jnp.asarray(design.kpi_scale * design.population, dtype=jnp.float32)  # (G,)
    vw = arrays["value_weight"]  # (G, T')
    names = tuple(n for n, _ in data.treatments)
    idx = np.array([data.control_names.index(n) for n in names], dtype=np.int64)
    base = np.array([b for _, b in data.treatments], dtype=np.float64)
    # (G, T, R) the treatment's distance from its baseline, in standardized units
    dist = (data.controls[:, :, idx] - base) / design.control_std[idx]
    dist_j = jnp.asarray(dist, dtype=jnp.float32)

    def one(p: dict[str, jnp.ndarray]) -> dict[str, jnp.ndarray]:
        out: dict[str, jnp.ndarray] = {}
        media = organic_media(p, arrays)
        if media is not None:
            out["organic_kpi"] = jnp.einsum("gto,g->to", media, kpi_unit)
            out["organic_value"] = jnp.einsum("gto,gt->o", media, vw)
        if len(idx):
            eff = dist_j * p["control"][idx]  # (G, T, R) scaled
            out["treatment_kpi"] = jnp.einsum("gtr,g->tr", eff, kpi_unit)
            out["treatment_value"] = jnp.einsum("gtr,gt->r", eff, vw[:, :t])
        return out

    flat = {k: jnp.asarray(v) for k, v in posterior.flat_samples(max_draws).items()}
    res = jax.jit(lambda d: jax.lax.map(one, d, batch_size=50))(flat)
    got = {k: np.asarray(v, dtype=np.float64) for k, v in res.items()}
    s = next(iter(flat.values())).shape[0]
    o, r = len(data.organic_names), len(names)
    organic = got.get("organic_kpi", np.zeros((s, t + design.max_lag, o)))
    return ExtrasDraws(
        organic_names=data.organic_names,
        treatment_names=names,
        treatment_baselines=tuple(float(b) for b in base),
        organic_kpi=organic[:, :t],
        organic_total_kpi=organic.sum(axis=1),
        organic_value=got.get("organic_value", np.zeros((s, o))),
        treatment_kpi=got.get("treatment_kpi", np.zeros((s, t, r))),
        treatment_value=got.get("treatment_value", np.zeros((s, r))),
    )


def _interval(draws: np.ndarray) -> Interval:
    return Interval.model_validate(stat(draws))


def extras_summaries(
    x: ExtrasDraws | None, fitted_kpi: np.ndarray
) -> tuple[dict[str, OrganicSummary], dict[str, TreatmentSummary]]:
    """The summary's ``organic`` and ``treatments`` sections; ``fitted_kpi``: ``(S, T)`` the
    fitted KPI over the data window (for shares)."""
    if x is None:
        return {}, {}
    total = fitted_kpi.sum(axis=1)  # (S,)
    organic = {
        name: OrganicSummary(
            contribution=_interval(x.organic_value[:, i]),
            contribution_kpi=_interval(x.organic_total_kpi[:, i]),
            contribution_share=_interval(x.organic_kpi[:, :, i].sum(axis=1) / total),
        )
        for i, name in enumerate(x.organic_names)
    }
    treatments = {
        name: TreatmentSummary(
            baseline=x.treatment_baselines[i],
            contribution=_interval(x.treatment_value[:, i]),
            contribution_kpi=_interval(x.treatment_kpi[:, :, i].sum(axis=1)),
            contribution_share=_interval(x.treatment_kpi[:, :, i].sum(axis=1) / total),
        )
        for i, name in enumerate(x.treatment_names)
    }
    return organic, treatments


def extras_columns(x: ExtrasDraws | None) -> dict[str, np.ndarray]:
    """Columns for ``contributions.csv``: each organic channel's and treatment's mean KPI per
    period, named ``organic::NAME`` and ``treatment::NAME``."""
    if x is None:
        return {}
    cols = {
        f"organic::{n}": x.organic_kpi[:, :, i].mean(axis=0) for i, n in enumerate(x.organic_names)
    }
    for i, n in enumerate(x.treatment_names):
        cols[f"treatment::{n}"] = x.treatment_kpi[:, :, i].mean(axis=0)
    return cols


#: columns of ``contributions.csv`` a model with a time-varying media multiplier adds
MEDIA_MULTIPLIER_COLUMNS = ("media_multiplier", "media_multiplier_low", "media_multiplier_high")


def media_multiplier_columns(
    posterior: Posterior, max_draws: int | None = 1000
) -> dict[str, np.ndarray]:
    """Columns for ``contributions.csv`` of a model with ``model.time_varying_media``: the
    multiplier of every paid channel's effect per period of the data window, posterior mean
    and 90% HDI (:data:`MEDIA_MULTIPLIER_COLUMNS`); empty for other models."""
    flat = posterior.flat_samples(max_draws)
    if "media_time_z" not in flat:
        return {}
    from mixflow.analysis.stats import hdi
    from mixflow.model.time_varying import media_multiplier

    t = posterior.dataset.n_times
    trend_t = jnp.asarray(posterior.design.trend_t[:t], dtype=jnp.float32)
    sites = {k: jnp.asarray(flat[k]) for k in ("media_time_z", "media_time_offset")}
    m = np.asarray(jax.jit(jax.vmap(lambda p: media_multiplier(p, trend_t)))(sites), np.float64)
    band = hdi(m)  # (T, 2)
    return dict(
        zip(MEDIA_MULTIPLIER_COLUMNS, (m.mean(axis=0), band[:, 0], band[:, 1]), strict=True)
    )


__all__ = [
    "MEDIA_MULTIPLIER_COLUMNS",
    "ExtrasDraws",
    "compute_extras",
    "extras_columns",
    "extras_summaries",
    "media_multiplier_columns",
]
