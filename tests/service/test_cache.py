"""The API's model cache: a hit never loads again, least recently used entries go first past
the size, concurrent misses on one version load it once, a failed load is not kept; and over
HTTP, with two registered versions and a cache of one, the second version evicts the first."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from planning_support import WORKSPACE, fitted_run, register_version

from mixflow.service.app import create_app
from mixflow.service.auth import Role, create_key
from mixflow.service.cache import LoadedModel, ModelCache
from mixflow.service.db.migrate import upgrade
from mixflow.service.settings import ServiceSettings


def _fake(name: str, version: int) -> LoadedModel:
    return LoadedModel(name, version, Path("/nowhere"), None, None)  # type: ignore[arg-type]


class Loader:
    """Counts calls per key; optionally slow or failing."""

    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.calls: list[tuple[str, int]] = []
        self.delay = delay
        self.fail = fail
        self._lock = threading.Lock()

    def __call__(self, key: tuple[str, int]) -> Callable[[], LoadedModel]:
        def load() -> LoadedModel:
            with self._lock:
                self.calls.append(key)
            time.sleep(self.delay)
            if self.fail:
                raise OSError("posterior.nc is unreadable")
            return _fake(*key)

        return load


def test_a_hit_does_not_load_again() -> None:
    cache, loader = ModelCache(2), Loader()
    first = cache.get(("w.m", 1), loader(("w.m", 1)))
    second = cache.get(("w.m", 1), loader(("w.m", 1)))
    assert second is first
    assert loader.calls == [("w.m", 1)]
    stats = cache.stats()
    assert (stats.loads, stats.hits, stats.entries) == (1, 1, 1)


def test_the_least_recently_used_entry_is_evicted() -> None:
    cache, loader = ModelCache(2), Loader()
    for key in (("w.m", 1), ("w.m", 2), ("w.m", 1), ("w.m", 3)):
        cache.get(key, loader(key))
    # version 2 was used least recently when version 3 arrived
    assert cache.keys() == [("w.m", 1), ("w.m", 3)]
    assert cache.stats().evictions == 1
    cache.get(("w.m", 2), loader(("w.m", 2)))
    assert loader.calls.count(("w.m", 2)) == 2  # evicted, so loaded again
    assert cache.keys() == [("w.m", 3), ("w.m", 2)]


def test_concurrent_misses_load_once_per_key() -> None:
    cache, loader = ModelCache(4), Loader(delay=0.5)
    keys = [("w.a", 1)] * 6 + [("w.b", 1)] * 2
    got: list[LoadedModel] = []
    lock = threading.Lock()

    def ask(key: tuple[str, int]) -> None:
        model = cache.get(key, loader(key))
        with lock:
            got.append(model)

    threads = [threading.Thread(target=ask, args=(k,)) for k in keys]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    assert sorted(loader.calls) == [("w.a", 1), ("w.b", 1)]
    assert len({id(m) for m in got if m.name == "w.a"}) == 1
    # the two keys loaded in parallel, not one after the other (1 s)
    assert elapsed < 0.9


def test_a_failed_load_is_not_cached() -> None:
    cache = ModelCache(2)
    failing = Loader(fail=True)
    with pytest.raises(OSError, match="unreadable"):
        cache.get(("w.m", 1), failing(("w.m", 1)))
    assert cache.keys() == []
    ok = Loader()
    assert cache.get(("w.m", 1), ok(("w.m", 1))).version == 1
    assert ok.calls == [("w.m", 1)]


def test_size_must_be_positive_and_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValueError, match="cache size must be >= 1"):
        ModelCache(0)
    monkeypatch.setenv("MIXFLOW_SIMULATOR_CACHE", "3")
    assert ServiceSettings().simulator_cache == 3


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    run = fitted_run(tmp_path_factory.getbasetemp())
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        settings = ServiceSettings(home=tmp_path_factory.mktemp("cache_home"), simulator_cache=1)
        upgrade(settings)
        register_version(settings, run)
        register_version(settings, run)
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            with client.app.state.sessions() as session:  # type: ignore[attr-defined]
                key = create_key(session, name="v", workspace=WORKSPACE, role=Role.viewer).secret
            yield {"client": client, "headers": {"X-API-Key": key}}


def test_over_http_a_second_version_evicts_the_first(two_versions: dict[str, Any]) -> None:
    client, headers = two_versions["client"], two_versions["headers"]
    cache: ModelCache = client.app.state.models
    plan = {"budget": 1e5, "horizon_weeks": 4}
    bodies = []
    for ref in (1, 1, 2, 1):
        r = client.post(
            "/api/v1/models/brand/simulate", json={"ref": ref, "plan": plan}, headers=headers
        )
        assert r.status_code == 200, r.text
        assert r.json()["model"]["version"] == ref
        bodies.append(r.json())
    stats = cache.stats()
    # 1 (load), 1 (hit), 2 (load, evicts 1), 1 (load again, evicts 2)
    assert (stats.loads, stats.hits, stats.evictions) == (3, 1, 2)
    assert cache.keys() == [("acme.brand", 1)]
    # the same run registered twice: a reloaded version answers exactly as before
    assert bodies[0]["expected"] == bodies[3]["expected"] == bodies[2]["expected"]


def test_refs_are_kept_for_the_ttl_and_forgotten_on_demand() -> None:
    from mixflow.service.cache import RefCache

    now = [0.0]
    asked: list[str] = []

    def resolve(answer: int) -> Callable[[], int]:
        def go() -> int:
            asked.append(f"v{answer}")
            return answer

        return go

    refs: RefCache[int] = RefCache(ttl=2.0, clock=lambda: now[0])
    key = ("acme", "brand", "champion")
    assert refs.get(key, resolve(1)) == 1
    now[0] = 1.9
    assert refs.get(key, resolve(2)) == 1  # still fresh: the registry is not asked
    now[0] = 2.0
    assert refs.get(key, resolve(2)) == 2  # expired: asked again
    refs.forget("acme", "brand")
    assert refs.get(key, resolve(3)) == 3
    assert asked == ["v1", "v2", "v3"]
    never: RefCache[int] = RefCache(ttl=0.0)
    assert [never.get(key, resolve(n)) for n in (4, 5)] == [4, 5]
    with pytest.raises(LookupError):  # a failed resolution is not kept
        refs.get(("acme", "nope", "champion"), lambda: (_ for _ in ()).throw(LookupError()))
