"""File helpers: pruning a cache folder."""

from __future__ import annotations

import os
from pathlib import Path

from mixflow.data.io import prune


def test_prune_removes_least_recently_used_first(tmp_path: Path) -> None:
    paths = []
    for i in range(4):  # 100 bytes each, used at t = 1000, 2000, 3000, 4000
        path = tmp_path / f"p{i}.jaxexport"
        path.write_bytes(b"x" * 100)
        os.utime(path, (1000.0 * (i + 1), 1000.0 * (i + 1)))
        paths.append(path)
    (tmp_path / "other.txt").write_bytes(
        b"x" * 1000
    )  # not matching the pattern: never counted or removed
    # 400 bytes of programs, cap 250: the two oldest go, except the one to keep
    removed = prune(tmp_path, "*.jaxexport", 250, keep=paths[0])
    assert removed == [paths[1], paths[2]]
    assert [p.exists() for p in paths] == [True, False, False, True]
    assert (tmp_path / "other.txt").exists()
    assert prune(tmp_path, "*.jaxexport", 250) == []  # 200 bytes left: nothing to do
