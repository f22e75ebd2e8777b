"""Through the CLI (docs/lifecycle.md): `promote` is refused with exit 2 and one line naming the
failed gate, `--override TEXT` promotes anyway and is audited as `override`; `refresh` exits 2
(one line) when it cannot start."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mixflow.cli.main import app
from mixflow.workflow import fit_run

ConfigWriter = Callable[[Path, dict[str, Any]], Path]
# SVI: posterior draws, so the only failing gate is the one a test sets up (the default policy
# also blocks a MAP fit, by its point_estimate gate)
FIT = {"method": "svi", "svi_steps": 200, "progress_bar": False, "holdout_weeks": 0}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, small_brand_config: ConfigWriter) -> Path:
    folder = tmp_path_factory.mktemp("cfg")
    out = folder / "run"
    fit_run(small_brand_config(folder, FIT), out)
    return out


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An empty embedded store under this test's tmp folder."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return {
        "MIXFLOW_HOME": str(tmp_path / "home"),
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    }


def _cli(args: list[str], env: dict[str, str]) -> Any:
    return CliRunner().invoke(app, args, env=env)


def _register_failing(run_dir: Path, env: dict[str, str], tmp_path: Path) -> None:
    """Register the run under a policy whose ROI bounds no channel meets (roi_bounds fails)."""
    policy = tmp_path / "gates.yaml"
    policy.write_text("default_roi_bounds: [100, 200]\n")
    res = _cli(["register", str(run_dir), "--name", "brand", "--policy", str(policy)], env)
    assert res.exit_code == 0, res.output


def _version(env: dict[str, str]) -> Any:
    """`models show --json`'s entry of version 1."""
    res = _cli(["models", "show", "brand", "--json"], env)
    assert res.exit_code == 0, res.output
    versions = json.loads(res.output)["versions"]
    assert [v["version"] for v in versions] == [1]
    return versions[0]


def _error_lines(output: str) -> list[str]:
    """The output without MLflow's own INFO log lines (creating a fresh store's tables)."""
    return [line for line in output.strip().splitlines() if " INFO mlflow" not in line]


def test_promote_is_refused_while_a_gate_fails_and_override_promotes(
    run_dir: Path, env: dict[str, str], tmp_path: Path
) -> None:
    _register_failing(run_dir, env, tmp_path)
    assert _version(env)["gates_passed"] is False
    args = ["promote", "brand", "1", "--to", "champion", "--by", "ana", "--reason", "needed"]
    res = _cli(args, env)
    assert res.exit_code == 2, res.output
    lines = _error_lines(res.output)
    assert len(lines) == 1, res.output
    assert lines[0].startswith("error: ") and "roi_bounds" in lines[0]
    assert "Traceback" not in res.output
    # only the failing gate is named, not those that passed
    for passing in ("min_weeks", "spend_coverage"):
        assert passing not in lines[0]
    # nothing moved, nothing audited but the registration
    assert _version(env)["aliases"] == []
    audit = json.loads(_cli(["audit", "brand", "--json"], env).output)
    assert [r["action"] for r in audit] == ["register"]

    res = _cli([*args, "--override", "bounds too strict"], env)
    assert res.exit_code == 0, res.output
    assert res.output.strip() == "brand version 1 is now champion (gates overridden)"
    assert _version(env)["aliases"] == ["champion"]
    audit = json.loads(_cli(["audit", "brand", "--json"], env).output)
    assert [r["action"] for r in audit] == ["register", "override"]
    last = audit[-1]
    assert last["actor"] == "ana" and last["reason"] == "needed"
    assert last["override_reason"] == "bounds too strict"
    assert "roi_bounds" in json.dumps(last["failed_gates"])
    # the printed trail names the alias that moved, from which version to which
    lines = _error_lines(_cli(["audit", "brand"], env).output)
    assert lines[-1].endswith(
        "promote champion: (none) -> v1 (gates overridden: roi_bounds; bounds too strict) "
        "by ana: needed"
    ), lines


def test_refresh_that_cannot_start_exits_2_in_one_line(
    run_dir: Path, env: dict[str, str], tmp_path: Path
) -> None:
    data = run_dir.parent / "data.csv"
    res = _cli(["refresh", "nosuch", "--data", str(data)], env)
    assert res.exit_code == 2, res.output
    lines = _error_lines(res.output)
    assert len(lines) == 1 and lines[0].startswith("error: ") and "'nosuch'" in lines[0], lines

    _register_failing(run_dir, env, tmp_path)
    args = ["promote", "brand", "1", "--by", "ana", "--reason", "r", "--override", "o"]
    assert _cli(args, env).exit_code == 0
    missing = tmp_path / "missing.csv"
    res = _cli(["refresh", "brand", "--data", str(missing)], env)
    assert res.exit_code == 2, res.output
    lines = _error_lines(res.output)
    assert lines[-1].startswith("error: ") and "missing.csv" in lines[-1], lines
    assert "Traceback" not in res.output
    # a refresh that failed registers nothing
    res = _cli(["models", "show", "brand", "--json"], env)
    assert [v["version"] for v in json.loads(res.output)["versions"]] == [1]
