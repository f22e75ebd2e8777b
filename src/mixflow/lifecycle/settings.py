"""Where the lifecycle stores its data: one explicit settings object, built from the environment.

Nothing here touches the disk at import time; :func:`settings_from_env` only computes paths and
:meth:`LifecycleSettings.ensure_home` creates the folder on first use.

- ``MIXFLOW_HOME`` (default ``./.mixflow``, relative to the working directory): the project data
  folder. It holds ``mlflow.db`` (the embedded SQLite tracking + registry store), ``mlartifacts/``
  (run artifacts), ``audit.jsonl`` (the audit trail) and ``registry.lock``.
- ``MLFLOW_TRACKING_URI``: use this MLflow server or store instead of the embedded one; the
  registry URI is then the same URI.
- ``MIXFLOW_EXPERIMENT`` (default ``mixflow``): the MLflow experiment runs are logged under.
- ``MIXFLOW_CACHE_DIR`` (default ``$XDG_CACHE_HOME/mixflow``, else ``~/.cache/mixflow``) and
  ``MIXFLOW_JAX_CACHE`` (default true; ``0``/``false`` turns it off): the command line's cache
  of compiled programs (read by :mod:`mixflow.cli.runtime`).

They are read by :class:`EnvironmentSettings` (pydantic-settings); an empty value means the default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_HOME = ".mixflow"
DEFAULT_EXPERIMENT = "mixflow"


@dataclass(frozen=True)
class LifecycleSettings:
    """Locations of the tracking store, the registry, the artifacts and the audit trail."""

    home: Path
    tracking_uri: str
    registry_uri: str
    artifact_location: str
    experiment_name: str = DEFAULT_EXPERIMENT

    @property
    def audit_path(self) -> Path:
        return self.home / "audit.jsonl"

    @property
    def lock_path(self) -> Path:
        return self.home / "registry.lock"

    @property
    def embedded(self) -> bool:
        """True when the store is the local SQLite database under ``home``."""
        return self.tracking_uri == _sqlite_uri(self.home)

    def ensure_home(self) -> None:
        """Create ``home`` (and the artifact folder of the embedded store) if missing."""
        self.home.mkdir(parents=True, exist_ok=True)
        if self.embedded:
            (self.home / "mlartifacts").mkdir(exist_ok=True)


def _sqlite_uri(home: Path) -> str:
    return f"sqlite:///{home / 'mlflow.db'}"


class EnvironmentSettings(BaseSettings):
    """The environment variables the lifecycle reads (pydantic-settings); an empty value means
    the default. ``EnvironmentSettings()`` reads the process environment."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    home: str = Field(DEFAULT_HOME, validation_alias="MIXFLOW_HOME")
    tracking_uri: str | None = Field(None, validation_alias="MLFLOW_TRACKING_URI")
    experiment: str = Field(DEFAULT_EXPERIMENT, validation_alias="MIXFLOW_EXPERIMENT")
    cache_dir: str | None = Field(None, validation_alias="MIXFLOW_CACHE_DIR")
    xdg_cache_home: str | None = Field(None, validation_alias="XDG_CACHE_HOME")
    jax_cache: bool = Field(True, validation_alias="MIXFLOW_JAX_CACHE")

    @field_validator("home", "experiment", mode="before")
    @classmethod
    def _empty_is_default(cls, v: object, info: object) -> object:
        if v in ("", None):
            return DEFAULT_HOME if getattr(info, "field_name", "") == "home" else DEFAULT_EXPERIMENT
        return v

    @field_validator("tracking_uri", "cache_dir", "xdg_cache_home", mode="before")
    @classmethod
    def _empty_is_none(cls, v: object) -> object:
        return v or None

    @field_validator("jax_cache", mode="before")
    @classmethod
    def _empty_is_on(cls, v: object) -> object:
        return True if v in ("", None) else v


class _FromMapping(EnvironmentSettings):
    """:class:`EnvironmentSettings` from a given mapping only (never the process's)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def settings_from_env(env: Mapping[str, str], cwd: Path | None = None) -> LifecycleSettings:
    """Settings from environment variables (see the module docstring); ``cwd`` anchors a
    relative ``MIXFLOW_HOME`` (default: the current working directory)."""
    names = ("MIXFLOW_HOME", "MLFLOW_TRACKING_URI", "MIXFLOW_EXPERIMENT")
    given: dict[str, object] = {k: env[k] for k in names if k in env}
    read = _FromMapping(**given)  # type: ignore[arg-type]  # validated by the model
    base = Path.cwd() if cwd is None else cwd
    home = Path(read.home).expanduser()
    if not home.is_absolute():
        home = base / home
    home = home.resolve()
    tracking = read.tracking_uri or _sqlite_uri(home)
    return LifecycleSettings(
        home=home,
        tracking_uri=tracking,
        registry_uri=tracking,
        artifact_location=(home / "mlartifacts").as_uri(),
        experiment_name=read.experiment,
    )


__all__ = ["EnvironmentSettings", "LifecycleSettings", "settings_from_env"]
