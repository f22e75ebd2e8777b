"""A config with ``calibration: {experiments: lift.csv}``: the table is read relative to the config,
inlined into the saved config, checked against the data, and reported in calibration.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from mixflow.cli.main import app
from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand
from mixflow.datasets.lift import simulated_lift_test
from mixflow.errors import DataError, SpecError
from mixflow.spec.config import parse_config
from mixflow.workflow import fit_run, load_run, validate_config

SMALL = BrandSimulation(n_weeks=70, channels=DEFAULT_CHANNELS[:2], n_events=0, fourier_terms=1)


def write_project(tmp: Path, method: str = "likelihood", rows: int = 2) -> Path:
    brand = simulate_brand(SMALL, np.random.default_rng(4))
    (tmp / "data").mkdir()
    brand.frame.to_csv(tmp / "data" / "data.csv", index=False)
    raw = dict(brand.config)
    raw["data"] = {**raw["data"], "path": "data/data.csv"}
    data = dataset_from_frame(brand.frame, parse_config(brand.config).data)
    assert brand.true_response is not None
    rng = np.random.default_rng(0)
    day = [pd.Timestamp(d).date() for d in data.dates]
    search = data.spend[0, 30:36, 1].sum()
    tests = [
        simulated_lift_test(
            brand.true_response, data, "search", day[30], day[35], -search, 0.1, rng
        ),
        simulated_lift_test(brand.true_response, data, "tv", day[50], day[53], 2e5, 0.2, rng),
    ][:rows]
    pd.DataFrame([t.to_record() for t in tests]).drop(columns="measured_until").to_csv(
        tmp / "lift.csv", index=False
    )
    raw["calibration"] = {"experiments": "lift.csv", "method": method}
    raw["fit"] = {"method": "map", "svi_steps": 300, "seed": 2, "progress_bar": False}
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_experiments_table_is_inlined_into_the_config(tmp_path: Path) -> None:
    cfg, _ = validate_config(write_project(tmp_path))
    assert cfg.calibration is not None
    assert cfg.calibration.experiments is None
    assert [t.channel for t in cfg.calibration.tests] == ["search", "tv"]
    assert cfg.calibration.tests[0].spend_change < 0


def test_a_test_outside_the_data_is_a_clear_error(tmp_path: Path) -> None:
    path = write_project(tmp_path)
    frame = pd.read_csv(tmp_path / "lift.csv")
    frame.loc[1, "end"] = "2031-01-01"
    frame.to_csv(tmp_path / "lift.csv", index=False)
    with pytest.raises(DataError, match=r"lift\.csv row 2: end 2031-01-01 is after"):
        validate_config(path)


def test_missing_experiments_file_names_it(tmp_path: Path) -> None:
    path = write_project(tmp_path)
    (tmp_path / "lift.csv").unlink()
    with pytest.raises(DataError, match=r"lift tests file not found: .*lift\.csv"):
        validate_config(path)


def test_calibrated_fit_writes_calibration_json_and_reloads(tmp_path: Path) -> None:
    path = write_project(tmp_path)
    post, _ = fit_run(path, tmp_path / "run")
    checks = json.loads((tmp_path / "run" / "calibration.json").read_text())["tests"]
    assert [c["channel"] for c in checks] == ["search", "tv"]
    assert checks[0]["incremental_kpi"] < 0  # a go-dark test loses KPI
    assert checks[0]["model_lift"]["mean"] < 0
    # the saved config carries the tests: a loaded run needs no lift.csv
    (tmp_path / "lift.csv").unlink()
    loaded = load_run(tmp_path / "run")
    assert loaded.config.calibration == post.config.calibration


def test_roi_prior_calibration_moves_the_tested_channels_prior(tmp_path: Path) -> None:
    path = write_project(tmp_path, method="roi_prior", rows=1)
    post, analysis = fit_run(path, tmp_path / "run")
    search = analysis.summary.channels["search"].roi_prior
    tv = analysis.summary.channels["tv"].roi_prior
    assert search is not None and tv is not None
    test = post.config.calibration.tests[0]  # type: ignore[union-attr]
    assert search.median == pytest.approx(test.incremental_kpi / test.spend_change, rel=1e-6)
    assert tv.median != pytest.approx(search.median)  # untested: the default prior


def test_cli_fit_reports_the_calibration(tmp_path: Path) -> None:
    path = write_project(tmp_path)
    result = CliRunner().invoke(app, ["fit", str(path), "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "run" / "report.html").read_text()
    assert "Lift-test calibration" in page
    assert "Measured lift" in page


def test_unknown_channel_in_inline_tests_is_a_spec_error(tmp_path: Path) -> None:
    path = write_project(tmp_path)
    raw = yaml.safe_load(path.read_text())
    raw["calibration"] = {
        "tests": [
            {
                "channel": "serch",
                "start": "2022-03-07",
                "end": "2022-03-28",
                "spend_change": 1000.0,
                "incremental_kpi": 500.0,
                "standard_error": 50.0,
            }
        ]
    }
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(SpecError, match=r"unknown channel 'serch' \(did you mean 'search'\?\)"):
        validate_config(path)
