"""Geo recovery on the two families whose truth the model cannot express (slow: real NUTS fits).

weibull_delay (carryover peaking at 2-3 weeks, fitted with geometric adstock) and
drifting_effect (TV's effect drifts from 0.4x to 1.6x over the window, fitted with one
coefficient) at geo level; the expressible families' geo tests are in
tests/inference/test_recovery_families.py. As the model cannot express these truths, what is
asserted is coverage, not point accuracy.

Small on purpose (the test machine is shared): 6 geos x 78 weeks, 2 chains x 300 warmup + 300
draws, the two seeds (1, 2) that the other geo family tests use, fixed before these figures were
measured; each family is two fits, about 1-2 minutes on one core.

Measured at exactly these settings (``python bench/recovery.py --families
weibull_delay,drifting_effect --levels geo --chains 2 --samples 300 --seeds 1,2,3,4 --per-seed``),
truth against 90% HDI:

  weibull_delay    seed 1: tv 1.5 [1.75, 2.78]  radio 1.0 [1.36, 2.86]   0/2 covered
                   seed 2: tv 1.5 [1.39, 2.03]  radio 1.0 [1.50, 3.20]   1/2
                   seeds 3, 4: 2/2 each; pooled seeds 1-2: 1/4, seeds 1-4: 5/8
  drifting_effect  seed 1: tv 1.5 [1.42, 1.66]  radio 1.0 [1.04, 2.26]  search 2.0 [0.70, 3.22]
                   seed 2: tv 1.5 [1.51, 1.79]  radio 1.0 [1.58, 2.90]  search 2.0 [0.30, 2.69]
                   seeds 3, 4: 3/3 each; pooled seeds 1-2: 3/6, seeds 1-4: 9/12

So the 80% coverage contract fails on both (strict xfails with ``raises=AssertionError``), and
beside each sits a floor that fails on regression:

- *Near coverage*: every interval that misses, misses by a factor below 2 (the truth lies in
  [low / 2, high x 2]). Measured, the worst miss per seed (seeds 1-4) is 1.36, 1.50, 1, 1
  (weibull_delay) and 1.04, 1.58, 1, 1 (drifting_effect; 1 = covered): mean 1.23, sd 0.25, so
  the worst of two seeds is 1.5-1.6 today and two standard errors of a two-seed figure (2 x
  0.25 / sqrt(2) = 0.35) above it is about 1.9; the floor is 2.
- A pooled coverage floor at today's level minus that margin would be vacuous for weibull_delay
  (per-seed coverage 0, 0.5, 1, 1: sd 0.48, margin 0.68 > 1/4) and is not asserted; for
  drifting_effect (per-seed 2/3, 1/3, 1, 1: sd 0.32, margin 0.45) it is 3/6 - 0.45: at least
  one interval in six.
- Per channel, what held at every measured seed: drifting_effect's always-on search (wide
  interval) covered 4/4, and its drifting TV, whose *average* ROI the one coefficient can carry,
  missed at most by 0.7% (seed 2; its per-seed errors 2.6, 11.1, 8.4, 4.0% have sd 3.8 points,
  two standard errors of a two-seed figure 5.4%: ceiling 1.06); weibull_delay's TV covered 3/4
  (asserted: at least one of the two seeds here).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from mixflow.analysis import hdi
from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets.families import Family, simulate_family
from mixflow.spec import parse_config
from mixflow.workflow import fit_dataset

CHAINS, SAMPLES = 2, 300
N_GEOS, N_WEEKS = 6, 78
SEEDS = (1, 2)
MIN_COVERAGE = 0.80  # the recovery contract of tests/inference/test_recovery.py
MAX_MISS_FACTOR = 2.0

#: per channel: (truth, 90% HDI low, high)
Row = tuple[float, float, float]


@cache
def _fit(family: Family, seed: int) -> dict[str, Row]:
    brand = simulate_family(family, np.random.default_rng(seed), n_geos=N_GEOS, n_weeks=N_WEEKS)
    cfg = dict(brand.config)
    cfg["fit"] = {"chains": CHAINS, "warmup": SAMPLES, "draws": SAMPLES, "seed": seed,
                  "progress_bar": False}  # fmt: skip
    config = parse_config(cfg)
    post = fit_dataset(config, dataset_from_frame(brand.frame, config.data))
    chans = post.dataset.channels
    assert post.dataset.n_geos == N_GEOS
    band = hdi(np.asarray(post.samples["roi"]).reshape(-1, len(chans)))
    return {
        ch: (brand.true_roi[ch], float(band[i, 0]), float(band[i, 1])) for i, ch in enumerate(chans)
    }


def _rows(family: Family, channels: tuple[str, ...] = ()) -> list[tuple[int, str, Row]]:
    return [
        (seed, ch, row)
        for seed in SEEDS
        for ch, row in _fit(family, seed).items()
        if not channels or ch in channels
    ]


def _covered(row: Row) -> bool:
    truth, low, high = row
    return low <= truth <= high


def _miss_factor(row: Row) -> float:
    """1 when the interval holds the truth, else how many times too high or too low it is."""
    truth, low, high = row
    return max(1.0, low / truth, truth / high)


def _coverage(rows: list[tuple[int, str, Row]]) -> float:
    return float(np.mean([_covered(r) for _, _, r in rows]))


# --------------------------------------------------------------------------- weibull_delay
@pytest.mark.slow
@pytest.mark.xdist_group("geo_families_weibull")
@pytest.mark.xfail(
    raises=AssertionError,
    strict=True,
    reason="known gap: geometric adstock cannot delay a 2-3-week Weibull peak; at geo level "
    "both ROIs come out too high at seeds 1-2 (coverage 1/4)",
)
def test_geo_weibull_delay_coverage() -> None:
    rows = _rows(Family.WEIBULL_DELAY)
    assert _coverage(rows) >= MIN_COVERAGE, rows


@pytest.mark.slow
@pytest.mark.xdist_group("geo_families_weibull")
def test_geo_weibull_delay_floor() -> None:
    rows = _rows(Family.WEIBULL_DELAY)
    worst = max(_miss_factor(r) for _, _, r in rows)
    assert worst < MAX_MISS_FACTOR, rows
    tv = _rows(Family.WEIBULL_DELAY, ("tv",))
    assert _coverage(tv) >= 0.5, tv


# ------------------------------------------------------------------------- drifting_effect
@pytest.mark.slow
@pytest.mark.xdist_group("geo_families_drifting")
@pytest.mark.xfail(
    raises=AssertionError,
    strict=True,
    reason="known gap: one coefficient for a drifting TV effect; at geo level radio's interval "
    "misses at seeds 1-2 and TV's at seed 2 (coverage 3/6)",
)
def test_geo_drifting_effect_coverage() -> None:
    rows = _rows(Family.DRIFTING_EFFECT)
    assert _coverage(rows) >= MIN_COVERAGE, rows


@pytest.mark.slow
@pytest.mark.xdist_group("geo_families_drifting")
def test_geo_drifting_effect_floor() -> None:
    rows = _rows(Family.DRIFTING_EFFECT)
    worst = max(_miss_factor(r) for _, _, r in rows)
    assert worst < MAX_MISS_FACTOR, rows
    assert _coverage(rows) >= 1 / 6, rows
    search = _rows(Family.DRIFTING_EFFECT, ("search",))
    assert _coverage(search) == 1.0, search
    tv = _rows(Family.DRIFTING_EFFECT, ("tv",))
    assert max(_miss_factor(r) for _, _, r in tv) < 1.06, tv
