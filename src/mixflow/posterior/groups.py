"""Named dimensions of ``posterior.nc`` and its predictive groups.

Posterior sites get the dimension their meaning gives them (``controls`` named by the control
columns, ``events`` by the event names, ``channel``, ``geo``, ``fourier_term``, ``trend_knot``;
plural where the site itself is called ``control`` or ``event``);
the KPI groups (``observed_data``, ``posterior_predictive``, ``log_likelihood``, variable
``kpi``) have ``time`` as dates and, in a geo model, ``geo``. The log-likelihood covers the
fitted periods only (held-out weeks are not part of the likelihood), so its ``time`` is the
fitted dates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mixflow.data.dataset import MMMDataset
from mixflow.inference.predictive import PredictiveDraws

#: the variable name of the KPI in the observed, predictive and log-likelihood groups
KPI_VARIABLE = "kpi"
#: the groups a fit adds beside posterior and sample_stats
PREDICTIVE_GROUPS = ("observed_data", "posterior_predictive", "log_likelihood")

#: posterior sites whose one dimension is named by what indexes it, whatever its length
_NAMED_SITES = {
    "control": "controls",
    "event": "events",
    "season": "fourier_term",
    "trend_delta": "trend_knot",
    "spline_z": "spline_knot",
    "media_time_z": "media_knot",
    **dict.fromkeys(("organic_alpha", "organic_half", "organic_effect", "organic_coef"), "organic"),
    **dict.fromkeys(("rf_ec", "rf_slope"), "rf_channel"),
}


def _is_geo(data: MMMDataset) -> bool:
    return len(data.geos) > 1


def posterior_coords(data: MMMDataset, samples: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Coordinates of the posterior group's named dimensions."""
    coords: dict[str, Any] = {
        "channel": list(data.channels),
        "geo": list(data.geos),
        "controls": list(data.control_names),
        "events": list(data.event_names),
    }
    if "season" in samples:
        n_terms = samples["season"].shape[-1] // 2
        coords["fourier_term"] = [f"{f}_{k}" for k in range(1, n_terms + 1) for f in ("sin", "cos")]
    if "trend_delta" in samples:
        coords["trend_knot"] = list(range(1, samples["trend_delta"].shape[-1] + 1))
    if "spline_z" in samples:
        coords["spline_knot"] = list(range(1, samples["spline_z"].shape[-1] + 1))
    if "media_time_z" in samples:
        coords["media_knot"] = list(range(1, samples["media_time_z"].shape[-1] + 1))
    if data.organic_names:
        coords["organic"] = list(data.organic_names)
    if data.rf_channels:
        coords["rf_channel"] = list(data.rf_channels)
    return coords


def posterior_dims(data: MMMDataset, samples: Mapping[str, np.ndarray]) -> dict[str, list[str]]:
    """The dimensions of each posterior site beyond ``(chain, draw)``."""
    dims: dict[str, list[str]] = {}
    c, g = data.n_channels, data.n_geos
    for name, value in samples.items():
        shape = value.shape[2:]
        if name in _NAMED_SITES and len(shape) == 1:
            dims[name] = [_NAMED_SITES[name]]
        elif shape == (c,):
            dims[name] = ["channel"]
        elif _is_geo(data) and shape == (g, c):
            dims[name] = ["geo", "channel"]
        elif _is_geo(data) and shape == (g,):
            dims[name] = ["geo"]
    return dims


def _kpi_dims(data: MMMDataset) -> list[str]:
    return ["geo", "time"] if _is_geo(data) else ["time"]


def _kpi_values(data: MMMDataset, values: np.ndarray) -> np.ndarray:
    """``(..., G, T)`` as stored: the geo axis dropped in a national model."""
    return values if _is_geo(data) else values[..., 0, :]


def predictive_groups(data: MMMDataset, draws: PredictiveDraws) -> dict[str, Any]:
    """``{group: xarray.Dataset}`` for ``InferenceData.add_groups``: the observed KPI, its
    posterior predictive and its pointwise log-likelihood (see the module docstring)."""
    import arviz as az

    dims = {KPI_VARIABLE: _kpi_dims(data)}
    geo = {"geo": list(data.geos)} if _is_geo(data) else {}
    every = {"time": data.dates, **geo}
    fitted = {"time": data.dates[draws.fitted], **geo}
    draw = {"draw": draws.draw_index}
    attrs = {"kpi_type": data.kpi_type.value, "units": "KPI units (as the data state it)"}
    return {
        "observed_data": az.dict_to_dataset(
            {KPI_VARIABLE: _kpi_values(data, data.kpi)},
            coords=every,
            dims=dims,
            default_dims=[],
            attrs=attrs,
        ),
        "posterior_predictive": az.dict_to_dataset(
            {KPI_VARIABLE: _kpi_values(data, draws.kpi)},
            coords={**every, **draw},
            dims=dims,
            attrs=attrs,
        ),
        "log_likelihood": az.dict_to_dataset(
            {KPI_VARIABLE: _kpi_values(data, draws.log_likelihood)},
            coords={**fitted, **draw},
            dims=dims,
            attrs=attrs,
        ),
    }


def predictive_from_groups(
    groups: Mapping[str, Any], data: MMMDataset, holdout_weeks: int
) -> PredictiveDraws | None:
    """The predictive draws stored in ``posterior.nc``'s groups, or ``None`` for a run written
    before they existed. Raises ``KeyError``/``ValueError`` when they are malformed (shapes or
    dates that are not the dataset's and its fitted periods)."""
    if not all(name in groups for name in ("posterior_predictive", "log_likelihood")):
        return None
    pred = groups["posterior_predictive"][KPI_VARIABLE]
    ll = groups["log_likelihood"][KPI_VARIABLE]
    kpi, loglik = np.asarray(pred.values), np.asarray(ll.values)
    if not _is_geo(data):
        kpi, loglik = kpi[..., None, :], loglik[..., None, :]
    fitted = np.arange(data.n_times) < data.n_times - holdout_weeks
    ll_dates = np.asarray(ll["time"].values).astype("datetime64[D]")
    if kpi.shape[2:] != (data.n_geos, data.n_times) or not np.array_equal(
        ll_dates, data.dates[fitted]
    ):
        raise ValueError("predictive groups do not match the dataset")
    return PredictiveDraws(
        draw_index=np.asarray(pred["draw"].values, dtype=int),
        kpi=kpi,
        log_likelihood=loglik,
        fitted=fitted,
    )
