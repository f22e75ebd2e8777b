"""``mixflow demo``: simulate a brand with known truth, fit it, compare, report, and optimize
next quarter's budget, scoring the recommendation under the true model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from mixflow.analysis.schema import RunSummary
from mixflow.cli.output import fmt_amount
from mixflow.data.io import atomic_write_bytes, atomic_write_text
from mixflow.datasets import BrandSimulation, SimulatedBrand, simulate_brand
from mixflow.datasets.truth import BudgetCheck, optimize_recent_budget
from mixflow.optimize.recent import RELATIVE_BOUNDS
from mixflow.simulate import Simulator


def run_demo(out: Path, seed: int = 7, quick: bool = False) -> str:
    """Run the demo into ``out``; returns the text to print."""
    from mixflow.report import render_report
    from mixflow.workflow import fit_run

    out = Path(out)
    sim = simulate_brand(BrandSimulation(), np.random.default_rng(seed))
    data_dir = out / "data"
    atomic_write_bytes(data_dir / "data.csv", sim.frame.to_csv(index=False).encode())
    cfg = dict(sim.config)
    cfg["name"] = "demo-brand"
    cfg["fit"] = {
        "chains": 4,
        "warmup": 200 if quick else 1000,
        "draws": 200 if quick else 1000,
        "seed": seed,
        "holdout_weeks": 8,
    }
    config_path = data_dir / "config.yaml"
    atomic_write_text(config_path, yaml.safe_dump(cfg, sort_keys=False))
    write_lift_tests(sim, cfg, data_dir, seed)
    run_dir = out / "run"
    posterior, analysis = fit_run(config_path, run_dir)
    report = render_report(run_dir)
    assert sim.true_response is not None  # simulate_brand always sets it
    simulator = Simulator(posterior)
    check = optimize_recent_budget(simulator, sim.true_response, seed=seed)
    write_plan(simulator, check, out / "optimize")
    return "\n".join(
        [
            _format(analysis.summary, sim.true_roi, report),
            _format_plan(check, out / "optimize"),
        ]
    )


#: the demo's go-dark lift tests: (channel, first week) for the always-on channels, whose ROI
#: the data alone leave close to the prior
LIFT_TESTS = (("search", 40), ("social", 70), ("display", 100))


def write_lift_tests(sim: SimulatedBrand, cfg: dict[str, Any], folder: Path, seed: int) -> None:
    """Write ``lift_tests.csv`` (8-week go-dark experiments on :data:`LIFT_TESTS`' channels, as
    they would have measured under the true model) and ``config_calibrated.yaml`` that fits the
    demo calibrated with them."""
    import pandas as pd

    from mixflow.data.loaders import dataset_from_frame
    from mixflow.datasets.lift import simulated_go_dark_test
    from mixflow.spec.config import parse_config

    assert sim.true_response is not None  # simulate_brand always sets it
    data = dataset_from_frame(sim.frame, parse_config(cfg).data)
    rng = np.random.default_rng(seed)
    rows = []
    for channel, first in LIFT_TESTS:
        c = data.channels.index(channel)
        # an 8-week go-dark test, starting at the first week the channel spends from ``first``
        start = first + int(np.argmax(data.spend[0, first:, c] > 0))
        end = min(start + 7, data.n_times - 1)
        test = simulated_go_dark_test(sim.true_response, data, channel, start, end, 0.15, rng)
        rows.append({k: v for k, v in test.to_record().items() if k != "measured_until"})
    atomic_write_bytes(folder / "lift_tests.csv", pd.DataFrame(rows).to_csv(index=False).encode())
    calibrated = {**cfg, "calibration": {"experiments": "lift_tests.csv"}}
    text = yaml.safe_dump(calibrated, sort_keys=False)
    atomic_write_text(folder / "config_calibrated.yaml", text)


def write_plan(simulator: Simulator, check: BudgetCheck, folder: Path) -> None:
    """Write what ``mixflow optimize`` writes (plan.json, plan.csv, plan.png) and truth.json."""
    from mixflow.optimize.curves import allocation_curves
    from mixflow.report.plan_charts import allocation_chart

    result = check.result
    curves = allocation_curves(simulator, result)
    atomic_write_text(folder / "plan.json", json.dumps(result.to_dict(), indent=2))
    atomic_write_bytes(folder / "plan.csv", result.to_frame().to_csv(index=False).encode())
    atomic_write_bytes(
        folder / "plan.png", allocation_chart(result.allocation, result.current_allocation, curves)
    )
    atomic_write_text(folder / "truth.json", json.dumps(check.truth.to_dict(), indent=2))


def _format(summary: RunSummary, true_roi: dict[str, float], report: Path) -> str:
    lines = [
        "mixflow demo: a simulated brand (156 weeks, 5 channels) with known true ROI",
        f"{'channel':<10}{'true ROI':>10}{'mean':>10}  90% HDI          covered",
    ]
    covered = 0
    for ch, v in summary.channels.items():
        lo, hi = v.roi.hdi_90
        inside = lo <= true_roi[ch] <= hi
        covered += inside
        lines.append(
            f"{ch:<10}{true_roi[ch]:>10.2f}{v.roi.mean:>10.2f}  [{lo:5.2f}, {hi:5.2f}]   "
            f"{'yes' if inside else 'no'}"
        )
    from mixflow.analysis.schema import fit_verdict

    d, f = summary.diagnostics, summary.fit
    rhat = f"{d.rhat_max:.3f}" if d.rhat_max is not None else "n/a"
    lines += [
        f"true ROI inside the 90% HDI for {covered} of {len(true_roi)} channels",
        f"fit: R² {f.r2:.3f}, MAPE {f.mape:.1%}; holdout ({f.holdout_weeks} weeks) "
        f"R² {f.holdout_r2:.3f}, MAPE {f.holdout_mape:.1%}",
        *(f"WARNING: {reason}" for reason in fit_verdict(f).reasons),
        f"diagnostics: R-hat max {rhat}, min bulk ESS {d.ess_bulk_min:.0f}, "
        f"{d.divergences} divergences, {d.fit_seconds:.1f} s"
        + ("" if d.ok else "  WARNING: " + "; ".join(d.flags)),
    ]
    weak = summary.weakly_identified()
    if weak:
        lines.append(
            f"weakly identified (ROI close to its prior): {', '.join(weak)}; "
            "data/config_calibrated.yaml refits with lift tests on "
            + ", ".join(ch for ch, _ in LIFT_TESTS)
        )
    lines.append(f"report: {report}")
    return "\n".join(lines)


def _format_plan(check: BudgetCheck, folder: Path) -> str:
    result, truth = check.result, check.truth
    lo, hi = RELATIVE_BOUNDS
    lines = [
        "",
        f"next {result.problem.horizon} weeks at the recent budget {fmt_amount(result.budget)} "
        f"(each channel {lo:g}x..{hi:g}x its share of the last 52 weeks):",
        f"{'channel':<10}{'current':>12}{'optimized':>12}{'change':>9}{'true best':>12}",
    ]
    for ch in result.channels:
        cur, opt = result.current_allocation[ch], result.allocation[ch]
        change = f"{opt / cur - 1.0:+.0%}" if cur > 0 else ""
        lines.append(
            f"{ch:<10}{fmt_amount(cur):>12}{fmt_amount(opt):>12}{change:>9}{fmt_amount(truth.optimum_allocation[ch]):>12}"
        )
    exp = result.expected.incremental_revenue["mean"]
    cur_exp = result.current_expected.incremental_revenue["mean"]
    lines += [
        f"the model expects {fmt_amount(exp)} vs {fmt_amount(cur_exp)} incremental revenue (carryover "
        f"included); P(optimized beats current) = {result.prob_beats_current:.2f}",
        f"under the true model the optimized plan earns {fmt_amount(truth.recommended)} vs "
        f"{fmt_amount(truth.current)} for the current split ({truth.uplift:+.1%}); the true optimum "
        f"earns {fmt_amount(truth.optimum)} (recommended reaches {truth.share_of_optimum:.1%} of it)",
        f"plan: {folder}",
    ]
    return "\n".join(lines)
