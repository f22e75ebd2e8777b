"""The "before calibration" comparison and the naming of contradicted lift tests."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np

from mixflow.analysis.calibration import _before_draws
from mixflow.analysis.calibration_schema import CalibrationDocument, CalibrationTestCheck
from mixflow.analysis.stats import stat
from mixflow.cli.runs import calibration_lines
from mixflow.data.lift_tests import LiftTest

TEST = LiftTest("tv", date(2024, 3, 4), date(2024, 3, 31), ("north",), 5e3, 2.0, 1.0)


def test_reweighting_removes_the_tests_likelihood() -> None:
    # prior N(0, 1) times a test measuring 2 with se 2 is N(0.4, 0.8): reweighting draws of
    # that posterior must give back the prior (4000 draws, ~1000 effective after weighting:
    # the mean's and sd's Monte Carlo error is ~0.03, the tolerance 0.08 is under 3 of them)
    rng = np.random.default_rng(0)
    calibrated = rng.normal(0.4, np.sqrt(0.8), size=(4000, 1))
    wide = LiftTest("tv", date(2024, 3, 4), date(2024, 3, 31), ("north",), 5e3, 2.0, 2.0)
    before, k = _before_draws(calibrated, [wide])
    assert abs(before.mean() - 0.0) < 0.08
    assert abs(before.std() - 1.0) < 0.08
    assert k < 0.7


def _row(z: float, z_before: float) -> dict[str, object]:
    lift = stat(np.linspace(-1.0, 1.0, 11))
    return CalibrationTestCheck.model_validate(
        {
            **TEST.to_record(),
            "method": "likelihood",
            "model_lift": lift,
            "model_sd": 1.0,
            "z": z,
            "consistent": abs(z) < 1.645,
            "contradicts": abs(z) > 2,
            "before": {
                "model_lift": lift,
                "model_sd": 0.1,
                "z": z_before,
                "contradicts": abs(z_before) > 2,
                "pareto_k": 0.3,
            },
        }
    ).model_dump(mode="json")


def test_fit_output_names_each_contradicted_test_with_both_z(tmp_path: Path) -> None:
    doc = CalibrationDocument(
        schema_version=2,
        tests=[CalibrationTestCheck.model_validate(_row(-0.4, -2.8))],
    )
    (tmp_path / "calibration.json").write_text(json.dumps(doc.to_json_dict()))
    lines = calibration_lines(tmp_path)
    assert lines[0] == "calibration: 1 lift test(s)"
    assert "tv 2024-03-04..2024-03-31 in north" in lines[1]
    assert "z -2.8 before calibration, -0.4 after (reconciled)" in lines[1]


def test_fit_output_says_when_every_test_agrees(tmp_path: Path) -> None:
    doc = CalibrationDocument(tests=[CalibrationTestCheck.model_validate(_row(0.3, 1.1))])
    (tmp_path / "calibration.json").write_text(json.dumps(doc.to_json_dict()))
    assert calibration_lines(tmp_path) == [
        "calibration: 1 lift test(s): the model agrees with every test (|z| <= 2)"
    ]
