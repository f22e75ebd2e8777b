"""``mixflow schema NAME``: valid JSON equal to the committed schema (docs/schemas/NAME.json;
regenerate with ``mixflow schema NAME > docs/schemas/NAME.json``); an unknown name is one line
listing the allowed names, exit 2. Documents the models dump validate against the committed
schemas."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from mixflow.analysis.calibration import CalibrationDocument, CalibrationTestCheck
from mixflow.analysis.stats import stat
from mixflow.cli.main import app
from mixflow.cli.schema import SchemaName
from mixflow.data.lift_tests import LiftTest
from mixflow.experiments.geo import GeoResult
from mixflow.experiments.methods import GeoMethod

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", [n.value for n in SchemaName])
def test_schema_prints_the_committed_json_schema(name: str) -> None:
    res = CliRunner().invoke(app, ["schema", name])
    assert res.exit_code == 0, res.output
    printed = json.loads(res.stdout)
    # an object, or (result.json) one of several objects told apart by a discriminator
    assert printed.get("type") == "object" or {"oneOf", "discriminator"} <= printed.keys()
    assert printed == json.loads((REPO / "docs" / "schemas" / f"{name}.json").read_text())


def test_every_name_has_a_committed_schema() -> None:
    for name in SchemaName:
        assert (REPO / "docs" / "schemas" / f"{name.value}.json").is_file()


def test_unknown_name_is_one_line_listing_the_allowed_names() -> None:
    res = CliRunner().invoke(app, ["schema", "bogus"])
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "bogus" in lines[0]
    for name in SchemaName:
        assert f"'{name.value}'" in lines[0]
    assert "Traceback" not in res.output


def _committed(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((REPO / "docs" / "schemas" / f"{name}.json").read_text())
    return schema


def test_a_geo_result_validates_against_the_committed_schema_and_its_att_is_the_average() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    days = tuple(date(2024, 1, 1) + timedelta(days=i) for i in range(10))
    result = GeoResult(
        method=GeoMethod.did,
        treated=("north", "south"),
        test_dates=days[7:],
        att_by_date=(1.0, 2.0, 6.0),
        incremental_kpi=18.0,
        counterfactual_kpi=600.0,
        lift_pct=3.0,
        weights={"east": 0.5, "west": 0.5},
        scaled_l2_imbalance=0.2,
        p_value=0.1,
        ci_90=(2.0, 30.0),
        ci_95=(0.0, 36.0),
        ridge_lambda=None,
        dates=days,
        series_actual=(1.0,) * 10,
        series_counterfactual=(1.0,) * 10,
        spend=9.0,
    )
    payload = result.to_dict()
    jsonschema.validate(payload, _committed("result"))
    assert payload["att"] == 3.0 and payload["att_by_date"] == [1.0, 2.0, 6.0]
    assert payload["iroas"] == 2.0 and payload["kind"] == "geo"
    bad = {**payload, "att": [1.0, 2.0, 6.0]}  # the old shape is not the new schema
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, _committed("result"))


def test_calibration_rows_are_typed_and_validate_against_the_committed_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    test = LiftTest(
        channel="tv",
        start=date(2024, 3, 4),
        end=date(2024, 3, 31),
        geos=("north",),
        spend_change=-5_000.0,
        incremental_kpi=-1_200.0,
        standard_error=300.0,
    )
    row = CalibrationTestCheck.model_validate(
        {
            **test.to_record(),
            "method": "likelihood",
            "model_lift": stat(np.linspace(-1_500.0, -900.0, 101)),
            "model_sd": 170.0,
            "z": 0.1,
            "consistent": True,
        }
    ).model_dump(mode="json")
    assert row["start"] == "2024-03-04" and row["geos"] == "north"
    assert row["measured_until"] is None
    document = {"tests": [row]}
    jsonschema.validate(document, _committed("calibration"))
    read = CalibrationDocument.model_validate(document).to_json_dict()
    # a file without schema_version is version 1: no before/contradicts fields
    assert read["tests"] == [{**row, "contradicts": None, "before": None}]
    assert read["schema_version"] == 1 and read["contradicted"] == []
    with pytest.raises(ValidationError, match="method"):
        CalibrationTestCheck.model_validate({**row, "method": "prior"})
