"""Service load benchmark: prints JSON figures.

(a) simulate: ``--clients`` concurrent clients (default 8) call
    ``POST /api/v1/models/{name}/simulate`` for ``--seconds`` (default 30) against a real
    ``mixflow serve`` on a free port, each with a new plan every call (13 weeks, a budget drawn
    from 200k-600k and random channel shares), on a 5-channel model (an SVI fit of a simulated
    brand, 104 weeks, 1,000 draws) registered as the workspace's champion: throughput, p50,
    p95, p99 latency and errors (targets on 2 cores: p95 <= 100 ms, 0 errors). The server runs
    with ``--no-access-log``; each client thread keeps one keep-alive connection. Then one
    client's sequential calls (p50, p95: less load-sensitive) and the first call at a horizon
    not asked before, inside the warmed 13-week bucket (``new_horizon_first_call_seconds``)
    and in a new bucket (30 weeks: one compilation).
(b) optimize: the p50 of ``--optimize-calls`` calls of ``POST .../optimize`` (13 weeks,
    relative bounds 0.5:2.0, new budgets), after one cold call (reported apart).
(c) a fit job's queue-to-start latency: ``started_at - created_at`` of a fit submitted through
    ``POST /api/v1/fits`` to the one worker ``serve`` starts (then cancelled).
(d) one simulate call on a 40-geo model, 1,000 draws, 52 weeks, 10 channels (the posterior of
    bench/simulate_optimize.py): the engine's ``Simulator.simulate`` and the service's whole
    answer (``simulate_plan``: the engine and every summary), in process; target under 50 ms.

The machine's load average is printed with the figures: on a busy machine they are upper bounds.

Usage: python bench/service_load.py [--seconds 30] [--clients 8] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

WORKSPACE = "bench"
MODEL = "brand"
CHANNELS = 5
HORIZON = 13


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ms(values: list[float], q: float) -> float:
    return round(1e3 * float(np.quantile(values, q)), 2) if values else float("nan")


def fit_brand(folder: Path) -> tuple[Path, Path, Path]:
    """A 5-channel SVI fit (1,000 draws): returns the run folder, its data and config."""
    import yaml

    from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand
    from mixflow.workflow import fit_run

    brand = simulate_brand(
        BrandSimulation(n_weeks=104, channels=DEFAULT_CHANNELS[:CHANNELS]),
        np.random.default_rng(5),
    )
    brand.frame.to_csv(folder / "data.csv", index=False)
    cfg = dict(brand.config)
    cfg["fit"] = {
        "method": "svi",
        "svi_steps": 200,  # the bench times the service, not the fit's quality
        "draws": 1000,
        "seed": 1,
        "progress_bar": False,
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg))
    fit_run(folder / "config.yaml", folder / "run")
    # the fit job of (c): the same data, a MAP fit (it is cancelled once it starts)
    cfg["fit"] = {"method": "map", "svi_steps": 300, "progress_bar": False}
    (folder / "job.yaml").write_text(yaml.safe_dump(cfg))
    return folder / "run", folder / "data.csv", folder / "job.yaml"


def register(home: Path, run_dir: Path) -> None:
    from mixflow.lifecycle.registry import Alias, promote, register
    from mixflow.service.settings import ServiceSettings
    from mixflow.service.store import lifecycle_settings, registered_name

    lifecycle = lifecycle_settings(ServiceSettings(home=home, database_url=""))
    name = registered_name(WORKSPACE, MODEL)
    info = register(run_dir, name, lifecycle, actor="bench")
    promote(name, info.version, Alias.CHAMPION, "bench", "load benchmark", lifecycle)


class Server:
    """``mixflow serve`` (one worker) on a free port under ``home``, with an analyst key."""

    def __init__(self, home: Path) -> None:
        self.env = {**os.environ, "MIXFLOW_HOME": str(home), "MIXFLOW_DATABASE_URL": ""}
        self.env.pop("MLFLOW_TRACKING_URI", None)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        mixflow = [sys.executable, "-m", "mixflow"]
        subprocess.run([*mixflow, "db", "upgrade"], env=self.env, check=True, capture_output=True)
        made = subprocess.run(
            [*mixflow, "keys", "create", "--workspace", WORKSPACE, "--role", "analyst", "--json"],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        self.key = json.loads(made.stdout)["key"]
        self.log = (home / "serve.log").open("wb")
        self.proc = subprocess.Popen(
            [*mixflow, "serve", "--port", str(self.port), "--workers", "1", "--no-access-log"],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 120.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"mixflow serve exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise SystemExit("mixflow serve did not become ready")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _plan(rng: np.random.Generator, channels: list[str]) -> dict[str, Any]:
    shares = rng.dirichlet(np.ones(len(channels)))
    return {
        "budget": float(rng.uniform(2e5, 6e5)),
        "horizon_weeks": HORIZON,
        "shares": {c: float(s) for c, s in zip(channels, shares, strict=True)},
    }


def bench_simulate(server: Server, clients: int, seconds: float) -> dict[str, Any]:
    """(a) ``clients`` threads, each with its own connection, for ``seconds``."""
    import httpx

    url = f"/api/v1/models/{MODEL}/simulate"
    headers = {"X-API-Key": server.key}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as c:
        first = c.post(url, json={"plan": {"budget": 3e5, "horizon_weeks": HORIZON}})
        first.raise_for_status()
        channels = list(first.json()["per_channel"])
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(i: int) -> None:
        rng = np.random.default_rng(100 + i)
        mine: list[float] = []
        bad: list[str] = []
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as c:
            while time.monotonic() < stop_at:
                body = {"ref": "champion", "plan": _plan(rng, channels)}
                start = time.perf_counter()
                try:
                    r = c.post(url, json=body)
                    ok = r.status_code == 200
                    if not ok:
                        bad.append(f"{r.status_code}: {r.text[:200]}")
                except httpx.HTTPError as err:
                    ok = False
                    bad.append(type(err).__name__)
                if ok:
                    mine.append(time.perf_counter() - start)
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests": len(latencies) + len(errors),
        "throughput_rps": round(len(latencies) / elapsed, 1),
        "p50_ms": _ms(latencies, 0.5),
        "p95_ms": _ms(latencies, 0.95),
        "p99_ms": _ms(latencies, 0.99),
        "errors": len(errors),
        "error_samples": errors[:3],
        "channels": len(channels),
        "horizon_weeks": HORIZON,
        "first_call_seconds": round(first.elapsed.total_seconds(), 3),
    }


def bench_sequential(server: Server, calls: int) -> dict[str, Any]:
    """One client, one call at a time (less sensitive to the machine's load than (a)); then
    the first call at horizons not asked before: 10 weeks (inside the 13-week bucket the
    model was warmed with: no compilation) and 30 weeks (a new bucket: one compilation)."""
    import httpx

    url = f"/api/v1/models/{MODEL}/simulate"
    rng = np.random.default_rng(7)
    times = []
    with httpx.Client(base_url=server.url, headers={"X-API-Key": server.key}, timeout=60) as c:
        warm = {"plan": {"budget": 3e5, "horizon_weeks": HORIZON}}
        channels = list(c.post(url, json=warm).json()["per_channel"])
        for _ in range(calls):
            body = {"ref": "champion", "plan": _plan(rng, channels)}
            start = time.perf_counter()
            c.post(url, json=body).raise_for_status()
            times.append(time.perf_counter() - start)
        first: dict[str, float] = {}
        for weeks in (10, 30):
            start = time.perf_counter()
            c.post(url, json={"plan": {"budget": 3e5, "horizon_weeks": weeks}}).raise_for_status()
            first[str(weeks)] = round(time.perf_counter() - start, 3)
    return {
        "calls": calls,
        "p50_ms": _ms(times, 0.5),
        "p95_ms": _ms(times, 0.95),
        "new_horizon_first_call_seconds": first["10"],
        "new_horizon_bucket_first_call_seconds": first["30"],
    }


def bench_optimize(server: Server, calls: int) -> dict[str, Any]:
    """(b) one cold call, then ``calls`` with new budgets."""
    import httpx

    url = f"/api/v1/models/{MODEL}/optimize"
    times = []
    with httpx.Client(base_url=server.url, headers={"X-API-Key": server.key}, timeout=300) as c:
        for i in range(calls + 1):
            body = {
                "budget": 3e5 + 2e4 * i,
                "horizon_weeks": HORIZON,
                "relative_bounds": [0.5, 2.0],
            }
            start = time.perf_counter()
            c.post(url, json=body).raise_for_status()
            times.append(time.perf_counter() - start)
    return {
        "cold_seconds": round(times[0], 3),
        "p50_seconds": round(statistics.median(times[1:]), 3),
        "calls": calls,
        "horizon_weeks": HORIZON,
    }


def bench_queue_to_start(server: Server, data: Path, config: Path) -> dict[str, Any]:
    """(c) submit a fit, wait until the worker starts it, cancel it."""
    from datetime import datetime

    import httpx

    with httpx.Client(base_url=server.url, headers={"X-API-Key": server.key}, timeout=60) as c:
        r = c.post(
            "/api/v1/fits",
            files={
                "config": (config.name, config.read_bytes()),
                "data": (data.name, data.read_bytes()),
            },
            data={"model_name": "latency"},
        )
        r.raise_for_status()
        job_id = r.json()["job_id"]
        deadline = time.monotonic() + 120
        job: dict[str, Any] = {}
        while time.monotonic() < deadline:
            job = c.get(f"/api/v1/jobs/{job_id}").json()
            if job.get("started_at"):
                break
            time.sleep(0.05)
        c.delete(f"/api/v1/jobs/{job_id}")
    if not job.get("started_at"):
        return {"error": f"job {job_id} did not start within 120 s", "state": job.get("state")}
    created = datetime.fromisoformat(job["created_at"])
    started = datetime.fromisoformat(job["started_at"])
    return {"queue_to_start_seconds": round((started - created).total_seconds(), 3)}


def bench_forty_geos(calls: int) -> dict[str, Any]:
    """(d) the engine and the service's whole answer for one plan on 40 geos, in process."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from mixflow.optimize import BudgetOptimizer
    from mixflow.service.cache import LoadedModel
    from mixflow.service.routers.planning import PlanSpec, simulate_plan
    from mixflow.service.store import StoredVersion
    from mixflow.simulate import Simulator, plan_like_last
    from simulate_optimize import N_DRAWS, SIM_WEEKS, prior_posterior

    posterior = prior_posterior(40)
    start = time.perf_counter()
    sim = Simulator(posterior, max_draws=N_DRAWS)
    sim.warm_up(horizons=(SIM_WEEKS,))
    setup = time.perf_counter() - start
    data = posterior.dataset
    scales = np.linspace(0.8, 1.2, 7)
    plans = [plan_like_last(data, SIM_WEEKS, scale=float(s)) for s in scales]
    engine = []
    for i in range(calls):
        start = time.perf_counter()
        sim.simulate(plans[i % len(plans)])
        engine.append(time.perf_counter() - start)
    model = LoadedModel("bench.geo", 1, Path("."), sim, BudgetOptimizer(sim))
    stored = StoredVersion(WORKSPACE, "geo", "bench.geo", 1, Path("."), None)  # type: ignore[arg-type]
    answer = []
    for i in range(calls):
        spec = PlanSpec.model_validate(
            {"like_last_weeks": SIM_WEEKS, "scale": float(scales[i % len(scales)])}
        )
        start = time.perf_counter()
        simulate_plan(stored, model, spec, ("plan",))
        answer.append(time.perf_counter() - start)
    return {
        "geos": data.n_geos,
        "channels": data.n_channels,
        "draws": sim.n_draws,
        "weeks": SIM_WEEKS,
        "simulator_setup_and_warm_up_seconds": round(setup, 3),
        "engine_simulate_p50_ms": _ms(engine, 0.5),
        "engine_simulate_p95_ms": _ms(engine, 0.95),
        "service_answer_p50_ms": _ms(answer, 0.5),
        "service_answer_p95_ms": _ms(answer, 0.95),
        "calls": calls,
        "target_ms": 50,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--optimize-calls", type=int, default=5)
    parser.add_argument("--geo-calls", type=int, default=30)
    parser.add_argument("--sequential-calls", type=int, default=100)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    import numpyro

    numpyro.set_host_device_count(1)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    began = time.perf_counter()
    results: dict[str, Any] = {"cpus": os.cpu_count(), "load_average_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="mixflow-service-load-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        run_dir, data, job_config = fit_brand(folder)
        results["fit_seconds"] = round(time.perf_counter() - start, 1)
        home = folder / "home"
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        register(home, run_dir)
        server = Server(home)
        try:
            server.wait_ready()
            results["simulate"] = bench_simulate(server, args.clients, args.seconds)
            results["sequential"] = bench_sequential(server, args.sequential_calls)
            results["optimize"] = bench_optimize(server, args.optimize_calls)
            results["fit_job"] = bench_queue_to_start(server, data, job_config)
        finally:
            server.stop()
    results["forty_geos"] = bench_forty_geos(args.geo_calls)
    results["load_average_after"] = os.getloadavg()
    results["bench_seconds"] = round(time.perf_counter() - began, 1)
    results["targets_met"] = {
        "simulate_p95_le_100ms": results["simulate"]["p95_ms"] <= 100,
        "simulate_zero_errors": results["simulate"]["errors"] == 0,
        "forty_geo_simulate_lt_50ms": results["forty_geos"]["engine_simulate_p50_ms"] < 50,
        "forty_geo_service_answer_lt_50ms": results["forty_geos"]["service_answer_p50_ms"] < 50,
    }
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
