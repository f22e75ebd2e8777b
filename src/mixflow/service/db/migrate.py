"""Apply the Alembic migrations shipped inside the package (``mixflow db upgrade``)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect

from mixflow.service.db.session import MIGRATIONS
from mixflow.service.settings import ServiceSettings


def alembic_config(settings: ServiceSettings) -> Config:
    """An Alembic config pointing at the packaged migrations and the settings' database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", settings.resolved_database_url().replace("%", "%%"))
    return config


def upgrade(settings: ServiceSettings, revision: str = "head") -> None:
    """Bring the database to ``revision`` (creating the SQLite file if needed)."""
    if settings.resolved_database_url().startswith("sqlite"):
        settings.home.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None before any migration."""
    if not inspect(engine).has_table("alembic_version"):
        return None
    with engine.connect() as conn:
        from sqlalchemy import text

        row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])
