"""Recovery study on brand families the model was not built around (prints JSON).

For each family (mixflow.datasets.families), level (national, geo) and seed: simulate a brand,
fit the model's defaults with NUTS, and score each channel's ROI: |posterior median / truth - 1|
and whether the 90% HDI holds the truth. Prints per family and channel the median error and the
coverage over seeds, and per family the pooled figures with their spread across seeds.

    python bench/recovery.py                       # every family, national and geo, 4 seeds
    python bench/recovery.py --quick               # 2 chains x 300, national, 2 seeds
    python bench/recovery.py --families correlated,extreme_roi --levels geo --seeds 1,2,3
    python bench/recovery.py --families weibull_delay --levels geo --chains 2 --samples 300 \
        --per-seed                                 # each seed's per-channel scores as well
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpyro

numpyro.set_host_device_count(4)

import numpy as np  # noqa: E402

from mixflow.analysis import hdi  # noqa: E402
from mixflow.data.loaders import dataset_from_frame  # noqa: E402
from mixflow.datasets.families import Family, simulate_family  # noqa: E402
from mixflow.spec import parse_config  # noqa: E402
from mixflow.workflow import fit_dataset  # noqa: E402

LEVELS = {"national": 1, "geo": 6}


def fit_and_score(
    family: str, n_geos: int, seed: int, chains: int, n: int, n_weeks: int
) -> dict[str, dict[str, Any]]:
    """Per channel: truth, posterior median, 90% HDI, relative error and coverage."""
    brand = simulate_family(family, np.random.default_rng(seed), n_geos=n_geos, n_weeks=n_weeks)
    cfg = dict(brand.config)
    cfg["fit"] = {"chains": chains, "warmup": n, "draws": n, "seed": seed, "progress_bar": False}
    config = parse_config(cfg)
    post = fit_dataset(config, dataset_from_frame(brand.frame, config.data))
    chans = post.dataset.channels
    roi = np.asarray(post.samples["roi"]).reshape(-1, len(chans))
    band = hdi(roi)
    out = {}
    for i, ch in enumerate(chans):
        truth = brand.true_roi[ch]
        med = float(np.median(roi[:, i]))
        out[ch] = {
            "true_roi": truth,
            "median": med,
            "hdi_90": [float(band[i, 0]), float(band[i, 1])],
            "error": abs(med / truth - 1.0),
            "covered": bool(band[i, 0] <= truth <= band[i, 1]),
        }
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--families", default=",".join(f.value for f in Family))
    p.add_argument("--levels", default="national,geo")
    p.add_argument("--seeds", default="1,2,3,4", help="comma-separated seeds")
    p.add_argument("--quick", action="store_true", help="2 chains x 300, national, 2 seeds")
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--samples", type=int, default=500, help="warmup = draws per chain")
    p.add_argument(
        "--per-seed", action="store_true", help="also print each seed's per-channel scores"
    )
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    levels = args.levels.split(",")
    chains, n = args.chains, args.samples
    if args.quick:
        chains, n, seeds, levels = 2, 300, seeds[:2], ["national"]
    report: dict[str, Any] = {"settings": {"chains": chains, "warmup": n, "draws": n,
                                            "seeds": seeds}}  # fmt: skip
    for fam in args.families.split(","):
        for level in levels:
            t0 = time.perf_counter()
            runs = [
                fit_and_score(fam, LEVELS[level], s, chains, n, 104 if level == "national" else 78)
                for s in seeds
            ]
            per_channel = {
                ch: {
                    "true_roi": [r[ch]["true_roi"] for r in runs],
                    "median_error": float(np.median([r[ch]["error"] for r in runs])),
                    "coverage": float(np.mean([r[ch]["covered"] for r in runs])),
                }
                for ch in runs[0]
            }
            seed_medians = [float(np.median([v["error"] for v in r.values()])) for r in runs]
            report[f"{fam}/{level}"] = {
                "median_error": float(np.median([v["error"] for r in runs for v in r.values()])),
                "coverage": float(np.mean([v["covered"] for r in runs for v in r.values()])),
                "seed_median_errors": seed_medians,
                "channels": per_channel,
                "seconds": round(time.perf_counter() - t0, 1),
            }
            if args.per_seed:
                report[f"{fam}/{level}"]["runs"] = dict(zip(map(str, seeds), runs, strict=True))
            print(f"{fam}/{level} done", file=sys.stderr, flush=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
