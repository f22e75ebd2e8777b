"""Refresh a registered model on extended data: refit, register a challenger, compare it with the
champion, and promote it automatically or leave it for approval.

``refresh(NAME, extended.csv)`` takes the champion of ``NAME`` (its config, posterior and data)
and the extended data (the champion's weeks, or a later window of them, plus new weeks):

1. The new weeks (those after the champion's last week) are checked against the champion's data
   contract. The newest ``holdout_weeks`` of them (all of them when there are fewer) are the
   *holdout*: weeks neither model is fitted on.
2. The champion's config is refitted on the extended data (optionally with ROI priors informed
   by the champion's posterior, see :func:`informed_roi_priors`) twice: once holding out the
   holdout weeks, to score it, and once on the config's own holdout setting, the fit that is
   registered (one fit when the two settings agree).
3. The champion forecasts the new weeks from the end of its data with their actual spend,
   controls and events (as :mod:`mixflow.lifecycle.monitor` does); both models' MAPE of the
   posterior-mean KPI on the holdout weeks are compared.
4. The registered fit is a new version (gates run as usual) and, when its gates pass, the
   ``challenger``. :func:`compare` decides: promote, await approval or reject. Promotion moves
   ``champion`` only if it still points at the version compared against.

Each step is in the audit trail (``register``, ``promote``, and one ``refresh`` record with the
decision, its reasons and the numbers). The fits run inside an MLflow run opened beforehand: a
crash leaves that run ``FAILED`` and no new version.
"""

from __future__ import annotations

import fcntl
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from mixflow.analysis.metrics import fit_metrics
from mixflow.analysis.schema import SUMMARY_FILE, RunSummary, load_summary
from mixflow.analysis.summary import analyze
from mixflow.data.dataset import MMMDataset
from mixflow.data.io import atomic_write_text
from mixflow.data.loaders import dataset_from_frame, read_table
from mixflow.errors import DataError, SpecError
from mixflow.lifecycle.audit import AuditAction, AuditRecord, append_audit
from mixflow.lifecycle.errors import RegistryError
from mixflow.lifecycle.model_card import CardPage
from mixflow.lifecycle.monitor import expected_kpi, load_actuals
from mixflow.lifecycle.refresh_policy import (
    Check,
    Decision,
    HoldoutScore,
    RefreshDecision,
    RefreshPolicy,
    RoiShift,
    compare,
    informed_roi_priors,
    load_refresh_policy,
    refresh_policy_from_dict,
    with_roi_priors,
)
from mixflow.lifecycle.registry import (
    Alias,
    ModelVersionInfo,
    check_name,
    default_actor,
    load_version,
    promote,
    register,
    resolve_version,
)
from mixflow.lifecycle.settings import LifecycleSettings
from mixflow.lifecycle.tracking import make_client, tracked_run
from mixflow.posterior.posterior import Posterior
from mixflow.spec.config import MixflowConfig
from mixflow.workflow.runs import fit_dataset, load_run, with_overrides, write_run

REFRESH_FILE = "refresh.json"


def _with_data_path(cfg: MixflowConfig, path: Path) -> MixflowConfig:
    return cfg.model_copy(update={"data": cfg.data.model_copy(update={"path": str(path)})})


# ------------------------------------------------------------------------------ orchestration
@dataclass(frozen=True)
class RefreshResult:
    """What a refresh did. ``promoted`` is True only when the champion alias moved."""

    model: str
    champion_version: int
    challenger: ModelVersionInfo
    decision: RefreshDecision
    promoted: bool
    out_dir: Path
    informed_priors: bool
    notes: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        """``mixflow refresh``'s exit code: 0 promoted, 1 not promoted."""
        return 0 if self.promoted else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "champion_version": self.champion_version,
            "challenger_version": self.challenger.version,
            "challenger_run_id": self.challenger.run_id,
            "challenger_gates_passed": self.challenger.gates_passed,
            "promoted": self.promoted,
            "informed_priors": self.informed_priors,
            "out_dir": str(self.out_dir),
            "notes": list(self.notes),
            **self.decision.to_dict(),
        }


@dataclass(frozen=True, eq=False)
class _NewData:
    """The extended data, split for the comparison."""

    extended: MMMDataset
    new_weeks: MMMDataset  # the K weeks after the champion's last week
    holdout_weeks: int  # the newest of them both models are scored on


@contextmanager
def _refresh_lock(name: str, settings: LifecycleSettings) -> Iterator[None]:
    """One refresh of a model at a time on this machine (cron runs may overlap)."""
    settings.ensure_home()
    path = settings.home / f"refresh-{name}.lock"
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RegistryError(f"another refresh of model '{name}' is running ({path})") from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _split_new_data(
    frame: pd.DataFrame, champion: Posterior, policy: RefreshPolicy, source: Path
) -> _NewData:
    cfg = champion.config.data
    extended = dataset_from_frame(frame, cfg)
    end = champion.dataset.dates[-1]
    if extended.dates[0] > end:
        raise DataError(
            f"{source}: starts on {extended.dates[0]}, after the champion's last week {end}; "
            "the extended data must contain the champion's weeks plus the new ones"
        )
    dates = pd.to_datetime(frame[cfg.date_column])
    after = frame[(dates > pd.Timestamp(end)).to_numpy()]
    if after.empty:
        raise DataError(
            f"{source}: no weeks after the champion's last week {end} (it ends on "
            f"{extended.dates[-1]}); nothing to refresh"
        )
    new_weeks = load_actuals(after, champion)
    return _NewData(extended, new_weeks, min(policy.holdout_weeks, new_weeks.n_times))


def champion_holdout_mape(champion: Posterior, new_weeks: MMMDataset, holdout_weeks: int) -> float:
    """MAPE of the champion's posterior-mean forecast of the last ``holdout_weeks`` of
    ``new_weeks`` (forecast from the end of its data through all of ``new_weeks``)."""
    mean = expected_kpi(champion, new_weeks).mean(axis=0)  # (G, K)
    return fit_metrics(new_weeks.kpi[:, -holdout_weeks:], mean[:, -holdout_weeks:])["mape"]


def _holdout_mape(summary: RunSummary) -> float:
    value = summary.fit.holdout_mape
    return float("nan") if value is None else value


def _fit_and_write(cfg: MixflowConfig, data: _NewData, run_dir: Path) -> tuple[RunSummary, float]:
    """Fit the challenger, write its run directory; ``(summary, holdout MAPE)``."""
    h = data.holdout_weeks
    posterior = fit_dataset(cfg, data.extended)
    analysis = analyze(posterior)
    write_run(posterior, analysis, run_dir)
    summary = analysis.summary
    if cfg.fit.holdout_weeks == h:
        return summary, _holdout_mape(summary)
    scored = fit_dataset(with_overrides(cfg, holdout_weeks=h), data.extended)
    return summary, _holdout_mape(analyze(scored).summary)


def _default_out(name: str, settings: LifecycleSettings) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return settings.home / "refresh" / name / stamp


def refresh(
    name: str,
    data_path: Path,
    settings: LifecycleSettings,
    policy: RefreshPolicy | None = None,
    informed_priors: bool = False,
    actor: str | None = None,
    out_dir: Path | None = None,
    card_page: CardPage | None = None,
) -> RefreshResult:
    """Refresh model ``name`` on the extended data in ``data_path`` (CSV/Parquet with the
    champion's columns); see the module docstring. Writes the challenger's run directory and
    ``refresh.json`` under ``out_dir`` (default ``<home>/refresh/<name>/<UTC time>``).
    ``actor`` (default: the OS user) is the audit trail's actor of every step; ``card_page``
    renders the challenger's HTML model card (see :func:`~mixflow.lifecycle.registry.register`).

    Raises:
        RegistryError: no champion, or another refresh of ``name`` is running.
        DataError, SpecError: the data or the policy is unusable (nothing is registered).
    """
    policy = policy or RefreshPolicy()
    check_name(name)
    with _refresh_lock(name, settings):
        return _refresh(
            name,
            Path(data_path),
            settings,
            policy,
            informed_priors,
            default_actor(actor),
            out_dir,
            card_page,
        )


def _refresh(
    name: str,
    data_path: Path,
    settings: LifecycleSettings,
    policy: RefreshPolicy,
    informed: bool,
    actor: str,
    out_dir: Path | None,
    card_page: CardPage | None,
) -> RefreshResult:
    try:
        champion = resolve_version(f"models:/{name}@{Alias.CHAMPION.value}", settings)
    except RegistryError as err:
        raise RegistryError(f"cannot refresh '{name}': {err}; promote a version first") from None
    champion_dir = load_version(f"models:/{name}/{champion.version}", settings)
    champion_post = load_run(champion_dir)
    champion_summary = load_summary(champion_dir / SUMMARY_FILE)
    data = _split_new_data(read_table(data_path), champion_post, policy, data_path)
    cfg = _with_data_path(champion_post.config, data_path.resolve())
    if informed:
        priors = informed_roi_priors(
            champion_summary, policy.prior_widening, policy.prior_min_sigma
        )
        cfg = with_roi_priors(cfg, priors)
    out = Path(out_dir) if out_dir is not None else _default_out(name, settings)
    run_dir = out / "run"
    if run_dir.exists() and any(run_dir.iterdir()):
        raise SpecError(f"output folder {out}: {run_dir} already holds a run; use a new folder")
    tags = {
        "mixflow.refresh_of": f"{name}/{champion.version}",
        "mixflow.refresh_data": str(data_path),
    }
    with tracked_run(settings, f"{name} refresh", tags) as run_id:
        summary, challenger_mape = _fit_and_write(cfg, data, run_dir)
        dates = data.new_weeks.dates[-data.holdout_weeks :]
        holdout = HoldoutScore(
            weeks=data.holdout_weeks,
            start=str(dates[0]),
            end=str(dates[-1]),
            champion_mape=champion_holdout_mape(champion_post, data.new_weeks, data.holdout_weeks),
            challenger_mape=challenger_mape,
        )
        info = register(
            run_dir,
            name,
            settings,
            policy=policy.gates,
            actor=actor,
            reason=f"refresh of version {champion.version} on {data_path.name}",
            run_id=run_id,
            audit_extra={"refresh_of": str(champion.version)},
            card_page=card_page,
        )
    decision = compare(champion_summary, summary, holdout, info.gates, policy)
    notes: list[str] = []
    info = _set_challenger(info, actor, champion.version, settings, notes)
    promoted = False
    if decision.decision is Decision.PROMOTE:
        promoted = _promote_champion(info, actor, champion, decision, settings, notes)
    result = RefreshResult(
        name, champion.version, info, decision, promoted, out, informed, tuple(notes)
    )
    _record(result, data.extended, data_path, policy, settings, actor)
    return result


def _set_challenger(
    info: ModelVersionInfo, actor: str, champion: int, settings: LifecycleSettings, notes: list[str]
) -> ModelVersionInfo:
    if not info.gates_passed:
        notes.append(
            f"version {info.version} failed gates and is not the challenger; promote it with "
            "an override reason if it should be"
        )
        return info
    return promote(
        info.name,
        info.version,
        Alias.CHALLENGER,
        actor,
        f"refresh challenger of version {champion}",
        settings,
        audit_extra={"refresh": True},
    )


def _promote_champion(
    info: ModelVersionInfo,
    actor: str,
    champion: ModelVersionInfo,
    decision: RefreshDecision,
    settings: LifecycleSettings,
    notes: list[str],
) -> bool:
    try:
        promote(
            info.name,
            info.version,
            Alias.CHAMPION,
            actor,
            "automatic promotion by refresh: " + "; ".join(decision.reasons),
            settings,
            expected_holder=champion.version,
            audit_extra={"refresh": True},
        )
    except RegistryError as err:  # the champion moved while we were fitting
        notes.append(f"not promoted: {err}")
        return False
    return True


def _record(
    result: RefreshResult,
    extended: MMMDataset,
    data_path: Path,
    policy: RefreshPolicy,
    settings: LifecycleSettings,
    actor: str,
) -> None:
    """``refresh.json`` next to the run, refresh metrics on the challenger's run, and the
    audit record of the decision."""
    from mlflow.entities import Metric, RunTag

    payload = result.to_dict() | {
        "data": str(data_path),
        "data_fingerprint": extended.fingerprint(),
        "policy": policy.to_dict(),
    }
    path = result.out_dir / REFRESH_FILE
    atomic_write_text(path, json.dumps(payload, indent=2, allow_nan=False))
    client = make_client(settings)
    run_id = result.challenger.run_id
    now = int(datetime.now(UTC).timestamp() * 1000)
    hold = result.decision.holdout
    metrics = {
        "refresh.champion_holdout_mape": hold.champion_mape,
        "refresh.challenger_holdout_mape": hold.challenger_mape,
        **{f"refresh.roi_shift.{s.channel}": s.relative for s in result.decision.roi_shifts},
    }
    client.log_batch(
        run_id,
        metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items() if math.isfinite(v)],
        tags=[RunTag("mixflow.refresh_decision", result.decision.decision.value)],
    )
    client.log_artifact(run_id, str(path), artifact_path="refresh")
    after = result.challenger.version if result.promoted else result.champion_version
    append_audit(
        AuditRecord(
            actor=actor,
            action=AuditAction.REFRESH,
            model=result.model,
            version=str(result.challenger.version),
            reason="; ".join(result.decision.reasons),
            before=str(result.champion_version),
            after=str(after),
            extra={
                "decision": result.decision.decision.value,
                "promoted": result.promoted,
                "run_id": run_id,
                "data": str(data_path),
                "data_fingerprint": extended.fingerprint(),
                "informed_priors": result.informed_priors,
                "checks": payload["checks"],
                "holdout": payload["holdout"],
                "roi_shifts": payload["roi_shifts"],
                "notes": list(result.notes),
            },
        ),
        settings,
    )


__all__ = [
    "Check",
    "Decision",
    "HoldoutScore",
    "RefreshDecision",
    "RefreshPolicy",
    "RefreshResult",
    "RoiShift",
    "champion_holdout_mape",
    "compare",
    "informed_roi_priors",
    "load_refresh_policy",
    "refresh",
    "refresh_policy_from_dict",
    "with_roi_priors",
]
