"""Run folders as one unit: written whole or not at all, locked against concurrent writers and
checked by every reader against a completion manifest.

A writer (:func:`writing_folder`) fills a temporary sibling ``.<name>.tmp-<random>`` of the target,
writes ``manifest.json`` last (the size and SHA-256 of every file in it) and renames the sibling
into place. A refit therefore replaces the whole folder: no file of an earlier run survives.
While it writes, it holds an exclusive ``flock`` on ``<name>.lock`` beside the target, so a
second writer to the same folder is refused at once; the kernel drops the lock when the process
ends, however it ends. A writer killed with SIGKILL leaves only its hidden sibling behind (never a
folder at the target path); the next writer to that target removes such leftovers.

A reader (:func:`verify_folder`) checks every file the manifest lists: present, of the recorded
size and hash. Files added after the fit (``report.html``, the model card) are not listed and not
checked. A folder without ``manifest.json`` was written by a mixflow older than the manifest:
it is read with a :class:`LegacyRunFolderWarning` (its files are still parsed, and a damaged one
is still refused) unless the reader requires a manifest.

Nothing here imports the math packages (the report reads run folders too).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from mixflow.data.io import atomic_write_text
from mixflow.errors import RunDirError

MANIFEST_FILE: Final = "manifest.json"
MANIFEST_FORMAT: Final = "mixflow-run-manifest"
MANIFEST_VERSION: Final = 1
#: files that mark a folder as a mixflow run folder (one that a refit may replace)
_RUN_MARKERS: Final = (MANIFEST_FILE, "summary.json", "posterior.json", "posterior.nc")
_CHUNK: Final = 1 << 20


class RunFolderBusyError(RunDirError):
    """Another process is writing the same run folder."""


class LegacyRunFolderWarning(UserWarning):
    """A run folder without ``manifest.json`` (written by an older mixflow) was read."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.relative_to(folder).as_posix() != MANIFEST_FILE
    )


def write_manifest(folder: Path) -> dict[str, Any]:
    """Write ``folder/manifest.json`` listing every file now in ``folder`` (size, SHA-256)."""
    folder = Path(folder)
    files = {
        p.relative_to(folder).as_posix(): {"size": p.stat().st_size, "sha256": sha256_file(p)}
        for p in _files(folder)
    }
    manifest = {"format": MANIFEST_FORMAT, "version": MANIFEST_VERSION, "files": files}
    atomic_write_text(folder / MANIFEST_FILE, json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


def read_manifest(folder: Path) -> dict[str, dict[str, Any]] | None:
    """The ``files`` table of ``folder/manifest.json``; ``None`` when there is no manifest."""
    path = Path(folder) / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise RunDirError(f"{MANIFEST_FILE} in {folder} is damaged (not readable JSON)") from None
    files = raw.get("files") if isinstance(raw, dict) else None
    if (
        not isinstance(raw, dict)
        or raw.get("format") != MANIFEST_FORMAT
        or not isinstance(files, dict)
        or not all(
            isinstance(v, dict)
            and isinstance(v.get("size"), int)
            and isinstance(v.get("sha256"), str)
            for v in files.values()
        )
    ):
        raise RunDirError(f"{MANIFEST_FILE} in {folder} is damaged (not a mixflow run manifest)")
    if raw.get("version") != MANIFEST_VERSION:
        raise RunDirError(
            f"{MANIFEST_FILE} in {folder} has version {raw.get('version')!r}; this mixflow reads "
            f"version {MANIFEST_VERSION}"
        )
    return files


def verify_folder(folder: Path, *, require_manifest: bool = False) -> bool:
    """Check ``folder`` against its manifest: every listed file present, of the recorded size
    and hash. Returns ``True`` when verified, ``False`` for a legacy folder without a manifest
    (after a :class:`LegacyRunFolderWarning`); raises :class:`RunDirError` naming the first
    missing, truncated or altered file (or, with ``require_manifest``, the missing manifest)."""
    folder = Path(folder)
    if not folder.is_dir():
        if require_manifest:
            raise RunDirError(f"run folder {str(folder)!r} does not exist or is not a folder")
        return False  # the reader names the file it lacks
    files = read_manifest(folder)
    if files is None:
        if not any((folder / m).exists() for m in _RUN_MARKERS) and not require_manifest:
            return False  # not a run folder at all: the reader names the file it lacks
        message = (
            f"{folder} has no {MANIFEST_FILE}: written by an older mixflow (or not by a fit), so "
            "its files cannot be checked for damage; re-fit it to get a verified run folder"
        )
        if require_manifest:
            raise RunDirError(message)
        warnings.warn(message, LegacyRunFolderWarning, stacklevel=2)
        return False
    for name, entry in sorted(files.items()):
        path = folder / name
        if not path.is_file():
            raise RunDirError(f"run folder {folder} is incomplete: {name} is missing")
        size = path.stat().st_size
        if size != entry["size"]:
            raise RunDirError(
                f"{name} in {folder} was truncated or altered after the fit: {size} bytes, "
                f"the fit wrote {entry['size']}"
            )
        if sha256_file(path) != entry["sha256"]:
            raise RunDirError(
                f"{name} in {folder} was altered after the fit (its SHA-256 differs from "
                f"{MANIFEST_FILE})"
            )
    return True


def check_out_path(out: Path) -> None:
    """Refuse an output path a fit must not write: an existing file, or an existing folder that
    is neither empty nor a mixflow run folder (a refit replaces the whole folder)."""
    out = Path(out)
    if out.is_symlink():
        raise RunDirError(
            f"--out {str(out)!r} is a symbolic link; a fit replaces its folder whole, so name "
            "the folder itself"
        )
    if out.exists() and not out.is_dir():
        raise RunDirError(f"--out {str(out)!r} is an existing file, not a run folder")
    if out.is_dir():
        try:
            entries = list(out.iterdir())
        except OSError as err:
            raise RunDirError(f"--out {str(out)!r} cannot be read: {err.strerror}") from None
        if entries and not any((out / m).exists() for m in _RUN_MARKERS):
            raise RunDirError(
                f"--out {str(out)!r} is a folder that is not a mixflow run folder; a fit replaces "
                "its whole --out folder, so name an empty or new folder"
            )
    parent = out.parent
    if parent.exists() and not parent.is_dir():
        raise RunDirError(f"--out {str(out)!r}: {str(parent)!r} is not a folder")


def lock_path(out: Path) -> Path:
    out = Path(out)
    return out.parent / f"{out.name}.lock"


@contextlib.contextmanager
def folder_lock(out: Path) -> Iterator[None]:
    """Hold the exclusive writer lock of run folder ``out``; :class:`RunFolderBusyError` when
    another process holds it. The lock file is removed on release."""
    path = lock_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise RunFolderBusyError(
                    f"{out} is being written by another mixflow process (lock {path}); wait "
                    "for it to finish or choose another --out"
                ) from None
            raise
        # the holder before us may have removed the file after we opened it: lock the file
        # that is at the path now
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)


def _remove_leftovers(out: Path) -> None:
    """Temporary siblings of ``out`` left by a killed writer (only called under the lock)."""
    for pattern in (f".{out.name}.tmp-*", f".{out.name}.old-*"):
        for stale in out.parent.glob(pattern):
            shutil.rmtree(stale, ignore_errors=True)


@contextlib.contextmanager
def writing_folder(out: Path) -> Iterator[Path]:
    """Yield a temporary sibling folder of ``out`` to fill; when the block ends normally, write
    its manifest and move it into place, replacing any earlier run folder at ``out`` as a whole.
    Any exception (SIGTERM turned into ``SystemExit`` too) removes the temporary folder and
    leaves ``out`` as it was."""
    out = Path(out)
    check_out_path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(out):
        _remove_leftovers(out)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
        try:
            os.chmod(tmp, 0o777 & ~_umask())
            yield tmp
            write_manifest(tmp)
            _swap_into_place(tmp, out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _swap_into_place(tmp: Path, out: Path) -> None:
    check_out_path(out)
    if not out.exists():
        os.rename(tmp, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.rename(out, old / "run")
    try:
        os.rename(tmp, out)
    except BaseException:
        os.rename(old / "run", out)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


__all__ = [
    "MANIFEST_FILE",
    "LegacyRunFolderWarning",
    "RunFolderBusyError",
    "check_out_path",
    "folder_lock",
    "lock_path",
    "read_manifest",
    "sha256_file",
    "verify_folder",
    "write_manifest",
    "writing_folder",
]
