"""Tracking, registry, promotion and audit against a real SQLite MLflow store in a tmp folder."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mixflow.lifecycle import (
    Alias,
    GatePolicy,
    LifecycleSettings,
    RegistryError,
    audit_log,
    list_models,
    load_version,
    model_versions,
    promote,
    register,
    settings_from_env,
)
from mixflow.lifecycle.tracking import make_client
from mixflow.workflow import load_run

FAILING = GatePolicy(min_weeks=10_000)


def test_settings_default_to_project_folder(tmp_path: Path) -> None:
    s = settings_from_env({}, cwd=tmp_path)
    assert s.home == (tmp_path / ".mixflow").resolve()
    assert s.tracking_uri == f"sqlite:///{s.home}/mlflow.db"
    assert s.registry_uri == s.tracking_uri
    assert not s.home.exists()  # nothing is created before first use


def test_tracking_uri_env_overrides_store(tmp_path: Path) -> None:
    s = settings_from_env({"MLFLOW_TRACKING_URI": "http://mlflow:5000"}, cwd=tmp_path)
    assert s.tracking_uri == s.registry_uri == "http://mlflow:5000"
    assert not s.embedded


def test_register_logs_run_and_loads_back(svi_run_dir: Path, settings: LifecycleSettings) -> None:
    info = register(svi_run_dir, "brand", settings, actor="ana")
    assert info.version == 1
    assert info.gates_passed
    assert {g.name: g.status.value for g in info.gates}["rhat"] == "not_applicable"

    run = make_client(settings).get_run(info.run_id)
    assert run.data.params["fit.method"] == "svi"
    assert run.data.tags["mixflow.method"] == "svi"
    assert "mixflow.data_fingerprint" in run.data.tags
    assert {"r2", "mape", "nrmse", "fit_seconds"} <= set(run.data.metrics)
    # one statistic per quantity: the posterior mean ROI, as every output reports it
    summary = json.loads((svi_run_dir / "summary.json").read_text())
    for channel, table in summary["channels"].items():
        assert run.data.metrics[f"roi_mean.{channel}"] == pytest.approx(table["roi"]["mean"])
    assert not any(key.startswith("roi_median.") for key in run.data.metrics)
    assert "rhat_max" not in run.data.metrics  # None is skipped
    assert "holdout_mape" not in run.data.metrics
    (data_input,) = run.inputs.dataset_inputs
    fingerprint = run.data.tags["mixflow.data_fingerprint"]
    assert (data_input.dataset.name, data_input.dataset.digest) == (fingerprint, fingerprint[:16])
    assert [(t.key, t.value) for t in data_input.tags] == [("mlflow.data.context", "training")]

    promote("brand", 1, Alias.CHAMPION, "ana", "first model", settings)
    local = load_version("models:/brand@champion", settings)
    assert json.loads((local / "summary.json").read_text()) == json.loads(
        (svi_run_dir / "summary.json").read_text()
    )
    assert load_run(local).method.value == "svi"
    assert load_version("models:/brand/1", settings) == local
    assert list_models(settings)[0].aliases == {"champion": 1}


def test_concurrent_first_downloads_of_a_version_all_succeed(
    map_run_dir: Path, settings: LifecycleSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several threads (the service's request handlers) fetching one version for the first
    time at once: each downloads into its own staging folder; whoever renames second finds a
    complete folder in place and must return it, not fail. A barrier after the download
    makes every thread reach the rename together."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import mixflow.lifecycle.registry as registry_module

    register(map_run_dir, "brand", settings, actor="ana")
    barrier = threading.Barrier(4, timeout=60)
    real_client = registry_module.make_client

    class _Client:
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

        def download_artifacts(self, *args: Any) -> Any:
            out = self._inner.download_artifacts(*args)
            barrier.wait()
            return out

    monkeypatch.setattr(registry_module, "make_client", lambda s: _Client(real_client(s)))
    dst = tmp_path / "cache"
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda _: load_version("models:/brand/1", settings, dst=dst), range(4)))
    assert len(set(got)) == 1
    assert (got[0] / "summary.json").is_file() and (got[0] / "posterior.nc").is_file()
    assert [p.name for p in dst.iterdir()] == [got[0].name]  # no staging folder left behind


def test_unknown_alias_is_a_registry_error(settings: LifecycleSettings) -> None:
    with pytest.raises(RegistryError, match="model URI 'models:/brand' is invalid"):
        load_version("models:/brand", settings)


def test_promotion_refused_when_gate_fails(svi_run_dir: Path, settings: LifecycleSettings) -> None:
    info = register(svi_run_dir, "brand", settings, policy=FAILING, actor="ana")
    assert not info.gates_passed
    with pytest.raises(
        RegistryError, match="failed gates: min_weeks \\(80 weeks of data < 10000\\)"
    ):
        promote("brand", info.version, Alias.CHAMPION, "ana", "try", settings)
    assert model_versions("brand", settings)[0].aliases == ()


def test_default_policy_refuses_a_point_estimate_unless_overridden(
    map_run_dir: Path, settings: LifecycleSettings
) -> None:
    info = register(map_run_dir, "brand", settings, actor="ana")
    assert not info.gates_passed
    assert [g.name for g in info.gates if not g.passed] == ["point_estimate"]
    with pytest.raises(RegistryError, match="failed gates: point_estimate \\(MAP fit: a point"):
        promote("brand", info.version, Alias.CHAMPION, "ana", "try", settings)
    assert model_versions("brand", settings)[0].aliases == ()
    promote(
        "brand",
        info.version,
        Alias.CHAMPION,
        "ana",
        "interim model",
        settings,
        override_reason="NUTS refit scheduled; MAP accepted for one week",
    )
    assert model_versions("brand", settings)[0].aliases == ("champion",)
    last = audit_log("brand", settings)[-1]
    assert (last["action"], last["failed_gates"]) == ("override", ["point_estimate"])


def test_override_promotes_and_is_audited(svi_run_dir: Path, settings: LifecycleSettings) -> None:
    info = register(svi_run_dir, "brand", settings, policy=FAILING, actor="ana")
    before = settings.audit_path.read_text().splitlines()
    promote(
        "brand",
        info.version,
        Alias.CHAMPION,
        "bo",
        "needed for Q3 plan",
        settings,
        override_reason="short history accepted by finance",
    )
    assert model_versions("brand", settings)[0].aliases == ("champion",)
    records = audit_log("brand", settings)
    last = records[-1]
    assert last["action"] == "override"
    assert last["actor"] == "bo"
    assert last["reason"] == "needed for Q3 plan"
    assert last["override_reason"] == "short history accepted by finance"
    assert last["failed_gates"] == ["min_weeks"]
    assert (last["before"], last["after"]) == (None, "1")
    after = settings.audit_path.read_text().splitlines()
    assert after[: len(before)] == before  # append-only: earlier lines unchanged
    assert len(after) == len(before) + 1


def test_concurrent_promotions_leave_one_champion(
    svi_run_dir: Path, settings: LifecycleSettings
) -> None:
    versions = [register(svi_run_dir, "brand", settings).version for _ in range(3)]
    errors: list[BaseException] = []

    def _promote(version: int) -> None:
        try:
            promote("brand", version, Alias.CHAMPION, f"user{version}", "race", settings)
        except BaseException as err:  # surfaced by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=_promote, args=(v,)) for v in versions * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    champions = [v for v in model_versions("brand", settings) if "champion" in v.aliases]
    assert len(champions) == 1
    promotions = [r for r in audit_log("brand", settings) if r["action"] == "promote"]
    assert len(promotions) == 6
    # serialized: each promotion saw the previous one's result
    for prev, nxt in itertools.pairwise(promotions):
        assert nxt["before"] == prev["after"]
    assert promotions[-1]["after"] == str(champions[0].version)


def test_cli_register_promote_audit(svi_run_dir: Path, settings: LifecycleSettings) -> None:
    from mixflow.cli.main import app

    runner = CliRunner()
    env = {"MIXFLOW_HOME": str(settings.home)}
    out = runner.invoke(
        app, ["register", str(svi_run_dir), "--name", "brand", "--by", "ana"], env=env
    )
    assert out.exit_code == 0, out.output
    assert "registered brand version 1" in out.output
    out = runner.invoke(
        app, ["promote", "brand", "1", "--to", "champion", "--by", "ana", "--reason", "ok"], env=env
    )
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["models", "show", "brand", "--json"], env=env)
    assert json.loads(out.output)["versions"][0]["aliases"] == ["champion"]
    out = runner.invoke(app, ["audit", "brand", "--json"], env=env)
    assert [r["action"] for r in json.loads(out.output)] == ["register", "promote"]
    out = runner.invoke(app, ["promote", "brand", "9", "--by", "ana", "--reason", "x"], env=env)
    assert out.exit_code == 2
    assert out.output.strip().splitlines()[-1] == "error: model 'brand' has no version 9"


def test_optimize_accepts_a_registered_champion(
    svi_run_dir: Path, settings: LifecycleSettings
) -> None:
    from mixflow.cli.main import app

    runner = CliRunner()
    env = {"MIXFLOW_HOME": str(settings.home)}
    assert (
        runner.invoke(
            app, ["register", str(svi_run_dir), "--name", "b2", "--by", "ana"], env=env
        ).exit_code
        == 0
    )
    promote = ["promote", "b2", "1", "--to", "champion", "--by", "ana", "--reason", "ok"]
    assert runner.invoke(app, promote, env=env).exit_code == 0
    out_dir = settings.home.parent / "opt"
    args = [
        "optimize",
        "models:/b2@champion",
        "--budget",
        "1e5",
        "--horizon",
        "4",
        "--out",
        str(out_dir),
    ]
    out = runner.invoke(app, args, env=env)
    assert out.exit_code == 0, out.output
    plan = json.loads((out_dir / "plan.json").read_text())
    assert sum(plan["allocation"].values()) == pytest.approx(1e5, rel=1e-6)


def test_fit_with_register_logs_registers_and_writes_a_model_card(
    tmp_path: Path, settings: LifecycleSettings
) -> None:
    import numpy as np
    import yaml

    from mixflow.cli.main import app
    from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand

    brand = simulate_brand(
        BrandSimulation(n_weeks=70, channels=DEFAULT_CHANNELS[:2]), np.random.default_rng(5)
    )
    brand.frame.to_csv(tmp_path / "data.csv", index=False)
    cfg = dict(brand.config)
    cfg["fit"] = {"method": "map", "svi_steps": 300, "progress_bar": False}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "run"
    env = {"MIXFLOW_HOME": str(settings.home)}
    result = CliRunner().invoke(
        app, ["fit", str(config), "--out", str(out), "--register", "fitted"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "registered fitted version 1" in result.output
    card = (out / "model_card.md").read_text()
    assert card.startswith("# Model card: fitted") and "## Governance gates" in card
    assert (out / "model_card.html").is_file()


def test_reproduce_refits_a_logged_run_and_matches(
    map_run_dir: Path, settings: LifecycleSettings
) -> None:
    from mixflow.cli.main import app

    runner = CliRunner()
    env = {"MIXFLOW_HOME": str(settings.home)}
    out = runner.invoke(
        app, ["register", str(map_run_dir), "--name", "rep", "--by", "ana"], env=env
    )
    assert out.exit_code == 0, out.output
    run_id = out.output.split("(run ")[1].split(")")[0]
    out = runner.invoke(app, ["reproduce", run_id, "--json"], env=env)
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == {"run_id": run_id, "matches": True, "differences": []}


def test_compare_summaries_names_what_differs() -> None:
    from mixflow.lifecycle.reproduce import compare_summaries

    a = {"created_at": "x", "channels": {"tv": {"roi": {"median": 1.0, "hdi_90": [0.5, 1.5]}}}}
    b = {"created_at": "y", "channels": {"tv": {"roi": {"median": 1.1, "hdi_90": [0.5, 1.5]}}}}
    assert compare_summaries(a, a) == []
    assert compare_summaries(a, b) == ["channels.tv.roi.median: 1.0 != 1.1"]


def test_summary_holds_what_the_newer_gates_read(map_run_dir: Path) -> None:
    import pandas as pd

    summary = json.loads((map_run_dir / "summary.json").read_text())
    base = summary["baseline"]
    assert (base["n_draws"], base["n_weeks"]) == (1, 80)  # MAP: one draw
    assert sum(draws for _, draws in base["negative_weeks_histogram"]) == 1
    frame = pd.read_csv(map_run_dir.parent / "data.csv")
    for channel, values in summary["channels"].items():
        expected = float((frame[f"{channel}_spend"] > 0).mean())
        assert values["spend_weeks_share"] == pytest.approx(expected)
        assert values["roi_log_sd"] == 0.0  # one draw has no spread
    assert 0.2 < summary["channels"]["tv"]["spend_weeks_share"] < 0.8  # flighted
