"""Portfolio benchmark: prints JSON figures.

(a) Ray start-up overhead: ``ray.init`` of a local Ray (no dashboard) and the first task's
    round trip (a worker process started), then a second round trip on the warm worker.
(b) ``--brands`` (default 8) small national brands (``--weeks`` weeks, 3 channels; NUTS, 2
    chains, ``--warmup``/``--draws``) fitted by :func:`mixflow.portfolio.fit_portfolio` on a
    local Ray with 1 CPU and then with 2 CPUs (one CPU per fit task; fresh output folders, so
    nothing resumes). The sampler is compiled once before (one brand, not timed): every brand
    has the same shape, as a refreshed portfolio's models mostly do. Reports wall time, the
    speedup, fits per hour and the peak resident memory of the Ray workers.
(c) the joint optimize time for ``--models`` (20) models x 5 channels x 13 weeks: each model's
    posterior is 500 prior draws (``numpyro.infer.Predictive``) of the model on its own
    simulated 5-channel brand (no sampling: the shapes of a fit); cold (compilation included)
    and warm (the median of three more optimizes at other budgets on the same
    :class:`~mixflow.portfolio.PortfolioOptimizer`); building the 20 simulators is timed apart.

The machine this runs on may be shared: ``os.getloadavg()`` before each part is reported with
the figures. Usage: python bench/portfolio.py [--brands 8] [--skip-fits] [--skip-optimize] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def ray_overhead() -> dict[str, Any]:
    import ray

    load = _load()
    t0 = time.perf_counter()
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    t1 = time.perf_counter()

    @ray.remote(num_cpus=1)
    def ping() -> int:
        return os.getpid()

    ray.get(ping.remote())
    t2 = time.perf_counter()
    ray.get(ping.remote())
    t3 = time.perf_counter()
    ray.shutdown()
    t4 = time.perf_counter()
    return {
        "load_avg": load,
        "init_seconds": t1 - t0,
        "first_task_seconds": t2 - t1,
        "warm_task_seconds": t3 - t2,
        "shutdown_seconds": t4 - t3,
    }


def write_brands(root: Path, n: int, weeks: int, fit: dict[str, Any]) -> Path:
    from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand

    sim = BrandSimulation(n_weeks=weeks, channels=DEFAULT_CHANNELS[:3], n_events=1)
    models = []
    for i in range(n):
        folder = root / f"brand-{i}"
        folder.mkdir(parents=True, exist_ok=True)
        brand = simulate_brand(sim, np.random.default_rng(100 + i))
        brand.frame.to_csv(folder / "data.csv", index=False)
        (folder / "config.yaml").write_text(yaml.safe_dump(brand.config))
        models.append({"name": f"brand-{i}", "config": f"brand-{i}/config.yaml"})
    path = root / "portfolio.yaml"
    path.write_text(yaml.safe_dump({"name": "bench", "defaults": {"fit": fit}, "models": models}))
    return path


def timed_fit(path: Path, out: Path, cpus: int) -> dict[str, Any]:
    from mixflow.cli.runtime import setup_jax
    from mixflow.portfolio import RayOptions, fit_portfolio, load_portfolio

    load = _load()
    t0 = time.perf_counter()
    record = fit_portfolio(
        load_portfolio(path),
        out,
        ray_options=RayOptions(local_cpus=cpus, cpus_per_fit=1),
        setup=setup_jax,
        progress=False,
    )
    wall = time.perf_counter() - t0
    ok = [r for r in record.models.values() if r.state.value == "succeeded"]
    fits = [r.wall_seconds for r in ok if r.wall_seconds is not None]
    rss = [r.peak_rss_mib for r in ok if r.peak_rss_mib is not None]
    return {
        "cpus": cpus,
        "load_avg": load,
        "wall_seconds": wall,
        "succeeded": len(ok),
        "failed": record.failed,
        "fit_seconds_median": float(np.median(fits)) if fits else None,
        "fits_per_hour": 3600.0 * len(ok) / wall,
        "peak_rss_mib_per_worker_max": max(rss) if rss else None,
    }


def fits(args: argparse.Namespace) -> dict[str, Any]:
    fit = {
        "method": "nuts",
        "chains": 2,
        "warmup": args.warmup,
        "draws": args.draws,
        "progress_bar": False,
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = write_brands(root / "brands", args.brands, args.weeks, fit)
        warm = write_brands(root / "warm", 1, args.weeks, fit)
        t0 = time.perf_counter()
        timed_fit(warm, root / "out-warm", 1)  # compiles the sampler into the JAX cache
        compile_s = time.perf_counter() - t0
        one = timed_fit(path, root / "out-1", 1)
        two = timed_fit(path, root / "out-2", 2)
    return {
        "brands": args.brands,
        "weeks": args.weeks,
        "fit": fit,
        "warm_up_seconds": compile_s,
        "one_cpu": one,
        "two_cpus": two,
        "speedup_2_vs_1": one["wall_seconds"] / two["wall_seconds"],
        "speedup_target": 1.7,
    }


def prior_member(name: str, seed: int, draws: int) -> Any:
    import jax
    import jax.numpy as jnp
    from numpyro.infer import Predictive

    from mixflow.data.loaders import dataset_from_frame
    from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand
    from mixflow.inference.diagnostics import Diagnostics
    from mixflow.model.design import build_design
    from mixflow.model.mmm import mmm_model
    from mixflow.portfolio import Member
    from mixflow.posterior.posterior import Posterior
    from mixflow.simulate import Simulator
    from mixflow.spec.config import parse_config
    from mixflow.spec.model_spec import FitMethod, model_spec_from_config

    sim = BrandSimulation(n_weeks=104, channels=DEFAULT_CHANNELS[:5], n_events=1)
    brand = simulate_brand(sim, np.random.default_rng(seed))
    cfg = parse_config(brand.config, "simulated brand")
    data = dataset_from_frame(brand.frame, cfg.data)
    spec = model_spec_from_config(cfg)
    design = build_design(data, spec, cfg.fit.holdout_weeks)
    arrays = {k: jnp.asarray(v) for k, v in design.arrays().items()}
    samples = Predictive(mmm_model, num_samples=draws)(jax.random.PRNGKey(seed), arrays, spec)
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
        draws=draws,
        flags=("prior draws, not a fit: for timing only",),
    )
    posterior = Posterior(
        {k: np.asarray(v)[None] for k, v in samples.items() if k != "y"},
        cfg,
        data,
        diagnostics,
        FitMethod.NUTS,
    )
    return Member(name, Simulator(posterior))


def joint_optimize(n_models: int, draws: int) -> dict[str, Any]:
    from mixflow.portfolio import PortfolioOptimizer, PortfolioProblem

    t0 = time.perf_counter()
    members = [prior_member(f"m{i}", i, draws) for i in range(n_models)]
    build = time.perf_counter() - t0
    budget = sum(
        float(np.asarray(m.simulator.posterior.dataset.spend[:, -13:]).sum()) for m in members
    )
    load = _load()
    opt = PortfolioOptimizer(members)
    t0 = time.perf_counter()
    plan = opt.optimize(PortfolioProblem(budget, 13, relative_bounds=(0.5, 2.0)))
    cold = time.perf_counter() - t0
    warm_times = []
    for scale in (0.8, 0.9, 1.1):  # other budgets on the same optimizer: compiled once
        t0 = time.perf_counter()
        opt.optimize(PortfolioProblem(scale * budget, 13, relative_bounds=(0.5, 2.0)))
        warm_times.append(time.perf_counter() - t0)
    warm = float(np.median(warm_times))
    cur = plan.plan.current_expected.incremental_revenue.mean
    return {
        "models": n_models,
        "channels_per_model": 5,
        "draws": draws,
        "load_avg": load,
        "build_simulators_seconds": build,
        "cold_seconds": cold,
        "warm_seconds": warm,
        "target_seconds": 5.0,
        "uplift_over_current": plan.plan.expected.incremental_revenue.mean / cur - 1.0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--brands", type=int, default=8)
    ap.add_argument("--weeks", type=int, default=104)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--draws", type=int, default=300)
    ap.add_argument("--models", type=int, default=20)
    ap.add_argument("--optimize-draws", type=int, default=500)
    ap.add_argument("--skip-fits", action="store_true")
    ap.add_argument("--skip-optimize", action="store_true")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    from mixflow.cli.runtime import setup_jax

    setup_jax(1)
    result: dict[str, Any] = {"cpu_count": os.cpu_count(), "ray_startup": ray_overhead()}
    if not args.skip_fits:
        result["fits"] = fits(args)
    if not args.skip_optimize:
        result["joint_optimize"] = joint_optimize(args.models, args.optimize_draws)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
