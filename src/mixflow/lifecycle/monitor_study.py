"""The simulation study behind the monitor's stated false-alarm and detection rates.

A brand from :func:`mixflow.datasets.simulate_brand` is simulated for ``train + weeks`` weeks and
fitted on the first ``train``. Its monitored window is then replayed many times:

- **same process**: the window's noiseless KPI (the same simulation with ``noise_sd = 0``: the
  noise is the generator's last random draw, so everything else is identical) plus fresh noise
  of the simulator's own size, as new weeks from the process the model was fitted on;
- **autocorrelated** (``residual_ar > 0``): the noise, in the training weeks and the replays, is
  an AR(1) of that coefficient with the simulator's marginal sd; replays continue it from the
  last training week's noise;
- **broken**: the same with the largest channel's (by true contribution) effect set to zero for
  the whole window, carryover of earlier spend included.

The spend, controls and events of a brand's window are those of its one simulation, so the
predictive trajectories are computed once per brand and every replay is pure scoring. Each
replay is scored on the whole window (the rates) and on its first 1, 2, ... weeks (the
detection delay: the first week a weekly run of ``mixflow monitor`` would have flagged it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from mixflow.data.dataset import MMMDataset
from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import BrandSimulation, simulate_brand
from mixflow.lifecycle.monitor import (
    N_TRAJECTORIES,
    Predictive,
    load_actuals,
    predictive,
    score,
)
from mixflow.lifecycle.monitor_checks import ar1_noise
from mixflow.lifecycle.monitor_schema import CheckName, MonitorPolicy, MonitorResult, MonitorStatus
from mixflow.posterior.posterior import Posterior
from mixflow.spec import parse_config
from mixflow.workflow import fit_dataset

#: the short NUTS fit of the study (one chain): enough for honest posterior spread on these
#: brands at a fraction of the default 4 x 1,000 cost
STUDY_FIT: dict[str, Any] = {
    "method": "nuts",
    "chains": 1,
    "warmup": 400,
    "draws": 400,
    "seed": 1,
    "progress_bar": False,
}


@dataclass(frozen=True, eq=False)
class StudyBrand:
    """A fitted brand and its monitored window.

    Attributes:
        seed: the simulation's seed.
        posterior: the fit on the training weeks.
        actuals: the window as loaded (its KPI is the noisy simulation's).
        noiseless, broken: ``(G, H)`` the window's KPI without noise, and without noise and
            without the largest channel's effect.
        noise_sd: ``(G,)`` the simulator's noise sd per geo (KPI units).
        residual_ar: the AR(1) coefficient of the noise (0: independent weeks).
        last_noise: ``(G,)`` the noise of the last training week.
        largest: the channel whose effect ``broken`` removes.
        predictive: the window's predictive trajectories.
    """

    seed: int
    posterior: Posterior
    actuals: MMMDataset
    noiseless: np.ndarray
    broken: np.ndarray
    noise_sd: np.ndarray
    residual_ar: float
    last_noise: np.ndarray
    largest: str
    predictive: Predictive

    def replay(self, broken: bool, n: int, rng: np.random.Generator) -> np.ndarray:
        """``(n, G, H)`` replays of the window (``broken``: without the largest channel)."""
        kpi = self.broken if broken else self.noiseless
        sd = np.broadcast_to(self.noise_sd, (n, len(self.noise_sd)))
        start = self.last_noise if self.residual_ar > 0 else None
        return kpi[None] + ar1_noise(sd, self.residual_ar, kpi.shape[1], rng, start)


def prepare_brand(
    seed: int,
    train: int = 104,
    weeks: int = 26,
    fit: dict[str, Any] | None = None,
    sim: BrandSimulation | None = None,
    residual_ar: float = 0.0,
    n_trajectories: int = N_TRAJECTORIES,
) -> StudyBrand:
    """Simulate brand ``seed`` (``sim``, default :class:`BrandSimulation` with ``train +
    weeks`` weeks; with ``residual_ar`` its noise replaced by an AR(1) of the same marginal
    sd), fit it on the first ``train`` weeks with ``fit`` (default :data:`STUDY_FIT`) and
    compute its window's predictive trajectories."""
    sim = replace(sim or BrandSimulation(), n_weeks=train + weeks)
    brand = simulate_brand(sim, np.random.default_rng(seed))
    quiet = simulate_brand(replace(sim, noise_sd=0.0), np.random.default_rng(seed))
    largest = max(brand.true_contribution, key=lambda ch: brand.true_contribution[ch])
    off = tuple(replace(c, effect_share=0.0) if c.name == largest else c for c in sim.channels)
    dark = simulate_brand(replace(sim, noise_sd=0.0, channels=off), np.random.default_rng(seed))
    frame = brand.frame
    g = sim.n_geos
    pop = np.asarray(frame["population"], np.float64)[:: sim.n_weeks] if g > 1 else np.ones(1)
    noise_sd = sim.noise_sd * sim.base_weekly_kpi * pop / pop.sum()
    noise = np.zeros((g, sim.n_weeks))
    if residual_ar > 0:
        # rows are geo-major (every week of geo 0, then geo 1, ...), as the simulator writes
        noise = ar1_noise(noise_sd[None], residual_ar, sim.n_weeks, np.random.default_rng(seed))[0]
        frame = frame.copy()
        frame[sim.kpi_name] = quiet.frame[sim.kpi_name].to_numpy() + noise.reshape(-1)
    config = parse_config(dict(brand.config) | {"fit": fit or STUDY_FIT})
    cutoff = sorted(frame["date"].unique())[train]
    rows = frame["date"] < cutoff
    posterior = fit_dataset(config, dataset_from_frame(frame[rows], config.data))
    actuals = load_actuals(frame[~rows], posterior)
    return StudyBrand(
        seed=seed,
        posterior=posterior,
        actuals=actuals,
        noiseless=load_actuals(quiet.frame[~rows], posterior).kpi,
        broken=load_actuals(dark.frame[~rows], posterior).kpi,
        noise_sd=noise_sd,
        residual_ar=residual_ar,
        last_noise=noise[:, train - 1],
        largest=largest,
        predictive=predictive(posterior, actuals, seed=seed),
    )


def score_replay(
    brand: StudyBrand, kpi: np.ndarray, policy: MonitorPolicy, weeks: int | None = None
) -> MonitorResult:
    """Score one replay ``kpi (G, H)`` of ``brand``'s window on its first ``weeks`` weeks."""
    h = weeks or kpi.shape[1]
    a, t = brand.actuals, brand.posterior.dataset
    return score(
        kpi[:, :h],
        brand.predictive.head(h),
        t.spend,
        a.spend[:, :h],
        t.channels,
        tuple(str(d) for d in a.dates[:h]),
        t.dates,
        policy,
    )


@dataclass(frozen=True)
class Outcome:
    """One replay: the whole window's model status and the status of each check, whether the
    spend left the training range, and the first week (1-based) a run on the first weeks would
    have warned (or alerted) / alerted (``None``: not within the window)."""

    status: MonitorStatus
    checks: dict[CheckName, MonitorStatus]
    spend_warning: bool
    first_warn: int | None
    first_alert: int | None
    #: whether the first weeks were scored too (``first_warn``/``first_alert`` are meaningful)
    sequential: bool = False
    #: whether the former rule (a CUSUM threshold of 4 sds whatever the window) would alert
    fixed_cusum_alert: bool = False


def outcome(
    brand: StudyBrand, kpi: np.ndarray, policy: MonitorPolicy, sequential: bool = True
) -> Outcome:
    """Score a replay on the whole window and, with ``sequential``, on every shorter prefix."""
    full = score_replay(brand, kpi, policy)
    first_warn = first_alert = None
    if sequential:
        for h in range(1, kpi.shape[1] + 1):
            status = (
                full.model_status
                if h == kpi.shape[1]
                else score_replay(brand, kpi, policy, h).model_status
            )
            if first_warn is None and status is not MonitorStatus.ok:
                first_warn = h
            if status is MonitorStatus.alert:
                first_alert = h
                break
    return Outcome(
        status=full.model_status,
        checks={c.name: c.status for c in full.checks},
        spend_warning=any(f.check is CheckName.spend_range for f in full.findings),
        first_warn=first_warn,
        first_alert=first_alert,
        sequential=sequential,
        fixed_cusum_alert=bool(
            max(full.series("cusum_upper").max(), full.series("cusum_lower").max()) > 4.0
        ),
    )


def rates(outcomes: list[Outcome]) -> dict[str, Any]:
    """Shares of replays (whole window): ``alert``, ``warn_or_alert`` (model checks only),
    ``spend_warning`` (counted apart), per check, and, where computed, the share flagged by
    some weekly run within the window and the median first week."""
    n = len(outcomes)

    def share(pred: Any) -> float:
        return float(sum(1 for o in outcomes if pred(o)) / n) if n else float("nan")

    per_check = {
        name.value: {
            "warn_or_alert": share(lambda o, c=name: o.checks[c] is not MonitorStatus.ok),
            "alert": share(lambda o, c=name: o.checks[c] is MonitorStatus.alert),
        }
        for name in (CheckName.bias, CheckName.cusum, CheckName.coverage)
    }
    seq = [o for o in outcomes if o.sequential]
    warn_weeks = [o.first_warn if o.first_warn is not None else np.inf for o in seq]
    alert_weeks = [o.first_alert if o.first_alert is not None else np.inf for o in seq]

    def seq_share(pred: Any) -> float | None:
        return float(sum(1 for o in seq if pred(o)) / len(seq)) if seq else None

    return {
        "windows": n,
        "alert": share(lambda o: o.status is MonitorStatus.alert),
        "warn_or_alert": share(lambda o: o.status is not MonitorStatus.ok),
        "warn_only": share(lambda o: o.status is MonitorStatus.warn),
        "spend_warning": share(lambda o: o.spend_warning),
        "per_check": per_check,
        "sequential_windows": len(seq),
        "any_weekly_run_warn_or_alert": seq_share(lambda o: o.first_warn is not None),
        "any_weekly_run_alert": seq_share(lambda o: o.first_alert is not None),
        "median_weeks_to_warn": _median(warn_weeks),
        "median_weeks_to_alert": _median(alert_weeks),
        "former_cusum_rule_alert": share(lambda o: o.fixed_cusum_alert),
    }


def _median(values: list[float]) -> float | None:
    m = float(np.median(values)) if values else np.inf
    return m if np.isfinite(m) else None


__all__ = [
    "STUDY_FIT",
    "Outcome",
    "StudyBrand",
    "outcome",
    "prepare_brand",
    "rates",
    "score_replay",
]
