"""Process-level JAX set-up: the compiled-program cache stays under its cap."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
