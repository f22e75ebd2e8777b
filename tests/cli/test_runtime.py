"""Process-level JAX set-up: the compiled-program cache stays under its cap; its folder and
switch are read through the pydantic-settings EnvironmentSettings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import mixflow.cli.runtime as runtime
from mixflow.errors import SpecError

SETUP = """
import mixflow.cli.runtime as runtime
runtime.JAX_CACHE_MAX_BYTES = 250
runtime.setup_jax(1)
"""


def test_setup_jax_removes_the_oldest_compiled_entries(tmp_path: Path) -> None:
    jax_dir = tmp_path / "jax"
    jax_dir.mkdir()
    entries = []
    for i in range(4):  # 100 bytes each, written at t = 1000 .. 4000
        path = jax_dir / f"jit_f-{i}-cache"
        path.write_bytes(b"x" * 100)
        os.utime(path, (1000.0 * (i + 1), 1000.0 * (i + 1)))
        entries.append(path)
    # a fresh process, so that this one's JAX configuration is left alone
    env = {**os.environ, "MIXFLOW_CACHE_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", SETUP], env=env, check=True, timeout=120)
    # 400 bytes against a cap of 250: the two oldest go
    assert [p.exists() for p in entries] == [False, False, True, True]


def test_cache_dir_is_read_through_the_environment_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIXFLOW_CACHE_DIR", str(tmp_path / "here"))
    assert runtime.cache_dir() == tmp_path / "here"
    monkeypatch.setenv("MIXFLOW_CACHE_DIR", "")  # empty means the default
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert runtime.cache_dir() == tmp_path / "xdg" / "mixflow"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert runtime.cache_dir() == Path.home() / ".cache" / "mixflow"


@pytest.mark.parametrize(("value", "on"), [("", True), ("1", True), ("0", False), ("false", False)])
def test_jax_cache_switch(value: str, on: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIXFLOW_JAX_CACHE", value)
    assert runtime.environment().jax_cache is on


def test_a_bad_jax_cache_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MIXFLOW_JAX_CACHE", "maybe")
    with pytest.raises(SpecError) as err:
        runtime.environment()
    assert str(err.value) == "environment: MIXFLOW_JAX_CACHE: must be true or false (got 'maybe')"
