"""``mixflow portfolio fit`` on a real two-node Ray cluster on this machine.

The head (``ray start --head --num-cpus 1``) and a second node (``ray start --address ...
--num-cpus 1``) are separate processes (``--block``, each in its own process group), with Ray's
temporary files in a temporary folder and a token of their own. The fixture stops exactly the
processes it started (their process groups): ``ray stop`` would stop every Ray on this shared
machine. Three tiny brands and a broken one are fitted across both nodes; the second node is
killed while it runs a fit, and the portfolio still completes through Ray's retries; the broken
model fails alone with its message (exit 1); a re-run resumes without refitting.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from portfolio_support import TINY_NUTS, write_brand, write_broken_brand, write_portfolio

pytestmark = pytest.mark.slow  # a few minutes: worker start-up, three fits, a node's death

BIN = Path(sys.executable).parent
BRANDS = ("brand-a", "brand-b", "brand-c")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _descendants(pid: int) -> list[int]:
    """Process ids below ``pid`` (Linux ``/proc``; psutil is not a dependency)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after its ")"
        parents[int(stat.parent.name)] = int(text.rsplit(")", 1)[1].split()[1])
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parents.items() if pp == p]
        out += kids
        todo += kids
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a ``ray start --block`` process and everything it started (its process group)."""
    kids = _descendants(proc.pid)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue
    for k in kids:  # anything that left the group
        with contextlib.suppress(ProcessLookupError):
            os.kill(k, signal.SIGKILL)


@dataclass
class Cluster:
    address: str
    env: dict[str, str]
    head: subprocess.Popen[bytes]
    node2: subprocess.Popen[bytes]


def _wait_for_nodes(address: str, env: dict[str, str], n: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(
            [str(BIN / "ray"), "status", "--address", address],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        active = out.split("Active:")[-1].split("Pending:")[0] if "Active:" in out else ""
        if active.count("node_") >= n:
            return
        time.sleep(2)
    raise AssertionError(f"the Ray cluster did not reach {n} nodes: {out}")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: Ray's socket paths
    port = _free_port()
    address = f"127.0.0.1:{port}"
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
        "RAY_USAGE_STATS_ENABLED": "0",
        "MIXFLOW_CACHE_DIR": os.environ["MIXFLOW_CACHE_DIR"],  # set by tests/conftest.py
    }
    env.pop("RAY_ADDRESS", None)
    common = ["--num-cpus", "1", "--disable-usage-stats", "--block"]
    head = subprocess.Popen(
        [
            str(BIN / "ray"),
            "start",
            "--head",
            "--port",
            str(port),
            "--temp-dir",
            str(temp),
            "--include-dashboard",
            "false",
            *common,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    node2 = None
    try:
        _wait_for_nodes(address, env, 1)
        node2 = subprocess.Popen(
            [str(BIN / "ray"), "start", "--address", address, *common],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_for_nodes(address, env, 2)
        yield Cluster(address, env, head, node2)
    finally:
        if node2 is not None:
            _stop(node2)
        _stop(head)


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("portfolio")
    for i, name in enumerate(BRANDS):
        write_brand(root / name, seed=10 + i)
    write_broken_brand(root / "broken", seed=20)
    models = [
        {"name": n, "config": f"{n}/config.yaml", "fit": {"seed": i + 1}}
        for i, n in enumerate(BRANDS)
    ]
    models.insert(1, {"name": "broken", "config": "broken/config.yaml"})
    return write_portfolio(root / "portfolio.yaml", models, defaults={"fit": TINY_NUTS})


def _fit(cluster: Cluster, portfolio: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            str(BIN / "mixflow"),
            "portfolio",
            "fit",
            str(portfolio),
            "--out",
            str(out),
            "--ray-address",
            cluster.address,
            "--no-progress",
        ],
        env=cluster.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _fitting_on(proc: subprocess.Popen[bytes]) -> bool:
    """Whether a Ray worker under this node process is running a fit task (Ray names the
    worker process after the task it runs)."""
    return any("fit_model" in _cmdline(k) for k in _descendants(proc.pid))


@pytest.fixture(scope="module")
def first_run(cluster: Cluster, portfolio: Path) -> tuple[Path, int, str, bool]:
    """Fit the portfolio; kill the second node as soon as it runs a fit."""
    out = portfolio.parent / "out"
    driver = _fit(cluster, portfolio, out)
    killed = False
    deadline = time.monotonic() + 600
    while driver.poll() is None and time.monotonic() < deadline:
        if not killed and _fitting_on(cluster.node2):
            _stop(cluster.node2)
            killed = True
        time.sleep(0.5)
    output, _ = driver.communicate(timeout=max(1.0, deadline - time.monotonic()))
    return out, int(driver.returncode), output, killed


def _record(out: Path) -> dict[str, dict[str, Any]]:
    return json.loads((out / "portfolio.json").read_text())["models"]  # type: ignore[no-any-return]


def test_node_loss_is_retried_and_the_broken_model_fails_alone(
    first_run: tuple[Path, int, str, bool],
) -> None:
    out, code, output, killed = first_run
    assert killed, f"no fit ran on the second node: {output}"
    assert code == 1, output
    models = _record(out)
    assert list(models) == ["brand-a", "broken", "brand-b", "brand-c"]
    for name in BRANDS:
        rec = models[name]
        assert rec["state"] == "succeeded", rec
        assert (out / "runs" / name / "manifest.json").is_file()
        assert rec["rhat_max"] is not None and rec["ess_bulk_min"] is not None
        assert set(rec["roi"]) == {"tv", "search"}
    broken = models["broken"]
    assert broken["state"] == "failed"
    assert "column 'search_spend'" in str(broken["error"]) and "not found" in str(broken["error"])
    assert not (out / "runs" / "broken").exists()


def test_rerun_resumes_without_refitting(
    cluster: Cluster, portfolio: Path, first_run: tuple[Path, int, str, bool]
) -> None:
    out = first_run[0]
    before = {n: (out / "runs" / n / "manifest.json").stat().st_mtime_ns for n in BRANDS}
    driver = _fit(cluster, portfolio, out)
    output, _ = driver.communicate(timeout=300)
    assert driver.returncode == 1, output  # the broken model is tried again, and fails again
    models = _record(out)
    for name in BRANDS:
        assert models[name]["resumed"] is True
        assert (out / "runs" / name / "manifest.json").stat().st_mtime_ns == before[name]
    assert models["broken"]["state"] == "failed" and models["broken"]["resumed"] is False
