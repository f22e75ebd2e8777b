"""Recovery on brand families the model was not built around (slow: real NUTS fits).

Each family (mixflow.datasets.families) draws its truth with its own code: correlated spend,
ROIs of 0.3 and 8, Weibull carryover peaking at 2-3 weeks (fitted with geometric), a logistic
S-curve (fitted with Hill), a TV effect that drifts from 0.4x to 1.6x, and the model's own form
as the control. Every brand is fitted with the model's defaults (2 chains x 300 warmup + 300
draws: short, since each test must stay within tens of seconds; the figures below are measured at
exactly these settings with ``python bench/recovery.py --chains 2 --samples 300 --seeds 1,2,3,4
--levels national``).

What is asserted:
- where the model can express the truth (own_form, correlated, extreme_roi), the recovery
  contract of tests/inference/test_recovery.py: median absolute relative ROI error < 20% and at
  least 80% of the 90% HDIs holding the truth;
- where it cannot (weibull_delay, logistic_curve, drifting_effect), coverage only, not point
  accuracy;
- where the model fails the contract, the failure is a strict xfail (raises=AssertionError) and
  a floor beside it at today's level plus a margin of two Monte Carlo standard errors of the
  pooled figure (sd of the per-seed medians / sqrt(4) x 2), so that a regression still fails.

Measured (national, seeds 1-4; pooled median error, coverage, per-seed medians):
  own_form        8.2%  12/12  [15.6, 2.6, 3.9, 12.3]%
  correlated     14.1%  12/12  [5.2, 22.1, 19.9, 33.9]%
  extreme_roi    57.0%  10/12  [39.6, 73.2, 43.5, 86.0]%  tv (ROI 8) 2.1%; radio (0.3) 79.6%,
                                search (1.5) 68.7%: both pulled up toward the prior median
  weibull_delay  40.7%   5/8   [38.0, 56.9, 37.3, 26.6]%  tv covered 1/4 (biased low by 41%)
  logistic_curve 12.5%  10/12  [10.7, 13.9, 11.2, 28.7]%
  drifting_effect 16.7% 10/12  [21.8, 11.7, 59.2, 5.3]%
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
NATIONAL_SEEDS = (1, 2, 3, 4)
#: the recovery contract (as in test_recovery.py)
MAX_MEDIAN_ERROR, MIN_COVERAGE = 0.20, 0.80


@cache
def _scores(family: Family, n_geos: int, seed: int) -> dict[str, tuple[float, bool]]:
    """Per channel: |posterior median / truth - 1| and whether the 90% HDI holds the truth."""
    n_weeks = 104 if n_geos == 1 else 78
    brand = simulate_family(family, np.random.default_rng(seed), n_geos=n_geos, n_weeks=n_weeks)
    cfg = dict(brand.config)
    cfg["fit"] = {"chains": CHAINS, "warmup": SAMPLES, "draws": SAMPLES, "seed": seed,
                  "progress_bar": False}  # fmt: skip
    config = parse_config(cfg)
    post = fit_dataset(config, dataset_from_frame(brand.frame, config.data))
    chans = post.dataset.channels
    roi = np.asarray(post.samples["roi"]).reshape(-1, len(chans))
    band = hdi(roi)
    out = {}
    for i, ch in enumerate(chans):
        truth = brand.true_roi[ch]
        out[ch] = (
            abs(float(np.median(roi[:, i])) / truth - 1.0),
            bool(band[i, 0] <= truth <= band[i, 1]),
        )
    return out


def _pooled(
    family: Family, n_geos: int, seeds: tuple[int, ...], channels: tuple[str, ...] = ()
) -> tuple[float, float, list[tuple[int, str, float, bool]]]:
    """Median error and coverage over seeds x channels (all channels unless named), and the
    rows behind them for the failure message."""
    rows = [
        (seed, ch, err, cov)
        for seed in seeds
        for ch, (err, cov) in _scores(family, n_geos, seed).items()
        if not channels or ch in channels
    ]
    errors = [r[2] for r in rows]
    covered = [r[3] for r in rows]
    return float(np.median(errors)), float(np.mean(covered)), rows


# ------------------------------------------------------------- the model can express the truth
@pytest.mark.parametrize("family", [Family.OWN_FORM, Family.CORRELATED])
@pytest.mark.slow
@pytest.mark.xdist_group("recovery_families")
def test_expressible_family_meets_the_contract(family: Family) -> None:
    err, cov, rows = _pooled(family, 1, NATIONAL_SEEDS)
    assert err < MAX_MEDIAN_ERROR, (err, rows)
    assert cov >= MIN_COVERAGE, (cov, rows)


@pytest.mark.slow
@pytest.mark.xdist_group("recovery_families")
def test_extreme_roi_family_coverage() -> None:
    _, cov, rows = _pooled(Family.EXTREME_ROI, 1, NATIONAL_SEEDS)
    assert cov >= MIN_COVERAGE, (cov, rows)


@pytest.mark.slow
@pytest.mark.xdist_group("recovery_families")
@pytest.mark.xfail(
    raises=AssertionError,
    strict=True,
    reason="known gap: ROIs 0.3 and 1.5 beside an ROI-8 channel are pulled toward the default "
    "prior's median (measured pooled error 57%)",
)
def test_extreme_roi_family_error() -> None:
    err, _, rows = _pooled(Family.EXTREME_ROI, 1, NATIONAL_SEEDS)
    assert err < MAX_MEDIAN_ERROR, (err, rows)


@pytest.mark.slow
@pytest.mark.xdist_group("recovery_families")
def test_extreme_roi_family_floor() -> None:
    """Today's level plus margin: pooled 57.0% (seed medians sd 22 points -> margin 22), and
    the ROI-8 flighted channel recovered (median over seeds 2.1%; ceiling 10%)."""
    err, _, rows = _pooled(Family.EXTREME_ROI, 1, NATIONAL_SEEDS)
    assert err < 0.79, (err, rows)
    tv_err, _, tv_rows = _pooled(Family.EXTREME_ROI, 1, NATIONAL_SEEDS, ("tv",))
    assert tv_err < 0.10, tv_rows


# ----------------------------------------------------------- the model cannot express the truth
@pytest.mark.parametrize("family", [Family.LOGISTIC_CURVE, Family.DRIFTING_EFFECT])
@pytest.mark.slow
@pytest.mark.xdist_group("recovery_families")
def test_misspecified_family_coverage(family: Family) -> None:
    _, cov, rows = _pooled(family, 1, NATIONAL_SEEDS)
    assert cov >= MIN_COVERAGE, (cov, rows)


@pytest.mark.slow
@pytest.mark.xdist_group("recovery_families")
@pytest.mark.xfail(
    raises=AssertionError,
    strict=True,
    reason="known gap: geometric adstock cannot delay a Weibull carryover that peaks at 2-3 "
    "weeks; TV's ROI is biased low (~41%) with an interval that misses it (coverage 5/8)",
)
def test_weibull_delay_family_coverage() -> None:
    _, cov, rows = _pooled(Family.WEIBULL_DELAY, 1, NATIONAL_SEEDS)
    assert cov >= MIN_COVERAGE, (cov, rows)


@pytest.mark.slow
@pytest.mark.xdist_group("recovery_families")
def test_weibull_delay_family_floor() -> None:
    """What the model does achieve: the 2-week-peak radio is covered at every seed (4/4), and
    no more than one further interval misses than today (5/8 -> floor 4/8)."""
    _, cov, rows = _pooled(Family.WEIBULL_DELAY, 1, NATIONAL_SEEDS)
    assert cov >= 0.5, (cov, rows)
    _, radio_cov, radio_rows = _pooled(Family.WEIBULL_DELAY, 1, NATIONAL_SEEDS, ("radio",))
    assert radio_cov == 1.0, radio_rows


# ------------------------------------------------------------------------------------ geo
#: measured at these settings (6 geos x 78 weeks, seeds 1-2: ``bench/recovery.py --chains 2
#: --samples 300 --seeds 1,2 --levels geo``): own_form 14.3% (6/6), correlated 12.3% (6/6);
#: extreme_roi 13.7% (6/6) and logistic_curve 2.2% (6/6) also pass but cost 170 s and are left
#: to the bench; weibull_delay (82%, 2/6) and drifting_effect (24.6%, 4/6) fail at geo level too
GEO_SEEDS = (1, 2)


@pytest.mark.parametrize("family", [Family.OWN_FORM, Family.CORRELATED])
@pytest.mark.slow
@pytest.mark.xdist_group("recovery_families_geo")
def test_geo_expressible_family_meets_the_contract(family: Family) -> None:
    err, cov, rows = _pooled(family, 6, GEO_SEEDS)
    assert err < MAX_MEDIAN_ERROR, (err, rows)
    assert cov >= MIN_COVERAGE, (cov, rows)
