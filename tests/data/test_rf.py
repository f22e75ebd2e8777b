"""Reach and frequency channels in the config and the loaders (mixflow.data.rf)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixflow.data import MMMDataset, load_dataset
from mixflow.data.loaders import dataset_from_frame
from mixflow.errors import DataError, SpecError
from mixflow.spec.config import DataConfig, load_config, parse_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DATA = Path(__file__).resolve().parents[2] / "data" / "mmm"


def _config(**media: str) -> dict[str, object]:
    entry = {"name": "video", "spend_column": "video_spend", **media}
    return {"data": {"path": "x.csv", "kpi_column": "sales", "media": [entry]}}


@pytest.mark.parametrize(
    ("media", "expected"),
    [
        ({"reach_column": "r"}, "media 'video': reach_column needs frequency_column too"),
        ({"frequency_column": "f"}, "media 'video': frequency_column needs reach_column too"),
        (
            {"reach_column": "r", "frequency_column": "f", "exposure_column": "i"},
            "media 'video': give either exposure_column or reach_column and frequency_column",
        ),
    ],
)
def test_config_checks_reach_and_frequency_together(media: dict[str, str], expected: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_config(_config(**media))
    assert expected in str(err.value)
    assert "data.media.0" in str(err.value)


def test_config_accepts_reach_and_frequency() -> None:
    cfg = parse_config(_config(reach_column="r", frequency_column="f"))
    assert cfg.data.media[0].is_rf and cfg.data.media[0].exposure_column is None


def test_national_rf_example_reads_reach_and_frequency() -> None:
    cfg, base = load_config(EXAMPLES / "meridian_national_rf.yaml")
    ds = load_dataset(cfg.data, base)
    raw = pd.read_csv(DATA / "meridian_national_media_rf.csv")
    assert ds.rf_channels == ("Channel3",) and ds.has_exposure == (True,) * 4
    np.testing.assert_allclose(ds.exposure[0, :, 3], raw["Channel3_reach"])
    np.testing.assert_allclose(ds.frequency_array[0, :, 0], raw["Channel3_frequency"])
    np.testing.assert_allclose(ds.exposure[0, :, 0], raw["Channel0_impression"])


def test_geo_rf_example_zero_reach_has_zero_frequency(tmp_path: Path) -> None:
    cfg, base = load_config(EXAMPLES / "meridian_geo_rf.yaml")
    ds = load_dataset(cfg.data, base)
    assert ds.is_geo and ds.frequency_array.shape == (20, 156, 1)
    reach, freq = ds.exposure[..., 3], ds.frequency_array[..., 0]
    assert (reach == 0).any() and np.all(freq[reach == 0] == 0) and np.all(freq[reach > 0] > 0)
    ds.save(tmp_path)
    back = MMMDataset.load(tmp_path)
    assert back.fingerprint() == ds.fingerprint() and back.rf_channels == ds.rf_channels
    np.testing.assert_array_equal(back.frequency_array, ds.frequency_array)
    assert ds.slice_time(100).frequency_array.shape == (20, 100, 1)


def _frame(freq: list[float]) -> pd.DataFrame:
    n = len(freq)
    return pd.DataFrame(
        {
            "date": pd.date_range("2020-01-06", periods=n, freq="7D").astype(str),
            "sales": np.linspace(1.0, 2.0, n),
            "tv": np.ones(n),
            "video_spend": np.ones(n),
            "video_reach": np.full(n, 100.0),
            "video_freq": freq,
        }
    )


def _rf_data_config() -> DataConfig:
    return DataConfig.model_validate(
        {
            "path": "x.csv",
            "kpi_column": "sales",
            "media": [
                {"name": "tv", "spend_column": "tv"},
                {
                    "name": "video",
                    "spend_column": "video_spend",
                    "reach_column": "video_reach",
                    "frequency_column": "video_freq",
                },
            ],
        }
    )


def test_zero_frequency_with_reach_names_column_and_row() -> None:
    freq = [2.0] * 30
    freq[4] = 0.0
    with pytest.raises(DataError) as err:
        dataset_from_frame(_frame(freq), _rf_data_config())
    msg = str(err.value)
    assert "column 'video_freq' (media 'video' frequency_column)" in msg
    assert "row 5" in msg and "expected an average frequency > 0" in msg


def test_missing_reach_column_names_its_key() -> None:
    frame = _frame([2.0] * 30).drop(columns="video_reach")
    with pytest.raises(DataError) as err:
        dataset_from_frame(frame, _rf_data_config())
    assert "'video_reach' (media 'video' reach_column)" in str(err.value)
    assert "data.media[1].reach_column" in str(err.value)
