"""Organic channels and non-media treatments in the config and the dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mixflow.data import MMMDataset, load_dataset
from mixflow.errors import DataError, SpecError
from mixflow.spec.config import load_config, parse_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NATIONAL = EXAMPLES / "meridian_national_all_channels.yaml"


def _national() -> MMMDataset:
    cfg, base = load_config(NATIONAL)
    return load_dataset(cfg.data, base)


def test_organic_and_treatments_load_from_meridian_sample() -> None:
    import pandas as pd

    ds = _national()
    raw = pd.read_csv(EXAMPLES.parent / "data/mmm/meridian_national_all_channels.csv")
    assert ds.organic_names == ("Organic0",) and ds.organic_array.shape == (1, 156, 1)
    np.testing.assert_allclose(ds.organic_array[0, :, 0], raw["Organic_channel0_impression"])
    # a treatment is a control with its baseline beside it
    assert ds.control_names[-1] == "Promo" and ds.treatments == (("Promo", 0.0),)
    np.testing.assert_allclose(ds.controls[0, :, -1], raw["Promo"])
    assert "Organic0" not in ds.channels


def test_save_load_keeps_organic_and_treatments(tmp_path: Path) -> None:
    ds = _national()
    ds.save(tmp_path)
    back = MMMDataset.load(tmp_path)
    assert back.fingerprint() == ds.fingerprint()
    assert (back.organic_names, back.treatments) == (ds.organic_names, ds.treatments)
    np.testing.assert_array_equal(back.organic_array, ds.organic_array)
    sliced = ds.slice_time(100)
    assert sliced.organic_array.shape == (1, 100, 1) and sliced.treatments == ds.treatments


def test_organic_changes_the_fingerprint() -> None:
    ds = _national()
    bumped = MMMDataset(
        **{
            **{f: getattr(ds, f) for f in ds.__dataclass_fields__},
            "organic": ds.organic_array * 2.0,
        }
    )
    assert bumped.fingerprint() != ds.fingerprint()


def _raw(**data: object) -> dict[str, object]:
    base: dict[str, object] = {
        "path": "x.csv",
        "kpi_column": "sales",
        "media": [{"name": "tv", "spend_column": "tv"}],
    }
    return {"data": {**base, **data}}


def test_names_must_be_unique_across_media_organic_and_treatments() -> None:
    with pytest.raises(SpecError, match=r"must be unique, repeated: \['tv'\]"):
        parse_config(_raw(organic=[{"name": "tv", "exposure_column": "email"}]))
    with pytest.raises(SpecError, match="treatments"):
        parse_config(_raw(treatments=[{"name": "promo", "colum": "promo"}]))


def test_missing_organic_column_names_its_key(tmp_path: Path) -> None:
    import pandas as pd

    pd.DataFrame(
        {
            "date": pd.date_range("2020-01-06", periods=30, freq="7D"),
            "sales": range(1, 31),
            "tv": 1.0,
        }
    ).to_csv(tmp_path / "x.csv", index=False)
    cfg = parse_config(_raw(organic=[{"name": "email", "exposure_column": "sends"}]))
    with pytest.raises(DataError, match=r"'sends'.*organic 'email' exposure_column"):
        load_dataset(cfg.data, tmp_path)


def test_negative_organic_exposure_is_refused(tmp_path: Path) -> None:
    import pandas as pd

    pd.DataFrame(
        {
            "date": pd.date_range("2020-01-06", periods=30, freq="7D"),
            "sales": range(1, 31),
            "tv": 1.0,
            "sends": [-1.0] + [1.0] * 29,
        }
    ).to_csv(tmp_path / "x.csv", index=False)
    cfg = parse_config(_raw(organic=[{"name": "email", "exposure_column": "sends"}]))
    with pytest.raises(DataError, match="sends"):
        load_dataset(cfg.data, tmp_path)
