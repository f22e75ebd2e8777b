"""Calibration by lift tests on simulated geo brands: plain fit vs calibrated fit (prints JSON).

Each brand is :func:`mixflow.datasets.simulate_brand` (geo panel, per-geo effect multipliers).
Two kinds of experiment, each measured from the truth with Normal noise of the reported standard
error (``--relative-se`` of the true lift, 0.15 by default, typical of a geo experiment):

- ``heavy_up``: +50 % spend on ``tv`` in a third of the geos for 6 weeks;
- ``go_dark``: ``search`` spend off in a third of the geos for 6 weeks;
- ``heavy_up_search``: +50 % spend on ``search`` (always on, the channel the plain fit pins
  least) in a third of the geos for 6 weeks;
- ``heavy_up_steady``: the same test on a brand that buys ``search`` at one steady level
  (weekly log-sd 0.05, no yearly swing, geo split log-sd 0.05): a history with almost no
  spend variation, the case a heavy-up test is run for.

Per brand and kind it fits the config twice (no calibration; ``calibration.method:
likelihood`` with the test) and prints, per channel, the true ROI, the posterior mean, its
error ``|mean / truth - 1|`` and its 90 % HDI width; each fit's wall time (sampling included,
compilation included) and their ratio; and the test's z (model-implied lift against the
measurement) before and after calibration; per channel its heavy-up ROI (incremental KPI per
extra unit of +50 % spend in every geo and week: what a heavy-up test measures, out of the
test's own geos and weeks), truth, mean, error and HDI width; and the tested lift itself (the
test's noise-free incremental KPI under the truth against the model's: error and 90 % HDI
width).

    python bench/calibration.py                       # 3 brands x 2 kinds, 10 geos, 2 x 500
    python bench/calibration.py --brands 1 --kinds heavy_up --chains 2 --samples 300
    python bench/calibration.py --kinds heavy_up --heterogeneous --effect-sd 0.25 \
        --geo-saturation pooled          # a model the test contradicts (issue 21's case)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from typing import Any

import numpyro

numpyro.set_host_device_count(min(4, os.cpu_count() or 1))

import numpy as np  # noqa: E402

from mixflow.analysis import hdi  # noqa: E402
from mixflow.analysis.calibration import lift_draws  # noqa: E402
from mixflow.data.lift_tests import LiftTest  # noqa: E402
from mixflow.data.loaders import dataset_from_frame  # noqa: E402
from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand  # noqa: E402
from mixflow.datasets.lift import (  # noqa: E402
    heavy_up_probe,
    simulated_go_dark_test,
    simulated_heavy_up_test,
    true_lift,
)
from mixflow.posterior.posterior import Posterior  # noqa: E402
from mixflow.spec import parse_config  # noqa: E402
from mixflow.workflow import fit_dataset  # noqa: E402

#: kind -> tested channel
KINDS = {
    "heavy_up": "tv",
    "go_dark": "search",
    "heavy_up_search": "search",
    "heavy_up_steady": "search",
}
#: kinds whose brand buys the tested channel at one steady level
STEADY_KINDS = frozenset({"heavy_up_steady"})
TEST_WEEKS = 6
FITS = ("plain", "calibrated")


def geo_brand(
    seed: int,
    n_geos: int,
    n_weeks: int,
    effect_sd: float,
    heterogeneous: bool = False,
    steady_search: bool = False,
) -> Any:
    """A geo brand with per-geo effect multipliers (tv, search, radio); ``heterogeneous``: each
    geo's half-saturation scaled by its own mean exposure (issue 21's panels);
    ``steady_search``: search bought at one steady level, nationally and across geos."""
    search = DEFAULT_CHANNELS[1]
    if steady_search:
        search = dataclasses.replace(search, spend_sd=0.05, season_swing=0.0, geo_split_sd=0.05)
    sim = BrandSimulation(
        n_weeks=n_weeks,
        n_geos=n_geos,
        channels=(DEFAULT_CHANNELS[0], search, DEFAULT_CHANNELS[4]),
        geo_effect_sd=effect_sd,
        geo_relative_saturation=heterogeneous,
    )
    return simulate_brand(sim, np.random.default_rng(seed))


def experiment(brand: Any, kind: str, relative_se: float, seed: int) -> LiftTest:
    """The kind's lift test on ``brand``: a third of the geos, 6 weeks from two thirds in."""
    data = dataset_from_frame(brand.frame, parse_config(brand.config).data)
    geos = data.geos[: max(1, data.n_geos // 3)]
    first = (2 * data.n_times) // 3
    last = first + TEST_WEEKS - 1
    rng = np.random.default_rng(seed)
    truth = brand.true_response
    if kind.startswith("heavy_up"):
        return simulated_heavy_up_test(
            truth, data, KINDS[kind], first, last, 0.5, relative_se, rng, geos
        )
    return simulated_go_dark_test(truth, data, KINDS[kind], first, last, relative_se, rng, geos)


def config(
    brand: Any,
    test: LiftTest | None,
    chains: int,
    n: int,
    seed: int,
    geo_saturation: str | None = None,
) -> Any:
    raw = dict(brand.config)
    if geo_saturation is not None:
        raw["model"] = {**raw["model"], "geo_saturation": geo_saturation}
    raw["fit"] = {"chains": chains, "warmup": n, "draws": n, "seed": seed, "progress_bar": False}
    if test is not None:
        rec = {k: v for k, v in test.to_record().items() if v is not None}
        raw["calibration"] = {"method": "likelihood", "tests": [rec]}
    return parse_config(raw)


def score(post: Posterior, seconds: float, test: LiftTest, truth: CaseTruth) -> dict[str, Any]:
    chans = post.dataset.channels
    roi = np.asarray(post.samples["roi"]).reshape(-1, len(chans))
    band = hdi(roi)
    lift = lift_draws(post, [test], 400)[:, 0]
    z = (float(lift.mean()) - test.incremental_kpi) / float(
        np.hypot(test.standard_error, lift.std())
    )
    extra = np.array([p.spend_change for p in truth.probes])
    iroi = lift_draws(post, truth.probes, 400) / extra
    iband = hdi(iroi)
    out: dict[str, Any] = {"seconds": round(seconds, 1), "channels": {}}
    for i, ch in enumerate(chans):
        roi_truth = truth.roi[ch]
        mean = float(roi[:, i].mean())
        itruth = truth.heavy_up_roi[i]
        imean = float(iroi[:, i].mean())
        out["channels"][ch] = {
            "true_roi": round(roi_truth, 4),
            "mean": round(mean, 4),
            "error": round(abs(mean / roi_truth - 1.0), 4),
            "hdi_width": round(float(band[i, 1] - band[i, 0]), 4),
            "heavy_up_roi": {
                "truth": round(itruth, 4),
                "mean": round(imean, 4),
                "error": round(abs(imean / itruth - 1.0), 4),
                "hdi_width": round(float(iband[i, 1] - iband[i, 0]), 4),
            },
        }
    lo, hi = hdi(lift[:, None])[0]
    out["model_lift"] = {
        "mean": round(float(lift.mean()), 1),
        "sd": round(float(lift.std()), 1),
        "error": round(abs(float(lift.mean()) / truth.lift - 1.0), 4),
        "hdi_width": round(float(hi - lo), 1),
    }
    out["z"] = round(z, 2)
    d = post.diagnostics
    out["rhat_max"], out["divergences"] = d.rhat_max, d.divergences
    return out


@dataclasses.dataclass(frozen=True)
class CaseTruth:
    """What a case's fits are scored against: each channel's true ROI; per channel, +50 % of
    its spend in every geo and week of the history (``probes``) and the true incremental KPI
    per extra unit spent (``heavy_up_roi``: what a heavy-up test measures, taken out of the
    test's geos and weeks to the whole panel); and the test's own noise-free lift."""

    roi: dict[str, float]
    probes: list[LiftTest]
    heavy_up_roi: list[float]
    lift: float


def case_truth(brand: Any, data: Any, test: LiftTest) -> CaseTruth:
    truth = brand.true_response
    probes = [heavy_up_probe(data, ch, 0, data.n_times - 1, 0.5) for ch in data.channels]
    return CaseTruth(
        roi=dict(brand.true_roi),
        probes=probes,
        heavy_up_roi=[true_lift(truth, p, data) / p.spend_change for p in probes],
        lift=true_lift(truth, test, data),
    )


def run_case(seed: int, kind: str, args: argparse.Namespace) -> dict[str, Any]:
    brand = geo_brand(
        seed, args.geos, args.weeks, args.effect_sd, args.heterogeneous, kind in STEADY_KINDS
    )
    test = experiment(brand, kind, args.relative_se, seed + 100)
    data = dataset_from_frame(brand.frame, parse_config(brand.config).data)
    truth = case_truth(brand, data, test)
    row: dict[str, Any] = {
        "brand": seed,
        "kind": kind,
        "channel": test.channel,
        "true_lift": round(truth.lift, 1),
        "measured": round(test.incremental_kpi, 1),
        "se": round(test.standard_error, 1),
    }
    for name, t in (("plain", None), ("calibrated", test)):
        cfg = config(brand, t, args.chains, args.samples, seed, args.geo_saturation)
        t0 = time.perf_counter()
        post = fit_dataset(cfg, data)
        row[name] = score(post, time.perf_counter() - t0, test, truth)
    row["time_ratio"] = round(row["calibrated"]["seconds"] / row["plain"]["seconds"], 2)
    return row


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for kind in sorted({r["kind"] for r in rows}):
        rs = [r for r in rows if r["kind"] == kind]
        tested, untested = [], []
        for r in rs:
            for ch, p in r["plain"]["channels"].items():
                c = r["calibrated"]["channels"][ch]
                pi, ci = p["heavy_up_roi"], c["heavy_up_roi"]
                pair = (p["error"], c["error"], p["hdi_width"], c["hdi_width"])
                pair += (pi["error"], ci["error"], pi["hdi_width"], ci["hdi_width"])
                (tested if ch == r["channel"] else untested).append(pair)
        lifts = {
            fit: [(r[fit]["model_lift"]["error"], r[fit]["model_lift"]["hdi_width"]) for r in rs]
            for fit in FITS
        }
        out[kind] = {
            "tested_error": {"plain": _med(tested, 0), "calibrated": _med(tested, 1)},
            "tested_hdi_width": {"plain": _med(tested, 2), "calibrated": _med(tested, 3)},
            "untested_error": {"plain": _med(untested, 0), "calibrated": _med(untested, 1)},
            "tested_heavy_up_roi_error": {
                "plain": _med(tested, 4),
                "calibrated": _med(tested, 5),
            },
            "tested_heavy_up_roi_hdi_width": {
                "plain": _med(tested, 6),
                "calibrated": _med(tested, 7),
            },
            "untested_heavy_up_roi_error": {
                "plain": _med(untested, 4),
                "calibrated": _med(untested, 5),
            },
            "lift_error": {fit: _med(lifts[fit], 0) for fit in FITS},
            "lift_hdi_width": {fit: _med(lifts[fit], 1) for fit in FITS},
            "time_ratio_median": round(statistics.median(r["time_ratio"] for r in rs), 2),
            "z_before": [r["plain"]["z"] for r in rs],
            "z_after": [r["calibrated"]["z"] for r in rs],
        }
    return out


def _med(pairs: list[tuple[float, ...]], i: int) -> float:
    return round(statistics.median(p[i] for p in pairs), 4) if pairs else float("nan")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--brands", default="1,2,3")
    ap.add_argument("--kinds", default="heavy_up,go_dark")
    ap.add_argument("--geos", type=int, default=10)
    ap.add_argument("--weeks", type=int, default=104)
    ap.add_argument("--effect-sd", type=float, default=0.15)
    ap.add_argument("--relative-se", type=float, default=0.15)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument(
        "--heterogeneous",
        action="store_true",
        help="per-geo half-saturation relative to each geo's exposure (issue 21's panels)",
    )
    ap.add_argument(
        "--geo-saturation",
        choices=["relative", "pooled"],
        default=None,
        help="model.geo_saturation of both fits (default: the config default, relative)",
    )
    args = ap.parse_args(argv)
    rows = []
    for seed in (int(s) for s in args.brands.split(",")):
        for kind in args.kinds.split(","):
            rows.append(run_case(seed, kind, args))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(
        json.dumps({"cases": rows, "summary": summarize(rows), "load": os.getloadavg()}, indent=1)
    )


if __name__ == "__main__":
    main()
