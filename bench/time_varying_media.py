"""Time-varying media study: brands whose media effect drifts, fitted with and without
``model.time_varying_media``; prints JSON.

Each seed simulates the default national brand (156 weeks, five channels) with
``BrandSimulation(media_drift=D)``: every channel's effect times ``exp(D sin(2 pi t / P + phase))``,
``P`` 1-1.5 times the window, so the true ROIs include the drift. It fits the brand twice,
identical but for ``model.time_varying_media``, holding out the last ``--holdout`` weeks. Per
fit: holdout MAPE, the median absolute relative ROI error over channels, how many true ROIs the
90% HDIs hold, divergences, max R-hat and the sampling time; with the multiplier on, the
correlation of its posterior-mean log with the true log curve over the data window and both
ranges. The summary gives the medians over seeds per variant.

Usage: python bench/time_varying_media.py [--seeds 5 6 7] [--drift 0.3] [--holdout 13]
       [--chains 4] [--warmup 500] [--draws 500] [--target-accept 0.9]
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

from mixflow.analysis import analyze  # noqa: E402
from mixflow.data.loaders import dataset_from_frame  # noqa: E402
from mixflow.datasets import BrandSimulation, simulate_brand  # noqa: E402
from mixflow.spec import parse_config  # noqa: E402
from mixflow.workflow import fit_dataset  # noqa: E402


def fit_one(seed: int, time_varying: bool, args: argparse.Namespace) -> dict[str, Any]:
    sim = BrandSimulation(n_weeks=156, media_drift=args.drift)
    brand = simulate_brand(sim, np.random.default_rng(seed))
    cfg = dict(brand.config)
    cfg["model"] = {**cfg["model"], "time_varying_media": time_varying}
    cfg["fit"] = {
        "chains": args.chains,
        "warmup": args.warmup,
        "draws": args.draws,
        "seed": seed,
        "holdout_weeks": args.holdout,
        "target_accept": args.target_accept,
        "progress_bar": False,
    }
    config = parse_config(cfg)
    data = dataset_from_frame(brand.frame, config.data)
    t0 = time.perf_counter()
    analysis = analyze(fit_dataset(config, data))
    wall = time.perf_counter() - t0
    s = analysis.summary
    errors, covered = [], 0
    for ch, true in brand.true_roi.items():
        roi = s.channels[ch].roi
        errors.append(abs(roi.mean / true - 1.0))
        covered += int(roi.hdi_90[0] <= true <= roi.hdi_90[1])
    out: dict[str, Any] = {
        "seed": seed,
        "time_varying_media": time_varying,
        "holdout_mape": s.fit.holdout_mape,
        "roi_median_abs_rel_error": float(np.median(errors)),
        "roi_covered": f"{covered}/{len(errors)}",
        "divergences": s.diagnostics.divergences,
        "rhat_max": s.diagnostics.rhat_max,
        "sampling_seconds": s.diagnostics.fit_seconds,
        "wall_seconds": round(wall, 1),
    }
    if time_varying:
        true_m = np.asarray(brand.truth["media_multiplier"])
        m = analysis.contributions["media_multiplier"].to_numpy(float)
        out["multiplier_log_correlation"] = float(np.corrcoef(np.log(true_m), np.log(m))[0, 1])
        out["multiplier_range"] = [float(m.min()), float(m.max())]
        out["true_multiplier_range"] = [float(true_m.min()), float(true_m.max())]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[5, 6, 7])
    parser.add_argument("--drift", type=float, default=0.3)
    parser.add_argument("--holdout", type=int, default=13)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--target-accept", type=float, default=0.9)
    args = parser.parse_args()
    runs = []
    for seed in args.seeds:
        for tv in (False, True):
            runs.append(fit_one(seed, tv, args))
            print(json.dumps(runs[-1]), flush=True, file=sys.stderr)
    keys = ("holdout_mape", "roi_median_abs_rel_error", "sampling_seconds")
    out = {
        "settings": vars(args),
        "median_over_seeds": {
            name: {
                k: float(np.median([r[k] for r in runs if r["time_varying_media"] is tv]))
                for k in keys
            }
            for name, tv in (("constant", False), ("time_varying", True))
        },
        "runs": runs,
        "load": os.getloadavg(),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
