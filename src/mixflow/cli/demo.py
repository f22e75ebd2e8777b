"""``mixflow demo``: simulate a brand with known truth, fit it, compare, report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from mixflow.data.io import atomic_write_bytes, atomic_write_text
from mixflow.datasets import BrandSimulation, simulate_brand


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
    run_dir = out / "run"
    _, analysis = fit_run(config_path, run_dir)
    report = render_report(run_dir)
    return _format(analysis.summary, sim.true_roi, report)


def _format(summary: dict, true_roi: dict[str, float], report: Path) -> str:  # type: ignore[type-arg]
    lines = [
        "mixflow demo: a simulated brand (156 weeks, 5 channels) with known true ROI",
        f"{'channel':<10}{'true ROI':>10}{'estimate':>10}  90% HDI          covered",
    ]
    covered = 0
    for ch, v in summary["channels"].items():
        lo, hi = v["roi"]["hdi_90"]
        inside = lo <= true_roi[ch] <= hi
        covered += inside
        lines.append(
            f"{ch:<10}{true_roi[ch]:>10.2f}{v['roi']['median']:>10.2f}  [{lo:5.2f}, {hi:5.2f}]   "
            f"{'yes' if inside else 'no'}"
        )
    d, f = summary["diagnostics"], summary["fit"]
    rhat = f"{d['rhat_max']:.3f}" if d["rhat_max"] is not None else "n/a"
    lines += [
        f"true ROI inside the 90% HDI for {covered} of {len(true_roi)} channels",
        f"fit: R² {f['r2']:.3f}, MAPE {f['mape']:.1%}; holdout ({f['holdout_weeks']} weeks) "
        f"MAPE {f['holdout_mape']:.1%}",
        f"diagnostics: R-hat max {rhat}, min bulk ESS {d['ess_bulk_min']:.0f}, "
        f"{d['divergences']} divergences, {d['fit_seconds']:.1f} s"
        + ("" if d["ok"] else "  WARNING: " + "; ".join(d["flags"])),
        f"report: {report}",
    ]
    return "\n".join(lines)
