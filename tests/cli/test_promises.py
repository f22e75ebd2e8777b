"""Documented promises of the command line, each checked so that it fails when the promise
breaks (README: optimize's --relative-bounds and --lock, max_profit stopping where the marginal
ROI reaches 1; monitor's exit codes 0 ok, 1 warn, 3 alert, each produced on purpose)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from mixflow.cli.main import app
from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand
from mixflow.workflow import fit_run

runner = CliRunner()
N_TRAIN = 80
SIM = BrandSimulation(n_weeks=100, channels=DEFAULT_CHANNELS[:3])


@pytest.fixture(scope="module")
def brand_frame() -> pd.DataFrame:
    return simulate_brand(SIM, np.random.default_rng(8)).frame


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, brand_frame: pd.DataFrame) -> Path:
    tmp = tmp_path_factory.mktemp("promises")
    brand = simulate_brand(SIM, np.random.default_rng(8))
    brand_frame.iloc[:N_TRAIN].to_csv(tmp / "data.csv", index=False)
    cfg = dict(brand.config)
    cfg["fit"] = {"method": "svi", "svi_steps": 400, "draws": 60, "seed": 1,
                  "progress_bar": False, "holdout_weeks": 0}  # fmt: skip
    (tmp / "config.yaml").write_text(yaml.safe_dump(cfg))
    fit_run(tmp / "config.yaml", tmp / "run")
    return tmp / "run"


def _optimize(run_dir: Path, out: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    args = ["optimize", str(run_dir), "--horizon", "8", "--out", str(out), *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads((out / "plan.json").read_text())  # type: ignore[no-any-return]


def _current_shares(frame: pd.DataFrame) -> dict[str, float]:
    """Today's split, as docs/simulate.md defines the "current" plan that --relative-bounds
    multiplies: the last CURRENT_WEEKS (13) weeks of the training data."""
    from mixflow.optimize.constraints import CURRENT_WEEKS

    recent = frame.iloc[:N_TRAIN].iloc[-CURRENT_WEEKS:]
    totals = {ch.name: float(recent[f"{ch.name}_spend"].sum()) for ch in SIM.channels}
    return {ch: v / sum(totals.values()) for ch, v in totals.items()}


# ------------------------------------------------------------------------------ optimize
def test_relative_bounds_hold_in_plan_json(
    run_dir: Path, brand_frame: pd.DataFrame, tmp_path: Path
) -> None:
    budget = 4e5
    plan = _optimize(run_dir, tmp_path / "o", "--budget", str(budget), "--relative-bounds",
                     "0.8:1.25")  # fmt: skip
    shares = _current_shares(brand_frame)
    for ch, amount in plan["allocation"].items():
        lo, hi = 0.8 * shares[ch] * budget, 1.25 * shares[ch] * budget
        assert lo * (1 - 1e-6) <= amount <= hi * (1 + 1e-6), (ch, lo, amount, hi)
    assert sum(plan["allocation"].values()) == pytest.approx(budget, rel=1e-6)
    # bounds this tight bind somewhere, and plan.json names where
    assert plan["at_bounds"], plan


def test_lock_fixes_the_channel_total(run_dir: Path, tmp_path: Path) -> None:
    plan = _optimize(run_dir, tmp_path / "o", "--budget", "4e5", "--lock", "search=123456")
    assert plan["allocation"]["search"] == pytest.approx(123456.0, rel=1e-6)
    assert plan["at_bounds"]["search"] == "locked"
    assert sum(plan["allocation"].values()) == pytest.approx(4e5, rel=1e-6)


def test_max_profit_stops_where_marginal_roi_reaches_one(run_dir: Path, tmp_path: Path) -> None:
    cap = 5e7  # far above what pays: the budget is a cap, not a target
    plan = _optimize(run_dir, tmp_path / "o", "--budget", str(cap), "--objective", "max_profit")
    free = [ch for ch in plan["allocation"] if ch not in plan.get("at_bounds", {})]
    assert free, plan
    for ch in free:
        assert plan["marginal_roi"][ch] == pytest.approx(1.0, abs=0.05), (ch, plan)
    assert sum(plan["allocation"].values()) < 0.5 * cap


# ------------------------------------------------------------------------------ monitor
#: levels so strict that the same process never trips a model check (a p-value below 1e-6),
#: and spend counts as outside the range the model saw only above twice its training maximum
#: (new weeks of the same process do exceed the maximum itself now and then)
LOOSE = {"warn_alpha": 1e-6, "alert_alpha": 1e-7, "spend_range_margin": 1.0}


def _monitor(run_dir: Path, actuals: pd.DataFrame, policy: dict, tmp: Path) -> tuple[int, dict]:  # type: ignore[type-arg]
    (tmp / "new.csv").parent.mkdir(parents=True, exist_ok=True)
    actuals.to_csv(tmp / "new.csv", index=False)
    (tmp / "policy.yaml").write_text(yaml.safe_dump(policy))
    args = ["monitor", str(run_dir), "--actuals", str(tmp / "new.csv"), "--policy",
            str(tmp / "policy.yaml"), "--json"]  # fmt: skip
    res = runner.invoke(app, args)
    return res.exit_code, json.loads(res.output)


def test_monitor_ok_warn_and_alert_exit_0_1_and_3(
    run_dir: Path, brand_frame: pd.DataFrame, tmp_path: Path
) -> None:
    same = brand_frame.iloc[N_TRAIN:].copy()
    code, out = _monitor(run_dir, same, LOOSE, tmp_path / "ok")
    assert (code, out["status"]) == (0, "ok"), out["findings"]
    assert out["findings"] == []

    # warn: two weeks of search spend at 3x the historical max: spend outside the range the
    # model saw is a warning that names the channel, never an alert
    spiked = same.copy()
    top = float(brand_frame.iloc[:N_TRAIN]["search_spend"].max())
    spiked.loc[spiked.index[:2], "search_spend"] = 3.0 * top
    code, out = _monitor(run_dir, spiked, LOOSE, tmp_path / "w")
    assert (code, out["status"]) == (1, "warn"), out["findings"]
    assert [f["check"] for f in out["findings"]] == ["spend_range"]
    assert out["findings"][0]["channel"] == "search"

    # alert: the KPI falls 30% below what the model expects (a sustained break), judged at
    # the default levels
    broken = same.copy()
    broken["revenue"] *= 0.7
    code, out = _monitor(run_dir, broken, {}, tmp_path / "a")
    assert (code, out["status"]) == (3, "alert"), out["findings"]
    assert any(f["check"] in {"cusum", "bias"} and f["status"] == "alert"
               for f in out["findings"])  # fmt: skip
