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


#: largest settings file (config, policy, plan) read into memory
MAX_SETTINGS_BYTES = 16 * 2**20


def check_input_file(path: Path, what: str) -> Path:
    """``path`` when it is a regular file (following links) that its owner alone does not keep
    private behind a link; :class:`~mixflow.errors.SpecError` naming it otherwise. A FIFO or a
    device (``/dev/zero``) would block or never end; a link to a private file must not have its
    contents echoed in an error message."""
    import stat

    from mixflow.errors import SpecError

    path = Path(path)
    try:
        st = path.stat()
    except OSError:
        raise SpecError(f"{what} {path} does not exist") from None
    if stat.S_ISDIR(st.st_mode):
        raise SpecError(f"{what} {path} is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise SpecError(f"{what} {path} is not a regular file (a FIFO, socket or device)")
    if path.is_symlink() and not st.st_mode & (stat.S_IRGRP | stat.S_IROTH):
        raise SpecError(
            f"{what} {path} is a link to a private file (mode {stat.S_IMODE(st.st_mode):o}); "
            "copy the data to a file of its own"
        )
    return path


def read_settings_text(path: Path, what: str, max_bytes: int = MAX_SETTINGS_BYTES) -> str:
    """The text of a small settings file (config, policy, plan), checked with
    :func:`check_input_file` and refused beyond ``max_bytes``."""
    from mixflow.errors import SpecError

    path = check_input_file(path, what)
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as err:
        raise SpecError(f"{what} {path}: cannot read: {err.strerror}") from None
    if len(data) > max_bytes:
        raise SpecError(f"{what} {path} is larger than {max_bytes // 2**20} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SpecError(f"{what} {path} is not UTF-8 text (byte {err.start})") from None


def yaml_problem(err: Exception) -> str:
    """A YAML parse error as its problem and position only: PyYAML's message quotes the
    offending line, and errors never echo a file's contents."""
    problem = getattr(err, "problem", None) or "not valid YAML"
    mark = getattr(err, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}"
