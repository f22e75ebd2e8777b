"""``model.geo_saturation`` defaults to ``relative`` for new configs, while a run saved before the
option existed (its ``config.json`` has no such key) loads as the ``pooled`` model it was fitted
with, refits to the same summary, and its summary upgrades to schema version 3 as ``pooled``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mixflow.analysis.schema import SUMMARY_SCHEMA_VERSION, parse_summary
from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand
from mixflow.model.design import build_design
from mixflow.posterior import Posterior
from mixflow.spec import model_spec_from_config, parse_config
from mixflow.spec.config import SAVED_CONFIG_DEFAULTS, parse_saved_config
from mixflow.spec.options import GeoSaturation

SIM = BrandSimulation(
    n_weeks=40,
    n_geos=4,
    channels=(DEFAULT_CHANNELS[0], DEFAULT_CHANNELS[1]),
    geo_relative_saturation=True,
    geo_effect_sd=0.25,
)
#: a point estimate: deterministic given its seed, so a refit reproduces the summary exactly
MAP_FIT = {"method": "map", "svi_steps": 300, "seed": 3, "progress_bar": False}


def _raw_config() -> tuple[dict[str, object], object]:
    b = simulate_brand(SIM, np.random.default_rng(11))
    raw = {**b.config, "fit": MAP_FIT}
    return raw, b.frame


def test_new_configs_default_to_relative_saved_ones_without_the_key_to_pooled() -> None:
    raw, _ = _raw_config()
    assert parse_config(raw).model.geo_saturation is GeoSaturation.RELATIVE
    assert parse_saved_config(raw).model.geo_saturation is GeoSaturation.POOLED
    assert SAVED_CONFIG_DEFAULTS["model"]["geo_saturation"] == "pooled"
    # a saved config that names the option keeps it, either way
    for value in ("pooled", "relative"):
        named = {**raw, "model": {**raw["model"], "geo_saturation": value}}  # type: ignore[dict-item]
        assert parse_saved_config(named).model.geo_saturation.value == value
    # a saved config with no model section at all is an old default model: pooled
    bare = {k: v for k, v in raw.items() if k != "model"}
    assert parse_saved_config(bare).model.geo_saturation is GeoSaturation.POOLED
    assert parse_config(bare).model.geo_saturation is GeoSaturation.RELATIVE


def test_an_old_geo_run_loads_as_pooled_and_refits_to_its_summary(tmp_path: Path) -> None:
    from mixflow.analysis.summary import analyze
    from mixflow.lifecycle.reproduce import compare_summaries
    from mixflow.workflow import fit_dataset

    raw, frame = _raw_config()
    old = parse_config({**raw, "model": {**raw["model"], "geo_saturation": "pooled"}})  # type: ignore[dict-item]
    data = dataset_from_frame(frame, old.data)  # type: ignore[arg-type]
    post = fit_dataset(old, data)
    summary = analyze(post).summary
    assert summary.model.geo_saturation == "pooled"
    post.save(tmp_path)
    # what the code before the option wrote: no geo_saturation key
    saved = json.loads((tmp_path / "config.json").read_text())
    del saved["model"]["geo_saturation"]
    (tmp_path / "config.json").write_text(json.dumps(saved))

    loaded = Posterior.load(tmp_path)
    assert loaded.config.model.geo_saturation is GeoSaturation.POOLED
    assert build_design(loaded.dataset, model_spec_from_config(loaded.config)).geo_scale is None
    refit = analyze(fit_dataset(loaded.config, loaded.dataset)).summary
    # what `mixflow reproduce` compares (timings and the creation time left out)
    assert compare_summaries(summary.to_json(), refit.to_json()) == []
    # the same config read as a new one is the relative model, which fits other numbers
    new = analyze(fit_dataset(parse_config(saved), loaded.dataset)).summary
    assert new.model.geo_saturation == "relative"
    assert new.channels["tv"].roi.median != pytest.approx(summary.channels["tv"].roi.median)


def test_a_version_2_summary_upgrades_to_pooled_for_geo_runs_and_none_for_national() -> None:
    legacy = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_run" / "summary.json"
    obj = {**json.loads(legacy.read_text()), "schema_version": 2, "organic": {}, "treatments": {}}
    national = parse_summary(obj)
    assert (national.schema_version, national.model.geo_saturation) == (3, None)
    assert SUMMARY_SCHEMA_VERSION == 3
    geo = {**obj, "data": {**obj["data"], "n_geos": 4, "geos": ["a", "b", "c", "d"]}}
    assert parse_summary(geo).model.geo_saturation == "pooled"
    # version 3 keeps what it states
    current = {**geo, "schema_version": 3, "model": {**geo["model"], "geo_saturation": "relative"}}
    assert parse_summary(current).model.geo_saturation == "relative"


def test_the_report_and_the_model_card_state_the_geo_saturation() -> None:
    from mixflow.lifecycle.model_card import _facts
    from mixflow.report.templating import environment

    legacy = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_run" / "summary.json"
    obj = json.loads(legacy.read_text())
    national = parse_summary(obj)
    geo = parse_summary(
        {
            **obj,
            "schema_version": 3,
            "data": {**obj["data"], "n_geos": 2, "geos": ["north", "south"]},
            "model": {**obj["model"], "geo_saturation": "relative"},
        }
    )
    table = environment().from_string(
        '{% from "run_tables.html.j2" import model_table %}{{ model_table(s) }}'
    )
    assert "<td>Geo saturation</td><td>relative</td>" in table.render(s=geo)
    assert "Geo saturation" not in table.render(s=national)  # does not apply: no row
    spec_line = dict(_facts(geo, "brand", None))["model spec"]
    assert spec_line.endswith(", relative geo saturation")
    assert "geo saturation" not in dict(_facts(national, "brand", None))["model spec"]
