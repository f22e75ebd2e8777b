"""The database layer on PostgreSQL (127.0.0.1:5432, trust auth): migrations equal the models,
claims use FOR UPDATE SKIP LOCKED and never hand one job to two workers. A fresh database is
created for the run and dropped after. Under CI=true an unreachable server fails the test."""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from mixflow.service.db.migrate import upgrade
from mixflow.service.db.models import Base, Job
from mixflow.service.db.session import make_engine, make_session_factory
from mixflow.service.jobs import store
from mixflow.service.settings import ServiceSettings

ADMIN_URL = os.environ.get(
    "MIXFLOW_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="module")
def pg_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceSettings]:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as err:  # no server
        admin.dispose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {ADMIN_URL} is unreachable under CI: {err}")
        pytest.skip(f"PostgreSQL at {ADMIN_URL} is unreachable")
    name = f"mixflow_test_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        yield ServiceSettings(home=Path(tmp_path_factory.mktemp("pg")), database_url=url)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_postgres_migrations_match_models(pg_settings: ServiceSettings) -> None:
    upgrade(pg_settings)
    engine = make_engine(pg_settings)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_postgres_many_workers_claim_each_job_once(pg_settings: ServiceSettings) -> None:
    upgrade(pg_settings)
    engine = make_engine(pg_settings)
    sessions = make_session_factory(engine)
    with sessions() as s:
        ids = {
            store.enqueue(s, workspace="race", kind="echo", payload={}, max_queued=100).id
            for _ in range(20)
        }
    taken: list[str] = []
    lock = threading.Lock()

    def drain(name: str) -> None:
        while True:
            with sessions() as s:
                job = store.claim(s, name, timedelta(seconds=30))
            if job is None:
                return
            with lock:
                taken.append(job.id)

    threads = [threading.Thread(target=drain, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with sessions() as s:
        states = {j.state for j in s.query(Job).filter(Job.workspace == "race")}
    engine.dispose()
    assert sorted(taken) == sorted(ids)  # every job once, none twice
    assert states == {"running"}
