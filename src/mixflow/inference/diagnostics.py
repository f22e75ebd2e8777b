"""Convergence diagnostics with ArviZ: R-hat, bulk/tail ESS, divergences, steps per draw."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

RHAT_MAX = 1.01
ESS_MIN = 400.0
DIVERGENCE_MAX = 0.005


@dataclass(frozen=True)
class Diagnostics:
    """Sampler health. ``flags`` lists every threshold that was crossed (empty when healthy)."""

    rhat_max: float | None
    ess_bulk_min: float | None
    ess_tail_min: float | None
    divergences: int
    divergence_rate: float
    steps_per_draw: float | None
    fit_seconds: float
    method: str
    chains: int
    draws: int
    worst_parameter: str | None = None
    flags: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.flags

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Diagnostics:
        fields = {k: v for k, v in d.items() if k != "ok"}
        fields["flags"] = tuple(fields.get("flags", ()))
        return cls(**fields)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["flags"] = list(self.flags)
        d["ok"] = self.ok
        return d


def _flat_min(dataset: Any) -> tuple[float, str | None]:
    best, where = float("inf"), None
    for name, var in dataset.data_vars.items():
        vals = np.asarray(var.values, dtype=float)
        if vals.size == 0 or np.all(np.isnan(vals)):
            continue
        v = float(np.nanmin(vals))
        if v < best:
            best, where = v, str(name)
    return best, where


def _flat_max(dataset: Any) -> tuple[float, str | None]:
    best, where = -float("inf"), None
    for name, var in dataset.data_vars.items():
        vals = np.asarray(var.values, dtype=float)
        if vals.size == 0 or np.all(np.isnan(vals)):
            continue
        v = float(np.nanmax(vals))
        if v > best:
            best, where = v, str(name)
    return best, where


def compute_diagnostics(
    samples: dict[str, np.ndarray],
    diverging: np.ndarray | None,
    num_steps: np.ndarray | None,
    fit_seconds: float,
    method: str,
) -> Diagnostics:
    """Diagnostics of ``samples`` (each ``(chains, draws, ...)``)."""
    import arviz as az

    first = next(iter(samples.values()))
    chains, draws = int(first.shape[0]), int(first.shape[1])
    n_div = int(np.sum(diverging)) if diverging is not None else 0
    rate = n_div / max(chains * draws, 1)
    steps = float(np.mean(num_steps)) if num_steps is not None else None
    if method != "nuts" or draws < 4:
        return Diagnostics(None, None, None, n_div, rate, steps, fit_seconds, method, chains, draws)
    ds = az.convert_to_dataset(samples)
    rhat, worst = _flat_max(az.rhat(ds))
    ess_bulk, worst_ess = _flat_min(az.ess(ds, method="bulk"))
    ess_tail, _ = _flat_min(az.ess(ds, method="tail"))
    flags = []
    if chains > 1 and rhat > RHAT_MAX:
        flags.append(f"R-hat {rhat:.3f} > {RHAT_MAX} (worst: {worst})")
    if ess_bulk < ESS_MIN:
        flags.append(f"bulk ESS {ess_bulk:.0f} < {ESS_MIN:.0f} (worst: {worst_ess})")
    if rate > DIVERGENCE_MAX:
        flags.append(f"{n_div} divergent transitions ({rate:.1%} > {DIVERGENCE_MAX:.1%})")
    return Diagnostics(
        rhat_max=rhat if chains > 1 else None,
        ess_bulk_min=ess_bulk,
        ess_tail_min=ess_tail,
        divergences=n_div,
        divergence_rate=rate,
        steps_per_draw=steps,
        fit_seconds=fit_seconds,
        method=method,
        chains=chains,
        draws=draws,
        worst_parameter=worst,
        flags=tuple(flags),
    )
