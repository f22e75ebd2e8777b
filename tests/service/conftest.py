from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mixflow.service.app import create_app
from mixflow.service.auth import Role, create_key
from mixflow.service.db.migrate import upgrade
from mixflow.service.settings import ServiceSettings


@pytest.fixture
def settings(tmp_path: Path) -> ServiceSettings:
    return ServiceSettings(home=tmp_path / "home", database_url="")


@pytest.fixture
def client(settings: ServiceSettings) -> Iterator[TestClient]:
    upgrade(settings)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def keys(client: TestClient) -> dict[str, str]:
    """One key per role in workspace 'acme', and an admin of workspace 'other'."""
    sessions = client.app.state.sessions  # type: ignore[attr-defined]
    out: dict[str, str] = {}
    with sessions() as session:
        for role in Role:
            out[role.name] = create_key(session, name=role.name, workspace="acme", role=role).secret
        out["other"] = create_key(session, name="o", workspace="other", role=Role.admin).secret
    return out
