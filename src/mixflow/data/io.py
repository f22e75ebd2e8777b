"""Atomic file writes (write to a temporary file in the same folder, then rename) and pruning
of cache folders."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see either the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates 0600; give the file the mode a plain open() would
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def prune(directory: Path, pattern: str, max_bytes: int, keep: Path | None = None) -> list[Path]:
    """Remove the least recently used files matching ``pattern`` in ``directory`` until the
    rest fit in ``max_bytes``. "Used" is the modification time: a reader that touches what it
    uses keeps it longest. ``keep`` is never removed. Returns the removed paths; a file another
    process removes meanwhile is skipped, one that cannot be removed is left and still counted."""
    files = []
    for path in directory.glob(pattern):
        with contextlib.suppress(OSError):
            stat = path.stat()
            files.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in files)
    removed = []
    for _, size, path in sorted(files, key=lambda f: f[0]):
        if total <= max_bytes:
            break
        if path == keep:
            continue
        try:
            path.unlink()
        except FileNotFoundError:
            pass  # another process was first
        except OSError:
            continue
        else:
            removed.append(path)
        total -= size
    return removed


#: first characters that make a spreadsheet read a cell as a formula (OWASP's CSV injection list)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula, prefixed with ``'`` so that it is
    shown as text; numbers and other text are returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as CSV (no index) with every formula-like text cell escaped
    (:func:`escape_formula`): every CSV export mixflow writes goes through here."""
    import pandas

    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pandas.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(escape_formula)
    safe.columns = [escape_formula(str(c)) for c in safe.columns]
    return safe.to_csv(index=False).encode()
