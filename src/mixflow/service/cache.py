"""The API process's bounded cache of loaded models: each registered version's posterior,
warmed :class:`~mixflow.simulate.Simulator` and :class:`~mixflow.optimize.BudgetOptimizer`,
keyed by ``(registered name, version)``, least recently used dropped past ``size``.

A registered version never changes, so an entry never goes stale. Concurrent requests for a
version not loaded yet load it once: the first loads, the others wait for it (other versions
load in parallel). ``MIXFLOW_SIMULATOR_CACHE`` sets the size (default 8).

Which version a ref (``champion``, ``3``) names is asked of the registry, which costs about as
much as a simulation; :class:`RefCache` keeps each answer for ``MIXFLOW_REF_CACHE_SECONDS``
(default 2 s; 0: ask every time), so a promotion is seen within that time, at once by the
process that made it when it calls :meth:`RefCache.forget`.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from mixflow.optimize import BudgetOptimizer
    from mixflow.simulate import Simulator

#: horizons compiled when a model is loaded (the planner's default quarter)
WARM_HORIZONS: tuple[int, ...] = (13,)

ModelKey = tuple[str, int]
#: (workspace, model name, ref as text)
RefKey = tuple[str, str, str]
T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """One registered version in memory: its run folder, simulator and optimizer, and each
    channel's posterior/prior ROI log-sd ratio from its summary (weak identification, which a
    plan moving budget into such a channel reports)."""

    name: str
    version: int
    run_dir: Path
    simulator: Simulator
    optimizer: BudgetOptimizer
    sd_ratios: Mapping[str, float | None] = field(default_factory=dict)


def load_model(
    name: str, version: int, run_dir: Path, warm_horizons: Sequence[int] = WARM_HORIZONS
) -> LoadedModel:
    """Read the posterior of ``run_dir`` and build its warmed simulator and optimizer."""
    from mixflow.analysis.schema import SUMMARY_FILE, load_summary
    from mixflow.optimize import BudgetOptimizer
    from mixflow.optimize.identification import sd_ratios
    from mixflow.simulate import Simulator
    from mixflow.workflow import load_run

    simulator = Simulator.from_posterior(load_run(run_dir))
    simulator.warm_up(horizons=warm_horizons)
    ratios = sd_ratios(load_summary(run_dir / SUMMARY_FILE))
    return LoadedModel(name, version, run_dir, simulator, BudgetOptimizer(simulator), ratios)


@dataclass(frozen=True)
class CacheStats:
    """Counters since the cache was made."""

    size: int
    entries: int
    hits: int
    loads: int
    evictions: int


class ModelCache:
    """A thread-safe LRU of :class:`LoadedModel` keyed by ``(name, version)``."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"cache size must be >= 1, got {size}")
        self.size = size
        self._items: OrderedDict[ModelKey, LoadedModel] = OrderedDict()
        self._loading: dict[ModelKey, threading.Lock] = {}
        self._lock = threading.Lock()
        self._hits = self._loads = self._evictions = 0

    def get(self, key: ModelKey, load: Callable[[], LoadedModel]) -> LoadedModel:
        """The cached model of ``key``, else ``load()`` once (concurrent callers wait for it)."""
        with self._lock:
            found = self._hit(key)
            if found is not None:
                return found
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                found = self._hit(key)
                if found is not None:
                    return found
            try:
                model = load()  # outside the cache lock: other versions keep being served
            except BaseException:
                with self._lock:
                    self._loading.pop(key, None)
                raise
            with self._lock:
                self._items[key] = model
                self._loading.pop(key, None)
                self._loads += 1
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
                    self._evictions += 1
            return model

    def _hit(self, key: ModelKey) -> LoadedModel | None:
        model = self._items.get(key)
        if model is not None:
            self._items.move_to_end(key)
            self._hits += 1
        return model

    def keys(self) -> list[ModelKey]:
        """Cached keys, least recently used first."""
        with self._lock:
            return list(self._items)

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self.size, len(self._items), self._hits, self._loads, self._evictions)


class RefCache(Generic[T]):
    """What ``(workspace, model name, ref)`` resolved to, kept ``ttl`` seconds (thread-safe,
    at most ``max_entries``, oldest dropped first). ``clock`` is injectable for tests."""

    def __init__(
        self,
        ttl: float,
        max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._items: OrderedDict[RefKey, tuple[float, T]] = OrderedDict()
        self._resolving: dict[RefKey, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: RefKey, resolve: Callable[[], T]) -> T:
        """The answer kept for ``key`` if younger than ``ttl``, else ``resolve()`` (kept).
        Concurrent misses of one key resolve it once: the others wait for that answer (under
        load, 8 clients each asking the registry at every expiry made the slowest calls)."""
        if self.ttl <= 0:
            return resolve()
        kept = self._fresh(key)
        if kept is not None:
            return kept[1]
        with self._lock:
            key_lock = self._resolving.setdefault(key, threading.Lock())
        with key_lock:
            kept = self._fresh(key)  # resolved by the caller this one waited for
            if kept is not None:
                return kept[1]
            now = self._clock()
            try:
                value = resolve()  # outside the cache lock: other keys are served meanwhile
            finally:
                with self._lock:
                    self._resolving.pop(key, None)
            with self._lock:
                self._items[key] = (now, value)
                self._items.move_to_end(key)
                while len(self._items) > self.max_entries:
                    self._items.popitem(last=False)
            return value

    def _fresh(self, key: RefKey) -> tuple[float, T] | None:
        now = self._clock()
        with self._lock:
            kept = self._items.get(key)
        return kept if kept is not None and now - kept[0] < self.ttl else None

    def forget(self, workspace: str, model_name: str) -> None:
        """Drop every answer about one model (after moving one of its aliases)."""
        with self._lock:
            for key in [k for k in self._items if k[:2] == (workspace, model_name)]:
                del self._items[key]


__all__ = [
    "WARM_HORIZONS",
    "CacheStats",
    "LoadedModel",
    "ModelCache",
    "RefCache",
    "load_model",
]
