"""The typed run summary: legacy run folders load, a real analysis round-trips, a wrong field is
named, and the committed JSON Schema matches the code."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mixflow.analysis.schema import RunSummary, parse_summary, summary_json_schema
from mixflow.errors import MixflowError

REPO = Path(__file__).resolve().parents[2]
ConfigWriter = Callable[[Path, dict[str, Any]], Path]
LEGACY = REPO / "tests" / "fixtures" / "legacy_run" / "summary.json"


def test_summary_written_by_the_previous_code_loads_unchanged() -> None:
    text = LEGACY.read_text()
    summary = parse_summary(text)
    assert summary.schema_version == 1
    assert list(summary.channels) == ["tv", "search"]
    tv = summary.channels["tv"]
    assert tv.roi.hdi_90[0] <= tv.roi.median <= tv.roi.hdi_90[1]
    assert summary.fit.holdout_weeks == 6
    # nothing lost or added by the model
    assert summary.model_dump(mode="json") == json.loads(text)


def test_summary_round_trips_through_json() -> None:
    summary = parse_summary(LEGACY.read_text())
    again = RunSummary.model_validate_json(summary.model_dump_json())
    assert again == summary


def test_summary_is_frozen() -> None:
    summary = parse_summary(LEGACY.read_text())
    with pytest.raises(ValueError, match="frozen"):
        summary.method = "map"  # type: ignore[misc]


def test_wrong_type_names_the_field() -> None:
    obj = json.loads(LEGACY.read_text())
    obj["channels"]["tv"]["roi"]["median"] = "high"
    with pytest.raises(MixflowError, match=r"channels\.tv\.roi\.median.*'high'"):
        parse_summary(obj)


def test_newer_schema_version_is_refused() -> None:
    obj = json.loads(LEGACY.read_text())
    obj["schema_version"] = 99
    with pytest.raises(MixflowError, match="schema_version 99"):
        parse_summary(obj)


def test_committed_json_schema_matches_the_code() -> None:
    committed = json.loads((REPO / "docs" / "schemas" / "summary.json").read_text())
    assert committed == summary_json_schema()


def test_summary_of_a_real_fit_validates_and_round_trips(
    tmp_path: Path, small_brand_config: ConfigWriter
) -> None:
    from mixflow.workflow import fit_run

    fit = {"method": "map", "svi_steps": 400, "seed": 1, "holdout_weeks": 4, "progress_bar": False}
    fit_run(small_brand_config(tmp_path, fit), tmp_path / "run")
    on_disk = (tmp_path / "run" / "summary.json").read_text()
    summary = parse_summary(on_disk)
    assert summary.method == "map"
    assert summary.model_dump(mode="json") == json.loads(on_disk)
    assert RunSummary.model_validate_json(summary.model_dump_json()) == summary
