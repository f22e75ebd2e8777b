"""The fast simulation engine against the straightforward reference (tests/simulate/
reference_engine.py), and a cached simulator answering many plans."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.infer import Predictive
from reference_engine import reference_kpi_by_geo, reference_outputs

import mixflow.simulate.engine as engine
from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand
from mixflow.inference.diagnostics import Diagnostics
from mixflow.model.design import build_design
from mixflow.model.mmm import mmm_model
from mixflow.posterior import Posterior
from mixflow.simulate import Plan, Simulator, plan_like_last
from mixflow.spec import parse_config
from mixflow.spec.model_spec import FitMethod, model_spec_from_config

N_DRAWS = 37  # not a multiple of the chunk sizes below: padding is exercised
# float32 arithmetic in both; a different summation order differs by a few ulp of the largest
RTOL = 2e-6


def _prior_posterior(n_geos: int, adstock: str, saturation: str, seed: int) -> Posterior:
    """Prior draws of the model (no fit) on a small simulated brand: every shape of a fit."""
    sim = BrandSimulation(
        n_weeks=60,
        n_geos=n_geos,
        channels=DEFAULT_CHANNELS[:3],
        adstock=adstock,
        saturation=saturation,
        max_lag=4,
    )
    brand = simulate_brand(sim, np.random.default_rng(seed))
    cfg = parse_config(brand.config, "simulated brand")
    data = dataset_from_frame(brand.frame, cfg.data)
    spec = model_spec_from_config(cfg)
    arrays = {k: jnp.asarray(v) for k, v in build_design(data, spec, 0).arrays().items()}
    draws = Predictive(mmm_model, num_samples=N_DRAWS)(jax.random.PRNGKey(seed), arrays, spec)
    samples = {k: np.asarray(v)[None] for k, v in draws.items() if k != "y"}
    diagnostics = Diagnostics(
        rhat_max=None,
        ess_bulk_min=None,
        ess_tail_min=None,
        divergences=0,
        divergence_rate=0.0,
        steps_per_draw=None,
        fit_seconds=0.0,
        method="prior",
        chains=1,
        draws=N_DRAWS,
        flags=(),
    )
    return Posterior(samples, cfg, data, diagnostics, FitMethod.NUTS)


@pytest.fixture(
    scope="module",
    params=[(3, "geometric", "hill"), (2, "weibull", "logistic"), (1, "binomial", "hill")],
    ids=["geo-hill", "geo-logistic", "national"],
)
def posterior(request: pytest.FixtureRequest) -> Posterior:
    return _prior_posterior(*request.param, seed=3)


@pytest.fixture(params=[1 << 30, 600], ids=["one-chunk", "chunked"])
def chunk_elements(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(engine, "CHUNK_ELEMENTS", request.param)
    return int(request.param)


def _plans(post: Posterior) -> list[Plan]:
    d = post.dataset
    rng = np.random.default_rng(0)
    flighted = d.spend[:, -10:] * rng.uniform(0.0, 2.0, size=(d.n_geos, 10, d.n_channels))
    flighted[:, :, 0] = 0.0  # a dark channel: the response is exactly zero, no NaN
    return [
        plan_like_last(d, 13),
        plan_like_last(d, 13, scale=1.7, name="more"),
        Plan(flighted, d.channels, d.geos, d.dates[-1], name="flighted"),
    ]


def _assert_close(fast: np.ndarray, ref: np.ndarray) -> None:
    scale = max(float(np.abs(ref).max()), 1e-30)
    np.testing.assert_allclose(fast, ref, rtol=0, atol=RTOL * scale)


def test_fast_path_equals_reference(posterior: Posterior, chunk_elements: int) -> None:
    sim = Simulator.from_posterior(posterior)
    if chunk_elements < 1 << 30:
        assert sim._curves.chunk < sim.n_draws  # really chunked, with padding
    for plan in _plans(posterior):
        out = sim.simulate(plan)
        ref = reference_outputs(sim, plan)
        h = plan.horizon
        _assert_close(out.media_kpi, ref["media"][:, 0])
        _assert_close(out.media_value, ref["media"][:, 1])
        _assert_close(out.carryover_in_kpi, ref["carry"][:, 0, :h])
        _assert_close(out.baseline_kpi, ref["baseline"][:, 0, :h])
        total = ref["baseline"] + ref["media"].sum(-1) + ref["carry"]
        _assert_close(out.kpi, total[:, 0, :h])
        _assert_close(out.kpi_value, total[:, 1, :h])
        assert np.all(np.isfinite(out.media_kpi))


def test_start_inside_the_data_with_controls_and_events(posterior: Posterior) -> None:
    sim = Simulator(posterior)
    d = posterior.dataset
    start = d.n_times - 20
    plan = Plan(
        d.spend[:, start : start + 12],
        d.channels,
        d.geos,
        d.dates[start],
        controls=d.controls[:, start : start + 12],
        events=d.events[:, start : start + 12],
    )
    out = sim.simulate(plan, start=start)
    ref = reference_outputs(sim, plan, start=start)
    _assert_close(out.media_kpi, ref["media"][:, 0])
    _assert_close(out.baseline_kpi, ref["baseline"][:, 0, :12])
    _assert_close(out.carryover_in_kpi, ref["carry"][:, 0, :12])


def test_outcome_fn_and_its_gradient_equal_reference(posterior: Posterior) -> None:
    sim = Simulator(posterior)
    plan = _plans(posterior)[2]
    fn = sim.outcome_fn(plan.horizon)
    spend = jnp.asarray(plan.spend, jnp.float32)
    kpi, value = fn(spend)
    ref = reference_outputs(sim, plan)
    _assert_close(np.asarray(kpi), ref["media"][:, 0].sum(axis=(1, 2)))
    _assert_close(np.asarray(value), ref["media"][:, 1].sum(axis=(1, 2)))

    def ref_value(s: jnp.ndarray) -> jnp.ndarray:
        return jax.grad(lambda x: fn(x)[1].mean())(s)

    grad = np.asarray(ref_value(spend))
    assert np.all(np.isfinite(grad))  # a dark channel at zero spend keeps a finite gradient
    # the gradient against a finite difference of the reference along the plan's own spend
    eps = 1e-3
    up = reference_outputs(sim, plan.with_spend(plan.spend * (1 + eps)))["media"][:, 1]
    down = reference_outputs(sim, plan.with_spend(plan.spend * (1 - eps)))["media"][:, 1]
    fd = (up.sum(axis=(1, 2)).mean() - down.sum(axis=(1, 2)).mean()) / (2 * eps)
    np.testing.assert_allclose(float((grad * plan.spend).sum()), fd, rtol=2e-2)


def test_kpi_by_geo_equals_reference(posterior: Posterior) -> None:
    sim = Simulator(posterior)
    plan = _plans(posterior)[1]
    by_geo = sim.expected_kpi_by_geo(plan)
    _assert_close(by_geo, reference_kpi_by_geo(sim, plan))
    _assert_close(by_geo.sum(axis=1), sim.simulate(plan).kpi)


def test_cached_simulator_gives_identical_results_across_calls(posterior: Posterior) -> None:
    sim = Simulator.from_posterior(posterior)
    plans = _plans(posterior)
    first = [sim.simulate(p) for p in plans]
    # interleaved with other plans, horizons and a start inside the data: the caches per
    # (start, horizon) must not leak one plan's numbers into another's
    sim.simulate(plan_like_last(posterior.dataset, 5))
    sim.simulate(plans[0], start=posterior.dataset.n_times - 3)
    again = [sim.simulate(p) for p in reversed(plans)][::-1]
    for a, b in zip(first, again, strict=True):
        for field in ("kpi", "baseline_kpi", "media_kpi", "carryover_in_kpi", "media_value"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    # different plans do give different numbers, and a fresh simulator the same ones
    assert not np.allclose(first[0].media_kpi, first[1].media_kpi)
    fresh = Simulator(posterior).simulate(plans[1])
    np.testing.assert_array_equal(fresh.media_value, first[1].media_value)


def test_window_cache_is_bounded(posterior: Posterior, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "WINDOW_CACHE_SIZE", 2)
    sim = Simulator(posterior)
    for h in (2, 3, 4, 5):
        sim.simulate(plan_like_last(posterior.dataset, h))
    assert len(sim._windows) == 2


def test_concurrent_calls_on_one_simulator_match_serial_ones(posterior: Posterior) -> None:
    """A service answers requests from several threads on one cached simulator."""
    from concurrent.futures import ThreadPoolExecutor

    sim = Simulator.from_posterior(posterior)
    d = posterior.dataset
    plans = [plan_like_last(d, h, scale=s) for h in (4, 9) for s in (0.5, 1.0, 1.5)]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(sim.simulate, plans * 2))
    serial = [Simulator(posterior).simulate(p) for p in plans]
    for i, out in enumerate(parallel):
        np.testing.assert_array_equal(out.media_value, serial[i % len(plans)].media_value)
        np.testing.assert_array_equal(out.kpi, serial[i % len(plans)].kpi)


def test_warm_up_precomputes_without_changing_results(posterior: Posterior) -> None:
    sim = Simulator.from_posterior(posterior)
    sim.warm_up(horizons=(13,))
    assert (posterior.dataset.n_times, 13) in sim._windows
    plan = _plans(posterior)[0]
    np.testing.assert_array_equal(
        sim.simulate(plan).media_value, Simulator(posterior).simulate(plan).media_value
    )
