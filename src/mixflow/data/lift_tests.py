"""Lift tests (experiments) that calibrate an MMM: parsing, validation, and where each test's
spend change lands in the panel.

The experiments table has the columns ``channel,start,end,geos,spend_change,incremental_kpi,
standard_error`` and optionally ``measured_until``:

- ``geos``: location names separated by ``|``; empty for a national test (all geos).
- ``spend_change``: the extra spend (currency) in those geos over ``start..end`` (inclusive),
  negative for a holdout / go-dark test.
- ``incremental_kpi``: what the test measured (KPI units), carryover included: over the window
  and the model's ``max_lag`` periods after it unless ``measured_until`` says otherwise.

How a spend change is spread over the test's geo-periods (:func:`spend_change_cells`): in
proportion to the channel's own spend there (a test scales what was running); where the channel
did not spend in the window at all, evenly over the periods and by population over the geos.
Exposure follows spend at the channel's exposure-per-currency in those cells (over the whole
data when the cells had no spend). For a reach and frequency channel the exposure is reach, and
the extra spend buys it at each cell's own reach per currency, that is at the cell's own
frequency and cost per impression: the window's reach scales as its spend does. A go-dark test
cannot remove more than the channel spent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from mixflow.data.dataset import MMMDataset
from mixflow.errors import DataError, did_you_mean

REQUIRED_COLUMNS: Final = (
    "channel",
    "start",
    "end",
    "geos",
    "spend_change",
    "incremental_kpi",
    "standard_error",
)
OPTIONAL_COLUMNS: Final = ("measured_until",)
GEO_SEPARATOR: Final = "|"


#: smallest standard error accepted, relative to the measured effect (no experiment measures a
#: lift to better than 0.01 %)
MIN_RELATIVE_STANDARD_ERROR = 1e-4


@dataclass(frozen=True)
class LiftTest:
    """One experiment's result.

    Attributes:
        channel: the tested media channel.
        start, end: first and last day of the test window (inclusive).
        geos: tested locations; empty for a national test.
        spend_change: extra spend over the window in those geos (currency; negative: go-dark).
        incremental_kpi: measured incremental KPI (KPI units), carryover included.
        standard_error: its standard error (KPI units, > 0).
        measured_until: last day the measurement covers; ``None``: the window plus the model's
            ``max_lag`` periods.
        label: where it came from, for messages (e.g. ``lift.csv row 3``).
    """

    channel: str
    start: date
    end: date
    geos: tuple[str, ...]
    spend_change: float
    incremental_kpi: float
    standard_error: float
    measured_until: date | None = None
    label: str = "lift test"

    def __post_init__(self) -> None:
        for name in ("spend_change", "incremental_kpi", "standard_error"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise DataError(f"{self.label}: {name} must be a finite number, got {value!r}")
        if not self.standard_error > 0:
            raise DataError(
                f"{self.label}: standard_error must be > 0, got {self.standard_error!r}"
            )
        floor = MIN_RELATIVE_STANDARD_ERROR * max(abs(self.incremental_kpi), 1.0)
        if self.standard_error < floor:
            # a spike the sampler cannot explore (1e-300 underflows its likelihood)
            raise DataError(
                f"{self.label}: standard_error {self.standard_error!r} is implausibly small; "
                f"expected at least {MIN_RELATIVE_STANDARD_ERROR:g} x max(|incremental_kpi|, 1)"
                f" = {floor:g}"
            )
        if self.spend_change == 0:
            raise DataError(f"{self.label}: spend_change is 0; a lift test changes spend")
        if self.end < self.start:
            raise DataError(f"{self.label}: end {self.end} is before start {self.start}")
        if self.measured_until is not None and self.measured_until < self.end:
            raise DataError(
                f"{self.label}: measured_until {self.measured_until} is before end {self.end}"
            )

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready mapping with the table's column names (dates as ISO strings)."""
        return {
            "channel": self.channel,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "geos": GEO_SEPARATOR.join(self.geos),
            "spend_change": self.spend_change,
            "incremental_kpi": self.incremental_kpi,
            "standard_error": self.standard_error,
            "measured_until": self.measured_until.isoformat() if self.measured_until else None,
        }


def _parse_date(value: Any, column: str, label: str, required: bool = True) -> date | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        if required:
            raise DataError(f"{label}: {column} is empty; expected a date YYYY-MM-DD")
        return None
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError):
        raise DataError(f"{label}: {column} {value!r} is not a date; expected YYYY-MM-DD") from None


def _parse_number(value: Any, column: str, label: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DataError(f"{label}: {column} {value!r} is not a number") from None


def _parse_geos(value: Any) -> tuple[str, ...]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ()
    return tuple(part.strip() for part in str(value).split(GEO_SEPARATOR) if part.strip())


def lift_test_from_record(record: Mapping[str, Any], label: str) -> LiftTest:
    """One :class:`LiftTest` from a mapping with the table's column names."""
    return LiftTest(
        channel=str(record["channel"]).strip(),
        start=_parse_date(record["start"], "start", label) or date.min,
        end=_parse_date(record["end"], "end", label) or date.min,
        geos=_parse_geos(record.get("geos")),
        spend_change=_parse_number(record["spend_change"], "spend_change", label),
        incremental_kpi=_parse_number(record["incremental_kpi"], "incremental_kpi", label),
        standard_error=_parse_number(record["standard_error"], "standard_error", label),
        measured_until=_parse_date(
            record.get("measured_until"), "measured_until", label, required=False
        ),
        label=label,
    )


def lift_tests_from_frame(frame: pd.DataFrame, source: str) -> tuple[LiftTest, ...]:
    """Parse an experiments table; errors name the file, row (1-based, after the header) and
    column."""
    columns = [str(c) for c in frame.columns]
    for col in REQUIRED_COLUMNS:
        if col not in columns:
            extra = [c for c in columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
            raise DataError(
                f"{source}: missing column '{col}'{did_you_mean(col, extra)}; "
                f"expected columns: {', '.join(REQUIRED_COLUMNS)} [, measured_until]"
            )
    unknown = [c for c in columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise DataError(
            f"{source}: unknown column '{unknown[0]}'"
            f"{did_you_mean(unknown[0], REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}; "
            f"expected columns: {', '.join(REQUIRED_COLUMNS)} [, measured_until]"
        )
    if frame.empty:
        raise DataError(f"{source}: no lift tests (the table has no rows)")
    records = frame.to_dict(orient="records")
    return tuple(
        lift_test_from_record({str(k): v for k, v in rec.items()}, f"{source} row {i + 1}")
        for i, rec in enumerate(records)
    )


def load_lift_tests(path: Path) -> tuple[LiftTest, ...]:
    """Read an experiments CSV (see the module doc)."""
    if not path.is_file():
        raise DataError(f"lift tests file not found: {path}")
    try:
        frame = pd.read_csv(path, dtype={"geos": str, "channel": str}, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not a readable CSV: {err}") from None
    for col in ("spend_change", "incremental_kpi", "standard_error"):
        if col in frame.columns:
            frame[col] = frame[col].replace("", np.nan)
    return lift_tests_from_frame(frame, path.name)


# ----------------------------------------------------------------------------- on the panel
@dataclass(frozen=True)
class LiftCells:
    """Where a lift test lands on a panel of ``T`` periods padded with ``L`` carryover periods.

    Attributes:
        channel: index of the tested channel.
        spend: ``(G, T)`` spend change per geo-period (currency).
        exposure: ``(G, T)`` the matching exposure change (the channel's exposure units).
        measured: ``(G, T + L)`` True on the geo-periods the measurement covers.
    """

    channel: int
    spend: np.ndarray
    exposure: np.ndarray
    measured: np.ndarray


def _period_index(data: MMMDataset, day: date, label: str, what: str) -> int:
    """Index of the period containing ``day`` (periods start at ``dates`` and last
    ``period_days``); may point past the data (into the carryover padding)."""
    first = data.dates[0].astype("datetime64[D]")
    offset = int((np.datetime64(day, "D") - first).astype(int))
    if offset < 0:
        raise DataError(
            f"{label}: {what} {day} is before the data's first period {first}; "
            "lift tests must fall inside the modelled dates"
        )
    return offset // data.period_days


def _geo_index(data: MMMDataset, test: LiftTest) -> np.ndarray:
    if not test.geos or not data.is_geo:
        return np.arange(len(data.geos))
    out = []
    for name in test.geos:
        if name not in data.geos:
            raise DataError(
                f"{test.label}: geo '{name}'{did_you_mean(name, data.geos)} is not in the data; "
                f"geos are: {', '.join(data.geos[:10])}{' ...' if len(data.geos) > 10 else ''}"
            )
        out.append(data.geos.index(name))
    return np.array(sorted(set(out)))


def spend_change_cells(test: LiftTest, data: MMMDataset, max_lag: int) -> LiftCells:
    """Spread ``test``'s spend change over its geo-periods (see the module doc).

    For a national model the test's geos are ignored: its spend change and measured lift are
    taken as national figures.
    """
    if test.channel not in data.channels:
        raise DataError(
            f"{test.label}: channel '{test.channel}'{did_you_mean(test.channel, data.channels)} "
            f"is not a media channel of the model; channels are: {', '.join(data.channels)}"
        )
    c = data.channels.index(test.channel)
    t = data.n_times
    first = _period_index(data, test.start, test.label, "start")
    last = _period_index(data, test.end, test.label, "end")
    if last >= t:
        raise DataError(
            f"{test.label}: end {test.end} is after the data's last period "
            f"{data.dates[-1]}; the test window must lie inside the modelled dates"
        )
    until = last + max_lag
    if test.measured_until is not None:
        until = _period_index(data, test.measured_until, test.label, "measured_until")
        if until > t - 1 + max_lag:
            raise DataError(
                f"{test.label}: measured_until {test.measured_until} is more than max_lag="
                f"{max_lag} periods after the data's last period {data.dates[-1]}"
            )
    until = min(until, t - 1 + max_lag)
    geos = _geo_index(data, test)

    cells = np.zeros((len(data.geos), t), dtype=bool)
    cells[np.ix_(geos, np.arange(first, last + 1))] = True
    own = np.where(cells, data.spend[:, :, c], 0.0)
    if own.sum() > 0:
        share = own / own.sum()
    else:
        pop = np.where(cells, data.population[:, None], 0.0)
        share = pop / pop.sum()
    if test.spend_change < 0 and -test.spend_change > own.sum() * (1 + 1e-9):
        raise DataError(
            f"{test.label}: spend_change {test.spend_change:,.0f} removes more than "
            f"'{test.channel}' spent in the test's geo-periods ({own.sum():,.0f})"
        )
    spend = test.spend_change * share
    ratio: float | np.ndarray = _exposure_per_currency(data, c, cells)
    if test.channel in data.rf_channels:
        own_reach = data.exposure[:, :, c]
        ratio = np.where(own > 0, own_reach / np.where(own > 0, own, 1.0), ratio)
    measured = np.zeros((len(data.geos), t + max_lag), dtype=bool)
    measured[np.ix_(geos, np.arange(first, until + 1))] = True
    return LiftCells(channel=c, spend=spend, exposure=spend * ratio, measured=measured)


def _exposure_per_currency(data: MMMDataset, c: int, cells: np.ndarray) -> float:
    spend = data.spend[:, :, c]
    exposure = data.exposure[:, :, c]
    in_cells = float(spend[cells].sum())
    if in_cells > 0:
        return float(exposure[cells].sum()) / in_cells
    return float(exposure.sum()) / max(float(spend.sum()), 1e-12)


__all__ = [
    "LiftCells",
    "LiftTest",
    "lift_test_from_record",
    "lift_tests_from_frame",
    "load_lift_tests",
    "spend_change_cells",
]
