"""Time-varying baseline study: a drifting-baseline brand fitted with a linear trend and with
``trend: spline``; prints JSON.

Each seed simulates the default national brand (156 weeks, five channels) plus an organic
channel, a promotion and a drifting baseline (``mixflow.datasets.extras``: a level shift of
``--drift`` at a random time plus a slow wave), then fits it twice, identical but for
``model.trend``, holding out the last ``--holdout`` weeks. Per fit: holdout MAPE, the median
absolute relative ROI error over the channels, the organic channel's and the promotion's
relative contribution error, divergences, max R-hat and the sampling time. The summary gives
the medians over seeds per trend and the per-seed paired differences (spline minus linear).

Usage: python bench/baseline.py [--seeds 31 32 33] [--drift 0.12] [--holdout 13]
       [--chains 4] [--warmup 500] [--draws 500] [--knot-weeks W]
       [--trends linear spline spline:26 spline+slope:26]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from mixflow.analysis import analyze
from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import BrandSimulation, simulate_brand
from mixflow.datasets.extras import BrandExtras, add_extras
from mixflow.spec import parse_config
from mixflow.workflow import fit_dataset


def parse_variant(variant: str) -> tuple[str, float | None, bool]:
    """``linear`` | ``spline`` | ``spline:26`` | ``spline+slope:26`` -> (trend, knot weeks,
    slope)."""
    name, _, knots = variant.partition(":")
    trend, _, extra = name.partition("+")
    return trend, float(knots) if knots else None, extra == "slope"


def fit_one(seed: int, variant: str, args: argparse.Namespace) -> dict[str, Any]:
    trend, knot_weeks, slope = parse_variant(variant)
    brand = simulate_brand(BrandSimulation(n_weeks=156), np.random.default_rng(seed))
    brand, truth = add_extras(
        brand, BrandExtras(drift_amplitude=args.drift), np.random.default_rng(1000 + seed)
    )
    cfg = dict(brand.config)
    cfg["model"] = {**cfg["model"], "trend": trend}
    knot_weeks = knot_weeks if knot_weeks is not None else args.knot_weeks
    if knot_weeks is not None:
        cfg["model"]["trend_knot_weeks"] = knot_weeks
    if slope:
        cfg["model"]["trend_slope"] = True
    cfg["fit"] = {
        "chains": args.chains,
        "warmup": args.warmup,
        "draws": args.draws,
        "seed": seed,
        "holdout_weeks": args.holdout,
        "progress_bar": False,
    }
    config = parse_config(cfg)
    data = dataset_from_frame(brand.frame, config.data)
    t0 = time.perf_counter()
    post = fit_dataset(config, data)
    wall = time.perf_counter() - t0
    s = analyze(post).summary
    roi_err = [abs(s.channels[ch].roi.median - true) / true for ch, true in brand.true_roi.items()]
    organic = {
        name: abs(s.organic[name].contribution.median - true) / true
        for name, true in truth.organic_contribution.items()
    }
    promo = s.treatments["promo"].contribution.median
    return {
        "seed": seed,
        "trend": variant,
        "holdout_mape": s.fit.holdout_mape,
        "roi_median_abs_rel_error": float(np.median(roi_err)),
        "organic_rel_error": organic,
        "promo_rel_error": abs(promo - truth.promo_effect) / truth.promo_effect,
        "divergences": s.diagnostics.divergences,
        "rhat_max": s.diagnostics.rhat_max,
        "sampling_seconds": s.diagnostics.fit_seconds,
        "wall_seconds": round(wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[31, 32, 33])
    parser.add_argument("--drift", type=float, default=0.12)
    parser.add_argument("--holdout", type=int, default=13)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--knot-weeks", type=float, default=None, help="spline knot spacing")
    parser.add_argument(
        "--trends",
        nargs="+",
        default=["linear", "spline"],
        help="variants: linear, spline, spline:KNOT_WEEKS, spline+slope[:KNOT_WEEKS]",
    )
    args = parser.parse_args()
    runs = [fit_one(seed, trend, args) for seed in args.seeds for trend in args.trends]
    by = {t: [r for r in runs if r["trend"] == t] for t in args.trends}

    def med(trend: str, key: str) -> float:
        return float(np.median([r[key] for r in by[trend]]))

    keys = ("holdout_mape", "roi_median_abs_rel_error", "promo_rel_error", "sampling_seconds")
    out = {
        "settings": vars(args),
        "median_over_seeds": {t: {k: med(t, k) for k in keys} for t in by},
        # per seed, each variant minus the linear trend
        "paired_minus_linear": {
            t: {
                k: [s[k] - lin[k] for lin, s in zip(by["linear"], by[t], strict=True)]
                for k in ("holdout_mape", "roi_median_abs_rel_error")
            }
            for t in by
            if t != "linear" and "linear" in by
        },
        "divergences": {t: [r["divergences"] for r in by[t]] for t in by},
        "runs": runs,
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
