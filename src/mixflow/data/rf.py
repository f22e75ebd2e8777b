"""Reach and frequency (R&F) channels in the data: the config's check and how their columns are read.

A media entry may give ``reach_column`` and ``frequency_column`` (with its ``spend_column``)
instead of an ``exposure_column``: reach is the number of distinct people (or households) the
channel reached in the period, frequency the average number of exposures per person reached
(impressions = reach x frequency). In the dataset an R&F channel's ``exposure`` is its reach,
and ``frequency`` ``(G, T, R)`` holds the frequencies of the ``R`` R&F channels (named by
``rf_channels``, in channel order). A period without reach has frequency 0 (whatever the column says).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mixflow.errors import DataError

if TYPE_CHECKING:
    from mixflow.data import validation as v
    from mixflow.data.schema import MediaConfig


def check_media_columns(
    name: str,
    exposure_column: str | None,
    reach_column: str | None,
    frequency_column: str | None,
) -> None:
    """One media entry names exposure, or reach and frequency together, or neither.

    Raises:
        ValueError: (pydantic turns it into the config error) naming the fields.
    """
    if (reach_column is None) != (frequency_column is None):
        given, lacking = (
            ("reach_column", "frequency_column")
            if reach_column is not None
            else ("frequency_column", "reach_column")
        )
        raise ValueError(
            f"media '{name}': {given} needs {lacking} too (a reach and frequency channel gives "
            f"both, with its spend_column)"
        )
    if reach_column is not None and exposure_column is not None:
        raise ValueError(
            f"media '{name}': give either exposure_column or reach_column and frequency_column, "
            f"not both (a reach and frequency channel's exposure is its reach x frequency)"
        )


def rf_roles(media: list[MediaConfig]) -> list[v.ColumnRole]:
    """The reach and frequency columns' roles (for the missing-column check)."""
    from mixflow.data.validation import media_role

    roles = []
    for i, m in enumerate(media):
        if m.reach_column is not None and m.frequency_column is not None:
            roles.append(media_role(m.name, "reach_column", m.reach_column, i))
            roles.append(media_role(m.name, "frequency_column", m.frequency_column, i))
    return roles


def reach_and_frequency(
    table: pd.DataFrame, media: MediaConfig, index: int, where: v.RowLocator
) -> tuple[np.ndarray, np.ndarray]:
    """``(N,)`` reach (non-negative) and frequency (positive where reach is; 0 where not).

    Raises:
        DataError: a non-numeric, missing or negative value, or a frequency of 0 where the
            channel reached anyone.
    """
    from mixflow.data import validation as val

    assert media.reach_column is not None and media.frequency_column is not None
    reach_role = val.media_role(media.name, "reach_column", media.reach_column, index)
    freq_role = val.media_role(media.name, "frequency_column", media.frequency_column, index)
    reach = val.to_numeric(table[media.reach_column], reach_role, where)
    freq = val.to_numeric(table[media.frequency_column], freq_role, where)
    val.check_non_negative(reach, reach_role, where)
    val.check_non_negative(freq, freq_role, where)
    below = (reach > 0) & (freq <= 0.0)
    if below.any():
        i = int(np.flatnonzero(below)[0])
        raise DataError(
            f"{freq_role.label()} has the value {float(freq[i])!r} in {where.describe(i)} where "
            f"the reach is {float(reach[i])!r}; expected an average frequency > 0 wherever the "
            f"channel reached anyone ({int(below.sum())} rows fail)"
        )
    return reach, np.where(reach > 0, freq, 0.0)


def mean_frequency(reach: np.ndarray, frequency: np.ndarray) -> np.ndarray:
    """Reach-weighted average frequency (impressions / reach) over every axis but the last:
    ``(..., R)`` -> ``(R,)``; 1 for a channel that never reached anyone."""
    if reach.shape[-1] == 0:
        return np.ones(0)
    r = reach.reshape(-1, reach.shape[-1])
    f = frequency.reshape(-1, frequency.shape[-1])
    total = r.sum(axis=0)
    return np.where(total > 0, (r * f).sum(axis=0) / np.maximum(total, 1e-12), 1.0)


__all__ = ["check_media_columns", "mean_frequency", "reach_and_frequency", "rf_roles"]
