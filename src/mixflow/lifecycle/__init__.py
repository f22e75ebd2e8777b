"""The model lifecycle: MLflow tracking and registry, governance gates, promotion, audit trail.

Settings come from :func:`settings_from_env`; nothing is created before the first call.
"""

from mixflow.lifecycle.audit import AuditAction, AuditRecord, append_audit, audit_log
from mixflow.lifecycle.errors import RegistryError
from mixflow.lifecycle.gates import (
    GatePolicy,
    GateResult,
    GateStatus,
    load_policy,
    policy_from_dict,
    run_gates,
)
from mixflow.lifecycle.registry import (
    Alias,
    ModelInfo,
    ModelVersionInfo,
    archive,
    list_models,
    load_version,
    model_versions,
    promote,
    register,
    resolve_version,
)
from mixflow.lifecycle.settings import LifecycleSettings, settings_from_env
from mixflow.lifecycle.tracking import log_run

__all__ = [
    "Alias",
    "AuditAction",
    "AuditRecord",
    "GatePolicy",
    "GateResult",
    "GateStatus",
    "LifecycleSettings",
    "ModelInfo",
    "ModelVersionInfo",
    "RegistryError",
    "append_audit",
    "archive",
    "audit_log",
    "list_models",
    "load_policy",
    "load_version",
    "log_run",
    "model_versions",
    "policy_from_dict",
    "promote",
    "register",
    "resolve_version",
    "run_gates",
    "settings_from_env",
]
