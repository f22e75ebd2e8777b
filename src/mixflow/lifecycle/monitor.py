"""Monitor a fitted model on new weeks of actuals, with thresholds from its posterior predictive.

The new weeks are simulated forward from the end of the training data with their actual spend,
controls and events (carryover of the last weeks included), for up to ``max_draws`` posterior
draws. Each draw's expected KPI gets residual noise with the draw's ``sigma`` that follows an
AR(1) with the lag-1 autocorrelation of the training residuals, continuing from the last
training residual; several noise paths per draw give ``N`` predictive trajectories (4,000 by
default). The checks (:mod:`mixflow.lifecycle.monitor_checks`) compare the actual weeks with
those trajectories:

- ``bias``: the window's mean residual (geos summed) in predictive sds, divided by the sd of
  the trajectories' own window means (the AR(1)- and uncertainty-adjusted variance): a z-score;
- ``cusum``: the largest value a two-sided CUSUM (allowance ``cusum_k``) of the weekly
  standardized residuals reaches, against the same maximum over the trajectories, so that the
  threshold ``h`` is set for the window's length;
- ``coverage``: the share of geo-weeks inside the central predictive interval, against the same
  share for the trajectories (too few inside).

Each warns when its predictive p-value is below a third of ``warn_alpha`` and alerts below a third
of ``alert_alpha`` (Bonferroni: the policy's alphas bound the monitor's false-alarm rate as a
whole when the model is right).
Spend is a decision, not a fault: it never raises an alert. Weekly spend on a channel outside the
range the training weeks saw (beyond ``spend_range_margin``) is a ``spend_range`` warning that
names the channel and the range; the new spend against the same weeks of the year in training is
reported without a verdict.

Everything here is pure given the posterior, the actuals and the seed; the CLI adds files and
MLflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mixflow.analysis.draws import compute_draws
from mixflow.analysis.schema import parse_summary
from mixflow.data.dataset import MMMDataset
from mixflow.data.loaders import dataset_from_frame
from mixflow.data.validation import min_periods
from mixflow.errors import DataError
from mixflow.lifecycle import monitor_checks as mc
from mixflow.lifecycle.monitor_schema import (
    ChannelSpend,
    CheckName,
    CheckResult,
    Finding,
    MeasuredRate,
    Metrics,
    MonitorPolicy,
    MonitorResult,
    MonitorStatus,
    Week,
    worst_status,
)
from mixflow.lifecycle.policy_files import read_mapping
from mixflow.posterior.posterior import Posterior
from mixflow.schema_errors import validate_mapping
from mixflow.simulate.engine import Simulator
from mixflow.simulate.plan import Plan

if TYPE_CHECKING:
    from mixflow.lifecycle.settings import LifecycleSettings

#: predictive trajectories scored by default (posterior draws times noise paths per draw)
N_TRAJECTORIES = 4000

#: the false-alarm rates measured by ``bench/monitor_far.py`` (default settings) at the default
#: policy: the share of 1,400 same-process 26-week windows on which each check warned or alerted
#: (``warn``) and alerted (``alert``). The monitor as a whole: 14.9% and 3.9%.
RATES_SOURCE = (
    "bench/monitor_far.py: 1,400 same-process 26-week windows of 7 simulated brands "
    "(5 with independent, 2 with AR(0.5) residuals; 104 training weeks, NUTS 1 x 400 draws)"
)
MEASURED_RATES: dict[CheckName, MeasuredRate] = {
    CheckName.bias: MeasuredRate(warn=0.084, alert=0.013),
    CheckName.cusum: MeasuredRate(warn=0.121, alert=0.031),
    CheckName.coverage: MeasuredRate(warn=0.071, alert=0.020),
}

_DESCRIPTIONS = {
    CheckName.bias: "mean residual of the window in predictive sds, AR(1)-adjusted (z-score)",
    CheckName.cusum: "largest two-sided CUSUM value of the weekly standardized residuals",
    CheckName.coverage: "share of geo-weeks inside the central predictive interval",
}


def monitor_policy_from_dict(data: Mapping[str, Any]) -> MonitorPolicy:
    """A policy from a mapping (e.g. parsed YAML) whose keys are :class:`MonitorPolicy`
    fields; unknown keys and wrong types raise :class:`SpecError`."""
    return validate_mapping(MonitorPolicy, data, "monitor policy")


def load_monitor_policy(path: Path) -> MonitorPolicy:
    """Read a :class:`MonitorPolicy` from a YAML file (missing keys keep their defaults)."""
    # read_mapping refuses a FIFO or device and names a YAML error without echoing the file
    return monitor_policy_from_dict(read_mapping(path, "monitor policy"))


@dataclass(frozen=True, eq=False)
class Predictive:
    """Predictive trajectories of the monitored weeks.

    Attributes:
        draws: ``(N, G, H)`` KPI per geo and week (the KPI's own units).
        n_draws: posterior draws behind them (``N`` is a multiple of it).
        autocorrelation: the AR(1) coefficient of their residual noise.
    """

    draws: np.ndarray
    n_draws: int
    autocorrelation: float

    def head(self, weeks: int) -> Predictive:
        """The first ``weeks`` weeks (the simulation is causal: a prefix is a shorter window)."""
        return Predictive(self.draws[:, :, :weeks], self.n_draws, self.autocorrelation)


# ------------------------------------------------------------------------------ pure scoring
def score(
    actual: np.ndarray,
    predictive: Predictive,
    history_spend: np.ndarray,
    new_spend: np.ndarray,
    channels: tuple[str, ...],
    dates: tuple[str, ...],
    history_dates: np.ndarray,
    policy: MonitorPolicy,
    training_mape: float | None = None,
    model: str = "",
) -> MonitorResult:
    """Score actual KPI ``(G, H)`` against the predictive trajectories ``(N, G, H)`` and the new
    spend ``(G, H, C)`` against the training spend ``(G, T, C)`` of ``history_dates (T,)``."""
    draws = predictive.draws
    # Bonferroni: the policy's alphas are the monitor's rates as a whole, a third to each check
    wa, aa = policy.warn_alpha / len(_DESCRIPTIONS), policy.alert_alpha / len(_DESCRIPTIONS)
    total = draws.sum(axis=1)  # (N, H)
    act_t = actual.sum(axis=0)
    z, zr = mc.standardize(act_t, total)
    bias = mc.bias_check(z, zr, wa, aa)
    cusum, up, lo = mc.cusum_check(z, zr, policy.cusum_k, wa, aa)
    coverage = mc.coverage_check(actual, draws, policy.interval, wa, aa)
    crossed = mc.first_crossing(up, lo, cusum.alert_threshold)
    default = policy == MonitorPolicy()
    checks = tuple(
        CheckResult(
            name=name,
            status=_status(outcome.p_value, policy),
            statistic=outcome.statistic,
            p_value=outcome.p_value,
            warn_threshold=outcome.warn_threshold,
            alert_threshold=outcome.alert_threshold,
            description=_DESCRIPTIONS[name],
            measured_false_alarm=MEASURED_RATES.get(name) if default else None,
            crossed_week=dates[crossed]
            if name is CheckName.cusum and crossed is not None
            else None,
        )
        for name, outcome in (
            (CheckName.bias, bias),
            (CheckName.cusum, cusum),
            (CheckName.coverage, coverage),
        )
    )
    spend = mc.spend_ranges(
        history_spend.sum(axis=0),
        new_spend.sum(axis=0),
        channels,
        np.asarray(history_dates, dtype="datetime64[D]"),
        np.asarray(dates, dtype="datetime64[D]"),
        policy.spend_range_margin,
    )
    findings = (
        *_check_findings(checks, act_t, total, dates, policy),
        *_spend_findings(spend, policy),
    )
    a = 0.5 * (1.0 - policy.interval)
    lo_t, hi_t = np.quantile(total, [a, 1.0 - a], axis=0)
    mean_g = draws.mean(axis=0)
    pred_t = total.mean(axis=0)
    nz = actual != 0
    mape = float(np.mean(np.abs((actual - mean_g)[nz] / actual[nz]))) if nz.any() else None
    bias_rel = float(np.mean(actual - mean_g) / np.mean(actual)) if np.mean(actual) else None
    weeks = tuple(
        Week(
            date=d,
            actual=float(act_t[t]),
            predicted=float(pred_t[t]),
            lower=float(lo_t[t]),
            upper=float(hi_t[t]),
            z=float(z[t]),
            cusum_upper=float(up[t]),
            cusum_lower=float(lo[t]),
        )
        for t, d in enumerate(dates)
    )
    return MonitorResult(
        model=model,
        status=worst_status(findings),
        findings=findings,
        checks=checks,
        spend=tuple(ChannelSpend(**vars(s)) for s in spend),
        metrics=Metrics(
            coverage=coverage.statistic,
            interval=policy.interval,
            mape=mape,
            training_mape=training_mape,
            bias=bias_rel,
            residual_autocorrelation=predictive.autocorrelation,
            effective_weeks=mc.effective_weeks(zr),
        ),
        weeks=weeks,
        policy=policy,
        n_draws=predictive.n_draws,
        n_trajectories=int(draws.shape[0]),
        n_geos=int(draws.shape[1]),
        rates_source=RATES_SOURCE,
    )


def _status(p_value: float, policy: MonitorPolicy) -> MonitorStatus:
    if p_value < policy.alert_alpha / len(_DESCRIPTIONS):
        return MonitorStatus.alert
    if p_value < policy.warn_alpha / len(_DESCRIPTIONS):
        return MonitorStatus.warn
    return MonitorStatus.ok


def _check_findings(
    checks: tuple[CheckResult, ...],
    actual: np.ndarray,
    total: np.ndarray,
    dates: tuple[str, ...],
    policy: MonitorPolicy,
) -> tuple[Finding, ...]:
    out = []
    side = "above" if actual.sum() > total.mean(axis=0).sum() else "below"
    for c in checks:
        if c.status is MonitorStatus.ok:
            continue
        if c.name is CheckName.bias:
            text = (
                f"actuals run {side} predictions: mean residual {c.statistic:+.2f} sds of the "
                f"window mean (|z| > {c.warn_threshold if c.status is MonitorStatus.warn else c.alert_threshold:.2f})"
            )
        elif c.name is CheckName.cusum:
            where = f", crossed in week {c.crossed_week}" if c.crossed_week else ""
            text = (
                f"CUSUM drift: actuals run {side} predictions, CUSUM {c.statistic:.1f} > "
                f"h={c.warn_threshold if c.status is MonitorStatus.warn else c.alert_threshold:.1f}{where}"
            )
        else:
            text = (
                f"{policy.interval:.0%} interval covers {c.statistic:.0%} of actuals "
                f"(< {c.warn_threshold if c.status is MonitorStatus.warn else c.alert_threshold:.0%})"
            )
        out.append(Finding(status=c.status, check=c.name, message=f"{text} (p = {c.p_value:.3f})"))
    return tuple(out)


def _spend_findings(spend: tuple[mc.SpendRange, ...], policy: MonitorPolicy) -> tuple[Finding, ...]:
    out = []
    for s in spend:
        if not (s.weeks_above or s.weeks_below):
            continue
        parts = []
        if s.weeks_above:
            parts.append(f"{s.weeks_above} week(s) above, up to {s.new_max:,.0f}")
        if s.weeks_below:
            parts.append(f"{s.weeks_below} week(s) below, down to {s.new_min:,.0f}")
        out.append(
            Finding(
                status=MonitorStatus.warn,
                check=CheckName.spend_range,
                channel=s.channel,
                message=(
                    f"spend on '{s.channel}' left the range the model saw "
                    f"({s.train_min:,.0f} to {s.train_max:,.0f} a week, "
                    f"margin {policy.spend_range_margin:.0%}): {'; '.join(parts)}"
                ),
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


def residuals(posterior: Posterior, max_draws: int | None = 500) -> np.ndarray:
    """``(G, T)`` training residuals: actual KPI minus the posterior-mean fit."""
    fitted = compute_draws(posterior, max_draws, multipliers=(1.0,)).fitted_kpi_geo
    return np.asarray(posterior.dataset.kpi, np.float64) - fitted.mean(axis=0)


def predictive(
    posterior: Posterior,
    actuals: MMMDataset,
    seed: int = 0,
    max_draws: int | None = 500,
    n_trajectories: int = N_TRAJECTORIES,
) -> Predictive:
    """Predictive trajectories of the weeks of ``actuals`` (see the module docstring): at least
    ``n_trajectories``, a whole number of AR(1) noise paths per posterior draw."""
    train = posterior.dataset
    expected = expected_kpi(posterior, actuals, max_draws)  # (S, G, H)
    s, g, h = expected.shape
    sigma = np.asarray(posterior.flat_samples(max_draws)["sigma"], np.float64)
    kpi_unit = posterior.design.kpi_scale * train.population
    sd = np.broadcast_to(sigma.reshape(s, -1), (s, g)) * kpi_unit[None]
    resid = residuals(posterior, max_draws)
    phi = mc.residual_autocorrelation(resid)
    reps = -(-n_trajectories // s)
    sd_n = np.repeat(sd, reps, axis=0)
    noise = mc.ar1_noise(sd_n, phi, h, np.random.default_rng(seed), start=resid[:, -1])
    return Predictive(np.repeat(expected, reps, axis=0) + noise, s, phi)


def monitor(
    posterior: Posterior,
    actuals: MMMDataset,
    policy: MonitorPolicy | None = None,
    training_mape: float | None = None,
    seed: int = 0,
    max_draws: int | None = 500,
    model: str = "",
) -> MonitorResult:
    """Score ``actuals`` (new weeks right after the training data, from :func:`load_actuals`)
    with ``posterior``'s predictive distribution; see the module docstring."""
    train = posterior.dataset
    pred = predictive(posterior, actuals, seed, max_draws)
    return score_actuals(actuals, pred, train, policy or MonitorPolicy(), training_mape, model)


def score_actuals(
    actuals: MMMDataset,
    pred: Predictive,
    train: MMMDataset,
    policy: MonitorPolicy,
    training_mape: float | None = None,
    model: str = "",
) -> MonitorResult:
    """:func:`score` with the arrays of the datasets ``actuals`` and ``train``."""
    return score(
        actuals.kpi,
        pred,
        train.spend,
        actuals.spend,
        train.channels,
        tuple(str(d) for d in actuals.dates),
        train.dates,
        policy,
        training_mape,
        model,
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
    "MEASURED_RATES",
    "N_TRAJECTORIES",
    "RATES_SOURCE",
    "MonitorPolicy",
    "MonitorResult",
    "MonitorStatus",
    "Predictive",
    "expected_kpi",
    "expected_kpi_by_geo",
    "load_actuals",
    "load_monitor_policy",
    "log_monitor_metrics",
    "monitor",
    "monitor_policy_from_dict",
    "predictive",
    "residuals",
    "score",
    "score_actuals",
    "training_mape",
]


def training_mape(run_dir: Path) -> float | None:
    """The in-sample MAPE a run folder's summary.json records (``None`` if absent or not > 0):
    reported next to the monitored weeks' MAPE."""
    path = run_dir / "summary.json"
    if not path.is_file():
        return None
    value = parse_summary(path.read_text(encoding="utf-8")).fit.mape
    return float(value) if value is not None and value > 0 else None


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
    for key, value in result.metrics_for_tracking().items():
        client.log_metric(info.run_id, key, value, timestamp=now, step=step)
