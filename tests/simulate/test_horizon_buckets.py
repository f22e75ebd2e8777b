"""Plans are computed padded to a bucket of horizons: a new horizon inside a compiled bucket
compiles nothing, and padding changes no figure (the reference comparison of
test_fast_engine.py runs 10- and 12-week plans through the 13-week bucket)."""

from __future__ import annotations

import numpy as np
from test_fast_engine import _prior_posterior

import mixflow.simulate.engine as engine
from mixflow.simulate import Simulator, plan_like_last


def _compiled() -> tuple[int, ...]:
    return tuple(
        f._cache_size()  # type: ignore[attr-defined]
        for f in (engine._media_response, engine._baseline, engine._less_history)
    )


def test_buckets() -> None:
    assert [engine.horizon_bucket(h) for h in (1, 13, 14, 39, 52, 53, 104, 105, 520)] == [
        13,
        13,
        26,
        39,
        52,
        104,
        104,
        156,
        520,
    ]


def test_a_new_horizon_inside_a_compiled_bucket_compiles_nothing() -> None:
    posterior = _prior_posterior(2, "geometric", "hill", seed=5)
    sim = Simulator(posterior)
    sim.warm_up(horizons=(13,))
    before = _compiled()
    outs = {h: sim.simulate(plan_like_last(posterior.dataset, h)) for h in (4, 9, 13)}
    assert _compiled() == before
    assert {h: out.media_kpi.shape[1] for h, out in outs.items()} == {
        h: h + sim.max_lag for h in (4, 9, 13)
    }
    assert all(np.all(np.isfinite(out.kpi)) for out in outs.values())
    sim.simulate(plan_like_last(posterior.dataset, 20))
    assert _compiled() != before  # the 26-week bucket is new
