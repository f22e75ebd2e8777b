"""The model store as the service sees it: registered models namespaced per workspace.

A client names a model ``revenue``; the MLflow registry holds it as ``<workspace>.<model_name>``
(e.g. ``acme.revenue``). Workspace names have no ``.``, so the first ``.`` always splits the
two, and a workspace only ever reaches names under its own prefix: another workspace's model
answers :class:`~mixflow.errors.NotFoundError` (404), exactly as a model that does not exist.

:func:`resolve_model` turns ``(settings, workspace, model_name, ref)`` into the registered
version and a local copy of its run folder, downloaded once per version under
``MIXFLOW_HOME/models/<registered name>/<version>/run`` and reused after.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from mixflow.errors import InvalidInputError, NotFoundError
from mixflow.lifecycle.errors import RegistryError
from mixflow.lifecycle.registry import Alias, ModelVersionInfo, load_version, resolve_version
from mixflow.lifecycle.settings import LifecycleSettings, settings_from_env
from mixflow.lifecycle.tracking import RUN_ARTIFACT_PATH
from mixflow.service.settings import ServiceSettings

#: a client's model name: 1-64 characters, letters, digits, '_', '-', '.', starting with a
#: letter or digit (with the workspace prefix it stays within MLflow's 128 characters)
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SEPARATOR = "."


@dataclass(frozen=True)
class StoredVersion:
    """A registered version of a workspace's model and its local run folder."""

    workspace: str
    model_name: str
    registered_name: str
    version: int
    run_dir: Path
    info: ModelVersionInfo

    @property
    def run_id(self) -> str:
        return self.info.run_id


def check_model_name(model_name: str, field: str = "model_name") -> str:
    """Return ``model_name`` if a client may use it, else raise naming the rule."""
    if not MODEL_NAME.match(model_name):
        raise InvalidInputError(
            f"{field} {model_name!r} is invalid: expected 1-64 characters a-z, A-Z, 0-9, '_', "
            "'-' or '.', starting with a letter or digit"
        )
    return model_name


def registered_name(workspace: str, model_name: str) -> str:
    """The MLflow registered-model name of ``model_name`` in ``workspace``."""
    return f"{workspace}{SEPARATOR}{check_model_name(model_name)}"


def split_registered_name(name: str, workspace: str) -> str | None:
    """The client's model name if ``name`` belongs to ``workspace``, else None."""
    prefix = workspace + SEPARATOR
    if not name.startswith(prefix):
        return None
    rest = name[len(prefix) :]
    return rest if MODEL_NAME.match(rest) else None


def lifecycle_settings(settings: ServiceSettings) -> LifecycleSettings:
    """The registry's settings for the service: its home is ``settings.home``; the tracking
    store is ``MLFLOW_TRACKING_URI`` when set, else the embedded SQLite store there."""
    env = {"MIXFLOW_HOME": str(settings.home)}
    for name in ("MLFLOW_TRACKING_URI", "MIXFLOW_EXPERIMENT"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return settings_from_env(env)


def parse_ref(ref: str | int) -> str | int:
    """``champion`` / ``challenger``, or a version number (``3`` or ``"3"``)."""
    if isinstance(ref, int) and not isinstance(ref, bool):
        if ref < 1:
            raise InvalidInputError(f"ref {ref} is invalid: versions start at 1")
        return ref
    text = str(ref).strip()
    if text.isdigit() and int(text) >= 1:
        return int(text)
    if text in {a.value for a in Alias}:
        return text
    allowed = ", ".join(a.value for a in Alias)
    raise InvalidInputError(f"ref {ref!r} is invalid: expected {allowed} or a version number")


def find_version(
    settings: ServiceSettings, workspace: str, model_name: str, ref: str | int
) -> ModelVersionInfo:
    """The registered version ``ref`` of ``workspace``'s model, without downloading it (the
    same errors as :func:`resolve_model`)."""
    name = registered_name(workspace, model_name)
    parsed = parse_ref(ref)
    uri = f"models:/{name}/{parsed}" if isinstance(parsed, int) else f"models:/{name}@{parsed}"
    try:
        return resolve_version(uri, lifecycle_settings(settings))
    except RegistryError:
        raise NotFoundError(_not_found(model_name, parsed)) from None


def resolve_model(
    settings: ServiceSettings, workspace: str, model_name: str, ref: str | int
) -> StoredVersion:
    """The version ``ref`` (alias or number) of ``workspace``'s model ``model_name``, with its
    run folder on local disk (fetched from the store on first use). Raises
    :class:`NotFoundError` for an unknown model, version or unset alias, and for any model of
    another workspace; :class:`InvalidInputError` for a malformed name or ref."""
    name = registered_name(workspace, model_name)
    info = find_version(settings, workspace, model_name, ref)
    lifecycle = lifecycle_settings(settings)
    folder = settings.home / "models" / name / str(info.version)
    run_dir = folder / RUN_ARTIFACT_PATH
    if not _complete(run_dir):
        run_dir = load_version(f"models:/{name}/{info.version}", lifecycle, dst=folder)
    return StoredVersion(
        workspace=workspace,
        model_name=model_name,
        registered_name=name,
        version=info.version,
        run_dir=run_dir,
        info=info,
    )


def _complete(run_dir: Path) -> bool:
    # the same test as load_version's: the download is renamed into place as a whole
    return (run_dir / "summary.json").is_file() and (run_dir / "posterior.nc").is_file()


def _not_found(model_name: str, ref: str | int) -> str:
    if isinstance(ref, int):
        return f"model {model_name!r} has no version {ref}"
    return f"model {model_name!r} not found or has no {ref}"


__all__ = [
    "MODEL_NAME",
    "StoredVersion",
    "check_model_name",
    "find_version",
    "lifecycle_settings",
    "parse_ref",
    "registered_name",
    "resolve_model",
    "split_registered_name",
]
