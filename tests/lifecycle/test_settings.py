"""Environment settings (pydantic-settings): a given mapping only, empty means the default."""

from __future__ import annotations

from pathlib import Path

import pytest

from mixflow.lifecycle.settings import EnvironmentSettings, settings_from_env


def test_a_given_mapping_ignores_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIXFLOW_HOME", "/elsewhere")
    assert settings_from_env({}, cwd=tmp_path).home == (tmp_path / ".mixflow").resolve()


def test_empty_values_mean_the_defaults(tmp_path: Path) -> None:
    s = settings_from_env({"MIXFLOW_HOME": "", "MIXFLOW_EXPERIMENT": ""}, cwd=tmp_path)
    assert s.home == (tmp_path / ".mixflow").resolve() and s.experiment_name == "mixflow"


def test_the_process_environment_is_read_by_the_settings_object(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MIXFLOW_EXPERIMENT", "brand-a")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    read = EnvironmentSettings()
    assert read.experiment == "brand-a" and read.tracking_uri == "http://mlflow:5000"
