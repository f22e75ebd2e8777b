"""The validated dataset: named dimensions (time, geo, channel) as frozen numpy arrays.

Shapes use these names throughout mixflow: ``G`` geos (1 for a national model), ``T`` periods,
``C`` media channels, ``K`` controls, ``E`` events.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd

from mixflow.errors import DataError

NATIONAL_GEO = "national"
#: the numeric array fields of a dataset, in canonical order
ARRAY_FIELDS = ("kpi", "spend", "exposure", "controls", "events", "population", "revenue_per_kpi")


class KpiType(StrEnum):
    """What the KPI column counts: money (``revenue``) or units (``conversions``)."""

    REVENUE = "revenue"
    CONVERSIONS = "conversions"


def _frozen(a: np.ndarray, dtype: type | str = np.float64) -> np.ndarray:
    out = np.array(a, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class MMMDataset:
    """A validated MMM panel.

    Attributes:
        dates: ``(T,)`` ``datetime64[D]``, strictly increasing and evenly spaced.
        geos: ``G`` geo names; ``("national",)`` for a national model.
        channels: ``C`` media channel names.
        kpi: ``(G, T)`` KPI in original units (currency for revenue, units for conversions).
        spend: ``(G, T, C)`` media spend in currency.
        exposure: ``(G, T, C)`` what drives the response (impressions, GRPs); equals ``spend``
            for channels without an exposure column.
        controls: ``(G, T, K)`` control variables in original units.
        events: ``(G, T, E)`` 0/1 event dummies.
        population: ``(G,)`` population per geo (ones for a national model).
        revenue_per_kpi: ``(G, T)`` currency per KPI unit (ones for a revenue KPI without one).
        kpi_type: revenue or conversions.
        has_revenue_per_kpi: whether a revenue-per-KPI column was given (conversion KPIs).
        period_days: spacing of ``dates`` in days (7 for weekly data).
    """

    dates: np.ndarray
    geos: tuple[str, ...]
    channels: tuple[str, ...]
    kpi: np.ndarray
    spend: np.ndarray
    exposure: np.ndarray
    controls: np.ndarray
    control_names: tuple[str, ...]
    events: np.ndarray
    event_names: tuple[str, ...]
    population: np.ndarray
    revenue_per_kpi: np.ndarray
    kpi_type: KpiType = KpiType.REVENUE
    has_revenue_per_kpi: bool = False
    has_exposure: tuple[bool, ...] = field(default=())
    is_geo: bool = False
    #: ``(G, T, O)`` organic exposure (no spend; see mixflow.data.extras), ``None``: none
    organic: np.ndarray | None = None
    organic_names: tuple[str, ...] = ()
    #: ``(name, baseline)`` of the controls that are treatments (see mixflow.data.extras)
    treatments: tuple[tuple[str, float], ...] = ()
    #: ``(G, T, R)`` average frequency of the R&F channels ``rf_channels`` (their ``exposure``
    #: is reach; see mixflow.data.rf), ``None``: none
    frequency: np.ndarray | None = None
    rf_channels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        g, t, c = len(self.geos), len(self.dates), len(self.channels)
        object.__setattr__(self, "dates", _frozen(self.dates, "datetime64[D]"))
        for name in ARRAY_FIELDS:
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        if not self.has_exposure:
            object.__setattr__(self, "has_exposure", tuple(False for _ in self.channels))
        # none: (G, T, 0) whatever was passed (dataclasses.replace of another panel's geos)
        organic = self.organic
        if not self.organic_names or organic is None:
            organic = np.zeros((g, t, 0))
        object.__setattr__(self, "organic", _frozen(organic))
        frequency = self.frequency
        if not self.rf_channels or frequency is None:
            frequency = np.zeros((g, t, 0))
        object.__setattr__(self, "frequency", _frozen(frequency))
        expected = {
            "kpi": (g, t),
            "spend": (g, t, c),
            "exposure": (g, t, c),
            "controls": (g, t, len(self.control_names)),
            "events": (g, t, len(self.event_names)),
            "population": (g,),
            "revenue_per_kpi": (g, t),
            "organic": (g, t, len(self.organic_names)),
            "frequency": (g, t, len(self.rf_channels)),
        }
        for name, shape in expected.items():
            actual = getattr(self, name).shape
            if actual != shape:
                raise DataError(f"dataset field '{name}' has shape {actual}, expected {shape}")
        if len(self.has_exposure) != c:
            raise DataError(f"has_exposure has {len(self.has_exposure)} entries, expected {c}")
        if [ch for ch in self.channels if ch in self.rf_channels] != list(self.rf_channels):
            raise DataError(
                f"rf_channels {list(self.rf_channels)} must be channels, in channel order"
            )

    @property
    def n_geos(self) -> int:
        return len(self.geos)

    @property
    def value_is_currency(self) -> bool:
        """Whether the KPI's value is money: a revenue KPI, or one with revenue per KPI unit
        (else values stay in KPI units: no profit, no probability of losing money)."""
        return self.kpi_type is KpiType.REVENUE or self.has_revenue_per_kpi

    @property
    def n_times(self) -> int:
        return len(self.dates)

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    @property
    def period_days(self) -> int:
        if len(self.dates) < 2:
            return 7
        return int((self.dates[1] - self.dates[0]).astype("timedelta64[D]").astype(int))

    @property
    def kpi_value(self) -> np.ndarray:
        """``(G, T)`` KPI in currency (KPI times revenue per KPI)."""
        return self.kpi * self.revenue_per_kpi

    def slice_time(self, stop: int) -> MMMDataset:
        """The first ``stop`` periods (for holdouts)."""
        return MMMDataset(
            dates=self.dates[:stop],
            geos=self.geos,
            channels=self.channels,
            kpi=self.kpi[:, :stop],
            spend=self.spend[:, :stop],
            exposure=self.exposure[:, :stop],
            controls=self.controls[:, :stop],
            control_names=self.control_names,
            events=self.events[:, :stop],
            event_names=self.event_names,
            population=self.population,
            revenue_per_kpi=self.revenue_per_kpi[:, :stop],
            kpi_type=self.kpi_type,
            has_revenue_per_kpi=self.has_revenue_per_kpi,
            has_exposure=self.has_exposure,
            is_geo=self.is_geo,
            organic=self.organic_array[:, :stop],
            organic_names=self.organic_names,
            treatments=self.treatments,
            frequency=self.frequency_array[:, :stop],
            rf_channels=self.rf_channels,
        )

    # ----------------------------------------------------------------- canonical table
    def to_frame(self) -> pd.DataFrame:
        """Canonical long table: one row per (geo, date), columns prefixed by role."""
        g, t = self.n_geos, self.n_times
        cols: dict[str, np.ndarray] = {
            "geo": np.repeat(np.array(self.geos, dtype=object), t),
            "date": np.tile(self.dates, g),
            "kpi": self.kpi.reshape(-1),
            "revenue_per_kpi": self.revenue_per_kpi.reshape(-1),
            "population": np.repeat(self.population, t),
        }
        for i, ch in enumerate(self.channels):
            cols[f"spend::{ch}"] = self.spend[:, :, i].reshape(-1)
            cols[f"exposure::{ch}"] = self.exposure[:, :, i].reshape(-1)
        for i, name in enumerate(self.control_names):
            cols[f"control::{name}"] = self.controls[:, :, i].reshape(-1)
        for i, name in enumerate(self.event_names):
            cols[f"event::{name}"] = self.events[:, :, i].reshape(-1)
        for i, name in enumerate(self.organic_names):
            cols[f"organic::{name}"] = self.organic_array[:, :, i].reshape(-1)
        for i, name in enumerate(self.rf_channels):
            cols[f"frequency::{name}"] = self.frequency_array[:, :, i].reshape(-1)
        return pd.DataFrame(cols)

    @property
    def frequency_array(self) -> np.ndarray:
        """``(G, T, R)`` R&F frequency (``frequency``, typed as set by ``__post_init__``)."""
        assert self.frequency is not None
        return self.frequency

    @property
    def organic_array(self) -> np.ndarray:
        """``(G, T, O)`` organic exposure (``organic``, typed as set by ``__post_init__``)."""
        assert self.organic is not None
        return self.organic

    def meta(self) -> dict[str, object]:
        return {
            "kpi_type": self.kpi_type.value,
            "has_revenue_per_kpi": self.has_revenue_per_kpi,
            "has_exposure": list(self.has_exposure),
            "is_geo": self.is_geo,
            "channels": list(self.channels),
            "geos": list(self.geos),
            "control_names": list(self.control_names),
            "event_names": list(self.event_names),
            # only when present: a dataset without them keeps its fingerprint
            **({"organic_names": list(self.organic_names)} if self.organic_names else {}),
            **({"treatments": [list(t) for t in self.treatments]} if self.treatments else {}),
            **({"rf_channels": list(self.rf_channels)} if self.rf_channels else {}),
        }

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, meta: dict[str, object]) -> MMMDataset:
        """Inverse of :meth:`to_frame` (with :meth:`meta`)."""
        geos = tuple(str(x) for x in meta["geos"])  # type: ignore[attr-defined]
        channels = tuple(str(x) for x in meta["channels"])  # type: ignore[attr-defined]
        controls = tuple(str(x) for x in meta["control_names"])  # type: ignore[attr-defined]
        events = tuple(str(x) for x in meta["event_names"])  # type: ignore[attr-defined]
        organic = tuple(str(x) for x in meta.get("organic_names", []))  # type: ignore[attr-defined]
        rf_channels = tuple(str(x) for x in meta.get("rf_channels", []))  # type: ignore[attr-defined]
        g = len(geos)
        t = len(frame) // g

        def grid(col: str) -> np.ndarray:
            return frame[col].to_numpy(dtype=np.float64).reshape(g, t)

        def stack(prefix: str, names: tuple[str, ...]) -> np.ndarray:
            if not names:
                return np.zeros((g, t, 0))
            return np.stack([grid(f"{prefix}::{n}") for n in names], axis=-1)

        return cls(
            dates=frame["date"].to_numpy()[:t].astype("datetime64[D]"),
            geos=geos,
            channels=channels,
            kpi=grid("kpi"),
            spend=stack("spend", channels),
            exposure=stack("exposure", channels),
            controls=stack("control", controls),
            control_names=controls,
            events=stack("event", events),
            event_names=events,
            population=grid("population")[:, 0],
            revenue_per_kpi=grid("revenue_per_kpi"),
            kpi_type=KpiType(str(meta["kpi_type"])),
            has_revenue_per_kpi=bool(meta["has_revenue_per_kpi"]),
            has_exposure=tuple(bool(x) for x in meta["has_exposure"]),  # type: ignore[attr-defined]
            is_geo=bool(meta["is_geo"]),
            organic=stack("organic", organic),
            organic_names=organic,
            treatments=tuple((str(n), float(b)) for n, b in meta.get("treatments", [])),  # type: ignore[attr-defined]
            frequency=stack("frequency", rf_channels),
            rf_channels=rf_channels,
        )

    def fingerprint(self) -> str:
        """Content hash (sha256) of the canonical dataset: same data, same fingerprint."""
        h = hashlib.sha256()
        h.update(repr(sorted(self.meta().items())).encode())
        h.update(self.dates.astype("int64").tobytes())
        for name in ARRAY_FIELDS:
            h.update(np.ascontiguousarray(getattr(self, name), dtype=np.float64).tobytes())
        if self.organic_names:
            h.update(np.ascontiguousarray(self.organic_array, dtype=np.float64).tobytes())
        if self.rf_channels:
            h.update(np.ascontiguousarray(self.frequency_array, dtype=np.float64).tobytes())
        return h.hexdigest()

    def save(self, directory: Path) -> None:
        """Write ``dataset.parquet`` and ``dataset.json`` into ``directory`` (atomically)."""
        import json

        from mixflow.data.io import atomic_write_bytes

        buf = self.to_frame().to_parquet(index=False)
        atomic_write_bytes(directory / "dataset.parquet", buf)
        atomic_write_bytes(directory / "dataset.json", json.dumps(self.meta(), indent=2).encode())

    @classmethod
    def load(cls, directory: Path) -> MMMDataset:
        import io
        import json

        meta = json.loads((directory / "dataset.json").read_text())
        frame = pd.read_parquet(io.BytesIO((directory / "dataset.parquet").read_bytes()))
        return cls.from_frame(frame, meta)
