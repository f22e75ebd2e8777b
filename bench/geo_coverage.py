"""Coverage of channel ROIs on heterogeneous geo panels (prints JSON).

Each brand is :func:`mixflow.datasets.simulate_brand` with ``n_geos`` geos whose Hill
half-saturation scales with each geo's own mean exposure (``geo_relative_saturation``) and whose
media effects vary by geo (``geo_effect_sd``, log-sd 0.25): the conditions under which issue 21
found 90% intervals covering 6 of 15 true ROIs. Every brand is fitted once per model variant
(``pooled``: the default before issue 21; ``relative``: today's default; ``*_t``: the
same with the Student-t likelihood). Per variant it prints coverage of the 90% HDI per brand and
channel, the median |median / truth - 1|, the worst R-hat, the smallest bulk ESS, divergences and
wall time.

    python bench/geo_coverage.py                              # 5 brands x 20 geos, 4 x 1000
    python bench/geo_coverage.py --brands 1,2 --chains 2 --samples 300 --variants relative
    python bench/geo_coverage.py --pooled-truth --effect-sd 0.15   # today's geo brands
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import numpyro

numpyro.set_host_device_count(min(4, os.cpu_count() or 1))

import numpy as np  # noqa: E402

from mixflow.analysis import hdi  # noqa: E402
from mixflow.data.loaders import dataset_from_frame  # noqa: E402
from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand  # noqa: E402
from mixflow.spec import parse_config  # noqa: E402
from mixflow.workflow import fit_dataset  # noqa: E402

#: model variants: (model.geo_saturation, model.likelihood)
VARIANTS = {
    "pooled": ("pooled", "normal"),
    "relative": ("relative", "normal"),
    "pooled_t": ("pooled", "student_t"),
    "relative_t": ("relative", "student_t"),
}


def heterogeneous_brand(
    seed: int,
    n_geos: int = 20,
    n_weeks: int = 104,
    effect_sd: float = 0.25,
    relative: bool = True,
) -> Any:
    """A geo brand with per-geo half-saturation (``relative``) and effect multipliers
    (tv, search, radio)."""
    sim = BrandSimulation(
        n_weeks=n_weeks,
        n_geos=n_geos,
        channels=(DEFAULT_CHANNELS[0], DEFAULT_CHANNELS[1], DEFAULT_CHANNELS[4]),
        geo_relative_saturation=relative,
        geo_effect_sd=effect_sd,
    )
    return simulate_brand(sim, np.random.default_rng(seed))


def fit_and_score(brand: Any, variant: str, chains: int, n: int, seed: int) -> dict[str, Any]:
    """Per channel: truth, posterior median, 90% HDI, error and coverage; the fit's health."""
    saturation, likelihood = VARIANTS[variant]
    cfg = dict(brand.config)
    cfg["model"] = {**cfg["model"], "geo_saturation": saturation, "likelihood": likelihood}
    cfg["fit"] = {"chains": chains, "warmup": n, "draws": n, "seed": seed, "progress_bar": False}
    config = parse_config(cfg)
    t0 = time.perf_counter()
    post = fit_dataset(config, dataset_from_frame(brand.frame, config.data))
    seconds = time.perf_counter() - t0
    chans = post.dataset.channels
    roi = np.asarray(post.samples["roi"]).reshape(-1, len(chans))
    band = hdi(roi)
    channels = {}
    for i, ch in enumerate(chans):
        truth = brand.true_roi[ch]
        med = float(np.median(roi[:, i]))
        channels[ch] = {
            "true_roi": round(truth, 4),
            "median": round(med, 4),
            "hdi_90": [round(float(band[i, 0]), 4), round(float(band[i, 1]), 4)],
            "error": round(abs(med / truth - 1.0), 4),
            "covered": bool(band[i, 0] <= truth <= band[i, 1]),
        }
    d = post.diagnostics
    return {
        "channels": channels,
        "rhat_max": d.rhat_max,
        "ess_bulk_min": d.ess_bulk_min,
        "divergences": d.divergences,
        "seconds": round(seconds, 1),
    }


def summarize(runs: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Pooled coverage and median error over brands and channels, worst health."""
    rows = [c for r in runs.values() for c in r["channels"].values()]
    return {
        "coverage": float(np.mean([c["covered"] for c in rows])),
        "n_intervals": len(rows),
        "median_error": float(np.median([c["error"] for c in rows])),
        "rhat_max": max(r["rhat_max"] or float("nan") for r in runs.values()),
        "ess_bulk_min": min(r["ess_bulk_min"] or float("nan") for r in runs.values()),
        "divergences": sum(r["divergences"] for r in runs.values()),
        "seconds": round(sum(r["seconds"] for r in runs.values()), 1),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--brands", default="1,2,3,4,5", help="comma-separated brand seeds")
    p.add_argument("--geos", type=int, default=20)
    p.add_argument("--weeks", type=int, default=104)
    p.add_argument("--effect-sd", type=float, default=0.25)
    p.add_argument(
        "--pooled-truth",
        action="store_true",
        help="simulate one half-saturation for every geo (today's brands) instead",
    )
    p.add_argument("--variants", default="pooled,relative", help=",".join(VARIANTS))
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--samples", type=int, default=1000, help="warmup = draws per chain")
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.brands.split(",")]
    report: dict[str, Any] = {
        "settings": {
            "brands": seeds,
            "geos": args.geos,
            "weeks": args.weeks,
            "effect_sd": args.effect_sd,
            "geo_relative_saturation": not args.pooled_truth,
            "chains": args.chains,
            "warmup": args.samples,
            "draws": args.samples,
        }
    }
    for variant in args.variants.split(","):
        runs: dict[int, dict[str, Any]] = {}
        for s in seeds:
            brand = heterogeneous_brand(
                s, args.geos, args.weeks, args.effect_sd, not args.pooled_truth
            )
            runs[s] = fit_and_score(brand, variant, args.chains, args.samples, s)
            print(f"{variant} brand {s}: {json.dumps(runs[s])}", file=sys.stderr, flush=True)
        report[variant] = {"summary": summarize(runs), "brands": runs}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
