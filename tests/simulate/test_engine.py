"""The simulation engine against the model's own prediction, and carryover accounting."""

from __future__ import annotations

import numpy as np
import pytest

from mixflow.analysis import compute_draws
from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand
from mixflow.posterior import Posterior
from mixflow.simulate import Plan, Simulator
from mixflow.spec import parse_config
from mixflow.workflow import fit_dataset


def _posterior(n_geos: int) -> Posterior:
    sim = BrandSimulation(n_weeks=70, n_geos=n_geos, channels=DEFAULT_CHANNELS[:3], n_events=1)
    brand = simulate_brand(sim, np.random.default_rng(4))
    cfg = dict(brand.config)
    cfg["fit"] = {"method": "svi", "svi_steps": 300, "draws": 40, "seed": 2, "progress_bar": False}
    config = parse_config(cfg)
    return fit_dataset(config, dataset_from_frame(brand.frame, config.data))


@pytest.fixture(scope="module", params=[1, 3], ids=["national", "geo"])
def posterior(request: pytest.FixtureRequest) -> Posterior:
    return _posterior(request.param)


def _historical_plan(post: Posterior) -> Plan:
    d = post.dataset
    return Plan(d.spend, d.channels, d.geos, d.dates[0], controls=d.controls, events=d.events)


def test_historical_plan_reproduces_the_fitted_kpi(posterior: Posterior) -> None:
    sim = Simulator(posterior, max_draws=None)
    out = sim.simulate(_historical_plan(posterior), start=0)
    fitted = compute_draws(posterior, max_draws=None).fitted_kpi
    # float32 arithmetic on KPIs of ~1e6 per period: relative 1e-5 is numerical precision
    np.testing.assert_allclose(out.kpi, fitted, rtol=2e-5)


def test_historical_plan_reproduces_channel_contributions(posterior: Posterior) -> None:
    sim = Simulator(posterior, max_draws=None)
    out = sim.simulate(_historical_plan(posterior), start=0)
    q = compute_draws(posterior, max_draws=None)
    np.testing.assert_allclose(out.media_kpi.sum(axis=1), q.contribution_kpi, rtol=2e-5)
    np.testing.assert_allclose(out.media_value.sum(axis=1), q.contribution_value, rtol=2e-5)


def test_zero_plan_has_no_incremental_kpi_but_carryover_from_history(posterior: Posterior) -> None:
    sim = Simulator(posterior, max_draws=None)
    d = posterior.dataset
    zero = Plan(np.zeros((d.n_geos, 6, d.n_channels)), d.channels, d.geos, d.dates[-1])
    out = sim.simulate(zero)
    # float32 round-off of (history + plan) - history, relative to the KPI level
    assert np.abs(out.media_kpi).max() <= 1e-6 * np.abs(out.kpi).max()
    # spend in the last weeks of the data keeps paying at the start of the horizon ...
    assert np.all(out.carryover_in_kpi[:, 0] > 0)
    # ... and decays: a geometric adstock's carryover never grows once spend stops
    assert np.all(np.diff(out.carryover_in_kpi, axis=1) <= 1e-6 * np.abs(out.kpi).max())


def test_tail_counts_carryover_after_the_horizon(posterior: Posterior) -> None:
    sim = Simulator(posterior, max_draws=None)
    d = posterior.dataset
    spend = np.zeros((d.n_geos, 4, d.n_channels))
    spend[:, -1, :] = d.spend.mean(axis=1)  # spend only in the last week of the horizon
    out = sim.simulate(Plan(spend, d.channels, d.geos, d.dates[-1]))
    assert np.all(out.incremental_kpi_with_tail > out.incremental_kpi)
    assert np.all(out.incremental_kpi > 0)
