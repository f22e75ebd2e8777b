"""Reading files, the shared sample datasets through the example configs, saving datasets."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixflow.data import KpiType, MMMDataset, load_dataset, read_table
from mixflow.errors import DataError
from mixflow.spec.config import DataConfig, load_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example(name: str) -> MMMDataset:
    cfg, base_dir = load_config(EXAMPLES / name)
    return load_dataset(cfg.data, base_dir)


def small_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"date": ["2020-01-06", "2020-01-13"], "sales": [1.5, 2.0], "events": ["na", "x"]}
    )


def tiny_config(path: str) -> DataConfig:
    return DataConfig(
        path=path,
        kpi_column="sales",
        media=[{"name": "tv", "spend_column": "tv"}],  # type: ignore[list-item]
    )


# -------------------------------------------------------------------------------- read_table
def test_read_csv(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    small_frame().to_csv(path, index=False)
    pd.testing.assert_frame_equal(read_table(path), small_frame(), check_dtype=False)


def test_read_parquet(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    small_frame().to_parquet(path, index=False)
    pd.testing.assert_frame_equal(read_table(path), small_frame(), check_dtype=False)


def test_unknown_suffix(tmp_path: Path) -> None:
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"")
    with pytest.raises(DataError, match=r"unknown file type '\.xlsx'; expected one of \.csv"):
        read_table(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"data file not found: .*nope\.csv does not exist"):
        read_table(tmp_path / "nope.csv")


def test_folder_instead_of_file(tmp_path: Path) -> None:
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(DataError, match=r"dir\.csv is a folder, not a file"):
        read_table(tmp_path / "dir.csv")


def test_empty_csv_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DataError, match=r"cannot read .*empty\.csv: EmptyDataError"):
        read_table(path)


def test_corrupt_parquet_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"this is not parquet")
    with pytest.raises(DataError, match=r"cannot read .*bad\.parquet"):
        read_table(path)


# ------------------------------------------------------------------------------ load_dataset
def test_load_dataset_missing_path_names_it(tmp_path: Path) -> None:
    msg = r"data file not found: .*missing\.csv \(data\.path 'sub/missing\.csv' is read relative to"
    with pytest.raises(DataError, match=msg):
        load_dataset(tiny_config("sub/missing.csv"), tmp_path)


def test_load_dataset_reads_relative_to_base_dir(tmp_path: Path) -> None:
    header_only = pd.DataFrame({"date": [], "sales": [], "tv": []})
    header_only.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataError, match=r"d\.csv has no data rows"):
        load_dataset(tiny_config("d.csv"), tmp_path)


# ------------------------------------------------------------------------- shared samples
def test_robyn_weekly(shared_data: Path) -> None:
    ds = example("robyn_weekly.yaml")
    raw = pd.read_csv(shared_data / "mmm" / "robyn_simulated_weekly.csv")
    assert ds.kpi.shape == (1, 208) and ds.n_channels == 5 and ds.period_days == 7
    assert ds.channels == ("tv", "ooh", "print", "facebook", "search")
    assert ds.has_exposure == (False, False, False, True, True)
    assert ds.event_names == ("event1", "event2") and ds.events.sum() == 2.0
    assert ds.control_names == ("competitor_sales_B", "newsletter")
    np.testing.assert_allclose(ds.kpi[0], raw["revenue"])
    np.testing.assert_allclose(ds.exposure[0, :, 3], raw["facebook_I"])
    np.testing.assert_allclose(ds.exposure[0, :, 4], raw["search_clicks_P"])
    np.testing.assert_allclose(ds.exposure[0, :, 0], raw["tv_S"])


def test_meridian_national(shared_data: Path) -> None:
    ds = example("meridian_national.yaml")
    raw = pd.read_csv(shared_data / "mmm" / "meridian_national_media.csv")
    assert ds.kpi.shape == (1, 156) and ds.n_channels == 4
    assert ds.kpi_type is KpiType.CONVERSIONS and ds.has_revenue_per_kpi
    assert all(ds.has_exposure) and not ds.is_geo
    np.testing.assert_allclose(ds.revenue_per_kpi[0], raw["revenue_per_conversion"])
    np.testing.assert_allclose(ds.spend[0, :, 2], raw["Channel2_spend"])


def test_meridian_geo(shared_data: Path) -> None:
    ds = example("meridian_geo.yaml")
    raw = pd.read_csv(shared_data / "mmm" / "meridian_geo_media.csv")
    n_geos = raw["geo"].nunique()
    assert ds.is_geo and ds.kpi.shape == (n_geos, 156)
    assert ds.spend.shape == (n_geos, 156, 4) and ds.controls.shape == (n_geos, 156, 2)
    assert ds.geos == tuple(raw["geo"].drop_duplicates())
    first = raw[raw["geo"] == ds.geos[0]]
    np.testing.assert_allclose(ds.kpi[0], first["conversions"])
    np.testing.assert_allclose(ds.population[0], first["population"].iloc[0])


def test_meridian_geo_all_channels_ignores_index_column() -> None:
    ds = example("meridian_geo_all_channels.yaml")
    assert ds.kpi.shape == (40, 156) and ds.n_channels == 5
    assert "Unnamed: 0" not in ds.control_names


# --------------------------------------------------------------------------- save and load
def test_save_load_round_trip(tmp_path: Path) -> None:
    ds = example("robyn_weekly.yaml")
    ds.save(tmp_path)
    back = MMMDataset.load(tmp_path)
    assert back.fingerprint() == ds.fingerprint()
    for name in ("kpi", "spend", "exposure", "controls", "events", "population", "revenue_per_kpi"):
        np.testing.assert_array_equal(getattr(back, name), getattr(ds, name))
    np.testing.assert_array_equal(back.dates, ds.dates)
    assert back.meta() == ds.meta()


def test_save_load_round_trip_geo(tmp_path: Path) -> None:
    ds = example("meridian_geo.yaml")
    ds.save(tmp_path)
    back = MMMDataset.load(tmp_path)
    assert back.fingerprint() == ds.fingerprint() and back.geos == ds.geos


def test_fingerprint_is_stable_and_sees_one_changed_value() -> None:
    ds = example("meridian_national.yaml")
    assert example("meridian_national.yaml").fingerprint() == ds.fingerprint()
    spend = ds.spend.copy()
    spend[0, 10, 1] += 0.01
    changed = dataclasses.replace(ds, spend=spend)
    assert changed.fingerprint() != ds.fingerprint()
