"""summary.json's mROI equals an independent recomputation, not only a bracket between slopes.

The recomputation goes through the simulation engine (mixflow.simulate), a separate code path
from the summary's (mixflow.analysis.draws): for every posterior draw, replay the data window's
own spend from period 0 (no history before the data) with and without +1% on one channel, carry-
over tail included, and divide the extra value by the extra spend. The summary's mean, median and
90% HDI of mROI must equal the same statistics of these per-draw values.

The fit is a short NUTS run (1 chain x 100 draws of the 80-week, 2-channel small brand; a real
spread of draws, so the test compares distributions, not one point). Both paths run in float32;
measured, they agree to within 4e-5 relative on every statistic (the +1% difference loses about
two of float32's seven digits to cancellation), so the tolerance is ``rel=2e-4``. A wrong step
is far outside it: the same replay with +10% instead of +1% moves these statistics by 0.2-5%.
A wrong channel, a missing carryover tail or a wrong spend denominator would be off by more.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np
import pytest

from mixflow.analysis import load_summary, stat
from mixflow.analysis.schema import RunSummary
from mixflow.posterior.posterior import Posterior
from mixflow.simulate import Simulator
from mixflow.workflow import fit_run

ConfigWriter = Callable[[Path, dict[str, Any]], Path]
FIT = {"method": "nuts", "chains": 1, "warmup": 100, "draws": 100, "seed": 5,
       "progress_bar": False}  # fmt: skip
STEP = 0.01
REL = 2e-4


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, small_brand_config: ConfigWriter) -> Path:
    folder = tmp_path_factory.mktemp("cfg")
    out = tmp_path_factory.mktemp("fit") / "run"
    fit_run(small_brand_config(folder, FIT), out)
    return out


@pytest.fixture(scope="module")
def summary(run: Path) -> RunSummary:
    return load_summary(run / "summary.json")


@pytest.fixture(scope="module")
def recomputed(run: Path) -> dict[str, np.ndarray]:
    """Per channel, per draw: (value at +1% on that channel - value) / (1% of its spend)."""
    posterior = Posterior.load(run)
    sim = Simulator.from_posterior(posterior)
    spend = np.asarray(posterior.dataset.spend, dtype=np.float64)  # (G, T, C), the data window
    outcome = sim.outcome_fn(spend.shape[1], start=0)
    _, base = outcome(jnp.asarray(spend))
    out = {}
    for i, ch in enumerate(posterior.dataset.channels):
        up = spend.copy()
        up[:, :, i] *= 1.0 + STEP
        _, value = outcome(jnp.asarray(up))
        extra = np.asarray(value, np.float64) - np.asarray(base, np.float64)
        out[ch] = extra / (STEP * spend[:, :, i].sum())
    return out


def test_the_fit_has_a_spread_of_draws(summary: RunSummary) -> None:
    assert summary.method == "nuts"
    for ch in summary.data.channels:
        low, high = summary.channels[ch].mroi.hdi_90
        assert high > low * 1.01  # not a point estimate: the comparison is of distributions


def test_mroi_equals_the_simulator_recomputation(
    summary: RunSummary, recomputed: dict[str, np.ndarray]
) -> None:
    for ch in summary.data.channels:
        got = summary.channels[ch].mroi
        draws = recomputed[ch]
        assert draws.shape == (100,)
        want = stat(draws)
        assert got.mean == pytest.approx(want["mean"], rel=REL), ch
        assert got.median == pytest.approx(want["median"], rel=REL), ch
        assert got.hdi_90[0] == pytest.approx(want["hdi_90"][0], rel=REL), ch
        assert got.hdi_90[1] == pytest.approx(want["hdi_90"][1], rel=REL), ch


def test_the_same_replay_reproduces_the_contribution(summary: RunSummary, run: Path) -> None:
    """The replay is the summary's own window (so the mROI check above compares like with
    like): the value of the whole window's spend on one channel, against none, is that
    channel's contribution (data window plus carryover tail)."""
    posterior = Posterior.load(run)
    sim = Simulator.from_posterior(posterior)
    spend = np.asarray(posterior.dataset.spend, dtype=np.float64)
    outcome = sim.outcome_fn(spend.shape[1], start=0)
    for i, ch in enumerate(posterior.dataset.channels):
        only = np.zeros_like(spend)
        only[:, :, i] = spend[:, :, i]
        _, value = outcome(jnp.asarray(only))
        want = stat(np.asarray(value, np.float64))
        assert summary.channels[ch].contribution.mean == pytest.approx(want["mean"], rel=1e-4)
