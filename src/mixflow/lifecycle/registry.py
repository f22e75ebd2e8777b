"""The model registry: register run directories as model versions, gate them, promote them.

A model version's source is the run directory logged as an MLflow run (``runs:/<id>/run``); its
tags hold the governance gate results computed at registration. Aliases (``champion``,
``challenger``) point at versions; moving one is a promotion, refused while a gate fails unless
an override reason is given. Every action is appended to the audit trail.

Promotions are serialized by an exclusive file lock under ``MIXFLOW_HOME``: concurrent promoters
on this machine see each other's result (the audit ``before`` of one is the ``after`` of the
previous one). A remote tracking server shared between machines needs its own coordination.
"""

from __future__ import annotations

import getpass
import json
import re
import shutil
import tempfile
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mixflow.lifecycle.audit import AuditAction, AuditRecord, append_audit, exclusive_lock
from mixflow.lifecycle.errors import RegistryError
from mixflow.lifecycle.gates import GatePolicy, GateResult, failed_gates, run_gates
from mixflow.lifecycle.model_card import CardPage, write_model_card
from mixflow.lifecycle.settings import LifecycleSettings
from mixflow.lifecycle.tracking import RUN_ARTIFACT_PATH, log_run, make_client, read_run_dir

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

GATES_TAG = "mixflow.gates"
GATES_PASSED_TAG = "mixflow.gates_passed"
ARCHIVED_TAG = "mixflow.archived"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_MODEL_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))$")


class Alias(StrEnum):
    CHAMPION = "champion"
    CHALLENGER = "challenger"


@dataclass(frozen=True)
class ModelVersionInfo:
    """A registered model version: its run, the aliases pointing at it, its gate results."""

    name: str
    version: int
    run_id: str
    source: str
    created_ms: int
    aliases: tuple[str, ...]
    gates: tuple[GateResult, ...]
    archived: bool = False

    @property
    def gates_passed(self) -> bool:
        return all(g.passed for g in self.gates)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "run_id": self.run_id,
            "source": self.source,
            "created_ms": self.created_ms,
            "aliases": list(self.aliases),
            "gates_passed": self.gates_passed,
            "archived": self.archived,
            "gates": [g.to_dict() for g in self.gates],
        }


@dataclass(frozen=True)
class ModelInfo:
    """A registered model: its aliases (``alias -> version``) and latest version number."""

    name: str
    aliases: dict[str, int]
    latest_version: int | None
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "aliases": self.aliases,
            "latest_version": self.latest_version,
            "description": self.description,
        }


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise RegistryError(
            f"model name {name!r} is invalid: use letters, digits, '_', '-', '.' (max 128, "
            "starting with a letter or digit)"
        )
    return name


def default_actor(actor: str | None) -> str:
    """``actor``, or the OS user when it is empty."""
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _to_info(mv: ModelVersion) -> ModelVersionInfo:
    tags = dict(mv.tags or {})
    gates = tuple(GateResult.from_dict(g) for g in json.loads(tags.get(GATES_TAG, "[]")))
    return ModelVersionInfo(
        name=str(mv.name),
        version=int(mv.version),
        run_id=str(mv.run_id or ""),
        source=str(mv.source),
        created_ms=int(mv.creation_timestamp or 0),
        aliases=tuple(sorted(mv.aliases or ())),
        gates=gates,
        archived=tags.get(ARCHIVED_TAG) == "true",
    )


def _get_version(client: MlflowClient, name: str, version: int | str) -> ModelVersion:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version(name, str(version))
    except MlflowException as err:
        raise RegistryError(f"model {name!r} has no version {version}") from err


def _alias_holder(client: MlflowClient, name: str, alias: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def _ensure_registered_model(client: MlflowClient, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
        return
    except MlflowException:
        pass
    try:
        client.create_registered_model(name, description="mixflow marketing mix model")
    except MlflowException:  # created concurrently; fine if it exists now
        client.get_registered_model(name)


def register(
    run_dir: Path,
    name: str,
    settings: LifecycleSettings,
    policy: GatePolicy | None = None,
    actor: str | None = None,
    reason: str = "",
    run_id: str | None = None,
    audit_extra: dict[str, Any] | None = None,
    card_page: CardPage | None = None,
) -> ModelVersionInfo:
    """Log ``run_dir`` as an MLflow run (into the open run ``run_id`` when given, see
    :func:`mixflow.lifecycle.tracking.tracked_run`), register it as a new version of model
    ``name`` (created if needed) and store the gate results of ``policy`` (default thresholds
    when ``None``) on the version. ``audit_extra`` adds fields to the audit record. The model
    card goes into the run directory as ``model_card.md``, and as ``model_card.html`` when
    ``card_page`` renders it (:func:`mixflow.report.model_card.model_card_html`; the report
    layer sits after this one, so callers that may import it pass it in)."""
    check_name(name)
    summary, _ = read_run_dir(Path(run_dir))
    policy = policy or GatePolicy()
    gates = run_gates(summary, policy)
    # the card goes into the run directory first, so it is logged with the version's artifacts
    write_model_card(Path(run_dir), summary, gates, name, policy=policy, page=card_page)
    run_id = log_run(Path(run_dir), settings, run_name=name, run_id=run_id)
    client = make_client(settings)
    tags = {
        GATES_TAG: json.dumps([g.to_dict() for g in gates], allow_nan=False),
        GATES_PASSED_TAG: str(all(g.passed for g in gates)).lower(),
    }
    with exclusive_lock(settings.lock_path):
        _ensure_registered_model(client, name)
        mv = client.create_model_version(
            name, source=f"runs:/{run_id}/{RUN_ARTIFACT_PATH}", run_id=run_id, tags=tags
        )
        append_audit(
            AuditRecord(
                actor=default_actor(actor),
                action=AuditAction.REGISTER,
                model=name,
                version=str(mv.version),
                reason=reason or f"registered {Path(run_dir)}",
                extra={
                    "run_id": run_id,
                    "gates_passed": all(g.passed for g in gates),
                    **(audit_extra or {}),
                },
            ),
            settings,
        )
    return _to_info(_get_version(client, name, mv.version))


def promote(
    name: str,
    version: int,
    to_alias: Alias,
    by: str,
    reason: str,
    settings: LifecycleSettings,
    override_reason: str | None = None,
    expected_holder: int | None = None,
    audit_extra: dict[str, Any] | None = None,
) -> ModelVersionInfo:
    """Point alias ``to_alias`` of model ``name`` at ``version``.

    Refused with :class:`RegistryError` naming the failed gates unless ``override_reason`` is
    given; an overridden promotion is audited as ``override``, with both reasons. With
    ``expected_holder`` the promotion is refused unless the alias still points at that version
    (checked under the registry lock: a compare-and-set against concurrent promotions).
    ``audit_extra`` adds fields to the audit record.
    """
    if not by.strip():
        raise RegistryError("promote: --by must name the person promoting")
    if not reason.strip():
        raise RegistryError("promote: --reason must say why")
    alias = Alias(to_alias)
    client = make_client(settings)
    with exclusive_lock(settings.lock_path):
        info = _to_info(_get_version(client, check_name(name), version))
        if info.archived:
            raise RegistryError(f"{name} version {version} is archived and cannot be promoted")
        failed = failed_gates(list(info.gates))
        if failed and not (override_reason and override_reason.strip()):
            names = ", ".join(f"{g.name} ({g.detail})" for g in failed)
            raise RegistryError(
                f"cannot promote {name} version {version} to {alias.value}: failed gates: {names}; "
                "give an override reason to promote anyway"
            )
        before = _alias_holder(client, name, alias.value)
        if expected_holder is not None and before != str(expected_holder):
            raise RegistryError(
                f"cannot promote {name} version {version} to {alias.value}: the {alias.value} "
                f"is now version {before}, not version {expected_holder}"
            )
        client.set_registered_model_alias(name, alias.value, str(version))
        extra: dict[str, Any] = {"alias": alias.value, **(audit_extra or {})}
        if failed:
            extra["override_reason"] = override_reason
            extra["failed_gates"] = [g.name for g in failed]
        append_audit(
            AuditRecord(
                actor=by,
                action=AuditAction.OVERRIDE if failed else AuditAction.PROMOTE,
                model=name,
                version=str(version),
                reason=reason,
                before=before,
                after=str(version),
                extra=extra,
            ),
            settings,
        )
    return _to_info(_get_version(client, name, version))


def archive(
    name: str, version: int, by: str, reason: str, settings: LifecycleSettings
) -> ModelVersionInfo:
    """Mark ``version`` archived and remove every alias pointing at it (audited)."""
    client = make_client(settings)
    with exclusive_lock(settings.lock_path):
        info = _to_info(_get_version(client, check_name(name), version))
        for alias in info.aliases:
            client.delete_registered_model_alias(name, alias)
        client.set_model_version_tag(name, str(version), ARCHIVED_TAG, "true")
        append_audit(
            AuditRecord(
                actor=by,
                action=AuditAction.ARCHIVE,
                model=name,
                version=str(version),
                reason=reason,
                before=",".join(info.aliases) or None,
                after=None,
            ),
            settings,
        )
    return _to_info(_get_version(client, name, version))


def list_models(settings: LifecycleSettings) -> list[ModelInfo]:
    """Every registered model, by name."""
    client = make_client(settings)
    out = []
    for rm in client.search_registered_models(max_results=1000):
        versions = [int(v.version) for v in rm.latest_versions or ()]
        out.append(
            ModelInfo(
                name=str(rm.name),
                aliases={str(a): int(v) for a, v in (rm.aliases or {}).items()},
                latest_version=max(versions) if versions else None,
                description=str(rm.description or ""),
            )
        )
    return sorted(out, key=lambda m: m.name)


def model_versions(name: str, settings: LifecycleSettings) -> list[ModelVersionInfo]:
    """Every version of model ``name``, oldest first."""
    from mlflow.exceptions import MlflowException

    client = make_client(settings)
    try:
        model = client.get_registered_model(check_name(name))
    except MlflowException as err:
        raise RegistryError(f"no registered model {name!r}") from err
    # search results leave ``aliases`` empty; the registered model holds alias -> version
    held: dict[int, list[str]] = {}
    for alias, version in (model.aliases or {}).items():
        held.setdefault(int(version), []).append(str(alias))
    found = client.search_model_versions(f"name = '{name}'", max_results=10000)
    infos = (_to_info(mv) for mv in found)
    return sorted(
        (replace(v, aliases=tuple(sorted(held.get(v.version, [])))) for v in infos),
        key=lambda v: v.version,
    )


def resolve_version(uri: str, settings: LifecycleSettings) -> ModelVersionInfo:
    """The version ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` points at."""
    match = _MODEL_URI.match(uri)
    if match is None:
        raise RegistryError(
            f"model URI {uri!r} is invalid: expected models:/NAME@ALIAS or models:/NAME/VERSION"
        )
    name = check_name(match["name"])
    client = make_client(settings)
    if match["version"] is not None:
        return _to_info(_get_version(client, name, match["version"]))
    holder = _alias_holder(client, name, match["alias"])
    if holder is None:
        raise RegistryError(f"model {name!r} has no version with alias {match['alias']!r}")
    return _to_info(_get_version(client, name, holder))


def load_version(uri: str, settings: LifecycleSettings, dst: Path | None = None) -> Path:
    """Download the run directory of a registered version and return its local path, a folder
    :func:`mixflow.workflow.load_run` accepts. ``dst`` defaults to
    ``<home>/models/<name>/<version>``; an existing complete download is reused."""
    info = resolve_version(uri, settings)
    target = (
        Path(dst) if dst is not None else settings.home / "models" / info.name / str(info.version)
    )
    run_dir = target / RUN_ARTIFACT_PATH
    if (run_dir / "summary.json").is_file() and (run_dir / "posterior.nc").is_file():
        return run_dir
    target.mkdir(parents=True, exist_ok=True)
    client = make_client(settings)
    staging = Path(tempfile.mkdtemp(prefix=".download.", dir=target))
    try:
        client.download_artifacts(info.run_id, RUN_ARTIFACT_PATH, str(staging))
        try:
            (staging / RUN_ARTIFACT_PATH).rename(run_dir)
        except OSError:
            # another thread or process renamed its own complete download into place between
            # our check and our rename: theirs is as good as ours
            if not (run_dir / "summary.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return run_dir


__all__ = [
    "Alias",
    "ModelInfo",
    "ModelVersionInfo",
    "archive",
    "check_name",
    "default_actor",
    "list_models",
    "load_version",
    "model_versions",
    "promote",
    "register",
    "resolve_version",
]
