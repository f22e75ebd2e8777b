"""A real ``mixflow serve`` with a small fitted and registered model, and Debian's Chromium
driven by Playwright, shared by the planner's browser tests of a module."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml

from mixflow.service.auth import Role, create_key
from mixflow.service.db.migrate import upgrade
from mixflow.service.db.session import make_engine, make_session_factory
from mixflow.service.settings import ServiceSettings

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[3]
#: screenshots of each screen (git-ignored); CI keeps them as artefacts
ARTIFACTS = Path(os.environ.get("MIXFLOW_TEST_ARTIFACTS", ROOT / "tests" / "artifacts")) / "planner"
MODEL = "brand"
WORKSPACE = "acme"
#: a MAP fit of a small simulated brand: seconds, and enough for every screen
FIT = {"method": "map", "chains": 1, "seed": 1, "holdout_weeks": 0}


@dataclass(frozen=True)
class Planner:
    """The running service: its URL, one key per role, the model and its fit's inputs."""

    url: str
    keys: dict[str, str]
    model: str
    channels: tuple[str, ...]
    inputs: Path  # config.yaml + data.csv, as a user uploads them
    run_dir: Path  # the fitted run folder

    def api(self, role: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Call the API with the role's key (what any other client does)."""
        headers = {"X-API-Key": self.keys[role]}
        return httpx.request(method, self.url + path, headers=headers, timeout=120, **kwargs)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_brand(folder: Path) -> tuple[Path, tuple[str, ...]]:
    """A small simulated brand (80 weeks, 3 channels) as ``data.csv`` + ``config.yaml``."""
    from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand

    sim = BrandSimulation(n_weeks=80, channels=DEFAULT_CHANNELS[:3], n_events=1, fourier_terms=1)
    brand = simulate_brand(sim, np.random.default_rng(3))
    folder.mkdir(parents=True, exist_ok=True)
    brand.frame.to_csv(folder / "data.csv", index=False)
    cfg = {**brand.config, "fit": FIT}
    cfg["data"] = {**cfg["data"], "path": "data.csv"}
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return folder / "config.yaml", tuple(c.name for c in DEFAULT_CHANNELS[:3])


def _register(settings: ServiceSettings, run_dir: Path, versions: int) -> None:
    from mixflow.lifecycle.registry import Alias, promote, register
    from mixflow.service.store import lifecycle_settings, registered_name

    lifecycle = lifecycle_settings(settings)
    name = registered_name(WORKSPACE, MODEL)
    for i in range(versions):
        copy = run_dir.parent / f"run-v{i + 1}"
        shutil.copytree(run_dir, copy)
        register(copy, name, lifecycle, actor="tests")
    promote(name, 1, Alias.CHAMPION, "tests", "first fit", lifecycle, override_reason="test model")


def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mixflow serve exited with {proc.returncode}")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError("mixflow serve did not become ready in 120 s")


@pytest.fixture(scope="module")
def planner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Planner]:
    """``mixflow serve`` (API + 1 worker) on a free port of 127.0.0.1, with model ``brand``
    (v1 champion, v2 a second registration of the same fit) and a key per role."""
    from mixflow.report import render_report
    from mixflow.workflow import fit_run

    base = tmp_path_factory.mktemp("planner")
    home = base / "home"
    settings = ServiceSettings(home=home, database_url="")
    upgrade(settings)
    engine = make_engine(settings)
    with make_session_factory(engine)() as db:
        keys = {
            r.name: create_key(db, name=f"{r.name} key", workspace=WORKSPACE, role=r).secret
            for r in Role
        }
    engine.dispose()
    config, channels = write_brand(base / "inputs")
    fit_run(config, base / "fit" / "run", progress_bar=False)
    render_report(base / "fit" / "run")
    _register(settings, base / "fit" / "run", versions=2)
    port = _free_port()
    env = {**os.environ, "MIXFLOW_HOME": str(home), "MIXFLOW_DATABASE_URL": ""}
    env.pop("MLFLOW_TRACKING_URI", None)
    log = (base / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mixflow", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc)
        found = Planner(url, keys, MODEL, channels, base / "inputs", base / "fit" / "run")
        for version in (1, 2):  # fetch each version once and load its simulator
            plan = {"ref": version, "plan": {"like_last_weeks": 13}}
            r = found.api("viewer", "POST", f"/api/v1/models/{MODEL}/simulate", json=plan)
            assert r.status_code == 200, r.text
        yield found
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    text = (base / "serve.log").read_text(errors="replace")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "serve.log").write_text(text)
    for key in keys.values():  # the keys never reach the server's log
        assert key not in text


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium (Playwright's own browser download does not work here)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def shot(page: Any, name: str) -> None:
    """Save a full-page screenshot of the screen as a test artefact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
