"""Shared set-up of the planning tests: one small SVI fit per session, registered as version 1
(champion) of workspace ``acme``'s model ``brand`` in a fresh service home per test module."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from fastapi.testclient import TestClient

from mixflow.service.app import create_app
from mixflow.service.auth import Role, create_key
from mixflow.service.db.migrate import upgrade
from mixflow.service.settings import ServiceSettings
from mixflow.service.store import lifecycle_settings, registered_name

WORKSPACE = "acme"
MODEL = "brand"


@functools.cache
def fitted_run(base: Path, n_channels: int = 3, seed: int = 8) -> Path:
    """A run folder of a small SVI fit (80 weeks, ``n_channels`` channels, 60 draws)."""
    from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand
    from mixflow.workflow import fit_run

    folder = base / f"planning_run_{n_channels}_{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    brand = simulate_brand(
        BrandSimulation(n_weeks=80, channels=DEFAULT_CHANNELS[:n_channels]),
        np.random.default_rng(seed),
    )
    brand.frame.to_csv(folder / "data.csv", index=False)
    cfg = dict(brand.config)
    cfg["fit"] = {"method": "svi", "svi_steps": 300, "draws": 60, "seed": 1, "progress_bar": False}
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg))
    fit_run(folder / "config.yaml", folder / "run")
    return folder / "run"


def register_version(
    settings: ServiceSettings, run_dir: Path, model: str = MODEL, workspace: str = WORKSPACE
) -> int:
    """Register ``run_dir`` as the next version of the workspace's model and make it champion."""
    from mixflow.lifecycle.registry import Alias, promote, register

    lifecycle = lifecycle_settings(settings)
    name = registered_name(workspace, model)
    info = register(run_dir, name, lifecycle, actor="test")
    promote(name, info.version, Alias.CHAMPION, "test", "planning tests", lifecycle)
    return info.version


@dataclass
class Env:
    """A migrated service home with a registered champion and one key per role."""

    client: TestClient
    settings: ServiceSettings
    run_dir: Path
    keys: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[who]}


def make_env(home: Path, run_dir: Path) -> Iterator[Env]:
    """Yield an :class:`Env` under ``home`` (the embedded MLflow store, whatever the
    environment says); the app and its client are closed after."""
    saved = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        settings = ServiceSettings(home=home, database_url="")
        upgrade(settings)
        register_version(settings, run_dir)
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            keys: dict[str, str] = {}
            with client.app.state.sessions() as session:  # type: ignore[attr-defined]
                for role in Role:
                    keys[role.name] = create_key(
                        session, name=f"{role.name}-key", workspace=WORKSPACE, role=role
                    ).secret
                keys["other"] = create_key(
                    session, name="other-admin", workspace="other", role=Role.admin
                ).secret
            yield Env(client, settings, run_dir, keys)
    finally:
        if saved is not None:
            os.environ["MLFLOW_TRACKING_URI"] = saved
