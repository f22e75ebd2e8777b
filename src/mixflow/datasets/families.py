"""Brand families the model was not built around, for recovery studies.

:func:`mixflow.datasets.simulate_brand` draws its truth with the model's own adstock, saturation
and scaling. The families here draw theirs with their own code (float64 NumPy, nothing from
``mixflow.transforms``): a Weibull-delayed carryover peaking at 2-3 weeks, an S-shaped logistic
response, correlated spend, ROIs far from the default prior's median, a channel whose effect
drifts over time. Each family fixes the true ROI of every channel exactly (the coefficient is
solved for it), so recovery is scored against a number the simulation set, not one it derived.

A family is fitted with the model's defaults (geometric adstock, Hill saturation); ``own_form``
delegates to :func:`~mixflow.datasets.simulate_brand` and is the control.

True ROI = incremental KPI value over the data window plus the carryover tail after it, divided
by spend (the definition the analysis uses).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from mixflow.datasets.simulate import (
    DEFAULT_CHANNELS,
    BrandSimulation,
    SimulatedBrand,
    simulate_brand,
)
from mixflow.errors import SpecError


class Family(StrEnum):
    """The simulated brand families (see :data:`FAMILIES` for what each changes)."""

    OWN_FORM = "own_form"
    CORRELATED = "correlated"
    EXTREME_ROI = "extreme_roi"
    WEIBULL_DELAY = "weibull_delay"
    LOGISTIC_CURVE = "logistic_curve"
    DRIFTING_EFFECT = "drifting_effect"


@dataclass(frozen=True)
class FamilyChannel:
    """One channel of a family brand.

    Attributes:
        name: channel name.
        weekly_spend: mean weekly spend (currency) over the active weeks.
        true_roi: the channel's true ROI (value per unit of spend, carryover included).
        flighted: bursts of spend with long zero runs instead of always-on spend.
        carryover: ``geometric`` (decay ``retention``) or ``weibull`` (delayed, peak near
            ``peak_week``).
        retention: geometric decay per week.
        peak_week: the Weibull carryover's peak lag (weeks).
        curve: ``hill`` (concave, ``x / (x + half)``-like) or ``logistic`` (S-shaped around
            ``half``).
        half: the curve's half-effect point, in units of the channel's mean active exposure.
        drift: the effect's multiplier moves linearly from ``1 - drift`` to ``1 + drift`` over
            the window (0: a constant effect).
    """

    name: str
    weekly_spend: float
    true_roi: float
    flighted: bool = False
    carryover: str = "geometric"
    retention: float = 0.3
    peak_week: float = 2.5
    curve: str = "hill"
    half: float = 1.0
    drift: float = 0.0


@dataclass(frozen=True)
class FamilyBrand:
    """What to simulate for a family brand (other than the channels)."""

    family: Family
    channels: tuple[FamilyChannel, ...]
    #: log-spend correlation between the first two channels (0: independent draws)
    spend_correlation: float = 0.0
    #: whether the model's own functional forms can express every channel's truth
    expressible: bool = True
    n_weeks: int = 104
    n_geos: int = 1
    carryover_weeks: int = 10
    base_weekly_kpi: float = 1_000_000.0
    noise_sd: float = 0.04
    geo_split_sd: float = 0.35
    start: str = "2022-01-03"

    def __post_init__(self) -> None:
        if not 0.0 <= self.spend_correlation < 1.0:
            raise SpecError(f"spend_correlation must be in [0, 1), got {self.spend_correlation}")
        for ch in self.channels:
            if ch.carryover not in ("geometric", "weibull"):
                raise SpecError(f"channel {ch.name!r}: carryover must be geometric or weibull")
            if ch.curve not in ("hill", "logistic"):
                raise SpecError(f"channel {ch.name!r}: curve must be hill or logistic")
            if not ch.true_roi > 0:
                raise SpecError(f"channel {ch.name!r}: true_roi must be > 0, got {ch.true_roi}")


_TV = FamilyChannel("tv", 50_000.0, 1.5, flighted=True)
_SEARCH = FamilyChannel("search", 25_000.0, 2.0)
_SOCIAL = FamilyChannel("social", 30_000.0, 1.2)
_RADIO = FamilyChannel("radio", 20_000.0, 1.0, flighted=True)


def _tv(**kw: Any) -> FamilyChannel:
    return replace(_TV, **kw)


def _search(**kw: Any) -> FamilyChannel:
    return replace(_SEARCH, **kw)


def _social(**kw: Any) -> FamilyChannel:
    return replace(_SOCIAL, **kw)


def _radio(**kw: Any) -> FamilyChannel:
    return replace(_RADIO, **kw)


#: the families' channels (national; :func:`family_brand` sets the geo count)
FAMILIES: dict[Family, FamilyBrand] = {
    # the control: simulate_brand's own form (these channels are placeholders; see
    # simulate_family)
    Family.OWN_FORM: FamilyBrand(Family.OWN_FORM, ()),
    # search and social move together (log-spend correlation 0.8)
    Family.CORRELATED: FamilyBrand(
        Family.CORRELATED,
        (_search(), _social(), _tv()),
        spend_correlation=0.8,
    ),
    # ROIs at 0.3 and 8, far from the default prior's median (about 1.5-2 here)
    Family.EXTREME_ROI: FamilyBrand(
        Family.EXTREME_ROI,
        (_tv(true_roi=8.0), _radio(true_roi=0.3), _search(true_roi=1.5)),
    ),
    # carryover that builds up and peaks 2-3 weeks after the spend (geometric peaks at lag 0)
    Family.WEIBULL_DELAY: FamilyBrand(
        Family.WEIBULL_DELAY,
        (_tv(carryover="weibull", peak_week=2.5), _radio(carryover="weibull", peak_week=2.0)),
        expressible=False,
    ),
    # S-shaped response (convex below the half point), fitted with Hill
    Family.LOGISTIC_CURVE: FamilyBrand(
        Family.LOGISTIC_CURVE,
        (_tv(curve="logistic", half=0.8), _radio(curve="logistic", half=1.0), _search()),
        expressible=False,
    ),
    # TV's effect grows from 0.4x to 1.6x its mean over the window; the model has one beta
    Family.DRIFTING_EFFECT: FamilyBrand(
        Family.DRIFTING_EFFECT,
        (_tv(drift=0.6), _radio(), _search()),
        expressible=False,
    ),
}


def family_brand(family: Family | str, n_geos: int = 1, n_weeks: int = 104) -> FamilyBrand:
    """The family's brand with ``n_geos`` geos (1: national) and ``n_weeks`` weeks."""
    try:
        fam = Family(family)
    except ValueError:
        allowed = ", ".join(f.value for f in Family)
        raise SpecError(f"unknown family {family!r}; expected one of {allowed}") from None
    base = FAMILIES[fam]
    return FamilyBrand(
        fam,
        base.channels,
        base.spend_correlation,
        base.expressible,
        n_weeks=n_weeks,
        n_geos=n_geos,
    )


# ---------------------------------------------------------------------- the truth's own forms
def carryover_weights(ch: FamilyChannel, n_lags: int) -> np.ndarray:
    """``(n_lags + 1,)`` lag weights summing to 1: geometric ``r**l`` or a Weibull density
    (shape 2.5) whose mode sits at ``peak_week``."""
    lags = np.arange(n_lags + 1, dtype=np.float64)
    if ch.carryover == "geometric":
        w = ch.retention**lags
    else:
        k = 2.5
        # the Weibull(k, scale) density's mode is scale * ((k - 1) / k) ** (1 / k)
        scale = ch.peak_week / ((k - 1.0) / k) ** (1.0 / k)
        z = (lags + 0.5) / scale  # mid-week, so lag 0 carries a little
        w = (k / scale) * z ** (k - 1.0) * np.exp(-(z**k))
    return w / w.sum()


def response_curve(ch: FamilyChannel, x: np.ndarray) -> np.ndarray:
    """The channel's response to carried-over exposure ``x`` (mean active exposure 1), 0 at 0:
    ``x / (x + half)`` (concave) or a logistic S-curve centred on ``half``."""
    if ch.curve == "hill":
        return x / (x + ch.half)
    steep = 4.0 / ch.half
    return 1.0 / (1.0 + np.exp(-steep * (x - ch.half))) - 1.0 / (1.0 + math.exp(steep * ch.half))


def effect_multiplier(ch: FamilyChannel, n: int) -> np.ndarray:
    """``(n,)`` the channel's effect multiplier per period: linear from ``1 - drift`` to
    ``1 + drift`` (ones for a constant effect)."""
    return 1.0 + ch.drift * np.linspace(-1.0, 1.0, n)


def _spend(ch: FamilyChannel, n: int, latent: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Weekly national spend: bursts for flighted channels, else a seasonal wobble times
    ``exp(0.35 * latent)`` (``latent`` standard Normal, possibly shared between channels)."""
    if ch.flighted:
        on = np.zeros(n, dtype=bool)
        t = int(rng.integers(0, 5))
        while t < n:
            burst = int(rng.integers(3, 8))
            on[t : t + burst] = True
            t += burst + int(rng.integers(4, 10))
        return np.where(on, ch.weekly_spend * 2.0 * np.exp(0.25 * latent), 0.0)
    wobble = 1.0 + 0.2 * np.sin(2 * math.pi * np.arange(n) / 52.0 + rng.uniform(0, 6.3))
    return ch.weekly_spend * wobble * np.exp(0.35 * latent)


def _latents(brand: FamilyBrand, n: int, rng: np.random.Generator) -> np.ndarray:
    """``(C, n)`` standard Normal drivers; channels 0 and 1 correlate at ``spend_correlation``."""
    z = rng.normal(size=(len(brand.channels), n))
    rho = brand.spend_correlation
    if rho > 0 and len(brand.channels) >= 2:
        z[1] = rho * z[0] + math.sqrt(1.0 - rho**2) * z[1]
    return z


def simulate_family(family: Family | str, rng: np.random.Generator, n_geos: int = 1,
                    n_weeks: int = 104) -> SimulatedBrand:  # fmt: skip
    """Simulate one brand of ``family`` (national when ``n_geos`` is 1).

    The returned config fits the model's defaults (geometric adstock, max lag 8, Hill). For
    ``own_form`` this is :func:`simulate_brand` on three of its default channels (tv, search,
    radio); every other family's ``true_response`` is ``None`` (its response is not one
    :class:`~mixflow.datasets.TrueResponse` can express).
    """
    brand = family_brand(family, n_geos, n_weeks)
    if brand.family is Family.OWN_FORM:
        chans = (DEFAULT_CHANNELS[0], DEFAULT_CHANNELS[1], DEFAULT_CHANNELS[4])
        sim = BrandSimulation(n_weeks=n_weeks, n_geos=n_geos, channels=chans)
        out = simulate_brand(sim, rng)
        cfg = dict(out.config)
        cfg["name"] = "family-own_form"
        return SimulatedBrand(
            out.frame, cfg, out.true_roi, out.true_contribution, out.spend,
            out.truth | {"family": brand.family.value, "expressible": True},
            out.true_response,
        )  # fmt: skip
    return _simulate(brand, rng)


def _simulate(brand: FamilyBrand, rng: np.random.Generator) -> SimulatedBrand:
    n, g, lag = brand.n_weeks, brand.n_geos, brand.carryover_weeks
    dates = pd.date_range(brand.start, periods=n, freq="7D")
    pop = np.ones(g) if g == 1 else rng.lognormal(0.0, 0.6, g) * 1e6
    pop_share = pop / pop.sum()
    t = np.arange(n + lag, dtype=np.float64)
    season = 0.08 * np.sin(2 * math.pi * t / 52.18 + rng.uniform(0, 6.3))
    trend = 0.1 * t / max(n - 1, 1)
    control = rng.normal(0.0, 1.0, n + lag)
    control_coef = float(rng.normal(0.0, 0.03))
    geo_level = np.ones(g) if g == 1 else rng.lognormal(0.0, 0.15, g)
    base_rel = geo_level[:, None] * (1.0 + trend + season + control_coef * control)[None, :]
    base = brand.base_weekly_kpi * pop_share[:, None] * base_rel  # (G, T + L)

    latents = _latents(brand, n, rng)
    cols: dict[str, np.ndarray] = {}
    true_roi: dict[str, float] = {}
    contrib_tot: dict[str, float] = {}
    spend_tot: dict[str, float] = {}
    media = np.zeros((g, n + lag))
    for c, ch in enumerate(brand.channels):
        national = _spend(ch, n, latents[c], rng)
        if g > 1:
            split = rng.dirichlet(pop_share * 50)[:, None] * rng.lognormal(
                0.0, brand.geo_split_sd, (g, n)
            )
            split = split / split.sum(axis=0, keepdims=True)
        else:
            split = np.ones((1, n))
        spend = national[None, :] * split  # (G, T)
        pc = spend / pop[:, None]
        x = np.concatenate([pc / pc[pc > 0].mean(), np.zeros((g, lag))], axis=1)
        w = carryover_weights(ch, lag)
        carried = np.stack([np.convolve(x[i], w)[: n + lag] for i in range(g)])
        shape = response_curve(ch, carried) * effect_multiplier(ch, n + lag)[None, :]
        geo_mult = np.ones(g) if g == 1 else np.exp(rng.normal(0.0, 0.15, g))
        unit = pop_share[:, None] * geo_mult[:, None] * shape
        # the coefficient that gives exactly the channel's true ROI
        beta = ch.true_roi * float(spend.sum()) / float(unit.sum())
        contrib = beta * unit
        media += contrib
        spend_tot[ch.name] = float(spend.sum())
        contrib_tot[ch.name] = float(contrib.sum())
        true_roi[ch.name] = contrib_tot[ch.name] / spend_tot[ch.name]
        cols[f"{ch.name}_spend"] = spend

    noise = rng.normal(0.0, brand.noise_sd, (g, n)) * brand.base_weekly_kpi * pop_share[:, None]
    kpi = base[:, :n] + media[:, :n] + noise
    rows: dict[str, Any] = {"date": np.tile(dates.strftime("%Y-%m-%d"), g)}
    if g > 1:
        rows["geo"] = np.repeat([f"geo_{i:02d}" for i in range(g)], n)
        rows["population"] = np.repeat(pop, n)
    rows["revenue"] = kpi.reshape(-1)
    for name, arr in cols.items():
        rows[name] = arr.reshape(-1)
    rows["control_0"] = np.tile(control[:n], g)
    data_cfg: dict[str, Any] = {
        "path": "data.csv",
        "date_column": "date",
        "kpi_column": "revenue",
        "kpi_type": "revenue",
        "media": [{"name": ch.name, "spend_column": f"{ch.name}_spend"} for ch in brand.channels],
        "controls": ["control_0"],
    }
    if g > 1:
        data_cfg |= {"geo_column": "geo", "population_column": "population"}
    config = {
        "name": f"family-{brand.family.value}",
        "data": data_cfg,
        "model": {
            "adstock": "geometric",
            "max_lag": 8,
            "saturation": "hill",
            "seasonality": {"period": 52.18, "fourier_terms": 1},
            "trend": "linear",
        },
        "fit": {"chains": 4, "warmup": 1000, "draws": 1000, "seed": 1},
    }
    truth = {
        "media_share": float(media[:, :n].sum()) / float(kpi.sum()),
        "family": brand.family.value,
        "expressible": brand.expressible,
    }
    return SimulatedBrand(pd.DataFrame(rows), config, true_roi, contrib_tot, spend_tot, truth)
