"""Compiled JAX programs kept on disk between processes.

JAX's persistent compilation cache saves XLA's compile step, but every new process still traces
the Python code and lowers it to StableHLO to find the cache entry. For the sampler that is most
of a small fit: tracing NumPyro's tree builder around the model and lowering it took ~2.8 s of a
~10 s warm national fit, against ~3 s of actual sampling. A :class:`ProgramStore` keeps each
program as a serialized :mod:`jax.export` artifact instead, so a later process of the same
program shape loads it without tracing (~0.1 s); XLA's compile cache then supplies the binary.

Programs are kept only when the process turned JAX's persistent compilation cache on (the
command line does, see :mod:`mixflow.cli.runtime`), in a ``programs`` folder beside it. A
program's key covers everything that shapes the traced code: the versions of JAX, jaxlib and
NumPyro, the source of every mixflow module, the caller's context (model spec, sampler
settings), the devices, and the structure, shapes and dtypes of the arguments. Data values are
arguments, never constants, so one program serves every dataset of the same shape.

Every new panel length is a new shape, so a model refreshed weekly adds a program a week. The
folder is kept under ``max_bytes`` (default 512 MiB): loading a program marks it used, and
writing one removes the least recently used until the folder fits.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import jax
from jax import export

from mixflow.data.io import atomic_write_bytes, prune

Program = Callable[..., Any]

#: default cap on a programs folder (a national sampler program is ~0.3 MB, a geo one ~1 MB)
MAX_BYTES = 512 * 2**20


@cache
def _code_digest() -> str:
    """Versions of the libraries that generate the code, and the source of mixflow itself."""
    h = hashlib.sha256()
    for dist in ("jax", "jaxlib", "numpyro"):
        h.update(f"{dist}={importlib.metadata.version(dist)};".encode())
    root = Path(__file__).resolve().parents[1]
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def default_directory() -> Path | None:
    """``programs`` beside JAX's persistent compilation cache, or ``None`` when that cache is
    off (the library then writes nothing)."""
    base = getattr(jax.config, "jax_compilation_cache_dir", None)
    return Path(base).parent / "programs" if base else None


def _signature(args: tuple[Any, ...]) -> str:
    leaves, tree = jax.tree.flatten(args)
    avals = [(tuple(jax.numpy.shape(x)), str(jax.numpy.result_type(x))) for x in leaves]
    return f"{tree}|{avals}"


class ProgramStore:
    """Loads jitted programs from ``directory`` or exports them there on first use.

    ``context`` must name everything the functions close over that changes their code (the
    model spec, sampler settings); argument shapes and the library versions are added here.
    With ``directory=None`` every program is plainly jitted and nothing is written. The folder
    is kept under ``max_bytes``, least recently used programs first out.
    """

    def __init__(self, directory: Path | None, context: str, max_bytes: int = MAX_BYTES) -> None:
        self.directory = directory
        self.context = context
        self.max_bytes = max_bytes

    def within(self, context: str) -> ProgramStore:
        """The same folder, for programs that also close over ``context``."""
        return ProgramStore(self.directory, f"{self.context}|{context}", self.max_bytes)

    def key(self, name: str, args: tuple[Any, ...]) -> str:
        devices = [f"{d.platform}:{d.id}" for d in jax.devices()]
        text = f"{_code_digest()}|{self.context}|{name}|{devices}|{_signature(args)}"
        return hashlib.sha256(text.encode()).hexdigest()[:40]

    def get(
        self,
        name: str,
        fn: Program,
        key_args: tuple[Any, ...],
        example: Callable[[], tuple[Any, ...]] | None = None,
    ) -> Program:
        """``fn`` (a jitted function) as a program for arguments shaped like ``key_args``.

        ``example`` builds the arguments to export with when they are not ``key_args`` (when
        the arguments' shapes follow from ``key_args`` but cost work to spell out); it is
        called only when the program has to be exported."""
        if self.directory is None:
            return fn
        path = self.directory / f"{name}-{self.key(name, key_args)}.jaxexport"
        exported = _load(path)
        if exported is None:
            args = example() if example is not None else key_args
            exported = export.export(fn)(*args)  # type: ignore[arg-type]
            _write(path, bytes(exported.serialize()))
            prune(self.directory, "*.jaxexport", self.max_bytes, keep=path)
        else:
            with contextlib.suppress(OSError):
                os.utime(path)  # used now: the last to be pruned
        return jax.jit(exported.call)


def _load(path: Path) -> export.Exported | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return export.deserialize(bytearray(data))
    except Exception:  # a file from an incompatible build or a damaged one: export anew
        return None


def _write(path: Path, data: bytes) -> None:
    """Atomic (a concurrent reader sees no file or the whole one); a store that cannot be
    written is skipped: the program is in hand either way."""
    with contextlib.suppress(OSError):
        atomic_write_bytes(path, data)


__all__ = ["MAX_BYTES", "ProgramStore", "default_directory"]
