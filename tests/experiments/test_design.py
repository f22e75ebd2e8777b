"""Geo-experiment design: power by simulation, MDE, market selection, budget, CLI."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mixflow.cli.main import app
from mixflow.errors import DataError, SpecError
from mixflow.experiments.design import (
    CostPerKpi,
    DesignsDocument,
    DesignSettings,
    candidate_sets,
    conformal_p_value,
    design_experiment,
    false_positive_limit,
    minimum_detectable_effect,
    simulate_power,
)
from mixflow.experiments.geo import GeoMethod, GeoPanel, analyze_panel

PRETEST = Path(__file__).resolve().parents[2] / "data" / "geo_experiments"
PRETEST_CSV = PRETEST / "geolift_pretest.csv"


def _panel(seed: int, *, n_loc: int = 12, n_days: int = 70, noise: float = 0.01) -> GeoPanel:
    """Locations with levels 800..1200, a shared weekly pattern and independent normal noise of
    sd ``noise`` times the level: the only thing a test has to beat is that noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_days)
    level = rng.uniform(800, 1200, n_loc)
    weekly = 30.0 * np.sin(2 * np.pi * t / 7)
    kpi = level + weekly[:, None] + level * noise * rng.standard_normal((n_days, n_loc))
    dates = tuple(date(2022, 1, 1) + timedelta(days=int(d)) for d in t)
    return GeoPanel(dates, tuple(f"g{i}" for i in range(n_loc)), kpi)


# --------------------------------------------------------------------------- the test


@pytest.mark.parametrize("method", list(GeoMethod))
def test_conformal_p_value_equals_analysis_p_value(method: GeoMethod) -> None:
    panel = _panel(3)
    post = np.zeros(len(panel.dates), dtype=bool)
    post[-10:] = True
    for lift in (0.0, 0.01, 0.05):
        kpi = panel.kpi.copy()
        kpi[:, :2] *= 1 + lift * post[:, None]
        lifted = GeoPanel(panel.dates, panel.locations, kpi)
        result = analyze_panel(lifted, ["g0", "g1"], panel.dates[-10], panel.dates[-1], method)
        target, donors = kpi[:, :2].mean(axis=1), kpi[:, 2:]
        assert conformal_p_value(target, donors, post, method) == result.p_value


def test_power_rises_with_effect_size_and_test_length() -> None:
    # 200 days of noise (sd 1 % of the level); windows 3 days apart. Each curve must rise with
    # the effect; a 28-day test must beat a 7-day one at every effect, averaged over 4 panels
    # (one panel's 20 overlapping windows are worth only a few independent tests).
    settings = DesignSettings(
        effects=(0.0, 0.002, 0.004, 0.006, 0.01, 0.02),
        method=GeoMethod.sc,
        n_windows=20,
        window_stride=3,
    )
    short, long = [], []
    for seed in range(4):
        panel = _panel(seed, n_days=200)
        short.append(simulate_power(panel, ["g0", "g1"], 7, settings).power)
        long.append(simulate_power(panel, ["g0", "g1"], 28, settings).power)
    for power in short + long:
        assert all(b >= a for a, b in pairwise(power))
        assert power[-1] == 1.0
    short_mean, long_mean = np.mean(short, axis=0)[1:], np.mean(long, axis=0)[1:]
    assert (long_mean >= short_mean).all()
    assert long_mean.mean() >= short_mean.mean() + 0.1


def test_large_effect_always_detected_and_no_effect_rejected_at_alpha() -> None:
    # 60 noise-only panels x 5 test windows that do not overlap: 300 pseudo tests of a true
    # null. The rejection rate should be alpha = 0.1 (a little less: p-values are multiples of
    # 1 / n_dates); its binomial sd is sqrt(0.1 * 0.9 / 300) = 0.017, we allow 3 sd.
    settings = DesignSettings(effects=(0.0, 0.25), n_windows=5, window_stride=7)
    rejected = []
    for seed in range(60):
        curve = simulate_power(_panel(100 + seed, n_days=60), ["g0", "g1"], 7, settings)
        assert curve.power[1] == 1.0
        rejected.extend(curve.p_values[:, 0] <= settings.alpha)
    assert abs(np.mean(rejected) - 0.1) <= 3 * math.sqrt(0.1 * 0.9 / len(rejected))


def test_mde_is_smallest_effect_reaching_target_power() -> None:
    effects = (0.0, 0.01, 0.02, 0.05, 0.1)
    power = (0.1, 0.4, 0.85, 0.95, 1.0)
    assert minimum_detectable_effect(effects, power, 0.8) == (0.02, 0.85)
    assert minimum_detectable_effect(effects, power, 0.9) == (0.05, 0.95)
    assert minimum_detectable_effect(effects, power, 1.0) == (0.1, 1.0)
    assert minimum_detectable_effect(effects, (0.1, 0.2, 0.3, 0.4, 0.5), 0.8) == (None, None)
    # decreases count by magnitude, and a zero effect is never an MDE
    assert minimum_detectable_effect((-0.05, 0.0, 0.1), (0.9, 0.95, 0.9), 0.8) == (-0.05, 0.9)


def test_mde_never_falls_as_target_power_rises() -> None:
    curve = simulate_power(
        _panel(5, n_days=120),
        ["g0", "g1"],
        14,
        DesignSettings(effects=(0.0, 0.0025, 0.005, 0.01, 0.02, 0.05), method=GeoMethod.sc),
    )
    mdes = [minimum_detectable_effect(curve.effects, curve.power, t)[0] for t in (0.5, 0.8, 1.0)]
    assert all(m is not None for m in mdes)
    assert mdes == sorted(mdes)  # a higher target power never needs a smaller effect


# --------------------------------------------------------------------------- market selection


#: A search small enough to run in a blink: DiD, one 7-date test, two pseudo windows.
_SMALL = DesignSettings(
    treated_sizes=(2,),
    test_lengths=(7,),
    effects=(0.0, 0.05),
    method=GeoMethod.did,
    n_windows=2,
    max_candidates=3,
    n_random=4,
)


def _small(**changes: object) -> DesignSettings:
    """``_SMALL`` with ``changes``, validated again."""
    return DesignSettings(**{**_SMALL.model_dump(), **changes})


def test_include_and_exclude_are_honoured() -> None:
    settings = _small(treated_sizes=(2, 3), include=("g3",), exclude=("g0", "g1"))
    result = design_experiment(_panel(1), settings, rng=np.random.default_rng(2))
    assert len(result.designs) == 2 * 3
    for design in result.designs:
        assert "g3" in design.treated
        assert not {"g0", "g1"} & set(design.treated)
    sets = candidate_sets(_panel(1), 3, include=["g3"], exclude=["g0", "g1"], n_random=20)
    assert all(3 in s and 0 not in s and 1 not in s and len(s) == 3 for s in sets)
    assert len(set(sets)) == len(sets)


def test_sizes_the_included_locations_overfill_are_skipped() -> None:
    settings = _small(treated_sizes=(1, 2), include=("g3", "g4"))
    (design,) = design_experiment(_panel(1), settings).designs
    assert design.treated == ("g3", "g4")


def test_nearest_neighbour_sets_pair_the_most_correlated_locations() -> None:
    rng = np.random.default_rng(4)
    base = rng.normal(size=(60, 3)).cumsum(axis=0)
    # g0/g1 follow factor 0, g2/g3 factor 1, g4/g5 factor 2
    kpi = 500 + np.repeat(base, 2, axis=1) * 10 + rng.normal(0, 1, (60, 6))
    dates = tuple(date(2022, 1, 1) + timedelta(days=d) for d in range(60))
    panel = GeoPanel(dates, tuple(f"g{i}" for i in range(6)), kpi)
    assert set(candidate_sets(panel, 2)) == {(0, 1), (2, 3), (4, 5)}


def test_budget_is_mde_incremental_kpi_times_cpik() -> None:
    panel = _panel(2)
    result = design_experiment(panel, _SMALL, cpik=CostPerKpi(12.5, "test"))
    with_mde = [d for d in result.designs if d.mde is not None]
    assert with_mde
    for design in with_mde:
        idx = [panel.locations.index(name) for name in design.treated]
        # two pseudo windows: the last 7 dates, and the 7 dates before the last date
        windows = [panel.kpi[-7:, idx].sum(), panel.kpi[-8:-1, idx].sum()]
        assert design.baseline_kpi == pytest.approx(np.mean(windows), rel=1e-12)
        assert design.mde_incremental_kpi == pytest.approx(design.mde * design.baseline_kpi)
        assert design.budget == pytest.approx(design.mde_incremental_kpi * 12.5)
        share = panel.kpi[:, idx].sum() / panel.kpi.sum()
        assert design.share_of_kpi == pytest.approx(share)


def test_designs_are_ranked_by_calibration_mde_then_cost() -> None:
    settings = _small(treated_sizes=(2, 3), effects=(0.0, 0.01, 0.05))
    designs = design_experiment(_panel(6), settings).designs
    assert [d.rank for d in designs] == list(range(1, len(designs) + 1))
    keys = [
        (not d.calibrated, d.mde is None, d.mde or 0.0, d.mde_incremental_kpi or 0.0)
        for d in designs
    ]
    assert keys == sorted(keys)


def test_drifting_market_is_flagged_and_ranked_last() -> None:
    # g0 drifts 5 % up over the last 20 days, inside every pseudo window: with no injected
    # effect its sets still reject "no effect", so they are not calibrated
    panel = _panel(7)
    kpi = panel.kpi.copy()
    kpi[-20:, 0] *= 1.05
    drifting = replace(panel, kpi=kpi)
    settings = _small(n_windows=10, max_candidates=50, n_random=0)
    assert false_positive_limit(settings) == pytest.approx(0.3)  # Binomial(10, 0.1) 95th pct
    designs = design_experiment(drifting, settings).designs
    with_g0 = [d for d in designs if "g0" in d.treated]
    assert with_g0 and all(not d.calibrated for d in with_g0)
    assert all(d.false_positive_rate is not None and d.false_positive_rate > 0.3 for d in with_g0)
    assert min(d.rank for d in with_g0) > max(d.rank for d in designs if d.calibrated)


def test_unknown_included_location_suggests_name() -> None:
    settings = _small(include=("g01",))
    with pytest.raises(
        DataError, match=r"included location 'g01' not in the data \(did you mean 'g1'\?\)"
    ):
        design_experiment(_panel(1), settings)


def test_settings_errors_name_the_field() -> None:
    with pytest.raises(SpecError, match=r"alpha: expected a level in \(0, 1\)"):
        DesignSettings(alpha=1.5)
    with pytest.raises(SpecError, match="both included and excluded"):
        DesignSettings(include=("a",), exclude=("a",))
    with pytest.raises(SpecError, match="effects: expected effects > -1"):
        DesignSettings(effects=(-1.0, 0.1))


def test_settings_are_a_schema_unknown_keys_and_choices_named() -> None:
    """The formatter's messages: the source, the field, the value, what is allowed."""
    with pytest.raises(SpecError) as unknown:
        DesignSettings(n_window=3)  # type: ignore[call-arg]
    assert str(unknown.value).startswith(
        "design settings: unknown key 'n_window' (did you mean 'n_windows'?); allowed: "
    )
    with pytest.raises(SpecError, match=r"method: .*'ascm', 'sc' or 'did' \(got 'acsm'\)"):
        DesignSettings(method="acsm")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match=r"n_windows: must be an integer \(got 2.5\)"):
        DesignSettings(n_windows=2.5)  # type: ignore[arg-type]
    with pytest.raises(SpecError, match=r"alpha: must be a finite number \(got nan\)"):
        DesignSettings(alpha=math.nan)
    with pytest.raises(
        SpecError, match=r"treated_sizes: expected distinct values \(got \(2, 2\)\)"
    ):
        DesignSettings(treated_sizes=(2, 2))
    with pytest.raises(SpecError, match=r"3 included locations do not fit .* at most 2"):
        DesignSettings(treated_sizes=(2,), include=("a", "b", "c"))
    settings = DesignSettings(effects=(0, 0.1), method="sc")  # type: ignore[arg-type]
    assert settings.effects == (0.0, 0.1) and settings.method is GeoMethod.sc
    assert DesignSettings(**settings.to_dict()) == settings  # the JSON form reads back


def test_too_short_panel_says_what_to_change() -> None:
    settings = DesignSettings(treated_sizes=(2,), test_lengths=(40,), n_windows=10)
    with pytest.raises(DataError, match="shorten the test lengths or use fewer pseudo windows"):
        design_experiment(_panel(1), settings)


# --------------------------------------------------------------------------- CLI


def _design_args(out: Path, *extra: str) -> list[str]:
    return [
        "experiment",
        "design",
        str(PRETEST_CSV),
        "--date-column",
        "date",
        "--location-column",
        "location",
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


def test_cli_misspelled_column_exits_2_with_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, _design_args(tmp_path / "out", "--kpi-column", "y"))
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: column 'y' not found (did you mean 'Y'?); columns: location, Y, date"
    )
    assert not (tmp_path / "out").exists()


def test_cli_bad_option_values_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(app, _design_args(tmp_path / "o", "--treated-sizes", "2,three"))
    assert bad.exit_code == 2
    assert "error: --treated-sizes must be comma-separated ints, got '2,three'" in bad.output
    both = runner.invoke(app, [*_design_args(tmp_path / "o", "--cpik", "3"), "x"])
    assert both.exit_code == 2
    assert "error: give either --cpik or RUN/--channel, not both" in both.output
    twice = runner.invoke(app, [*_design_args(tmp_path / "o", "--run-dir", "x"), "x"])
    assert twice.exit_code == 2
    assert "error: give the run once: as the RUN argument, not also as --run-dir" in twice.output


def test_cli_ranks_designs_on_geolift_pretest(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = _design_args(
        out,
        "--treated-sizes",
        "2",
        "--test-lengths",
        "14",
        "--effects",
        "0,0.05,0.25",
        "--windows",
        "3",
        "--candidates",
        "3",
        "--random-sets",
        "0",
        "--exclude",
        "new york,los angeles",
        "--cpik",
        "2.5",
        "--top",
        "2",
    )
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads((out / "designs.json").read_text())
    designs = payload["designs"]
    assert [d["rank"] for d in designs] == [1, 2, 3]
    # typed: the model reads it back unchanged, the committed JSON Schema accepts it
    assert DesignsDocument.model_validate(payload).to_json_dict() == payload
    assert payload["settings"]["exclude"] == ["new york", "los angeles"]
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((PRETEST.parents[1] / "docs" / "schemas" / "designs.json").read_text())
    jsonschema.validate(payload, schema)
    assert payload["n_locations"] == 40 and payload["n_times"] == 90
    for d in designs:
        assert len(d["treated"]) == 2 and d["test_length"] == 14
        assert not {"new york", "los angeles"} & set(d["treated"])
        assert [p["effect"] for p in d["power_curve"]] == [0.0, 0.05, 0.25]
        assert d["power_curve"][-1]["power"] == 1.0  # a 25 % lift never goes unseen here
        assert d["false_positive_rate"] == d["power_curve"][0]["power"]
        if d["mde"] is not None:
            assert d["budget"] == pytest.approx(d["mde_incremental_kpi"] * 2.5)
    frame = pd.read_csv(out / "designs.csv")
    assert list(frame["rank"]) == [1, 2, 3]
    assert {"power_0", "power_0.05", "power_0.25", "budget", "share_of_kpi"} <= set(frame)
    report = (out / "report.html").read_text()
    assert "Power curves of the best designs" in report and "data:image/png;base64," in report
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["rank", "treated", "length"]
    assert lines[1].split()[0] == "1" and lines[-1] == f"wrote {out}"
