"""The typed run summary: legacy run folders load, a real analysis round-trips, a wrong field is
named, and the committed JSON Schema matches the code."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mixflow.analysis import schema
from mixflow.analysis.schema import RunSummary, load_summary, parse_summary, summary_json_schema
from mixflow.errors import MixflowError

REPO = Path(__file__).resolve().parents[2]
ConfigWriter = Callable[[Path, dict[str, Any]], Path]
LEGACY = REPO / "tests" / "fixtures" / "legacy_run" / "summary.json"


def test_summary_written_by_the_previous_code_loads_unchanged() -> None:
    text = LEGACY.read_text()
    summary = parse_summary(text)
    assert summary.schema_version == schema.SUMMARY_SCHEMA_VERSION  # upgraded from 1
    assert list(summary.channels) == ["tv", "search"]
    tv = summary.channels["tv"]
    assert tv.roi.hdi_90[0] <= tv.roi.median <= tv.roi.hdi_90[1]
    assert summary.fit.holdout_weeks == 6
    # nothing lost by the model; what later versions added reads as absent (None)
    dumped = summary.model_dump(mode="json")
    added = {"coverage_90", "holdout_coverage_90"}
    assert {k: dumped["fit"].pop(k) for k in added} == dict.fromkeys(added)
    # version 2 added organic channels and treatments: a version-1 run has none
    assert (dumped.pop("organic"), dumped.pop("treatments")) == ({}, {})
    # a channel's frequency (reach and frequency channels only) reads as absent
    assert [ch.pop("frequency") for ch in dumped["channels"].values()] == [None, None]
    # version 3 added the geo saturation: a national run has none
    assert dumped["model"].pop("geo_saturation") is None
    # the time-varying media multiplier (issue 17) came later: an older run had none
    assert dumped["model"].pop("time_varying_media") is False
    assert dumped.pop("schema_version") == 3
    assert dumped == {k: v for k, v in json.loads(text).items() if k != "schema_version"}


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


def test_a_missing_field_is_named_with_its_path() -> None:
    obj = json.loads(LEGACY.read_text())
    del obj["channels"]["search"]["roi"]
    with pytest.raises(
        MixflowError, match=r"^summary\.json lacks required key 'channels\.search\.roi'$"
    ):
        parse_summary(obj)


def test_an_unknown_choice_lists_the_allowed_values() -> None:
    obj = json.loads(LEGACY.read_text())
    obj["kpi_type"] = "profit"
    with pytest.raises(
        MixflowError, match=r"key 'kpi_type' is 'profit'; allowed values: revenue, conversions"
    ):
        parse_summary(obj)


def test_load_summary_names_a_missing_or_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(MixflowError, match=r"lacks summary\.json"):
        load_summary(tmp_path / "summary.json")
    (tmp_path / "summary.json").write_text('{"name": ')
    with pytest.raises(MixflowError, match=r"summary\.json is not readable JSON"):
        load_summary(tmp_path / "summary.json")
    assert load_summary(LEGACY) == parse_summary(LEGACY.read_text())


def test_a_summary_without_schema_version_is_read_as_version_1() -> None:
    obj = json.loads(LEGACY.read_text())
    del obj["schema_version"]
    # read as version 1, so upgraded: version 2's organic and treatments are filled in
    upgraded = parse_summary(obj)
    assert (upgraded.schema_version, upgraded.organic, upgraded.treatments) == (3, {}, {})
    obj["schema_version"] = 0
    with pytest.raises(MixflowError, match="schema_version must be a whole number >= 1"):
        parse_summary(obj)


def test_older_versions_are_upgraded_step_by_step(monkeypatch: pytest.MonkeyPatch) -> None:
    # a pretend version 2 that renamed nothing but requires the step to have run
    seen: list[int] = []

    def step(obj: dict[str, Any]) -> dict[str, Any]:
        seen.append(obj["schema_version"])
        return {**obj, "name": obj["name"] + " (upgraded)"}

    monkeypatch.setattr(schema, "SUMMARY_SCHEMA_VERSION", 2)
    monkeypatch.setattr(schema, "_UPGRADES", {1: step})
    summary = parse_summary(LEGACY.read_text())
    assert seen == [1]
    assert (summary.schema_version, summary.name) == (2, "legacy-fixture (upgraded)")


def test_updated_merges_sections_and_validates() -> None:
    summary = load_summary(LEGACY)
    changed = summary.updated({"fit": {"holdout_mape": 0.3}, "channels": {"tv": {"spend": 1.0}}})
    assert changed.fit.holdout_mape == 0.3
    assert changed.fit.mape == summary.fit.mape  # the rest of the section is kept
    assert changed.channels["tv"].spend == 1.0
    assert changed.channels["tv"].roi == summary.channels["tv"].roi
    assert summary.fit.holdout_mape != 0.3  # the original is untouched
    with pytest.raises(ValueError, match="kpi_type"):
        summary.updated({"kpi_type": "profit"})


def test_reading_a_summary_needs_no_numeric_stack() -> None:
    # the CLI and the report read summaries; importing the model must not start JAX
    code = (
        "import sys, mixflow.analysis.schema; "
        "print(sorted(m for m in ('numpy', 'pandas', 'jax') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out
