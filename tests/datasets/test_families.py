"""Brand families for recovery studies: each family's truth has the property it is named for,
computed by its own code paths (not the model's transforms)."""

from __future__ import annotations

import numpy as np
import pytest

from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import BrandSimulation, simulate_brand
from mixflow.datasets.families import (
    FAMILIES,
    Family,
    FamilyChannel,
    carryover_weights,
    effect_multiplier,
    response_curve,
    simulate_family,
)
from mixflow.errors import SpecError
from mixflow.spec import parse_config


@pytest.mark.parametrize("family", list(Family))
@pytest.mark.parametrize("n_geos", [1, 4])
def test_every_family_loads_with_its_config(family: Family, n_geos: int) -> None:
    brand = simulate_family(family, np.random.default_rng(5), n_geos=n_geos, n_weeks=60)
    data = dataset_from_frame(brand.frame, parse_config(brand.config).data)
    assert data.n_geos == n_geos and data.n_times == 60
    assert set(data.channels) == set(brand.true_roi)
    assert brand.truth["family"] == family.value


@pytest.mark.parametrize("family", [f for f in Family if f is not Family.OWN_FORM])
def test_true_roi_is_the_one_the_family_sets(family: Family) -> None:
    brand = simulate_family(family, np.random.default_rng(2), n_geos=3)
    for ch in FAMILIES[family].channels:
        assert brand.true_roi[ch.name] == pytest.approx(ch.true_roi, rel=1e-9)
        # and it is contribution over spend, the spend being the frame's own
        assert brand.spend[ch.name] == pytest.approx(brand.frame[f"{ch.name}_spend"].sum())
        assert brand.true_contribution[ch.name] == pytest.approx(
            ch.true_roi * brand.spend[ch.name], rel=1e-9
        )


def test_extreme_family_sits_far_from_the_default_prior_median() -> None:
    rois = {ch.name: ch.true_roi for ch in FAMILIES[Family.EXTREME_ROI].channels}
    assert min(rois.values()) == 0.3 and max(rois.values()) == 8.0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_correlated_family_spend_correlates_at_least_0_6(seed: int) -> None:
    brand = simulate_family(Family.CORRELATED, np.random.default_rng(seed))
    a, b = (np.log(brand.frame[f"{c}_spend"]) for c in ("search", "social"))
    assert np.corrcoef(a, b)[0, 1] >= 0.6
    # the control family's always-on channels are drawn independently
    other = simulate_family(Family.DRIFTING_EFFECT, np.random.default_rng(seed)).frame
    on = other[other.radio_spend > 0]
    assert abs(np.corrcoef(np.log(on.search_spend), np.log(on.radio_spend))[0, 1]) < 0.4


@pytest.mark.parametrize("peak", [2.0, 2.5, 3.0])
def test_weibull_carryover_peaks_after_two_to_three_weeks(peak: float) -> None:
    w = carryover_weights(FamilyChannel("tv", 1.0, 1.0, carryover="weibull", peak_week=peak), 10)
    assert w.sum() == pytest.approx(1.0)
    assert int(np.argmax(w)) in (int(np.floor(peak)) - 1, int(np.floor(peak)), int(np.ceil(peak)))
    assert int(np.argmax(w)) >= 1  # geometric carryover always peaks at lag 0
    assert w[0] < 0.5 * w.max()


def test_logistic_curve_is_s_shaped_and_hill_is_concave() -> None:
    x = np.linspace(0.0, 3.0, 301)
    s = response_curve(FamilyChannel("tv", 1.0, 1.0, curve="logistic", half=1.0), x)
    h = response_curve(FamilyChannel("tv", 1.0, 1.0, curve="hill", half=1.0), x)
    assert s[0] == pytest.approx(0.0) and h[0] == 0.0
    d2s, d2h = np.diff(s, 2), np.diff(h, 2)
    assert (d2s[x[1:-1] < 0.9] > 0).all() and (d2s[x[1:-1] > 1.1] < 0).all()  # convex, then not
    assert (d2h < 0).all()


def test_drifting_effect_changes_over_the_window() -> None:
    tv, radio = FAMILIES[Family.DRIFTING_EFFECT].channels[:2]
    m = effect_multiplier(tv, 110)
    assert m[0] == pytest.approx(0.4) and m[-1] == pytest.approx(1.6)
    assert (np.diff(m) > 0).all()
    np.testing.assert_array_equal(effect_multiplier(radio, 110), np.ones(110))


def test_own_form_is_simulate_brand() -> None:
    got = simulate_family(Family.OWN_FORM, np.random.default_rng(9), n_weeks=60)
    from mixflow.datasets import DEFAULT_CHANNELS

    want = simulate_brand(
        BrandSimulation(
            n_weeks=60, channels=(DEFAULT_CHANNELS[0], DEFAULT_CHANNELS[1], DEFAULT_CHANNELS[4])
        ),
        np.random.default_rng(9),
    )
    assert got.true_roi == want.true_roi
    assert got.true_response is not None


def test_unknown_family_names_the_allowed_ones() -> None:
    with pytest.raises(SpecError, match=r"unknown family 'weibul'.*weibull_delay"):
        simulate_family("weibul", np.random.default_rng(0))
