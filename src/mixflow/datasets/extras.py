"""Organic media, a promotion and a drifting baseline, added to a simulated brand.

:func:`add_extras` takes a :func:`~mixflow.datasets.simulate.simulate_brand` result and adds,
each with its known truth:

- organic channels (exposure without spend): campaigns of a few weeks between pauses, through a
  geometric adstock and a Hill curve of slope 1 (the model's organic family), each adding
  ``effect_share`` of the baseline KPI in an average week;
- a promotion: a 0/1 flag on about ``promo_share`` of the weeks (runs of 1-3 weeks), lifting
  the KPI by ``promo_lift`` of the baseline in those weeks; its baseline value is 0;
- a drifting baseline: the baseline KPI times ``1 + drift(t)``, ``drift`` a smooth curve
  (a level shift of ``drift_amplitude`` at a random time plus a slow wave of half that size),
  the kind of movement a linear trend cannot follow.

Truth is in KPI units (the simulated KPI is revenue, so also currency): organic contributions
over the data window plus their carryover tail (as the analysis counts them), the promotion's
effect over the data window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from mixflow.datasets.simulate import SimulatedBrand
from mixflow.errors import SpecError


@dataclass(frozen=True)
class OrganicTruth:
    """A simulated organic channel."""

    name: str
    #: share of the baseline KPI this channel adds in an average week
    effect_share: float = 0.06
    retention: float = 0.3
    half_saturation: float = 1.0
    weekly_exposure: float = 50_000.0


@dataclass(frozen=True)
class BrandExtras:
    """What to add (all optional: an empty ``organic``, ``promo_lift = 0``, ``drift_amplitude
    = 0`` add nothing)."""

    organic: tuple[OrganicTruth, ...] = (OrganicTruth("email"),)
    promo_lift: float = 0.08
    promo_share: float = 0.2
    drift_amplitude: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.promo_share < 1.0:
            raise SpecError(f"promo_share must be in [0, 1), got {self.promo_share}")
        if self.drift_amplitude < 0:
            raise SpecError(f"drift_amplitude must be >= 0, got {self.drift_amplitude}")


@dataclass(frozen=True)
class ExtrasTruth:
    """The truth behind :func:`add_extras`: per organic channel its contribution (KPI, data
    window plus carryover), the promotion's total effect over the data window and the drift
    ``(T,)`` (relative to the baseline)."""

    organic_contribution: dict[str, float] = field(default_factory=dict)
    promo_effect: float = 0.0
    drift: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _drift(n: int, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """``(n,)`` a smooth drift: a level shift at a random time in the middle half plus a slow
    wave (period 1-1.5 times the window), both of size ``amplitude``-ish."""
    t = np.arange(n, dtype=np.float64)
    t0 = rng.uniform(0.3, 0.7) * n
    shift = amplitude * np.tanh((t - t0) / 10.0) * rng.choice([-1.0, 1.0])
    period = rng.uniform(1.0, 1.5) * n
    wave = 0.5 * amplitude * np.sin(2 * math.pi * t / period + rng.uniform(0, 2 * math.pi))
    return shift + wave


def _organic_exposure(o: OrganicTruth, n: int, rng: np.random.Generator) -> np.ndarray:
    """``(n,)`` exposure in campaigns: runs of 2-6 active weeks (level varying 35% week to
    week) between pauses of 1-4 weeks. Pulsed, like the flighted paid channels: an always-on
    organic series is as prior-bound as an always-on paid one (docs/model.md)."""
    on = np.zeros(n, dtype=bool)
    t = int(rng.integers(0, 3))
    while t < n:
        run = int(rng.integers(2, 7))
        on[t : t + run] = True
        t += run + int(rng.integers(1, 5))
    return np.where(on, o.weekly_exposure * rng.lognormal(0.0, 0.35, n), 0.0)


def _promo_flag(n: int, share: float, rng: np.random.Generator) -> np.ndarray:
    flag = np.zeros(n)
    t = int(rng.integers(0, 8))
    mean_gap = 2.0 / max(share, 1e-9)
    while t < n and share > 0:
        run = int(rng.integers(1, 4))
        flag[t : t + run] = 1.0
        t += run + int(rng.integers(2, max(int(2 * mean_gap) - 2, 3)))
    return flag


def add_extras(
    brand: SimulatedBrand, extras: BrandExtras, rng: np.random.Generator
) -> tuple[SimulatedBrand, ExtrasTruth]:
    """``brand`` with organic channels, a promotion and a drifting baseline added (see the
    module docstring), and their truth."""
    frame = brand.frame.copy()
    cfg: dict[str, Any] = {**brand.config, "data": dict(brand.config["data"])}
    kpi_col = cfg["data"]["kpi_column"]
    geo_col = cfg["data"].get("geo_column")
    geos = list(pd.unique(frame[geo_col])) if geo_col else ["national"]
    g = len(geos)
    n = len(frame) // g
    lag = int(cfg["model"]["max_lag"])
    kpi = frame[kpi_col].to_numpy(dtype=np.float64).reshape(g, n)
    pop = frame["population"].to_numpy().reshape(g, n)[:, 0] if geo_col else np.ones(1)
    pop_share = pop / pop.sum()
    # the baseline level per geo and week the extras are relative to (media left out)
    level = kpi.mean(axis=1, keepdims=True) * np.ones((1, n))  # (G, T)

    drift = _drift(n, extras.drift_amplitude, rng) if extras.drift_amplitude else np.zeros(n)
    added = level * drift[None, :]

    organic_truth: dict[str, float] = {}
    organic_cfg = []
    for o in extras.organic:
        national = _organic_exposure(o, n, rng)
        split = pop_share[:, None] * rng.lognormal(0.0, 0.1, (g, n))
        split = split / split.sum(axis=0, keepdims=True)
        exposure = national[None, :] * split  # (G, T)
        pc = exposure / pop[:, None]
        x = np.concatenate([pc / pc[pc > 0].mean(), np.zeros((g, lag))], axis=1)
        w = o.retention ** np.arange(lag + 1)
        w = w / w.sum()
        xa = np.stack([np.convolve(x[i], w)[: n + lag] for i in range(g)])
        s = xa / (xa + o.half_saturation)
        beta = o.effect_share * level.mean(axis=1) / s[:, :n].mean(axis=1)  # (G,)
        contrib = beta[:, None] * s  # (G, T + L)
        added = added + contrib[:, :n]
        organic_truth[o.name] = float(contrib.sum())
        col = f"{o.name}_organic"
        frame[col] = exposure.reshape(-1)
        organic_cfg.append({"name": o.name, "exposure_column": col})

    promo_effect = 0.0
    if extras.promo_lift:
        flag = _promo_flag(n, extras.promo_share, rng)
        effect = extras.promo_lift * level * flag[None, :]
        added = added + effect
        promo_effect = float(effect.sum())
        frame["promo"] = np.tile(flag, g)
        cfg["data"]["treatments"] = [{"name": "promo", "column": "promo", "baseline": 0.0}]
    if organic_cfg:
        cfg["data"]["organic"] = organic_cfg

    frame[kpi_col] = (kpi + added).reshape(-1)
    truth = ExtrasTruth(organic_truth, promo_effect, drift)
    return replace(brand, frame=frame, config=cfg), truth


__all__ = ["BrandExtras", "ExtrasTruth", "OrganicTruth", "add_extras"]
