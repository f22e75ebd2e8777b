"""ROI recovery of reach and frequency channels over seeds: prints JSON.

The brand of tests/inference/test_recovery_rf.py (156 national weeks, tv plus the three R&F
channels of ``mixflow.datasets.rf.STUDY_RF_CHANNELS``), fitted by NUTS at each seed; per seed and
R&F channel the true ROI, the posterior median, the 90% HDI, the relative error and whether the
HDI covers the truth, the optimal frequency's truth and posterior median; pooled coverage and
median error (criteria: >= 80% and < 20%).

Usage: python bench/rf_recovery.py [--seeds 1,2,3,4] [--draws 300]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from mixflow.analysis import hdi
from mixflow.analysis.rf import optimal_frequency_draws
from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand
from mixflow.datasets.rf import STUDY_RF_CHANNELS, add_rf_channels
from mixflow.spec import parse_config
from mixflow.workflow import fit_dataset


def one_seed(seed: int, n: int) -> list[dict[str, object]]:
    sim = BrandSimulation(n_weeks=156, channels=(DEFAULT_CHANNELS[0],), n_events=0)
    rng = np.random.default_rng(seed)
    brand = add_rf_channels(simulate_brand(sim, rng), STUDY_RF_CHANNELS, rng)
    cfg = dict(brand.config)
    cfg["fit"] = {"chains": 4, "warmup": n, "draws": n, "seed": seed, "progress_bar": False}
    config = parse_config(cfg)
    data = dataset_from_frame(brand.frame, config.data)
    start = time.perf_counter()
    post = fit_dataset(config, data)
    wall = time.perf_counter() - start
    roi = post.samples["roi"].reshape(-1, len(data.channels))
    band = hdi(roi)
    best = np.median(optimal_frequency_draws(data, post.flat_samples()), axis=0)
    rows = []
    for r, ch in enumerate(data.rf_channels):
        i = data.channels.index(ch)
        truth, median = brand.true_roi[ch], float(np.median(roi[:, i]))
        rows.append(
            {
                "seed": seed,
                "channel": ch,
                "true_roi": truth,
                "roi_median": median,
                "roi_hdi_90": [float(band[i, 0]), float(band[i, 1])],
                "error": abs(median - truth) / truth,
                "covered": bool(band[i, 0] <= truth <= band[i, 1]),
                "true_optimal_frequency": brand.truth["rf_optimal_frequency"][ch],
                "optimal_frequency_median": float(best[r]),
                "rhat_max": post.diagnostics.rhat_max,
                "divergences": post.diagnostics.divergences,
                "fit_wall_seconds": round(wall, 1),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3,4")
    parser.add_argument("--draws", type=int, default=300, help="warmup and draws per chain")
    args = parser.parse_args()
    rows = [row for s in args.seeds.split(",") for row in one_seed(int(s), args.draws)]
    result = {
        "benchmark": "rf_recovery",
        "coverage": float(np.mean([r["covered"] for r in rows])),
        "median_error": float(np.median([r["error"] for r in rows])),
        "criteria": {"coverage_min": 0.8, "median_error_max": 0.2},
        "fits": rows,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
