"""Read a wide data table (CSV or Parquet) and turn it into a validated :class:`MMMDataset`.

The table has one row per date (national data) or per geo and date (geo data); the config's
``data`` section says which column plays which role. Extra columns are ignored.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mixflow.data import extras, rf
from mixflow.data import validation as v
from mixflow.data.dataset import NATIONAL_GEO, KpiType, MMMDataset
from mixflow.data.io import check_input_file
from mixflow.errors import DataError

if TYPE_CHECKING:
    from mixflow.data.schema import DataConfig

_CSV_SUFFIXES = (".csv", ".csv.gz")
#: most columns a data table may have (channels, controls, events, geo, date, KPI and extras)
MAX_COLUMNS = 10_000
#: longest CSV header line read (10,000 names of 100 characters fit)
MAX_HEADER_BYTES = 1 << 20
_PARQUET_SUFFIXES = (".parquet", ".pq")


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``) file."""
    path = Path(path)
    name = path.name.lower()
    if not name.endswith(_CSV_SUFFIXES + _PARQUET_SUFFIXES):
        raise DataError(
            f"cannot read {path}: unknown file type '{''.join(path.suffixes) or '(none)'}'; "
            f"expected one of {', '.join(_CSV_SUFFIXES + _PARQUET_SUFFIXES)}"
        )
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise DataError(f"data file not found: {path} {what}")
    if path.is_symlink():
        check_input_file(path, "data file")  # a link to a private file is refused
    _check_columns(path, name)
    try:
        if name.endswith(_CSV_SUFFIXES):
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except (OSError, ValueError) as err:
        # pandas' parser errors, empty files, bad encodings and pyarrow errors are ValueErrors
        raise DataError(f"cannot read {path}: {type(err).__name__}: {err}") from None


def _check_columns(path: Path, name: str) -> None:
    """Refuse a table of more than :data:`MAX_COLUMNS` columns before reading it: a CSV's
    header line is read alone (at most :data:`MAX_HEADER_BYTES`), a Parquet file's schema."""
    if name.endswith(_PARQUET_SUFFIXES):
        import pyarrow.parquet as pq

        try:
            n = len(pq.read_schema(path).names)
        except (OSError, ValueError) as err:
            raise DataError(
                f"cannot read {path}: {type(err).__name__}: not a Parquet file"
            ) from None
    else:
        opener = gzip.open if name.endswith(".gz") else open
        try:
            with opener(path, "rb") as fh:
                header = fh.readline(MAX_HEADER_BYTES + 1)
        except OSError as err:
            raise DataError(f"cannot read {path}: {type(err).__name__}") from None
        if len(header) > MAX_HEADER_BYTES:
            raise DataError(
                f"cannot read {path}: its header line is longer than {MAX_HEADER_BYTES // 2**20} "
                f"MiB; a data table has at most {MAX_COLUMNS} columns"
            )
        n = len(next(csv.reader([header.decode("utf-8", "replace")]), []))
    if n > MAX_COLUMNS:
        raise DataError(f"cannot read {path}: {n} columns; a data table has at most {MAX_COLUMNS}")


def load_dataset(cfg: DataConfig, base_dir: Path) -> MMMDataset:
    """Read ``cfg.path`` (relative to ``base_dir``, the config file's folder) and validate it."""
    path = Path(base_dir) / cfg.path
    if not path.exists():
        raise DataError(
            f"data file not found: {path} (data.path '{cfg.path}' is read relative to the "
            f"config's folder {Path(base_dir)})"
        )
    return dataset_from_frame(read_table(path), cfg)


@dataclass(frozen=True)
class _Index:
    """Where each row goes: ``(N,)`` geo and time positions into the ``(G, T)`` grid."""

    geos: tuple[str, ...]
    dates: np.ndarray
    geo_pos: np.ndarray
    time_pos: np.ndarray

    def grid(self, values: np.ndarray) -> np.ndarray:
        """``(N,)`` row values -> ``(G, T)``."""
        out = np.empty((len(self.geos), len(self.dates)), dtype=np.float64)
        out[self.geo_pos, self.time_pos] = values
        return out

    def stack(self, columns: list[np.ndarray]) -> np.ndarray:
        """``K`` columns of ``(N,)`` -> ``(G, T, K)``."""
        if not columns:
            return np.zeros((len(self.geos), len(self.dates), 0))
        return np.stack([self.grid(c) for c in columns], axis=-1)


def dataset_from_frame(frame: pd.DataFrame, cfg: DataConfig) -> MMMDataset:
    """Validate a wide table against the config's ``data`` section and build the dataset.

    Raises:
        DataError: the table breaks the data contract; the message names column, row and value.
    """
    source = Path(cfg.path).name
    # positions in `table` are 1-based data rows minus one; column labels compared as text
    table = frame.reset_index(drop=True).rename(columns=str)
    roles = {r.key: r for r in v.column_roles(cfg)}
    v.check_not_empty(table, source)
    v.check_columns(table, list(roles.values()), source)
    index, where = _build_index(table, cfg, roles)

    def numeric(key: str) -> np.ndarray:
        return v.to_numeric(table[roles[key].column], roles[key], where)

    kpi = numeric("data.kpi_column")
    v.check_non_negative(kpi, roles["data.kpi_column"], where)
    v.check_kpi_varies(kpi, roles["data.kpi_column"])
    frequency: list[np.ndarray] = []
    spend, exposure = _media(table, cfg, roles, where, frequency)
    controls = [numeric(f"data.controls[{i}]") for i in range(len(cfg.controls))]
    # treatments are controls with a stated baseline (mixflow.data.extras)
    controls += extras.treatment_columns(table, cfg.treatments, where)
    organic = extras.organic_columns(table, cfg.organic, where)
    event_names, events = _events(table, cfg)
    v.check_enough_periods(len(index.dates), len(cfg.media), len(controls), len(event_names))
    return MMMDataset(
        dates=index.dates.astype("datetime64[D]"),
        geos=index.geos,
        channels=tuple(m.name for m in cfg.media),
        kpi=index.grid(kpi),
        spend=index.stack(spend),
        exposure=index.stack(exposure),
        controls=index.stack(controls),
        control_names=(*cfg.controls, *(t.name for t in cfg.treatments)),
        events=index.stack(events),
        event_names=event_names,
        population=_population(table, cfg, roles, where, index),
        revenue_per_kpi=_revenue_per_kpi(table, cfg, roles, where, index),
        kpi_type=KpiType(cfg.kpi_type),
        has_revenue_per_kpi=cfg.revenue_per_kpi_column is not None,
        # an R&F channel's exposure is its reach
        has_exposure=tuple(m.exposure_column is not None or m.is_rf for m in cfg.media),
        is_geo=cfg.geo_column is not None,
        organic=index.stack(organic),
        organic_names=tuple(o.name for o in cfg.organic),
        treatments=tuple((t.name, t.baseline) for t in cfg.treatments),
        frequency=index.stack(frequency),
        rf_channels=tuple(m.name for m in cfg.media if m.is_rf),
    )


#: config key (``data.media[0].spend_column``) -> column role
_Roles = dict[str, v.ColumnRole]


def _build_index(
    table: pd.DataFrame, cfg: DataConfig, roles: _Roles
) -> tuple[_Index, v.RowLocator]:
    """Parse geo and date keys, check uniqueness, balance and spacing; map rows to the grid."""
    geos = None
    if cfg.geo_column:
        geos = v.parse_geos(table[cfg.geo_column], roles["data.geo_column"])
    date_role = roles["data.date_column"]
    dates = v.parse_dates(table[cfg.date_column], date_role, v.RowLocator(geos=geos))
    v.check_unique_keys(dates, geos, date_role)
    all_dates = np.unique(dates)
    if geos is not None:
        v.check_balanced(dates, geos, all_dates)
    v.check_even_spacing(all_dates, date_role)
    geo_names: tuple[str, ...] = (NATIONAL_GEO,)
    geo_pos = np.zeros(len(dates), dtype=np.int64)
    if geos is not None:
        geo_pos, uniques = pd.factorize(geos, sort=False)  # first appearance order
        geo_names = tuple(str(g) for g in uniques)
    index = _Index(geo_names, all_dates, geo_pos, np.searchsorted(all_dates, dates))
    return index, v.RowLocator(dates=dates, geos=geos)


def _media(
    table: pd.DataFrame,
    cfg: DataConfig,
    roles: _Roles,
    where: v.RowLocator,
    rf_frequencies: list[np.ndarray] | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per channel ``(N,)`` spend and exposure (a copy of spend without an exposure column,
    reach for an R&F channel, whose ``(N,)`` frequency is appended to ``rf_frequencies``)."""
    spends, exposures = [], []
    frequencies = rf_frequencies if rf_frequencies is not None else []
    for i, media in enumerate(cfg.media):
        spend_role = roles[f"data.media[{i}].spend_column"]
        spend = v.to_numeric(table[media.spend_column], spend_role, where)
        v.check_non_negative(spend, spend_role, where)
        exposure, exposure_role = spend.copy(), None
        if media.reach_column is not None:  # R&F: exposure is reach (mixflow.data.rf)
            exposure, freq = rf.reach_and_frequency(table, media, i, where)
            exposure_role = roles[f"data.media[{i}].reach_column"]
            frequencies.append(freq)
        elif media.exposure_column:
            exposure_role = roles[f"data.media[{i}].exposure_column"]
            exposure = v.to_numeric(table[media.exposure_column], exposure_role, where)
            v.check_non_negative(exposure, exposure_role, where)
        v.check_channel_active(media.name, spend, exposure, exposure_role)
        spends.append(spend)
        exposures.append(exposure)
    return spends, exposures


def _events(table: pd.DataFrame, cfg: DataConfig) -> tuple[tuple[str, ...], list[np.ndarray]]:
    """Sorted event names and one ``(N,)`` 0/1 dummy per name; "no event" values are dropped."""
    if not cfg.events_column:
        return (), []
    raw = table[cfg.events_column]
    text = raw.astype("string").str.strip().fillna("").to_numpy(dtype=object)
    none_values = {s.strip().lower() for s in cfg.events_none_values}
    is_none = np.isin(np.char.lower(text.astype(str)), list(none_values))
    is_event = raw.notna().to_numpy(dtype=bool) & ~is_none
    names = tuple(sorted({str(x) for x in text[is_event]}))
    return names, [(is_event & (text == name)).astype(np.float64) for name in names]


def _population(
    table: pd.DataFrame, cfg: DataConfig, roles: _Roles, where: v.RowLocator, index: _Index
) -> np.ndarray:
    """``(G,)`` population per geo; ones for national data or without a population column."""
    if not cfg.population_column or where.geos is None:
        return np.ones(len(index.geos))
    role = roles["data.population_column"]
    values = v.to_numeric(table[cfg.population_column], role, where)
    v.check_population(values, where.geos, role, where)
    return index.grid(values)[:, 0]


def _revenue_per_kpi(
    table: pd.DataFrame, cfg: DataConfig, roles: _Roles, where: v.RowLocator, index: _Index
) -> np.ndarray:
    """``(G, T)`` currency per KPI unit; ones for a revenue KPI or without the column."""
    if not cfg.revenue_per_kpi_column:
        return np.ones((len(index.geos), len(index.dates)))
    role = roles["data.revenue_per_kpi_column"]
    values = v.to_numeric(table[cfg.revenue_per_kpi_column], role, where)
    v.check_positive(values, role, where)
    return index.grid(values)
