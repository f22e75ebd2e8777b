"""Monitor a fitted model on new weeks of actuals: predictive accuracy, drift and input shift.

The new weeks are scored with the model's posterior predictive: the actual spend, controls and
events are simulated forward from the end of the training data (carryover of the last weeks
included), and Normal noise with each draw's ``sigma`` is added. From that come

- accuracy: coverage of the central predictive interval (share of geo-weeks inside), MAPE and
  bias of the predictive mean;
- drift over time: a two-sided CUSUM on standardized weekly residuals of the KPI summed over
  geos, ``z_t = (actual_t - mean_t) / sd_t``, with ``S+_t = max(0, S+_{t-1} + z_t - k)`` and
  ``S-_t = max(0, S-_{t-1} - z_t - k)``; it fires in the first week either path exceeds ``h``.
  With ``k = 0.5`` and ``h = 4`` a sustained shift of one predictive sd is flagged after about
  8 weeks, while a calibrated model fires by chance about once in 170 weeks;
- input drift: weekly spend per channel (summed over geos) above its historical maximum
  (extrapolation), and the population stability index (PSI) of the new weeks' weekly spend
  against the training weeks, on quantile bins of the training spend.

Everything here is pure given the posterior and the actuals; the CLI adds files and MLflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import AllowInfNan, StrictFloat, StrictInt, model_validator

from mixflow.data.dataset import MMMDataset
from mixflow.data.loaders import dataset_from_frame
from mixflow.data.validation import min_periods
from mixflow.errors import DataError
from mixflow.lifecycle.policy_files import read_mapping
from mixflow.posterior.posterior import Posterior
from mixflow.schema_errors import CheckedModel, validate_mapping
from mixflow.simulate.engine import Simulator
from mixflow.simulate.plan import Plan

if TYPE_CHECKING:
    from mixflow.lifecycle.settings import LifecycleSettings

StrictFiniteFloat = Annotated[StrictFloat | StrictInt, AllowInfNan(False)]

#: fewest predictive samples scored; fewer posterior draws (MAP has one) are replicated
MIN_PREDICTIVE = 200


class MonitorStatus(StrEnum):
    """Overall verdict; ``exit_code`` is what ``mixflow monitor`` exits with."""

    ok = "ok"
    warn = "warn"
    alert = "alert"

    @property
    def exit_code(self) -> int:
        return {"ok": 0, "warn": 1, "alert": 3}[self.value]

    @property
    def rank(self) -> int:
        return {"ok": 0, "warn": 1, "alert": 2}[self.value]


class MonitorPolicy(CheckedModel):
    """Thresholds of the monitor (defaults in brackets).

    Attributes:
        interval: central predictive interval whose coverage is checked [0.9].
        coverage_warn: warn when coverage falls below this [0.7].
        coverage_alert: alert when coverage falls below this [0.5].
        mape_ratio_warn: warn when MAPE exceeds this multiple of the training MAPE [2.0].
        cusum_k: CUSUM allowance (reference value) in predictive sds [0.5].
        cusum_h: CUSUM decision threshold in predictive sds; crossing it alerts [4.0].
        psi_bins: most quantile bins of training weekly spend for the PSI [10].
        psi_warn: warn when a channel's PSI exceeds this [0.1].
        psi_alert: alert when a channel's PSI exceeds this [0.25].
        extrapolation_warn: warn when weekly spend exceeds ``this x`` the historical max [1.0].
    """

    schema_source: ClassVar[str] = "monitor policy"

    interval: StrictFiniteFloat = 0.9
    coverage_warn: StrictFiniteFloat = 0.7
    coverage_alert: StrictFiniteFloat = 0.5
    mape_ratio_warn: StrictFiniteFloat = 2.0
    cusum_k: StrictFiniteFloat = 0.5
    cusum_h: StrictFiniteFloat = 4.0
    psi_bins: StrictInt = 10
    psi_warn: StrictFiniteFloat = 0.1
    psi_alert: StrictFiniteFloat = 0.25
    extrapolation_warn: StrictFiniteFloat = 1.0

    @model_validator(mode="after")
    def _check(self) -> MonitorPolicy:
        if not 0.0 < self.interval < 1.0:
            raise ValueError(f"interval is {self.interval}; expected 0 < x < 1")
        if not 0.0 <= self.coverage_alert <= self.coverage_warn <= 1.0:
            raise ValueError(
                f"coverage_alert {self.coverage_alert} and coverage_warn "
                f"{self.coverage_warn} must satisfy 0 <= alert <= warn <= 1"
            )
        if not 0.0 < self.psi_warn <= self.psi_alert:
            raise ValueError(
                f"psi_warn {self.psi_warn} and psi_alert {self.psi_alert} must "
                f"satisfy 0 < warn <= alert"
            )
        for name in ("mape_ratio_warn", "cusum_h", "extrapolation_warn"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.cusum_k < 0:
            raise ValueError(f"cusum_k must be >= 0, got {self.cusum_k}")
        if self.psi_bins < 2:
            raise ValueError(f"psi_bins must be >= 2, got {self.psi_bins}")
        return self


def monitor_policy_from_dict(data: Mapping[str, Any]) -> MonitorPolicy:
    """A policy from a mapping (e.g. parsed YAML) whose keys are :class:`MonitorPolicy`
    fields; unknown keys and wrong types raise :class:`SpecError`."""
    return validate_mapping(MonitorPolicy, data, "monitor policy")


def load_monitor_policy(path: Path) -> MonitorPolicy:
    """Read a :class:`MonitorPolicy` from a YAML file (missing keys keep their defaults)."""
    # read_mapping refuses a FIFO or device and names a YAML error without echoing the file
    return monitor_policy_from_dict(read_mapping(path, "monitor policy"))


@dataclass(frozen=True)
class Finding:
    """One reason behind the status."""

    status: MonitorStatus
    check: str
    message: str


@dataclass(frozen=True)
class Extrapolation:
    """A week whose spend on ``channel`` (summed over geos) exceeds the historical maximum."""

    channel: str
    week: str
    spend: float
    historical_max: float

    @property
    def ratio(self) -> float:
        return self.spend / self.historical_max if self.historical_max > 0 else float("inf")


@dataclass(frozen=True)
class CusumResult:
    """Two-sided CUSUM paths ``(H,)`` and the first week index where one exceeds ``h``."""

    upper: np.ndarray
    lower: np.ndarray
    fired_at: int | None


@dataclass(frozen=True, eq=False)
class MonitorResult:
    """The monitor's verdict and the weekly series behind it (KPI summed over geos).

    Attributes:
        dates: ``(H,)`` ISO dates of the monitored weeks.
        actual, predicted, lower, upper: ``(H,)`` actual KPI, predictive mean and interval.
        z: ``(H,)`` standardized residuals ``(actual - mean) / sd``.
        cusum: the CUSUM on ``z``.
        psi: PSI of weekly spend per channel.
    """

    status: MonitorStatus
    findings: tuple[Finding, ...]
    policy: MonitorPolicy
    dates: tuple[str, ...]
    actual: np.ndarray
    predicted: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    z: np.ndarray
    cusum: CusumResult
    coverage: float
    mape: float
    bias: float
    training_mape: float | None
    psi: dict[str, float]
    extrapolations: tuple[Extrapolation, ...]
    n_draws: int
    n_geos: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cusum_fired_week(self) -> str | None:
        i = self.cusum.fired_at
        return None if i is None else self.dates[i]

    def metrics(self) -> dict[str, float]:
        """Flat numeric metrics (for MLflow): names prefixed ``monitor.``."""
        level = round(self.policy.interval * 100)
        out = {
            f"monitor.coverage_{level}": self.coverage,
            "monitor.mape": self.mape,
            "monitor.bias": self.bias,
            "monitor.cusum_max": float(max(self.cusum.upper.max(), self.cusum.lower.max())),
            "monitor.status_code": float(self.status.exit_code),
            "monitor.n_extrapolations": float(len(self.extrapolations)),
        }
        out.update({f"monitor.psi.{ch}": v for ch, v in self.psi.items()})
        return {k: v for k, v in out.items() if np.isfinite(v)}

    def to_dict(self) -> dict[str, Any]:
        def num(x: float | None) -> float | None:
            return None if x is None or not np.isfinite(x) else float(x)

        return {
            "status": self.status.value,
            "findings": [
                {"status": f.status.value, "check": f.check, "message": f.message}
                for f in self.findings
            ],
            "metrics": {
                "coverage": num(self.coverage),
                "interval": self.policy.interval,
                "mape": num(self.mape),
                "training_mape": num(self.training_mape),
                "bias": num(self.bias),
                "cusum_fired_week": self.cusum_fired_week,
                "psi": {k: num(v) for k, v in self.psi.items()},
            },
            "extrapolations": [asdict(e) | {"ratio": num(e.ratio)} for e in self.extrapolations],
            "weeks": [
                {
                    "date": d,
                    "actual": float(a),
                    "predicted": float(p),
                    "lower": float(lo),
                    "upper": float(hi),
                    "z": float(zz),
                    "cusum_upper": float(cu),
                    "cusum_lower": float(cl),
                }
                for d, a, p, lo, hi, zz, cu, cl in zip(
                    self.dates,
                    self.actual,
                    self.predicted,
                    self.lower,
                    self.upper,
                    self.z,
                    self.cusum.upper,
                    self.cusum.lower,
                    strict=True,
                )
            ],
            "policy": self.policy.model_dump(),
            "n_draws": self.n_draws,
            "n_geos": self.n_geos,
        }


# ------------------------------------------------------------------------------ pure scoring
def cusum(z: np.ndarray, k: float, h: float) -> CusumResult:
    """Two-sided tabular CUSUM of standardized values ``z`` ``(H,)`` (allowance ``k``,
    threshold ``h``, both in sds)."""
    up = np.zeros(len(z))
    lo = np.zeros(len(z))
    s_up = s_lo = 0.0
    fired: int | None = None
    for t, value in enumerate(np.asarray(z, dtype=np.float64)):
        s_up = max(0.0, s_up + value - k)
        s_lo = max(0.0, s_lo - value - k)
        up[t], lo[t] = s_up, s_lo
        if fired is None and max(s_up, s_lo) > h:
            fired = t
    return CusumResult(upper=up, lower=lo, fired_at=fired)


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """Population stability index of ``current`` against ``reference`` (1-D samples).

    Bins are quantiles of ``reference`` (open-ended outer bins; ties, e.g. many zero-spend
    weeks, merge bins), at most one bin per 5 current values so that a few new weeks are not
    spread over mostly empty bins. Counts get half a count of smoothing, and the PSI's
    expectation under no shift, ``(B - 1)(1/n + 1/m)`` for ``B`` bins and sample sizes ``n``,
    ``m``, is subtracted (floored at 0): without it 20 new weeks on 10 bins read about 0.5.
    """
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    n_bins = min(bins, max(2, len(cur) // 5))
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, n_bins + 1))[1:-1])
    ref_n = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1)
    cur_n = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1)
    p = (ref_n + 0.5) / (ref_n.sum() + 0.5 * len(ref_n))
    q = (cur_n + 0.5) / (cur_n.sum() + 0.5 * len(cur_n))
    raw = float(np.sum((q - p) * np.log(q / p)))
    return max(0.0, raw - len(edges) * (1.0 / len(cur) + 1.0 / len(ref)))


def find_extrapolations(
    history: np.ndarray,
    new: np.ndarray,
    channels: tuple[str, ...],
    dates: tuple[str, ...],
    factor: float = 1.0,
) -> tuple[Extrapolation, ...]:
    """Weeks where weekly spend ``new (H, C)`` exceeds ``factor x`` the max of ``history
    (T, C)`` (both summed over geos, currency)."""
    hist_max = history.max(axis=0)
    found = []
    for t, c in np.argwhere(new > factor * hist_max[None, :]):
        found.append(Extrapolation(channels[c], dates[t], float(new[t, c]), float(hist_max[c])))
    return tuple(found)


def predictive_draws(
    expected: np.ndarray, sigma: np.ndarray, kpi_unit: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """``(S, G, H)`` posterior predictive KPI: ``expected (S, G, H)`` plus Normal noise with
    each draw's ``sigma`` (``(S,)`` or ``(S, G)``, scaled units) times ``kpi_unit (G,)``."""
    s, g, _ = expected.shape
    sd = np.broadcast_to(np.asarray(sigma, np.float64).reshape(s, -1), (s, g)) * kpi_unit[None]
    return expected + rng.standard_normal(expected.shape) * sd[:, :, None]


def score(
    actual: np.ndarray,
    draws: np.ndarray,
    history_spend: np.ndarray,
    new_spend: np.ndarray,
    channels: tuple[str, ...],
    dates: tuple[str, ...],
    policy: MonitorPolicy,
    training_mape: float | None = None,
) -> MonitorResult:
    """Score actual KPI ``(G, H)`` against predictive draws ``(S, G, H)`` and the new spend
    ``(G, H, C)`` against the training spend ``(G, T, C)``."""
    a = 0.5 * (1.0 - policy.interval)
    lo_g, hi_g = np.quantile(draws, [a, 1.0 - a], axis=0)
    coverage = float(np.mean((actual >= lo_g) & (actual <= hi_g)))
    mean_g = draws.mean(axis=0)
    nz = actual != 0
    mape = float(np.mean(np.abs((actual - mean_g)[nz] / actual[nz]))) if nz.any() else np.nan
    bias = float(np.mean(actual - mean_g) / np.mean(actual)) if np.mean(actual) else np.nan
    total = draws.sum(axis=1)  # (S, H)
    act_t = actual.sum(axis=0)
    pred_t = total.mean(axis=0)
    sd_t = np.maximum(total.std(axis=0, ddof=1), 1e-12)
    z = (act_t - pred_t) / sd_t
    cs = cusum(z, policy.cusum_k, policy.cusum_h)
    lo_t, hi_t = np.quantile(total, [a, 1.0 - a], axis=0)
    hist_w = history_spend.sum(axis=0)  # (T, C)
    new_w = new_spend.sum(axis=0)  # (H, C)
    psis = {ch: psi(hist_w[:, c], new_w[:, c], policy.psi_bins) for c, ch in enumerate(channels)}
    extra = find_extrapolations(hist_w, new_w, channels, dates, policy.extrapolation_warn)
    findings = _findings(policy, coverage, mape, training_mape, cs, dates, psis, extra)
    status = max((f.status for f in findings), key=lambda s: s.rank, default=MonitorStatus.ok)
    return MonitorResult(
        status=status,
        findings=findings,
        policy=policy,
        dates=dates,
        actual=act_t,
        predicted=pred_t,
        lower=lo_t,
        upper=hi_t,
        z=z,
        cusum=cs,
        coverage=coverage,
        mape=mape,
        bias=bias,
        training_mape=training_mape,
        psi=psis,
        extrapolations=extra,
        n_draws=int(draws.shape[0]),
        n_geos=int(draws.shape[1]),
    )


def _findings(
    policy: MonitorPolicy,
    coverage: float,
    mape: float,
    training_mape: float | None,
    cs: CusumResult,
    dates: tuple[str, ...],
    psis: dict[str, float],
    extra: tuple[Extrapolation, ...],
) -> tuple[Finding, ...]:
    warn, alert = MonitorStatus.warn, MonitorStatus.alert
    out: list[Finding] = []
    level = f"{policy.interval:.0%}"
    if coverage < policy.coverage_alert:
        out.append(
            Finding(
                alert,
                "coverage",
                f"{level} interval covers {coverage:.0%} of actuals (< {policy.coverage_alert:.0%})",
            )
        )
    elif coverage < policy.coverage_warn:
        out.append(
            Finding(
                warn,
                "coverage",
                f"{level} interval covers {coverage:.0%} of actuals (< {policy.coverage_warn:.0%})",
            )
        )
    if cs.fired_at is not None:
        side = "above" if cs.upper[cs.fired_at] > policy.cusum_h else "below"
        out.append(
            Finding(
                alert,
                "cusum",
                f"CUSUM drift: actuals run {side} predictions, threshold h={policy.cusum_h} "
                f"crossed in week {dates[cs.fired_at]}",
            )
        )
    if training_mape and np.isfinite(mape) and mape > policy.mape_ratio_warn * training_mape:
        out.append(
            Finding(
                warn,
                "mape",
                f"MAPE {mape:.1%} is more than {policy.mape_ratio_warn:g}x the training MAPE "
                f"{training_mape:.1%}",
            )
        )
    for ch, value in psis.items():
        if value > policy.psi_warn:
            status = alert if value > policy.psi_alert else warn
            limit = policy.psi_alert if status is alert else policy.psi_warn
            out.append(
                Finding(status, "psi", f"spend on '{ch}' shifted: PSI {value:.2f} > {limit:g}")
            )
    for e in extra:
        out.append(
            Finding(
                warn,
                "extrapolation",
                f"spend on '{e.channel}' in week {e.week} is {e.spend:,.0f}, "
                f"{e.ratio - 1:.0%} above the historical max {e.historical_max:,.0f}",
            )
        )
    return tuple(out)


# ------------------------------------------------------------------------------ with a model
def load_actuals(frame: pd.DataFrame, posterior: Posterior) -> MMMDataset:
    """Validate new weeks against the training data contract and check they start right after
    the training data.

    Raises:
        DataError: a contract violation, a wrong first date, or geos that differ.
    """
    cfg = posterior.config.data
    train = posterior.dataset
    if cfg.date_column not in frame.columns:
        raise DataError(f"actuals have no date column '{cfg.date_column}'")
    try:
        dates = pd.to_datetime(frame[cfg.date_column])
    except (ValueError, TypeError) as err:
        raise DataError(
            f"actuals: column '{cfg.date_column}' has unreadable dates: {err}"
        ) from None
    first = np.datetime64(dates.min().date(), "D")
    expected = train.dates[-1] + np.timedelta64(train.period_days, "D")
    if first != expected:
        raise DataError(
            f"actuals start on {first}, expected {expected} (the period right after the "
            f"training data, which ends on {train.dates[-1]})"
        )
    n = int(dates.nunique())
    data = dataset_from_frame(_padded(frame, cfg.date_column, dates, n, posterior), cfg)
    data = data.slice_time(n)
    if tuple(data.geos) != tuple(train.geos):
        raise DataError(f"actuals have geos {list(data.geos)}; the model has {list(train.geos)}")
    return data


def _padded(
    frame: pd.DataFrame, date_col: str, dates: pd.Series, n: int, posterior: Posterior
) -> pd.DataFrame:
    """The loader refuses tables too short to fit a model on, a KPI that does not vary and
    channels that never spend; a few monitored weeks may well be all of these (a flighted
    channel off for a month). So at least two rows per geo are appended on the following
    dates, copies of the last week with spend and exposure 1 and KPI 1, 2, ... (and enough
    rows to reach the loader's minimum); they are sliced off again after loading."""
    cfg = posterior.config.data
    n_events = int(frame[cfg.events_column].nunique()) if cfg.events_column else 0
    need = min_periods(len(cfg.media), len(cfg.controls), n_events)
    last = frame[dates == dates.max()]
    step = pd.Timedelta(days=posterior.dataset.period_days)
    # only columns that exist: a missing one must still be reported as missing
    media_columns = [
        c
        for m in cfg.media
        for c in (m.spend_column, m.exposure_column)
        if c is not None and c in frame.columns
    ]
    pads = []
    for i in range(1, max(need - n, 2) + 1):
        rows = last.copy()
        rows[date_col] = (dates.max() + i * step).strftime("%Y-%m-%d")
        rows[media_columns] = 1.0
        if cfg.kpi_column in frame.columns:
            rows[cfg.kpi_column] = float(i)
        pads.append(rows)
    head = frame.copy()
    head[date_col] = dates.dt.strftime("%Y-%m-%d")
    return pd.concat([head, *pads], ignore_index=True)


def expected_kpi_by_geo(sim: Simulator, plan: Plan) -> np.ndarray:
    """``(S, G, H)`` expected KPI per geo of ``plan`` simulated right after the data."""
    if len(sim.geos) == 1:
        return sim.simulate(plan).kpi[:, None, :]
    return sim.expected_kpi_by_geo(plan)


def expected_kpi(
    posterior: Posterior, actuals: MMMDataset, max_draws: int | None = 500
) -> np.ndarray:
    """``(S, G, H)`` expected KPI (no noise) of the weeks of ``actuals`` (from
    :func:`load_actuals`), simulated forward from the end of the training data with their
    actual spend, controls and events, for up to ``max_draws`` posterior draws."""
    train = posterior.dataset
    sim = Simulator(posterior, max_draws=max_draws)
    plan = Plan(
        actuals.spend,
        train.channels,
        train.geos,
        actuals.dates[0],
        controls=actuals.controls if actuals.controls.shape[-1] else None,
        name="actuals",
        events=_events_in_model_order(actuals, train),
    )
    return expected_kpi_by_geo(sim, plan)


def monitor(
    posterior: Posterior,
    actuals: MMMDataset,
    policy: MonitorPolicy | None = None,
    training_mape: float | None = None,
    seed: int = 0,
    max_draws: int | None = 500,
) -> MonitorResult:
    """Score ``actuals`` (new weeks right after the training data, from :func:`load_actuals`)
    with ``posterior``'s predictive distribution; see the module docstring."""
    policy = policy or MonitorPolicy()
    train = posterior.dataset
    expected = expected_kpi(posterior, actuals, max_draws)
    sigma = np.asarray(posterior.flat_samples(max_draws)["sigma"])
    # a point fit (MAP: one draw) still has noise: replicate draws to >= MIN_PREDICTIVE
    reps = -(-MIN_PREDICTIVE // expected.shape[0])
    expected, sigma = np.repeat(expected, reps, axis=0), np.repeat(sigma, reps, axis=0)
    kpi_unit = posterior.design.kpi_scale * train.population
    draws = predictive_draws(expected, sigma, kpi_unit, np.random.default_rng(seed))
    dates = tuple(str(d) for d in actuals.dates)
    return score(
        actuals.kpi, draws, train.spend, actuals.spend, train.channels, dates, policy, training_mape
    )


def _events_in_model_order(actuals: MMMDataset, train: MMMDataset) -> np.ndarray | None:
    """``(G, H, E)`` dummies of the model's events; events the model does not know are
    dropped (it has no coefficient for them)."""
    if not train.event_names:
        return None
    g, h = actuals.kpi.shape
    out = np.zeros((g, h, len(train.event_names)))
    for e, name in enumerate(train.event_names):
        if name in actuals.event_names:
            out[:, :, e] = actuals.events[:, :, actuals.event_names.index(name)]
    return out


__all__ = [
    "CusumResult",
    "Extrapolation",
    "Finding",
    "MonitorPolicy",
    "MonitorResult",
    "MonitorStatus",
    "cusum",
    "expected_kpi",
    "expected_kpi_by_geo",
    "find_extrapolations",
    "load_actuals",
    "load_monitor_policy",
    "monitor",
    "monitor_policy_from_dict",
    "predictive_draws",
    "psi",
    "score",
]


def training_mape(run_dir: Path) -> float | None:
    """The in-sample MAPE a run folder's summary.json records (``None`` if absent or not > 0):
    the yardstick of the monitor's MAPE check."""
    import json

    path = run_dir / "summary.json"
    if not path.is_file():
        return None
    value: Any = json.loads(path.read_text()).get("fit", {}).get("mape")
    return float(value) if isinstance(value, int | float) and value > 0 else None


def log_monitor_metrics(
    model_uri: str, result: MonitorResult, step: int, settings: LifecycleSettings
) -> None:
    """Log ``result``'s metrics, time-stamped, on the run of the registered version
    ``model_uri`` (``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``) at ``step``."""
    import time

    from mixflow.lifecycle.registry import resolve_version
    from mixflow.lifecycle.tracking import make_client

    uri = "models:/" + model_uri.removeprefix("models:").lstrip("/")
    info = resolve_version(uri, settings)
    client = make_client(settings)
    now = int(time.time() * 1000)
    for key, value in result.metrics().items():
        client.log_metric(info.run_id, key, value, timestamp=now, step=step)
