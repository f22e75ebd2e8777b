"""The service's one settings object, read from ``MIXFLOW_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Settings of the API and its workers (``MIXFLOW_HOME``, ``MIXFLOW_DATABASE_URL`` ...)."""

    model_config = SettingsConfigDict(env_prefix="MIXFLOW_", extra="ignore", frozen=True)

    home: Path = Field(default=Path.home() / ".mixflow", description="state folder")
    database_url: str = Field(default="", description="SQLAlchemy URL; empty: SQLite in home")
    max_upload_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    max_queued_jobs: int = Field(default=20, gt=0, description="queued jobs per workspace")
    simulator_cache: int = Field(
        default=8, gt=0, description="model versions whose simulators the API keeps loaded"
    )
    ref_cache_seconds: float = Field(
        default=2.0, ge=0, description="how long the version an alias names is kept (0: never)"
    )
    ray_address: str = Field(
        default="",
        description="the Ray cluster portfolio fit jobs run on (empty: RAY_ADDRESS, else a "
        "local Ray started by the job)",
    )
    ray_local_cpus: int = Field(
        default=0, ge=0, description="CPUs of a job's local Ray (0: this machine's count)"
    )

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to ``sqlite:///<home>/service.db``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'service.db'}"
