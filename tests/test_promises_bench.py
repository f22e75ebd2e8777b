"""bench/fit_speed.py reports each run's own peak memory (issue 19): a run after a large one
reports its own, small peak, not the earlier run's (what ``RUSAGE_CHILDREN`` would give)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[1] / "bench" / "fit_speed.py"
BIG_MIB = 800


def _fit_speed() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fit_speed_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_run_reports_its_own_peak_rss() -> None:
    run_measured = _fit_speed().run_measured
    env = dict(os.environ)
    big = [
        sys.executable,
        "-c",
        f"b = bytearray({BIG_MIB} * 2**20); b[::4096] = b'x' * len(b[::4096])",
    ]
    small = [sys.executable, "-c", "pass"]
    rc_big, _, peak_big, _ = run_measured(big, env)
    rc_small, _, peak_small, _ = run_measured(small, env)
    assert rc_big == 0 and rc_small == 0
    assert peak_big > BIG_MIB * 1024  # KiB: the large child touched all its pages
    # a bare interpreter (about 240 MiB with this venv's site imports) peaks far below; the
    # maximum over children would repeat peak_big
    assert peak_small < peak_big - (BIG_MIB // 2) * 1024, (peak_small, peak_big)
