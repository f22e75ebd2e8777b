"""Every bad input, at every entry point, ends in exit 2 with one line naming the culprit and no
traceback: config, data, lift tests, plans, optimize options, policies, experiment tables, run
folders and output paths. Commands run in-process (Typer's CliRunner)."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mixflow.cli.main import app

ConfigWriter = Callable[[Path, dict[str, Any]], Path]
SECRET = "s3cr3t-token-never-echo"
FIT = {"method": "map", "svi_steps": 200, "progress_bar": False, "holdout_weeks": 0}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, small_brand_config: ConfigWriter) -> Path:
    """A folder with data.csv, config.yaml and a fitted MAP run folder ``run``."""
    from mixflow.workflow import fit_run

    folder = tmp_path_factory.mktemp("bad_inputs")
    config = small_brand_config(folder, FIT)
    fit_run(config, folder / "run")
    return folder


@dataclass(frozen=True)
class Case:
    """``build(base, tmp) -> argv``; the one error line must match ``culprit``."""

    build: Callable[[Path, Path], list[str]]
    culprit: str


def _config(base: Path, tmp: Path, change: Callable[[dict[str, Any]], None]) -> list[str]:
    raw = yaml.safe_load((base / "config.yaml").read_text())
    raw["data"]["path"] = str(base / "data.csv")
    change(raw)
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return ["validate", str(path)]


def _fit_value(key: str, value: Any) -> Callable[[Path, Path], list[str]]:
    return lambda b, t: _config(b, t, lambda raw: raw["fit"].__setitem__(key, value))


def _channel_column(base: Path) -> str:
    raw = yaml.safe_load((base / "config.yaml").read_text())
    return str(raw["data"]["media"][0]["name"])


def _rename_first_channel(new: str) -> Callable[[Path, Path], list[str]]:
    return lambda b, t: _config(b, t, lambda raw: raw["data"]["media"][0].__setitem__("name", new))


def _wide_csv(base: Path, tmp: Path) -> list[str]:
    path = tmp / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(20_001)) + "\n")
    return _config(base, tmp, lambda raw: raw["data"].__setitem__("path", str(path)))


def _private_link(base: Path, tmp: Path) -> list[str]:
    secret = tmp / "private.csv"
    secret.write_text(f"{SECRET},x\n1,2\n")
    os.chmod(secret, 0o600)
    link = tmp / "data.csv"
    link.symlink_to(secret)
    return _config(base, tmp, lambda raw: raw["data"].__setitem__("path", str(link)))


def _bad_yaml_config(base: Path, tmp: Path) -> list[str]:
    (tmp / "c.yaml").write_text(f"{SECRET}: [\n")
    return ["validate", str(tmp / "c.yaml")]


def _fifo(tmp: Path, name: str) -> Path:
    path = tmp / name
    os.mkfifo(path)
    return path


def _lift(se: float) -> Callable[[Path, Path], list[str]]:
    def build(base: Path, tmp: Path) -> list[str]:
        import pandas as pd

        dates = pd.read_csv(base / "data.csv")["date"]
        test = {
            "channel": _channel_column(base),
            "start": str(dates.iloc[40]),
            "end": str(dates.iloc[43]),
            "spend_change": -1000.0,
            "incremental_kpi": -5000.0,
            "standard_error": se,
        }
        return _config(base, tmp, lambda raw: raw.__setitem__("calibration", {"tests": [test]}))

    return build


def _plan(content: Any, suffix: str = ".yaml") -> Callable[[Path, Path], list[str]]:
    def build(base: Path, tmp: Path) -> list[str]:
        path = tmp / f"plan{suffix}"
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
        return ["simulate", str(base / "run"), "--plan", str(path), "--out", str(tmp / "o")]

    return build


def _fifo_plan(base: Path, tmp: Path) -> list[str]:
    plan = _fifo(tmp, "plan.yaml")
    return ["simulate", str(base / "run"), "--plan", str(plan), "--out", str(tmp / "o")]


def _optimize(*options: str) -> Callable[[Path, Path], list[str]]:
    return lambda b, t: ["optimize", str(b / "run"), "--out", str(t / "o"), *options]


def _policy(kind: str) -> Callable[[Path, Path], list[str]]:
    def build(base: Path, tmp: Path) -> list[str]:
        if kind == "fifo":
            path = _fifo(tmp, "policy.yaml")
        elif kind == "zero":
            path = Path("/dev/zero")
        else:
            path = tmp / "policy.yaml"
            path.write_text(kind)
        return ["register", str(base / "run"), "--name", "brand", "--policy", str(path)]

    return build


def _damaged_run(
    command: str, name: str, damage: str = "truncate"
) -> Callable[[Path, Path], list[str]]:
    def build(base: Path, tmp: Path) -> list[str]:
        run = Path(shutil.copytree(base / "run", tmp / "run"))
        path = run / name
        if damage == "truncate":
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        elif damage == "delete":
            path.unlink()
        else:
            summary = json.loads(path.read_text())
            summary["diagnostics"]["divergences"] = 0
            summary["name"] = "edited by hand"
            path.write_text(json.dumps(summary))
        if command == "simulate":
            plan = tmp / "plan.yaml"
            plan.write_text("like_last_weeks: 4\n")
            return ["simulate", str(run), "--plan", str(plan), "--out", str(tmp / "o")]
        if command == "optimize":
            return ["optimize", str(run), "--out", str(tmp / "o")]
        if command == "register":
            return ["register", str(run), "--name", "brand"]
        if command == "next":
            return ["experiment", "next", str(run)]
        return [command, str(run)]

    return build


def _experiment_table(base: Path, tmp: Path) -> list[str]:
    path = tmp / "geo.csv"
    path.write_text("date,location,y\n2024-01-01,a,1\n")
    return [
        "experiment",
        "analyze",
        str(path),
        "--treated",
        "nowhere",
        "--start",
        "2024-01-01",
        "--end",
        "2024-01-07",
        "--out",
        str(tmp / "o"),
    ]


def _fit_into_file(base: Path, tmp: Path) -> list[str]:
    target = tmp / "existing.txt"
    target.write_text("keep")
    return ["fit", str(base / "config.yaml"), "--out", str(target), "--no-report"]


CASES: dict[str, Case] = {
    # config
    "config missing": Case(lambda b, t: ["validate", str(t / "none.yaml")], "not found"),
    "config not YAML": Case(_bad_yaml_config, "not valid YAML"),
    "config FIFO": Case(lambda b, t: ["validate", str(_fifo(t, "c.yaml"))], "not found|regular"),
    "seed beyond 64 bits": Case(_fit_value("seed", 2**70), "seed"),
    "negative seed": Case(_fit_value("seed", -1), "seed"),
    "draws 1e12": Case(_fit_value("draws", 10**12), "draws"),
    "warmup 1e9": Case(_fit_value("warmup", 10**9), "warmup"),
    "chains 0": Case(_fit_value("chains", 0), "chains"),
    "svi_steps 1e12": Case(_fit_value("svi_steps", 10**12), "svi_steps"),
    # data
    "data missing": Case(
        lambda b, t: _config(b, t, lambda r: r["data"].__setitem__("path", str(t / "no.csv"))),
        "data file not found",
    ),
    "data 20,001 columns": Case(_wide_csv, "columns"),
    "data links to a private file": Case(_private_link, "private file"),
    "channel read as a formula": Case(_rename_first_channel("=HYPERLINK(1)"), "formula"),
    "channel MLflow refuses": Case(_rename_first_channel("tv//x"), "MLflow metric name"),
    # lift tests
    "lift standard_error 1e-300": Case(_lift(1e-300), "standard_error"),
    "lift standard_error 0": Case(_lift(0.0), "standard_error"),
    # plans
    "plan horizon 0": Case(_plan({"budget": 1000, "horizon_weeks": 0}), "horizon_weeks"),
    "plan horizon negative": Case(_plan({"budget": 1000, "horizon_weeks": -3}), "horizon_weeks"),
    "plan horizon too long": Case(_plan({"budget": 1e3, "horizon_weeks": 10**6}), "horizon_weeks"),
    "plan budget 1e308": Case(_plan({"budget": 1e308, "horizon_weeks": 4}), "budget"),
    "plan budget negative": Case(_plan({"budget": -5, "horizon_weeks": 4}), "budget"),
    "plan budget NaN": Case(_plan("budget: .nan\nhorizon_weeks: 4\n"), "budget"),
    "plan not YAML": Case(_plan(f"{SECRET}: [\n"), "not valid YAML"),
    "plan FIFO": Case(_fifo_plan, "regular file"),
    "plan missing": Case(
        lambda b, t: ["simulate", str(b / "run"), "--plan", str(t / "x.yaml"), "--out", str(t)],
        "not found",
    ),
    "plan unknown key": Case(_plan({"budgett": 5, "horizon_weeks": 4}), "budgett"),
    "plan spend text": Case(_plan({"spend": {"x": ["a"]}, "horizon_weeks": 1}), "spend"),
    # optimize options
    "optimize horizon 0": Case(_optimize("--horizon", "0"), "horizon"),
    "optimize horizon too long": Case(_optimize("--horizon", "100000"), "horizon"),
    "optimize budget 1e308": Case(_optimize("--budget", "1e308"), "budget"),
    "optimize budget negative": Case(_optimize("--budget", "-1"), "budget"),
    "optimize budget NaN": Case(_optimize("--budget", "nan"), "budget"),
    "optimize relative bounds": Case(_optimize("--relative-bounds", "2"), "relative-bounds"),
    "optimize bound": Case(_optimize("--bound", "tv"), "--bound"),
    "optimize lock": Case(_optimize("--lock", "tv"), "--lock"),
    "optimize risk": Case(_optimize("--risk", "gamble"), "risk"),
    "optimize objective": Case(_optimize("--objective", "max_fun"), "objective"),
    # policies
    "policy FIFO": Case(_policy("fifo"), "regular file"),
    "policy /dev/zero": Case(_policy("zero"), "regular file"),
    "policy unknown key": Case(_policy("rhat_mx: 1.05\n"), "rhat_mx"),
    "policy not YAML": Case(_policy(f"{SECRET}: [\n"), "cannot read"),
    # experiment tables
    "experiment unknown location": Case(_experiment_table, "nowhere|location"),
    # run folders
    "simulate truncated posterior.nc": Case(_damaged_run("simulate", "posterior.nc"), "posterior"),
    "optimize truncated dataset.parquet": Case(
        _damaged_run("optimize", "dataset.parquet"), "dataset.parquet"
    ),
    "report truncated summary.json": Case(_damaged_run("report", "summary.json"), "summary.json"),
    "register edited summary.json": Case(
        _damaged_run("register", "summary.json", "edit"), "summary.json"
    ),
    "register missing posterior.nc": Case(
        _damaged_run("register", "posterior.nc", "delete"), "posterior.nc"
    ),
    "experiment next truncated posterior.nc": Case(
        _damaged_run("next", "posterior.nc"), "posterior.nc"
    ),
    "report missing folder": Case(lambda b, t: ["report", str(t / "nothing")], "nothing"),
    # output paths
    "fit --out names a file": Case(_fit_into_file, "existing file"),
}


def _invoke(argv: list[str], home: Path) -> Any:
    env = {"MIXFLOW_HOME": str(home), "MLFLOW_TRACKING_URI": ""}
    return CliRunner().invoke(app, argv, env=env)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_exits_2_with_one_line_naming_the_culprit(
    name: str, base: Path, tmp_path: Path
) -> None:
    case = CASES[name]
    argv = case.build(base, tmp_path)
    res = _invoke(argv, tmp_path / "home")
    output = res.output
    assert "Traceback" not in output
    assert res.exit_code == 2, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    assert errors[0] == output.strip().splitlines()[-1]
    assert re.search(case.culprit, errors[0]), errors[0]
    assert SECRET not in output


def test_the_suite_covers_every_entry_point() -> None:
    kinds = {"config", "data", "channel", "lift", "plan", "optimize", "policy", "experiment"}
    kinds |= {"truncated", "--out"}
    assert all(any(k in name for name in CASES) for k in kinds)
    assert len(CASES) >= 45


# ---------------------------------------------------------------------------- property test
_NUMBERS = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["abc", "", "1e400", "-0"]),
)


def _non_finite(text: str) -> bool:
    for token in re.findall(r"-?\b(?:nan|inf(?:inity)?)\b", text, flags=re.IGNORECASE):
        if token:
            return True
    return False


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    horizon=_NUMBERS,
    budget=_NUMBERS,
    key=st.sampled_from(["budget", "spend", "like_last_weeks"]),
    command=st.sampled_from(["simulate", "optimize"]),
)
def test_random_plans_and_options_never_crash_or_print_non_finite_numbers(
    base: Path,
    tmp_path_factory: pytest.TempPathFactory,
    horizon: Any,
    budget: Any,
    key: str,
    command: str,
) -> None:
    tmp = tmp_path_factory.mktemp("prop")
    if command == "simulate":
        plan: dict[str, Any] = {"horizon_weeks": horizon}
        if key == "budget":
            plan["budget"] = budget
        elif key == "spend":
            plan["spend"] = {_channel_column(base): budget}
        else:
            plan = {"like_last_weeks": horizon, "scale": budget}
        path = tmp / "plan.yaml"
        path.write_text(yaml.safe_dump(plan))
        argv = ["simulate", str(base / "run"), "--plan", str(path), "--out", str(tmp / "o")]
    else:
        argv = ["optimize", str(base / "run"), "--out", str(tmp / "o")]
        argv += ["--horizon", str(horizon), "--budget", str(budget)]
    res = _invoke(argv, tmp / "home")
    assert "Traceback" not in res.output
    assert res.exit_code in (0, 2), res.output
    if res.exit_code == 0:
        assert not _non_finite(res.output), res.output
        written = tmp / "o" / ("simulation.json" if command == "simulate" else "plan.json")
        assert not _non_finite(written.read_text())
    else:  # mixflow's one error line, or Click's usage error for an option that is no number
        last = res.output.strip().splitlines()[-1]
        assert last.startswith("error:") or "Invalid value" in res.output, res.output


def test_non_finite_detector() -> None:  # the property above relies on it
    assert _non_finite("ROI nan [1, 2]") and _non_finite("x -inf") and _non_finite("Infinity")
    assert not _non_finite("finance 1.5 infinite-loop? no: informed")
    assert math.isfinite(float(np.float64(1.0)))
