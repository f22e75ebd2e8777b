"""bench/fit_speed.py reports each run's own peak memory (issue 19): a run after a large one
reports its own, small peak, not the earlier run's (what ``RUSAGE_CHILDREN`` would give).

The measuring parent is a fresh interpreter, as when the bench runs: a child's ``ru_maxrss``
starts from the memory it shares with its parent at fork, so measured from inside a
multi-GiB pytest worker every child would report the worker's size."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "fit_speed.py"
BIG_MIB = 800

DRIVER = f"""
import importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location("fit_speed_bench", {str(BENCH)!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
env = dict(os.environ)
big = [sys.executable, "-c", "b = bytearray({BIG_MIB} * 2**20); b[::4096] = b'x' * len(b[::4096])"]
small = [sys.executable, "-c", "pass"]
out = [module.run_measured(cmd, env)[:3] for cmd in (big, small)]
print(json.dumps(out))
"""


def test_each_run_reports_its_own_peak_rss() -> None:
    res = subprocess.run(
        [sys.executable, "-c", DRIVER], capture_output=True, text=True, check=True, timeout=300
    )
    (rc_big, _, peak_big), (rc_small, _, peak_small) = json.loads(res.stdout.splitlines()[-1])
    assert rc_big == 0 and rc_small == 0
    assert peak_big > BIG_MIB * 1024  # KiB: the large child touched all its pages
    # a bare interpreter (about 240 MiB with this venv's site imports) peaks far below; the
    # maximum over children would repeat peak_big
    assert peak_small < peak_big - (BIG_MIB // 2) * 1024, (peak_small, peak_big)
