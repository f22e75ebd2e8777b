"""The audit trail: an append-only JSON Lines file, one record per registry action.

Each append takes an exclusive ``fcntl.flock`` on the file and fsyncs before releasing it, so
concurrent writers (threads or processes on this machine) never interleave or lose records and
a record that was acknowledged survives a crash. Records are never rewritten.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from mixflow.lifecycle.errors import RegistryError
from mixflow.lifecycle.settings import LifecycleSettings


class AuditAction(StrEnum):
    REGISTER = "register"
    PROMOTE = "promote"
    OVERRIDE = "override"
    ARCHIVE = "archive"
    #: ``mixflow refresh``'s decision about the challenger it registered
    REFRESH = "refresh"


@dataclass(frozen=True)
class AuditRecord:
    """One action: who did what to which model version, why, and the alias holder before/after
    (versions as strings, ``None`` when the alias was unset)."""

    actor: str
    action: AuditAction
    model: str
    version: str
    reason: str
    before: str | None = None
    after: str | None = None
    ts: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="microseconds"))
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["action"] = self.action.value
        extra = d.pop("extra")
        return {"ts": d.pop("ts"), **d, **extra}


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) for the ``with`` block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def append_audit(record: AuditRecord, settings: LifecycleSettings) -> None:
    """Append ``record`` to ``settings.audit_path`` under an exclusive lock, fsynced."""
    settings.ensure_home()
    line = json.dumps(record.to_dict(), sort_keys=False, allow_nan=False) + "\n"
    with open(settings.audit_path, "ab") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            handle.write(line.encode())
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def audit_log(name: str | None, settings: LifecycleSettings) -> list[dict[str, Any]]:
    """Every audit record of model ``name`` (all models when ``None``), oldest first."""
    path = settings.audit_path
    if not path.is_file():
        return []
    with open(path, "rb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        try:
            raw = handle.read().decode()
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    records: list[dict[str, Any]] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise RegistryError(f"{path}:{number}: not a JSON record ({err.msg})") from err
        if name is None or record.get("model") == name:
            records.append(record)
    return records


def _v(version: object) -> str:
    """``"2"`` -> ``"v2"``; an unset alias holder reads ``(none)``."""
    return "(none)" if version is None or version == "" else f"v{version}"


def describe_record(record: dict[str, Any]) -> str:
    """One audit record as a line a reader can follow, naming the alias a change moved:
    ``promote champion: v1 -> v2 by alice: Q1 model``. ``record`` is a dict of
    :func:`audit_log` (the JSON Lines fields; older records without an ``alias`` say so)."""
    action = str(record.get("action", "?"))
    version = _v(record.get("version"))
    if action in (AuditAction.PROMOTE, AuditAction.OVERRIDE):
        alias = record.get("alias") or "alias"
        what = f"promote {alias}: {_v(record.get('before'))} -> {version}"
        if action == AuditAction.OVERRIDE:
            gates = ", ".join(record.get("failed_gates") or ()) or "failed gates"
            what += f" (gates overridden: {gates}; {record.get('override_reason') or '-'})"
    elif action == AuditAction.ARCHIVE:
        removed = record.get("before")
        what = f"archive {version}" + (f" (aliases removed: {removed})" if removed else "")
    elif action == AuditAction.REFRESH:
        before, after = _v(record.get("before")), _v(record.get("after"))
        change = f"champion: {before} -> {after}" if before != after else f"champion stays {before}"
        what = f"refresh challenger {version}; {change}"
    else:
        what = f"{action} {version}"
    return f"{what} by {record.get('actor') or '?'}: {record.get('reason') or '-'}"


__all__ = [
    "AuditAction",
    "AuditRecord",
    "append_audit",
    "audit_log",
    "describe_record",
    "exclusive_lock",
]
