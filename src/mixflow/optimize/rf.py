"""Reach and frequency channels in budget optimization: the frequency each one should buy.

The optimizer moves budget between channels at the frequency its simulator plans for each R&F
channel (the historical one unless the simulator was built ``at_frequency``). The best
frequency does not depend on the budget (see :mod:`mixflow.transforms.frequency`), so it is
reported beside the allocation: per R&F channel the optimal frequency's posterior mean,
median and 90% HDI over the simulator's draws, and the frequency the plan used.
:func:`optimal_simulator` gives the simulator that plans each R&F channel at its posterior-mean
optimal frequency.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from mixflow.analysis.rf import optimal_frequency_draws
from mixflow.analysis.stats import stat
from mixflow.optimize.result import OptimizationResult
from mixflow.simulate.engine import Simulator
from mixflow.simulate.rf import historical_frequencies


def optimal_frequencies(simulator: Simulator) -> dict[str, np.ndarray]:
    """``{R&F channel: (S,) optimal frequency per draw}`` over the simulator's draws."""
    data = simulator.posterior.dataset
    if not data.rf_channels:
        return {}
    # the simulator's draws: the same even thinning of the posterior
    samples = simulator.posterior.flat_samples(simulator.n_draws)
    draws = {k: np.asarray(samples[k]) for k in ("rf_ec", "rf_slope")}
    best = optimal_frequency_draws(data, draws)
    return {ch: best[:, r] for r, ch in enumerate(data.rf_channels)}


def optimal_simulator(simulator: Simulator) -> Simulator:
    """``simulator`` planning every R&F channel at its posterior-mean optimal frequency."""
    best = optimal_frequencies(simulator)
    return simulator.at_frequency({ch: float(v.mean()) for ch, v in best.items()})


def frequency_report(simulator: Simulator) -> dict[str, dict[str, Any]]:
    """Per R&F channel ``{optimal: {mean, median, hdi_90}, planned, historical}``."""
    data = simulator.posterior.dataset
    if not data.rf_channels:
        return {}
    planned = dict(simulator.frequency)
    hist = historical_frequencies(data)
    return {
        ch: {
            "optimal": stat(draws),
            "planned": planned.get(ch, hist[ch]),
            "historical": hist[ch],
        }
        for ch, draws in optimal_frequencies(simulator).items()
    }


def with_frequency_report(result: OptimizationResult, simulator: Simulator) -> OptimizationResult:
    """``result`` with its R&F channels' frequency report, its plans at the planned
    frequencies (unchanged without R&F channels)."""
    report = frequency_report(simulator)
    if not report:
        return result
    freq = simulator.frequency
    return dataclasses.replace(
        result,
        frequency=report,
        plan=dataclasses.replace(result.plan, frequency=freq),
        current_plan=dataclasses.replace(result.current_plan, frequency=freq),
    )


def frequency_lines(report: dict[str, Any] | None) -> list[str]:
    """One line per R&F channel of a plan's ``frequency`` report (for the CLI)."""
    lines = []
    for ch, f in (report or {}).items():
        lo, hi = f["optimal"]["hdi_90"]
        lines.append(
            f"{ch}: optimal frequency {f['optimal']['mean']:.2f} (90% HDI {lo:.2f}-{hi:.2f}); "
            f"the plan buys {f['planned']:.2f} (historical {f['historical']:.2f})"
        )
    return lines


__all__ = [
    "frequency_lines",
    "frequency_report",
    "optimal_frequencies",
    "optimal_simulator",
    "with_frequency_report",
]
