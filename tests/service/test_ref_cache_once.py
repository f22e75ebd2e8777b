"""Concurrent misses of one RefCache key ask the registry once; the others wait for it."""

from __future__ import annotations

import threading
import time

import pytest

from mixflow.service.cache import RefCache


def test_concurrent_misses_resolve_once_and_share_the_answer() -> None:
    refs: RefCache[int] = RefCache(ttl=60.0)
    calls: list[int] = []
    start = threading.Barrier(8)

    def resolve() -> int:
        calls.append(1)
        time.sleep(0.2)  # a registry round trip, long enough for every thread to miss
        return 7

    answers: list[int] = []

    def ask() -> None:
        start.wait()
        answers.append(refs.get(("acme", "brand", "champion"), resolve))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [7] * 8
    assert len(calls) == 1


def test_a_failed_resolve_is_not_kept_and_the_next_caller_asks_again() -> None:
    refs: RefCache[int] = RefCache(ttl=60.0)

    def fail() -> int:
        raise LookupError("registry down")

    with pytest.raises(LookupError):
        refs.get(("acme", "brand", "champion"), fail)
    assert refs.get(("acme", "brand", "champion"), lambda: 3) == 3
