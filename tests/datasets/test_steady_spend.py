"""Per-channel spend variation of the simulator: a channel bought at one steady level (the case
a heavy-up test is run for) next to the default always-on pattern."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand
from mixflow.datasets.simulate import ChannelTruth
from mixflow.errors import SpecError

SEARCH = DEFAULT_CHANNELS[1]
STEADY = dataclasses.replace(SEARCH, name="steady", spend_sd=0.05, season_swing=0.0)


def _national_cv(sim: BrandSimulation, channel: str, seed: int = 3) -> float:
    b = simulate_brand(sim, np.random.default_rng(seed))
    nat = b.frame.groupby("date")[f"{channel}_spend"].sum().to_numpy()
    return float(nat.std() / nat.mean())


def test_steady_channel_has_the_stated_spend_variation_and_the_default_keeps_its_own() -> None:
    sim = BrandSimulation(n_weeks=156, channels=(SEARCH, STEADY))
    # log-sd 0.05 with no yearly swing: the coefficient of variation is about 0.05; the
    # default (log-sd 0.3 and a 25 % yearly swing) is near sqrt(0.31^2 + 0.25^2 / 2) = 0.36
    steady = _national_cv(sim, "steady")
    default = _national_cv(sim, "search")
    assert 0.035 < steady < 0.07
    assert 0.25 < default < 0.5


def test_default_fields_leave_the_random_stream_unchanged() -> None:
    # spelling out the defaults draws the same brand as leaving them out
    explicit = dataclasses.replace(SEARCH, spend_sd=0.3, season_swing=0.25, geo_split_sd=None)
    a = simulate_brand(
        BrandSimulation(n_weeks=52, n_geos=3, channels=(SEARCH,)), np.random.default_rng(1)
    )
    b = simulate_brand(
        BrandSimulation(n_weeks=52, n_geos=3, channels=(explicit,)), np.random.default_rng(1)
    )
    np.testing.assert_array_equal(a.frame["search_spend"], b.frame["search_spend"])


def test_channel_geo_split_overrides_the_brands() -> None:
    sim = BrandSimulation(
        n_weeks=104,
        n_geos=6,
        geo_split_sd=0.4,
        channels=(SEARCH, dataclasses.replace(STEADY, geo_split_sd=0.0)),
    )
    b = simulate_brand(sim, np.random.default_rng(2))
    share = b.frame.pivot(index="date", columns="geo", values="steady_spend")
    share = share.div(share.sum(axis=1), axis=0)
    # split log-sd 0: every geo keeps one share of the national spend all along
    assert float(share.std().max()) < 1e-12
    loose = b.frame.pivot(index="date", columns="geo", values="search_spend")
    loose = loose.div(loose.sum(axis=1), axis=0)
    assert float(loose.std().max()) > 0.01


@pytest.mark.parametrize(
    ("field", "value"), [("spend_sd", -0.1), ("season_swing", 1.0), ("geo_split_sd", -1.0)]
)
def test_bad_spend_variation_is_a_spec_error_naming_the_channel(field: str, value: float) -> None:
    with pytest.raises(SpecError, match=rf"channel 'search': {field}"):
        ChannelTruth("search", 25_000.0, **{field: value})
