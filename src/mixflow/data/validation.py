"""The data contract's checks: small pure functions that raise :class:`~mixflow.errors.DataError`.

Each check looks at whole columns at once (numpy / pandas, no Python loops over rows) and, on
failure, names the column, its role in the config, the first offending row (1-based data row of
the original file, header excluded), the value and what was expected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mixflow.errors import DataError, did_you_mean

if TYPE_CHECKING:
    from mixflow.data.schema import DataConfig

#: How many columns / dates a message lists before it says "...".
_SHOW = 12


@dataclass(frozen=True)
class ColumnRole:
    """One column the config asks for.

    Attributes:
        column: the column name in the data file.
        role: what it is for, as a reader would say it: ``"media 'tv' spend_column"``.
        key: where the config names it: ``"data.media[0].spend_column"``.
    """

    column: str
    role: str
    key: str

    def label(self) -> str:
        return f"column '{self.column}' ({self.role})"


@dataclass(frozen=True)
class RowLocator:
    """Describes data rows for messages: ``row 7 (geo 'Geo1', date 2021-03-08)``.

    Attributes:
        dates: ``(N,)`` parsed dates of every row, or ``None`` before they are parsed.
        geos: ``(N,)`` geo names of every row, or ``None`` for national data.
    """

    dates: np.ndarray | None = None
    geos: np.ndarray | None = None

    def describe(self, i: int) -> str:
        parts = []
        if self.geos is not None:
            parts.append(f"geo '{self.geos[i]}'")
        if self.dates is not None:
            parts.append(f"date {format_date(self.dates[i])}")
        where = f" ({', '.join(parts)})" if parts else ""
        return f"row {i + 1}{where}"


def format_date(value: object) -> str:
    """ISO date ``YYYY-MM-DD`` of a numpy / pandas date."""
    return str(pd.Timestamp(value).date())  # type: ignore[arg-type]


def _format_value(value: object) -> str:
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return repr(value.item() if isinstance(value, np.generic) else value)


def _listing(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_SHOW])
    return shown + (f", ... ({len(items)} in all)" if len(items) > _SHOW else "")


# ---------------------------------------------------------------------------------- columns
def column_roles(cfg: DataConfig) -> list[ColumnRole]:
    """Every column the config refers to, with its role, in config order."""
    roles = [ColumnRole(cfg.date_column, "date_column", "data.date_column")]
    optional = (
        ("geo_column", cfg.geo_column),
        ("population_column", cfg.population_column),
    )
    roles += [ColumnRole(col, name, f"data.{name}") for name, col in optional if col]
    roles.append(ColumnRole(cfg.kpi_column, "kpi_column", "data.kpi_column"))
    if cfg.revenue_per_kpi_column:
        roles.append(
            ColumnRole(
                cfg.revenue_per_kpi_column, "revenue_per_kpi_column", "data.revenue_per_kpi_column"
            )
        )
    for i, media in enumerate(cfg.media):
        roles.append(media_role(media.name, "spend_column", media.spend_column, i))
        if media.exposure_column:
            roles.append(media_role(media.name, "exposure_column", media.exposure_column, i))
    roles += [ColumnRole(c, "control", f"data.controls[{i}]") for i, c in enumerate(cfg.controls)]
    if cfg.events_column:
        roles.append(ColumnRole(cfg.events_column, "events_column", "data.events_column"))
    from mixflow.data.extras import extra_roles
    from mixflow.data.rf import rf_roles

    return roles + rf_roles(cfg.media) + extra_roles(cfg.organic, cfg.treatments)


def media_role(channel: str, field: str, column: str, index: int) -> ColumnRole:
    return ColumnRole(column, f"media '{channel}' {field}", f"data.media[{index}].{field}")


def check_not_empty(frame: pd.DataFrame, source: str) -> None:
    if len(frame) == 0:
        raise DataError(
            f"{source} has no data rows; expected one row per date (or per geo and date)"
        )


def check_columns(frame: pd.DataFrame, roles: Sequence[ColumnRole], source: str) -> None:
    """Every configured column exists (once) in ``frame``."""
    present = [str(c) for c in frame.columns]
    missing = [r for r in roles if r.column not in present]
    if missing:
        first = missing[0]
        others = "".join(f"; also missing: '{r.column}' ({r.role})" for r in missing[1:])
        raise DataError(
            f"{first.label()} not found in {source}{did_you_mean(first.column, present)}; "
            f"the config expects it at {first.key}{others}. Columns in {source}: {_listing(present)}"
        )
    repeated = sorted(
        {c for c in present if present.count(c) > 1 and c in {r.column for r in roles}}
    )
    if repeated:
        raise DataError(
            f"column '{repeated[0]}' appears more than once in {source}; expected unique column names"
        )


# ------------------------------------------------------------------------------ keys: geo, date
def parse_geos(raw: pd.Series, role: ColumnRole) -> np.ndarray:
    """``(N,)`` geo names as strings; a missing geo is an error."""
    missing = raw.isna().to_numpy()
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise DataError(f"{role.label()} is empty in row {i + 1}; expected a geo name in every row")
    return raw.astype(str).str.strip().to_numpy(dtype=object)


def parse_dates(raw: pd.Series, role: ColumnRole, where: RowLocator) -> np.ndarray:
    """``(N,)`` ``datetime64[ns]`` dates (time of day dropped); unparseable values are errors."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = pd.to_datetime(raw)
    else:
        text = raw.astype("string").str.strip()
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
    bad = parsed.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{role.label()} has an unparseable date {_format_value(raw.iloc[i])} in "
            f"{where.describe(i)}; expected ISO dates like 2021-01-25"
        )
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    return parsed.dt.normalize().to_numpy(dtype="datetime64[ns]")


def check_unique_keys(dates: np.ndarray, geos: np.ndarray | None, date_role: ColumnRole) -> None:
    """No date twice (national) and no (geo, date) pair twice (geo data)."""
    keys = pd.DataFrame({"date": dates} if geos is None else {"geo": geos, "date": dates})
    dup = keys.duplicated(keep=False).to_numpy()
    if not dup.any():
        return
    first = int(np.flatnonzero(dup)[0])
    same = (keys == keys.iloc[first]).all(axis=1).to_numpy()
    rows = ", ".join(str(i + 1) for i in np.flatnonzero(same)[:_SHOW])
    date = format_date(dates[first])
    if geos is None:
        what = f"date {date} appears more than once in {date_role.label()}"
        expected = "one row per date"
    else:
        what = f"geo '{geos[first]}' has date {date} more than once"
        expected = "one row per geo and date"
    raise DataError(f"{what} (rows {rows}); expected {expected}")


def check_balanced(dates: np.ndarray, geos: np.ndarray, all_dates: np.ndarray) -> None:
    """Every geo has every date of ``all_dates`` (call after :func:`check_unique_keys`)."""
    names, codes = np.unique(geos, return_inverse=True)
    counts = np.bincount(codes, minlength=len(names))
    short = counts < len(all_dates)
    if not short.any():
        return
    first_row = int(np.flatnonzero(short[codes])[0])
    geo = geos[first_row]
    lacking = np.setdiff1d(all_dates, dates[geos == geo])
    shown = _listing([format_date(d) for d in lacking])
    raise DataError(
        f"unbalanced geo panel: geo '{geo}' has {len(all_dates) - len(lacking)} of the "
        f"{len(all_dates)} dates and lacks {len(lacking)}: {shown}; every geo must have the "
        f"same dates ({int(short.sum())} of {len(names)} geos are incomplete)"
    )


def check_even_spacing(all_dates: np.ndarray, date_role: ColumnRole) -> int:
    """Sorted unique dates are evenly spaced; returns the spacing in days."""
    if len(all_dates) < 2:
        return 7
    days = np.diff(all_dates.astype("datetime64[D]").astype(np.int64))
    values, counts = np.unique(days, return_counts=True)
    expected = int(values[np.argmax(counts)])
    off = np.flatnonzero(days != expected)
    if len(off) == 0:
        return expected
    i = int(off[0])
    found = int(days[i])
    hint = "a missing period?" if found % expected == 0 else "irregular spacing"
    raise DataError(
        f"dates are not evenly spaced: expected {expected} days between rows, found {found} days "
        f"between {format_date(all_dates[i])} and {format_date(all_dates[i + 1])} ({hint}); "
        f"consecutive dates in {date_role.label()} must all be the same number of days apart"
    )


# --------------------------------------------------------------------------------- numbers
def to_numeric(raw: pd.Series, role: ColumnRole, where: RowLocator) -> np.ndarray:
    """``(N,)`` float64 values; text, missing values (NaN) and ±inf are errors."""
    numbers = pd.to_numeric(raw, errors="coerce")
    values = np.asarray(numbers, dtype=np.float64)
    was_missing = raw.isna().to_numpy()
    text = np.isnan(values) & ~was_missing
    if text.any():
        i = int(np.flatnonzero(text)[0])
        raise DataError(
            f"{role.label()} has a non-numeric value {_format_value(raw.iloc[i])} in "
            f"{where.describe(i)}; expected numbers only"
        )
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        what = "a missing value (NaN)" if was_missing[i] else f"an infinite value {values[i]}"
        raise DataError(
            f"{role.label()} has {what} in {where.describe(i)}; expected a finite number in every row"
        )
    return values


def _first_failing(
    values: np.ndarray, mask: np.ndarray, role: ColumnRole, where: RowLocator, expected: str
) -> None:
    if mask.any():
        i = int(np.flatnonzero(mask)[0])
        raise DataError(
            f"{role.label()} has the value {_format_value(values[i])} in {where.describe(i)}; "
            f"expected {expected} ({int(mask.sum())} rows fail)"
        )


def check_non_negative(values: np.ndarray, role: ColumnRole, where: RowLocator) -> None:
    _first_failing(values, values < 0, role, where, "values >= 0")


def check_positive(values: np.ndarray, role: ColumnRole, where: RowLocator) -> None:
    _first_failing(values, values <= 0, role, where, "values > 0")


def check_population(
    values: np.ndarray, geos: np.ndarray, role: ColumnRole, where: RowLocator
) -> None:
    """Population is positive and the same in every row of a geo."""
    check_positive(values, role, where)
    first_of_geo = pd.Series(values).groupby(geos).transform("first").to_numpy()
    varies = values != first_of_geo
    if varies.any():
        i = int(np.flatnonzero(varies)[0])
        j = int(np.flatnonzero(geos == geos[i])[0])
        raise DataError(
            f"{role.label()} varies within geo '{geos[i]}': {_format_value(values[j])} in row "
            f"{j + 1} but {_format_value(values[i])} in {where.describe(i)}; expected one "
            f"population per geo, constant over time"
        )


def check_channel_active(
    channel: str, spend: np.ndarray, exposure: np.ndarray, exposure_role: ColumnRole | None
) -> None:
    """A channel with no spend at all (or spend but no exposure) cannot be estimated."""
    if not spend.sum() > 0:
        raise DataError(
            f"media channel '{channel}' never spends: its spend column sums to 0 over all "
            f"{len(spend)} rows; remove the channel or give data where it spends"
        )
    if exposure_role is not None and not exposure.sum() > 0:
        raise DataError(
            f"media channel '{channel}' has spend but {exposure_role.label()} is 0 in every row; "
            f"expected exposure wherever the channel spends"
        )


def check_kpi_varies(kpi: np.ndarray, role: ColumnRole) -> None:
    if np.ptp(kpi) == 0:
        raise DataError(
            f"{role.label()} is constant ({_format_value(kpi[0])} in every row); a KPI without "
            f"variation leaves nothing to explain, expected it to vary over time"
        )


# ---------------------------------------------------------------------------------- size
def min_periods(n_channels: int, n_controls: int, n_events: int) -> int:
    """Fewest periods worth fitting: two per (roughly counted) parameter, and at least 20.

    The estimate counts intercept, noise and one spare (3), four parameters per channel
    (coefficient, adstock, two saturation), one per control and event, and 6 for seasonality
    and trend.
    """
    n_params = 3 + 4 * n_channels + n_controls + n_events + 6
    return max(2 * n_params, 20)


def check_enough_periods(n_periods: int, n_channels: int, n_controls: int, n_events: int) -> None:
    need = min_periods(n_channels, n_controls, n_events)
    if n_periods < need:
        raise DataError(
            f"too little data: {n_periods} periods, need at least {need} for {n_channels} "
            f"channels, {n_controls} controls and {n_events} events (about two periods per "
            f"model parameter); use a longer history or fewer channels, controls or events"
        )
