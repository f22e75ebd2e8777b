"""Simulation and optimization benchmark: prints JSON figures.

(a) simulation latency of ``Simulator.outcome_fn`` and ``Simulator.simulate`` for 1,000 draws x
    52 weeks x 10 channels, national and 40 geos: the cold first call of a fresh simulator
    (compilation included) and the median, p90 and p95 of ``--calls`` more calls with new plans
    on the same warm simulator.
    The posteriors are prior draws (``numpyro.infer.Predictive``) of the model on a simulated
    10-channel brand: no sampling, the same shapes as a fit.
(b) optimize wall time for 10 channels x 13 weeks x 1,000 draws (national, relative bounds
    0.5:2.0): cold (a fresh simulator and optimizer: compilation included) and warm (median of 5
    calls on new problem objects).
(c) regret on the demo's simulated brand (seed ``--seed``): fit it (NUTS, 4 chains, 500/500) or
    read ``--run-dir``, optimize the next 13 weeks at the last 13 weeks' budget with relative
    bounds 0.5:2.0, and score the recommendation, the current split at the same budget and the
    true optimum (SLSQP on the true response, same constraints) under the true model.

Usage: python bench/simulate_optimize.py [--skip-fit | --run-dir RUN] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpyro

#: simulated brand behind the latency and optimize figures
TEN_CHANNELS_WEEKS = 104
N_DRAWS = 1000
SIM_WEEKS = 52
OPT_WEEKS = 13
RELATIVE_BOUNDS = (0.5, 2.0)


def ten_channels() -> tuple[Any, ...]:
    """Ten channels with varied spend, carryover and saturation (three flighted, two with
    exposure)."""
    from mixflow.datasets import ChannelTruth

    spec = [
        ("tv", 60_000.0, True, 0.07, 0.6, 1.2, 1.8, False),
        ("search", 25_000.0, False, 0.05, 0.1, 0.8, 1.2, False),
        ("social", 30_000.0, False, 0.04, 0.3, 1.0, 1.0, True),
        ("display", 15_000.0, False, 0.02, 0.2, 1.5, 1.4, False),
        ("radio", 20_000.0, True, 0.03, 0.5, 1.0, 0.9, False),
        ("video", 35_000.0, False, 0.04, 0.4, 1.1, 1.6, True),
        ("print", 10_000.0, True, 0.01, 0.5, 1.3, 1.2, False),
        ("ooh", 18_000.0, False, 0.02, 0.6, 1.0, 1.5, False),
        ("affiliate", 12_000.0, False, 0.02, 0.1, 0.9, 1.1, False),
        ("podcast", 8_000.0, False, 0.01, 0.4, 1.2, 1.3, False),
    ]
    return tuple(
        ChannelTruth(
            name,
            spend,
            flighted=flighted,
            effect_share=share,
            retention=retention,
            half_saturation=k,
            slope=slope,
            has_exposure=exposure,
            cost_per_exposure=0.005,
        )
        for name, spend, flighted, share, retention, k, slope, exposure in spec
    )


def prior_posterior(n_geos: int, seed: int = 0) -> Any:
    """A :class:`~mixflow.posterior.Posterior` of ``N_DRAWS`` prior draws (one chain) of the
    model on a simulated 10-channel brand with ``n_geos`` geos (1: national)."""
    import jax
    import jax.numpy as jnp
    from numpyro.infer import Predictive

    from mixflow.data.loaders import dataset_from_frame
    from mixflow.datasets import BrandSimulation, simulate_brand
    from mixflow.inference.diagnostics import Diagnostics
    from mixflow.model.design import build_design
    from mixflow.model.mmm import mmm_model
    from mixflow.posterior.posterior import Posterior
    from mixflow.spec.config import parse_config
    from mixflow.spec.model_spec import FitMethod, model_spec_from_config

    sim = BrandSimulation(n_weeks=TEN_CHANNELS_WEEKS, n_geos=n_geos, channels=ten_channels())
    brand = simulate_brand(sim, np.random.default_rng(seed))
    cfg = parse_config(brand.config, "simulated brand")
    data = dataset_from_frame(brand.frame, cfg.data)
    spec = model_spec_from_config(cfg)
    design = build_design(data, spec, cfg.fit.holdout_weeks)
    arrays = {k: jnp.asarray(v) for k, v in design.arrays().items()}
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
        flags=("prior draws, not a fit: for timing only",),
    )
    return Posterior(samples, cfg, data, diagnostics, FitMethod.NUTS)


def _timed(fn: Callable[[int], Any], calls: int) -> dict[str, float]:
    """The cold first call (compilation included) and the median, 90th and 95th percentile of
    ``calls`` more on the same (warm) object, in ms. ``fn(i)`` is call number ``i``: callers
    vary their input with it, so no call repeats the one before."""
    start = time.perf_counter()
    fn(0)
    first = time.perf_counter() - start
    times = []
    for i in range(calls):
        start = time.perf_counter()
        fn(i + 1)
        times.append(time.perf_counter() - start)
    return {
        "first_call_seconds": round(first, 3),
        "median_ms": round(1e3 * statistics.median(times), 2),
        "p90_ms": round(1e3 * float(np.quantile(times, 0.9)), 2),
        "p95_ms": round(1e3 * float(np.quantile(times, 0.95)), 2),
        "calls": calls,
    }


def bench_latency(posterior: Any, calls: int) -> dict[str, Any]:
    """(a) for one posterior: ``outcome_fn`` (what optimizers call) and ``simulate`` (the full
    per-period outcome arrays, converted to numpy) on the last 52 weeks' spend, scaled by a
    factor that changes from call to call (0.8 to 1.2: a planner moving a slider), all on one
    simulator object (what a service caches)."""
    import jax

    from mixflow.simulate import Simulator, plan_like_last

    start = time.perf_counter()
    sim = Simulator(posterior, max_draws=N_DRAWS)
    setup = time.perf_counter() - start
    data = posterior.dataset
    scales = np.linspace(0.8, 1.2, 7)
    plans = [plan_like_last(data, SIM_WEEKS, scale=float(s)) for s in scales]
    # simulate first: its first call is the cold one (compilation and per-window precompute)
    simulate = _timed(lambda i: sim.simulate(plans[i % len(plans)]), calls)
    outcome = sim.outcome_fn(SIM_WEEKS)
    spends = [jax.numpy.asarray(p.spend, jax.numpy.float32) for p in plans]
    return {
        "draws": sim.n_draws,
        "weeks": SIM_WEEKS,
        "channels": data.n_channels,
        "geos": data.n_geos,
        "simulator_setup_seconds": round(setup, 3),
        "simulate": simulate,
        "outcome_fn": _timed(
            lambda i: jax.block_until_ready(outcome(spends[i % len(spends)])), calls
        ),
    }


def bench_optimize(posterior: Any, warm_calls: int = 5) -> dict[str, Any]:
    """(b) cold: a fresh simulator and optimizer, first problem; warm: the same optimizer on
    new problem objects."""
    from mixflow.optimize import BudgetOptimizer, BudgetProblem
    from mixflow.simulate import Simulator

    def problem() -> Any:
        return BudgetProblem(horizon=OPT_WEEKS, relative_bounds=RELATIVE_BOUNDS)

    start = time.perf_counter()
    opt = BudgetOptimizer(Simulator(posterior, max_draws=N_DRAWS))
    setup = time.perf_counter() - start
    start = time.perf_counter()
    result = opt.optimize(problem())
    cold_call = time.perf_counter() - start
    times = []
    for _ in range(warm_calls):
        start = time.perf_counter()
        opt.optimize(problem())
        times.append(time.perf_counter() - start)
    return {
        "draws": opt.simulator.n_draws,
        "weeks": OPT_WEEKS,
        "channels": len(result.allocation),
        "cold_seconds": round(setup + cold_call, 3),
        "cold_first_call_seconds": round(cold_call, 3),
        "warm_median_seconds": round(statistics.median(times), 3),
        "warm_calls": warm_calls,
        "uplift_expected_by_model": round(
            result.expected.incremental_revenue["mean"]
            / result.current_expected.incremental_revenue["mean"]
            - 1.0,
            4,
        ),
    }


def demo_posterior(seed: int, run_dir: Path | None, chains: int, warmup: int, draws: int) -> Any:
    """The demo brand's posterior: read from ``run_dir`` (checked against the simulation) or
    fitted with NUTS."""
    from mixflow.data.loaders import dataset_from_frame
    from mixflow.datasets import BrandSimulation, simulate_brand
    from mixflow.spec.config import parse_config
    from mixflow.workflow import fit_dataset, load_run

    brand = simulate_brand(BrandSimulation(), np.random.default_rng(seed))
    cfg_raw = dict(brand.config)
    cfg_raw["fit"] = {
        "chains": chains,
        "warmup": warmup,
        "draws": draws,
        "seed": seed,
        "holdout_weeks": 8,
        "progress_bar": False,
    }
    cfg = parse_config(cfg_raw, "demo brand")
    data = dataset_from_frame(brand.frame, cfg.data)
    if run_dir is not None:
        posterior = load_run(run_dir)
        if not np.allclose(posterior.dataset.spend, data.spend):
            raise SystemExit(f"{run_dir} was not fitted on the demo brand with seed {seed}")
        return brand, posterior, 0.0
    start = time.perf_counter()
    posterior = fit_dataset(cfg, data)
    return brand, posterior, time.perf_counter() - start


def bench_regret(seed: int, run_dir: Path | None) -> dict[str, Any]:
    """(c) the demo's budget check, scored under the true model."""
    from mixflow.datasets.truth import optimize_recent_budget
    from mixflow.simulate import Simulator

    brand, posterior, fit_seconds = demo_posterior(seed, run_dir, 4, 500, 500)
    start = time.perf_counter()
    check = optimize_recent_budget(Simulator(posterior), brand.true_response, seed=0)
    seconds = time.perf_counter() - start
    d = posterior.diagnostics
    truth = check.truth
    return {
        "source": str(run_dir) if run_dir else "fit: NUTS 4 chains x 500 warmup x 500 draws",
        "fit_seconds": round(fit_seconds, 1),
        "rhat_max": d.rhat_max,
        "divergences": d.divergences,
        "horizon_weeks": check.result.problem.horizon,
        "budget": round(check.result.budget, 2),
        "optimize_and_score_seconds": round(seconds, 2),
        "allocation": {k: round(v, 2) for k, v in check.result.allocation.items()},
        "current_allocation": {k: round(v, 2) for k, v in check.result.current_allocation.items()},
        "true_optimum_allocation": {k: round(v, 2) for k, v in truth.optimum_allocation.items()},
        "true_value_recommended": round(truth.recommended, 2),
        "true_value_current": round(truth.current, 2),
        "true_value_optimum": round(truth.optimum, 2),
        "recommended_share_of_true_optimum": round(truth.share_of_optimum, 5),
        "true_uplift_recommended_over_current": round(truth.uplift, 5),
        "true_uplift_optimum_over_current": round(truth.optimum / truth.current - 1.0, 5),
        "expected_uplift_by_model": round(
            check.result.expected.incremental_revenue["mean"]
            / check.result.current_expected.incremental_revenue["mean"]
            - 1.0,
            5,
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--skip-fit", action="store_true", help="leave out (c), the regret check")
    parser.add_argument("--run-dir", type=Path, default=None, help="(c) from this run, no fit")
    parser.add_argument("--seed", type=int, default=7, help="the demo brand's seed")
    parser.add_argument("--calls", type=int, default=50, help="timed calls per latency figure")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()
    # one CPU device per chain for (c); must precede JAX's first computation
    numpyro.set_host_device_count(4)
    import jax

    national = prior_posterior(1)
    result: dict[str, Any] = {
        "benchmark": "simulate_optimize",
        "machine": {"cpus": os.cpu_count(), "backend": jax.default_backend()},
        "targets": {
            "simulate_national_ms": 50,
            "simulate_40_geos_ms": 50,
            "optimize_national_seconds": 2,
        },
        "simulate_national": bench_latency(national, args.calls),
        "simulate_40_geos": bench_latency(prior_posterior(40), args.calls),
        "optimize_national": bench_optimize(national),
    }
    if not args.skip_fit or args.run_dir is not None:
        result["regret_demo_brand"] = bench_regret(args.seed, args.run_dir)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
