"""Fit -> run directory -> load: reproducibility and the save/load round trip."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from mixflow.analysis import RunSummary, analyze
from mixflow.analysis.summary import WEAK_IDENTIFICATION_SD_RATIO
from mixflow.errors import RunDirError
from mixflow.workflow import fit_run, load_run

ConfigWriter = Callable[[Path, dict[str, Any]], Path]


def _without_time(summary: RunSummary | dict[str, Any]) -> dict[str, Any]:
    """The summary's JSON form without what differs between identical fits."""
    out = summary.to_json() if isinstance(summary, RunSummary) else dict(summary)
    out.pop("created_at")
    out["diagnostics"] = {k: v for k, v in out["diagnostics"].items() if k != "fit_seconds"}
    return out


@pytest.fixture(scope="module")
def nuts_config(tmp_path_factory: pytest.TempPathFactory, small_brand_config: ConfigWriter) -> Path:
    fit = {
        "chains": 2,
        "warmup": 150,
        "draws": 150,
        "seed": 5,
        "holdout_weeks": 6,
        "progress_bar": False,
    }
    return small_brand_config(tmp_path_factory.mktemp("cfg"), fit)


def test_same_config_and_seed_give_identical_summary(nuts_config: Path, tmp_path: Path) -> None:
    _, a1 = fit_run(nuts_config, tmp_path / "a")
    _, a2 = fit_run(nuts_config, tmp_path / "b")
    assert _without_time(a1.summary) == _without_time(a2.summary)


def test_saved_fit_loads_back_with_identical_analysis(nuts_config: Path, tmp_path: Path) -> None:
    post, analysis = fit_run(nuts_config, tmp_path / "run")
    loaded = load_run(tmp_path / "run")
    for k, v in post.samples.items():
        np.testing.assert_array_equal(loaded.samples[k], v)
    again = analyze(loaded)
    assert _without_time(again.summary) == _without_time(analysis.summary)
    on_disk = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert _without_time(on_disk) == _without_time(analysis.summary)


def test_summary_has_contract_fields(nuts_config: Path, tmp_path: Path) -> None:
    _, analysis = fit_run(nuts_config, tmp_path / "run")
    s = analysis.summary
    for ch in ("tv", "search"):
        c = s.channels[ch]
        for stat in (c.roi, c.mroi, c.contribution_share):
            assert stat.hdi_90[0] <= stat.median <= stat.hdi_90[1]
        assert c.spend > 0
    d = s.diagnostics
    for value in (d.rhat_max, d.ess_bulk_min, d.steps_per_draw):
        assert value is not None
    assert d.divergences >= 0 and d.fit_seconds > 0
    f = s.fit
    for value in (f.r2, f.mape, f.nrmse, f.holdout_r2, f.holdout_mape, f.holdout_nrmse):
        assert value is not None
    assert f.holdout_weeks == 6
    shares = sum(s.channels[ch].contribution_share.mean for ch in ("tv", "search"))
    assert 0 < shares < 1
    for v in s.channels.values():
        prior = v.roi_prior
        assert prior is not None and prior.sd_ratio is not None and v.roi_log_sd is not None
        assert prior.sd_ratio == pytest.approx(v.roi_log_sd / prior.sigma)
        assert prior.weakly_identified is (prior.sd_ratio >= WEAK_IDENTIFICATION_SD_RATIO)
    # the flighted channel's on/off contrast pins its ROI: far narrower than the prior
    tv_prior = s.channels["tv"].roi_prior
    assert tv_prior is not None and tv_prior.sd_ratio is not None and tv_prior.sd_ratio < 0.5


def test_contributions_add_up_to_fitted(nuts_config: Path, tmp_path: Path) -> None:
    _, analysis = fit_run(nuts_config, tmp_path / "run")
    c = analysis.contributions
    parts = c["baseline"] + c["tv"] + c["search"]
    np.testing.assert_allclose(parts, c["fitted"], rtol=1e-4)
    base = c[["intercept", "trend", "seasonality", "controls", "events"]].sum(axis=1)
    np.testing.assert_allclose(base, c["baseline"], rtol=1e-4, atol=1e-6 * c["fitted"].abs().max())


def test_map_and_svi_fit(tmp_path: Path, small_brand_config: ConfigWriter) -> None:
    for method in ("map", "svi"):
        fit = {"method": method, "svi_steps": 800, "draws": 100, "seed": 1, "progress_bar": False}
        path = small_brand_config(tmp_path, fit)
        post, analysis = fit_run(path, tmp_path / method)
        assert analysis.summary.method == method
        r2 = analysis.summary.fit.r2
        assert r2 is not None and r2 > 0.5
        assert post.n_draws == (1 if method == "map" else 100)
        prior = analysis.summary.channels["tv"].roi_prior
        assert prior is not None
        # one MAP point has no spread to compare with the prior's
        assert (prior.sd_ratio is None) is (method == "map")
        assert prior.weakly_identified is False or method == "svi"


def test_loading_a_folder_that_is_not_a_run_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match=r"missing posterior\.nc"):
        load_run(tmp_path)


def test_student_t_likelihood_and_piecewise_trend(
    tmp_path: Path, small_brand_config: ConfigWriter
) -> None:
    fit = {"method": "map", "svi_steps": 600, "seed": 1, "progress_bar": False}
    path = small_brand_config(tmp_path, fit)
    cfg = yaml.safe_load(path.read_text())
    cfg["model"].update({"likelihood": "student_t", "trend": "piecewise", "trend_knots": 3})
    path.write_text(yaml.safe_dump(cfg))
    post, analysis = fit_run(path, tmp_path / "t")
    assert post.samples["nu"].shape == (1, 1)
    assert post.samples["trend_delta"].shape == (1, 1, 3)
    assert analysis.summary.model.likelihood == "student_t"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [5, 6, 7])
def test_an_always_on_channel_samples_cleanly(
    tmp_path: Path, small_brand_config: ConfigWriter, seed: int
) -> None:
    """The small brand's always-on channel (search) trades its ROI against the baseline. With
    the intercept sampled directly that ridge broke chains (seed 7 on one host: R-hat 1.23,
    bulk ESS 13, 61 of 1,200 draws divergent); with the level sampled, 16 seeds gave min ESS
    482 and no divergences. Bounds: the 0.5% divergence flag, R-hat 1.02 (300 draws per
    chain), ESS 300 (below every one of those 16 seeds)."""
    fit = {"chains": 4, "warmup": 300, "draws": 300, "seed": seed, "progress_bar": False}
    _, analysis = fit_run(small_brand_config(tmp_path, fit), tmp_path / "run")
    diag = analysis.summary.diagnostics
    assert diag.divergences <= 0.005 * 4 * 300, diag
    assert diag.rhat_max is not None and diag.rhat_max <= 1.02, diag
    assert diag.ess_bulk_min is not None and diag.ess_bulk_min >= 300, diag


def test_identity_and_laplace_starts_sample_the_same_posterior(
    tmp_path: Path, small_brand_config: ConfigWriter
) -> None:
    # both starts target one posterior: each ROI median agrees within half a posterior sd (the
    # Monte Carlo error of a median from ESS >= 100 is ~0.13 sd, of a difference ~0.18 sd)
    base = {"chains": 2, "warmup": 300, "draws": 300, "seed": 7, "progress_bar": False}
    medians, sds = [], []
    for init in ("laplace", "identity"):
        path = small_brand_config(tmp_path, {**base, "init_mass": init})
        post, analysis = fit_run(path, tmp_path / init)
        ess = analysis.summary.diagnostics.ess_bulk_min
        assert ess is not None and ess >= 100, init
        roi = post.samples["roi"].reshape(-1, 2)
        medians.append(np.median(roi, axis=0))
        sds.append(roi.std(axis=0))
    np.testing.assert_array_less(np.abs(medians[0] - medians[1]), 0.5 * np.maximum(*sds))
