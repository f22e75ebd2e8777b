"""Plans on a model with a time-varying media multiplier (model.time_varying_media): simulated at
the multiplier's last fitted value."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from mixflow.model.baseline import random_walk_spline
from mixflow.model.time_varying import MEDIA_STEP_SD
from mixflow.posterior.posterior import Posterior
from mixflow.simulate import Plan, Simulator
from mixflow.workflow import fit_run


@pytest.fixture(scope="module")
def posterior(tmp_path_factory: pytest.TempPathFactory, small_brand_config) -> Posterior:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("tvm")
    fit = {"method": "map", "svi_steps": 600, "seed": 1, "progress_bar": False}
    path: Path = small_brand_config(folder, fit)
    cfg = yaml.safe_load(path.read_text())
    cfg["model"].update({"time_varying_media": True, "media_knot_weeks": 26})
    path.write_text(yaml.safe_dump(cfg))
    post, _ = fit_run(path, folder / "run")
    return post


def _with_multiplier(post: Posterior, z: float | None, offset: float = 0.0) -> Posterior:
    """``post`` with every knot step of the log multiplier set to ``z`` (``None``: the model
    without a multiplier)."""
    samples = {k: v for k, v in post.samples.items() if not k.startswith("media_time")}
    if z is not None:
        shape = post.samples["media_time_z"].shape
        samples["media_time_z"] = np.full(shape, z, dtype=np.float32)
        samples["media_time_offset"] = np.full(shape[:2], offset, dtype=np.float32)
    return replace(post, samples=samples)


def _plan_media(post: Posterior) -> np.ndarray:
    d = post.dataset
    spend = np.broadcast_to(
        d.spend[:, -8:].mean(axis=1, keepdims=True), (d.n_geos, 8, d.n_channels)
    )
    out = Simulator(post, max_draws=None).simulate(
        Plan(spend.copy(), d.channels, d.geos, d.dates[-1])
    )
    return out.media_kpi.sum(axis=1).mean(axis=0)  # (C,)


def test_a_flat_multiplier_plans_as_the_model_without_one(posterior: Posterior) -> None:
    # with ROI priors a constant multiplier is absorbed by the coefficients, whatever its level
    base = _plan_media(_with_multiplier(posterior, None))
    flat = _plan_media(_with_multiplier(posterior, 0.0, offset=-np.log(2.0)))
    np.testing.assert_allclose(flat, base, rtol=1e-4)


def test_a_plan_is_simulated_at_the_effectiveness_of_the_data_s_end(
    posterior: Posterior,
) -> None:
    flat = _plan_media(_with_multiplier(posterior, 0.0))
    # the same history's ROI, but media grew more effective over it (rising) or less (falling):
    # a plan after the data returns more, or less, than with a constant effect
    rising = _with_multiplier(posterior, 1.0)
    falling = _with_multiplier(posterior, -1.0)
    for post in (rising, falling):
        # the offset centres the log multiplier over the fitted weeks, as the model does
        mask = np.asarray(post.design.obs_mask)
        z = post.samples["media_time_z"][0, 0]
        raw = np.asarray(random_walk_spline(z, MEDIA_STEP_SD, post.design.trend_t[: mask.size]))
        post.samples["media_time_offset"][...] = raw[mask].mean()
    assert np.all(_plan_media(rising) > 1.02 * flat)
    assert np.all(_plan_media(falling) < 0.98 * flat)
