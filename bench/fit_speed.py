"""Fit speed benchmark: prints JSON figures for the two reference problems.

(a) a simulated 179-week national dataset: 2 channels, geometric adstock (max_lag 8), logistic
    saturation, 2 Fourier terms, 2 event dummies, linear trend;
(b) Meridian's 20-geo ``meridian_geo_media.csv`` (conversions with revenue per conversion,
    impressions + spend, 2 controls), config ``examples/meridian_geo.yaml``;
(rf) Meridian's 20-geo ``meridian_geo_media_rf.csv``: case (b) with its fourth channel bought on
    reach and frequency (spend, reach, average frequency), config ``examples/meridian_geo_rf.yaml``.
All with 4 chains x 1000 warmup x 1000 draws. Each case runs ``mixflow fit`` as a fresh process
first with an empty compilation cache (cold: includes XLA compilation), then ``--repeats`` more
times with the cache the first run left (warm: what every later fit of the same model shape
costs). Warm figures are the run with the median wall time; every warm wall time is listed too,
since these machines are noisy.

Usage: python bench/fit_speed.py [--case a|b|rf|all] [--repeats N] [--out bench/results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _case_a(workdir: Path) -> Path:
    from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand

    sim = BrandSimulation(
        n_weeks=179,
        channels=DEFAULT_CHANNELS[:2],
        adstock="geometric",
        saturation="logistic",
        max_lag=8,
        fourier_terms=2,
        n_controls=0,
        n_events=2,
    )
    brand = simulate_brand(sim, np.random.default_rng(2026))
    brand.frame.to_csv(workdir / "data.csv", index=False)
    cfg = dict(brand.config)
    cfg["model"] = {**cfg["model"], "seasonality": {"period": 52.18, "fourier_terms": 2}}
    cfg["fit"] = {"chains": 4, "warmup": 1000, "draws": 1000, "seed": 1}
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _case_b(workdir: Path, example: str = "meridian_geo.yaml") -> Path:
    cfg = yaml.safe_load((ROOT / "examples" / example).read_text())
    cfg["data"]["path"] = str((ROOT / "examples" / cfg["data"]["path"]).resolve())
    cfg["fit"] = {**cfg.get("fit", {}), "chains": 4, "warmup": 1000, "draws": 1000, "seed": 1}
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def run_measured(cmd: list[str], env: dict[str, str]) -> tuple[int, float, int, str]:
    """Run ``cmd``; return its exit code, wall seconds, its own peak RSS (KiB) and stderr.

    ``os.wait4`` returns the resource usage of exactly this child; ``RUSAGE_CHILDREN`` would
    report the maximum over every child so far (a warm run would show the cold run's peak)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as stderr:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=stderr, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        stderr.seek(0)
        return proc.returncode, wall, int(usage.ru_maxrss), stderr.read()


def _run_fit(config: Path, out: Path, cache: Path) -> dict[str, float]:
    env = {**os.environ, "MIXFLOW_CACHE_DIR": str(cache)}
    exe = Path(sys.executable).parent / "mixflow"
    cmd = [str(exe), "fit", str(config), "--out", str(out), "--no-progress", "--no-report"]
    code, wall, peak, err = run_measured(cmd, env)
    if code != 0:
        raise SystemExit(f"fit failed ({code}): {err.strip()[-2000:]}")
    summary = json.loads((out / "summary.json").read_text())
    d = summary["diagnostics"]
    return {
        "wall_seconds": round(wall, 2),
        "sampling_seconds": round(d["fit_seconds"], 2),
        "peak_rss_mb": round(peak / 1024, 1),
        "rhat_max": d["rhat_max"],
        "ess_bulk_min": d["ess_bulk_min"],
        "ess_tail_min": d["ess_tail_min"],
        "divergences": d["divergences"],
        "steps_per_draw": d["steps_per_draw"],
        "ess_per_second": round(d["ess_bulk_min"] / wall, 1),
        "converged": bool(d["rhat_max"] <= 1.01 and d["ess_bulk_min"] >= 400),
    }


def run_case(name: str, repeats: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix=f"mixflow-bench-{name}-") as tmp:
        work = Path(tmp)
        if name == "a":
            config = _case_a(work)
        else:
            config = _case_b(work, "meridian_geo_rf.yaml" if name == "rf" else "meridian_geo.yaml")
        cache = work / "cache"
        cold = _run_fit(config, work / "cold", cache)
        runs = [_run_fit(config, work / f"warm{i}", cache) for i in range(repeats)]
    walls = [r["wall_seconds"] for r in runs]
    warm = runs[int(np.argsort(walls)[(len(walls) - 1) // 2])]
    return {
        "case": name,
        "cold": cold,
        "warm": warm,
        "warm_wall_seconds_all": walls,
        # compilation is what the warm run no longer pays
        "compile_seconds_estimate": round(cold["wall_seconds"] - warm["wall_seconds"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["a", "b", "rf", "all"], default="all")
    parser.add_argument("--repeats", type=int, default=3, help="warm runs per case (median)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()
    cases = ["a", "b", "rf"] if args.case == "all" else [args.case]
    result = {
        "benchmark": "fit_speed",
        "machine": {"cpus": os.cpu_count()},
        "targets": {
            "a_wall_seconds": 7,
            "b_wall_seconds": 90,
            "rhat_max": 1.01,
            "ess_bulk_min": 400,
        },
        "results": [run_case(c, max(1, args.repeats)) for c in cases],
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
