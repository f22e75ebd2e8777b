from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="session")
def map_run_dir(
    tmp_path_factory: pytest.TempPathFactory,
    small_brand_config: Callable[[Path, dict[str, Any]], Path],
) -> Path:
    """A run directory of a tiny MAP fit (80 weeks, 2 channels, 300 SVI steps) with its HTML
    report, made once."""
    from mixflow.report import render_report
    from mixflow.workflow import fit_run

    tmp = tmp_path_factory.mktemp("service_run")
    config = small_brand_config(
        tmp, {"method": "map", "svi_steps": 300, "progress_bar": False, "holdout_weeks": 0}
    )
    out = tmp / "run"
    fit_run(config, out)
    render_report(out)
    return out


@pytest.fixture
def no_tracking_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded MLflow store under the service's home, whatever the environment says."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture(scope="session")
def registry_template(tmp_path_factory: pytest.TempPathFactory, map_run_dir: Path) -> Path:
    """A MIXFLOW_HOME whose embedded MLflow store holds 'acme.revenue' version 1 (gates pass)
    and version 2 (min_weeks fails), made once; tests copy its store with
    ``service_registry.install_registry``."""
    import os
    import shutil

    from service_registry import FAILING, PASSING

    from mixflow.lifecycle import GatePolicy, register
    from mixflow.lifecycle.settings import settings_from_env

    home = tmp_path_factory.mktemp("registry_template")
    saved = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        lifecycle = settings_from_env({"MIXFLOW_HOME": str(home)})
        for n, policy in ((1, PASSING), (2, FAILING)):
            copy = home / f"run{n}"
            shutil.copytree(map_run_dir, copy)
            info = register(copy, "acme.revenue", lifecycle, policy=GatePolicy(**policy))
            assert info.version == n and info.gates_passed == (n == 1), info.gates
    finally:
        if saved is not None:
            os.environ["MLFLOW_TRACKING_URI"] = saved
    return home
