"""A monitor policy file is read like every other policy file: regular files only, and a YAML
error is named without echoing the file's text."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mixflow.errors import SpecError
from mixflow.lifecycle.monitor import load_monitor_policy


def test_a_fifo_is_refused_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "monitor.yaml"
    os.mkfifo(fifo)
    with pytest.raises(SpecError, match="regular file"):
        load_monitor_policy(fifo)


def test_dev_zero_is_refused_not_read() -> None:
    with pytest.raises(SpecError, match="regular file"):
        load_monitor_policy(Path("/dev/zero"))


def test_a_yaml_error_does_not_echo_the_file(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text("hunter2-secret: [\n", encoding="utf-8")
    with pytest.raises(SpecError, match="cannot read") as err:
        load_monitor_policy(path)
    assert "hunter2" not in str(err.value)


def test_a_good_file_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text("cusum_k: 0.7\n", encoding="utf-8")
    assert load_monitor_policy(path).cusum_k == 0.7
