"""Reach and frequency (R&F) channels in the model.

For an R&F channel the design's exposure is its scaled reach (per capita, divided by the mean
active reach), and its media input is that reach weighted by a Hill curve of the period's
average frequency, relative to the curve at the channel's reference frequency (its
reach-weighted mean frequency, see :mod:`mixflow.transforms.frequency`)::

    x_gtc = reach_gtc * hill(f_gtc; ec_c, slope_c) / hill(f_ref_c; ec_c, slope_c)

The input goes through the channel's adstock and saturation and its coefficient is derived
from its ROI prior, exactly as for other channels. The frequency curve's parameters are sampled
per R&F channel (dimension ``rf_channel``): ``rf_ec`` ~ LogNormal(0.7, 0.4) (median 2.0
exposures) and ``rf_slope`` ~ LogNormal(0.7, 0.4), Meridian's default priors for these
parameters (without its 0.1 shift of ``ec``).
"""

from __future__ import annotations

from collections.abc import Mapping

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from mixflow.data.dataset import MMMDataset
from mixflow.data.rf import mean_frequency
from mixflow.transforms.adstock import channel_major, lag_stack
from mixflow.transforms.frequency import frequency_gain

#: the frequency curve's priors: LogNormal(loc, scale) of ``ec`` and of ``slope``
EC_PRIOR = (0.7, 0.4)
SLOPE_PRIOR = (0.7, 0.4)
#: the sites an R&F fit adds (their one dimension is ``rf_channel``)
RF_SITES = ("rf_ec", "rf_slope")

Arrays = Mapping[str, jnp.ndarray]
Params = Mapping[str, jnp.ndarray]


def rf_fields(data: MMMDataset, max_lag: int) -> dict[str, np.ndarray]:
    """The design's R&F fields (none without R&F channels): ``rf_index (R,)`` positions among
    the channels, ``rf_freq (L+1, G, T', R)`` lag stack of frequency (0 in the padding) and
    ``rf_reference (R,)`` each channel's reach-weighted mean frequency."""
    if not data.rf_channels:
        return {}
    index = np.array([data.channels.index(ch) for ch in data.rf_channels], dtype=np.int64)
    freq = data.frequency_array
    padded = np.concatenate([freq, np.zeros((freq.shape[0], max_lag, freq.shape[2]))], axis=1)
    reach = data.exposure[..., index]
    return {
        "rf_index": index,
        "rf_freq": lag_stack(padded, max_lag),
        "rf_reference": mean_frequency(reach, freq),
    }


def rf_arrays(
    index: np.ndarray | None, freq: np.ndarray | None, reference: np.ndarray | None
) -> dict[str, np.ndarray]:
    """The model arrays of the design's R&F fields: ``rf_index`` (int32), ``rf_freq_cm``
    channel-major ``(R, L+1, G * T')`` and ``rf_reference``; empty without R&F channels."""
    if index is None or freq is None or reference is None:
        return {}
    return {
        "rf_index": np.asarray(index, dtype=np.int32),
        "rf_freq_cm": np.ascontiguousarray(channel_major(np.asarray(freq, np.float32))),
        "rf_reference": np.asarray(reference, dtype=np.float32),
    }


def sample_rf(arrays: Arrays) -> dict[str, jnp.ndarray]:
    """The frequency curves' parameters (none without ``rf_index`` in ``arrays``)."""
    if "rf_index" not in arrays:
        return {}
    with numpyro.plate("rf_channels", arrays["rf_index"].shape[0]):
        return {
            "rf_ec": numpyro.sample("rf_ec", dist.LogNormal(*EC_PRIOR)),
            "rf_slope": numpyro.sample("rf_slope", dist.LogNormal(*SLOPE_PRIOR)),
        }


def rf_test_gain(params: Params, arrays: Arrays) -> jnp.ndarray | None:
    """``(L+1, G', W, n)`` the frequency gain of each lift test's tested channel on the tests'
    window (ones for channels that are not R&F); ``None`` when no test needs one."""
    if "cal_rf" not in arrays or "rf_ec" not in params:
        return None
    rf = jnp.asarray(arrays["cal_rf"])
    r = jnp.maximum(rf, 0)
    gain = frequency_gain(
        jnp.asarray(arrays["cal_freq"]),
        jnp.asarray(params["rf_ec"])[r],
        jnp.asarray(params["rf_slope"])[r],
        jnp.asarray(arrays["rf_reference"])[r],
    )
    return jnp.where(rf >= 0, gain, 1.0)


def rf_input(params: Params, x_cm: jnp.ndarray, arrays: Arrays | None) -> jnp.ndarray:
    """Channel-major exposure ``(C, L+1, N)`` with each R&F channel's reach weighted by its
    frequency gain; unchanged without R&F channels (or without ``arrays``, or when ``x_cm``
    is not laid out over the design's cells, ``N = G * T'``)."""
    if arrays is None or "rf_index" not in arrays or "rf_ec" not in params:
        return x_cm
    freq = arrays["rf_freq_cm"]
    if x_cm.shape[1:] != freq.shape[1:]:
        return x_cm
    gain = frequency_gain(
        freq,
        params["rf_ec"][..., None, None],
        params["rf_slope"][..., None, None],
        arrays["rf_reference"][:, None, None],
    )
    # the positions are distinct channels (scatter-multiply differentiates only then)
    return jnp.asarray(x_cm).at[arrays["rf_index"]].multiply(gain, unique_indices=True)


__all__ = [
    "EC_PRIOR",
    "RF_SITES",
    "SLOPE_PRIOR",
    "rf_arrays",
    "rf_fields",
    "rf_input",
    "rf_test_gain",
    "sample_rf",
]
