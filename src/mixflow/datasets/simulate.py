"""Simulated brands with known truth, for the demo, tests and benchmarks.

The generator lives inside the model class mixflow fits (adstock, then saturation, per channel;
linear trend; Fourier seasonality; controls; events; Normal noise), so parameter recovery can be
checked against exact true ROIs computed with the same definition the analysis uses: incremental
KPI value over the data window plus the carryover tail, divided by spend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import jax.numpy as jnp
import numpy as np
import pandas as pd

from mixflow.datasets.truth import TrueResponse
from mixflow.errors import SpecError
from mixflow.transforms import adstock as ad
from mixflow.transforms import saturation as sat


@dataclass(frozen=True)
class ChannelTruth:
    """A simulated channel. ``flighted`` channels spend in bursts with long zero runs."""

    name: str
    weekly_spend: float
    flighted: bool = False
    #: share of the baseline KPI value this channel adds in an average active week
    effect_share: float = 0.05
    retention: float = 0.4  # geometric alpha (or Weibull/binomial parameters below)
    half_saturation: float = 1.0
    slope: float = 1.5
    lam: float = 1.5
    has_exposure: bool = False
    cost_per_exposure: float = 0.01
    #: always-on channels: week-to-week log-sd of national spend, and the amplitude of its
    #: yearly swing. Near 0 both: a channel bought at one steady level, whose history holds
    #: no spend variation to learn its response from (a heavy-up test's use case).
    spend_sd: float = 0.3
    season_swing: float = 0.25
    #: geo panels: this channel's own ``BrandSimulation.geo_split_sd`` (None: the brand's)
    geo_split_sd: float | None = None

    def __post_init__(self) -> None:
        if self.spend_sd < 0:
            raise SpecError(f"channel {self.name!r}: spend_sd must be >= 0, got {self.spend_sd}")
        if not 0 <= self.season_swing < 1:
            raise SpecError(
                f"channel {self.name!r}: season_swing must be in [0, 1), got {self.season_swing}"
            )
        if self.geo_split_sd is not None and self.geo_split_sd < 0:
            raise SpecError(
                f"channel {self.name!r}: geo_split_sd must be >= 0, got {self.geo_split_sd}"
            )


DEFAULT_CHANNELS: tuple[ChannelTruth, ...] = (
    ChannelTruth(
        "tv",
        60_000.0,
        flighted=True,
        effect_share=0.08,
        retention=0.6,
        half_saturation=1.2,
        slope=1.8,
    ),
    ChannelTruth(
        "search", 25_000.0, effect_share=0.06, retention=0.1, half_saturation=0.8, slope=1.2
    ),
    ChannelTruth(
        "social",
        30_000.0,
        effect_share=0.04,
        retention=0.3,
        half_saturation=1.0,
        slope=1.0,
        has_exposure=True,
        cost_per_exposure=0.005,
    ),
    ChannelTruth(
        "display", 15_000.0, effect_share=0.02, retention=0.2, half_saturation=1.5, slope=1.4
    ),
    ChannelTruth(
        "radio",
        20_000.0,
        flighted=True,
        effect_share=0.03,
        retention=0.5,
        half_saturation=1.0,
        slope=0.8,
    ),
)


@dataclass(frozen=True)
class BrandSimulation:
    """What to simulate."""

    n_weeks: int = 156
    n_geos: int = 1
    channels: tuple[ChannelTruth, ...] = DEFAULT_CHANNELS
    adstock: str = "geometric"
    saturation: str = "hill"
    max_lag: int = 8
    base_weekly_kpi: float = 1_000_000.0
    trend_total: float = 0.15  # relative baseline growth over the window
    season_amplitude: float = 0.10
    fourier_terms: int = 2
    n_controls: int = 1
    n_events: int = 2
    noise_sd: float = 0.04  # relative to the baseline level
    #: week-to-week log-sd of each geo's share of a channel's national spend (geo panels only).
    #: Real geo plans move budget between markets: in Meridian's sample geo panels
    #: (../shared/data/mmm) a geo's share of a channel varies over time with a median CV of
    #: 0.30-0.46 (meridian_geo_media) and 0.47-2.2 (meridian_geo_all_channels); 0.35 sits at
    #: the low end. 0 gives every geo a fixed share, leaving no geo-level variation to learn from.
    geo_split_sd: float = 0.35
    #: geo panels only: each geo's Hill half-saturation is the channel's ``half_saturation``
    #: times the geo's own mean active exposure per capita relative to the panel's (markets get
    #: budget roughly in line with what they can absorb). False: one half-saturation, in units
    #: of the panel's mean exposure, for every geo.
    geo_relative_saturation: bool = False
    #: geo panels only: log-sd of each geo's multiplier of a channel's effect
    geo_effect_sd: float = 0.15
    #: size of a smooth drift in how effective all media are: every channel's effect is
    #: multiplied by ``exp(media_drift * sin(2 pi t / P + phase))``, ``P`` 1-1.5 times the
    #: window (the effect model.time_varying_media learns); 0 leaves media constant
    media_drift: float = 0.0
    start: str = "2022-01-03"
    kpi_name: str = "revenue"

    def __post_init__(self) -> None:
        if self.geo_effect_sd < 0:
            raise SpecError(f"geo_effect_sd must be >= 0, got {self.geo_effect_sd}")
        if not 0 <= self.media_drift <= 1:
            raise SpecError(f"media_drift must be in [0, 1], got {self.media_drift}")
        if self.geo_relative_saturation and self.saturation != "hill":
            raise SpecError("geo_relative_saturation needs saturation='hill'")


@dataclass(frozen=True)
class SimulatedBrand:
    """A simulated panel (``frame``, with its mixflow ``config``) and the truth behind it.

    Attributes:
        true_roi, true_contribution, spend: per channel, over the data window plus the
            carryover tail (currency).
        truth: summary figures (``media_share``).
        true_response: the per-channel true response and the data's scaled exposure, to score
            any plan under the true model (``None`` only for objects built by hand).
    """

    frame: pd.DataFrame
    config: dict[str, Any]
    true_roi: dict[str, float]
    true_contribution: dict[str, float]
    spend: dict[str, float]
    truth: dict[str, Any] = field(default_factory=dict)
    true_response: TrueResponse | None = None


def _spend_pattern(ch: ChannelTruth, n: int, rng: np.random.Generator) -> np.ndarray:
    if ch.flighted:
        on = np.zeros(n, dtype=bool)
        t = int(rng.integers(0, 6))
        while t < n:
            burst = int(rng.integers(3, 8))
            on[t : t + burst] = True
            t += burst + int(rng.integers(4, 12))
        level = ch.weekly_spend * 2.2 * rng.lognormal(0.0, 0.25, n)
        return np.where(on, level, 0.0)
    wobble = 1.0 + ch.season_swing * np.sin(2 * math.pi * np.arange(n) / 52.0 + rng.uniform(0, 6.3))
    return ch.weekly_spend * wobble * rng.lognormal(0.0, ch.spend_sd, n)


def _f(x: float | np.ndarray) -> jnp.ndarray:
    return jnp.asarray(x, dtype=jnp.float32)


def _weights(sim: BrandSimulation, ch: ChannelTruth) -> np.ndarray:
    if sim.adstock == "geometric":
        return np.asarray(ad.geometric_weights(_f(ch.retention), sim.max_lag))
    if sim.adstock == "weibull":
        return np.asarray(ad.weibull_weights(_f(1.0 + 2 * ch.retention), _f(2.0), sim.max_lag))
    return np.asarray(ad.binomial_weights(_f(ch.retention * 0.6), sim.max_lag))


def _saturate(
    sim: BrandSimulation, ch: ChannelTruth, x: np.ndarray, half: np.ndarray | float
) -> np.ndarray:
    """``saturation(x)`` with ``half`` the Hill half-saturation (scalar or ``(G, 1)``)."""
    if sim.saturation == "hill":
        return np.asarray(sat.hill(_f(x), _f(half), _f(ch.slope)), dtype=np.float64)
    return np.asarray(sat.logistic(_f(x), _f(ch.lam)), dtype=np.float64)


def geo_half_saturation(half: float, x: np.ndarray, relative: bool) -> np.ndarray:
    """``(G,)`` each geo's Hill half-saturation for scaled exposure ``x`` ``(G, T)`` (panel mean
    active exposure 1): ``half`` times the geo's own mean active exposure when ``relative``
    (a geo that never spends keeps ``half``), else ``half`` for every geo."""
    if not relative:
        return np.full(x.shape[0], half)
    active = x > 0
    n_active = active.sum(axis=1)
    own = np.where(active, x, 0.0).sum(axis=1) / np.maximum(n_active, 1)
    return half * np.where(n_active > 0, own, 1.0)


def simulate_brand(sim: BrandSimulation, rng: np.random.Generator) -> SimulatedBrand:
    """Simulate a weekly (geo) panel with known true ROI per channel."""
    n, g, lag = sim.n_weeks, sim.n_geos, sim.max_lag
    dates = pd.date_range(sim.start, periods=n, freq="7D")
    geos = ["national"] if g == 1 else [f"geo_{i:02d}" for i in range(g)]
    pop = np.ones(g) if g == 1 else rng.lognormal(0.0, 0.6, g) * 1e6
    pop_share = pop / pop.sum()
    t = np.arange(n + lag)
    season = np.zeros(n + lag)
    for k in range(1, sim.fourier_terms + 1):
        season += (
            sim.season_amplitude
            / k
            * (
                rng.normal() * np.sin(2 * math.pi * k * t / 52.18)
                + rng.normal() * np.cos(2 * math.pi * k * t / 52.18)
            )
        )
    trend = sim.trend_total * t / max(n - 1, 1)
    geo_level = np.ones(g) if g == 1 else rng.lognormal(0.0, 0.15, g)
    base_rel = geo_level[:, None] * (1.0 + trend + season)[None, :]  # (G, T')

    controls = rng.normal(0.0, 1.0, (n + lag, sim.n_controls))
    control_coef = rng.normal(0.0, 0.03, sim.n_controls)
    events = np.zeros((n + lag, sim.n_events))
    event_names = [f"event_{i}" for i in range(sim.n_events)]
    for e in range(sim.n_events):
        weeks = np.arange(10 + 7 * e, n, 52)
        events[weeks, e] = 1.0
    event_coef = rng.uniform(0.05, 0.15, sim.n_events)
    base_rel = base_rel + (controls @ control_coef + events @ event_coef)[None, :]
    base_kpi = sim.base_weekly_kpi * pop_share[:, None] * base_rel  # (G, T')

    media_mult = np.ones(n + lag)
    if sim.media_drift:  # drawn only then: brands without it keep their random stream
        period = rng.uniform(1.0, 1.5) * n
        phase = rng.uniform(0.0, 2 * math.pi)
        media_mult = np.exp(sim.media_drift * np.sin(2 * math.pi * t / period + phase))

    frame_cols: dict[str, Any] = {}
    true_roi: dict[str, float] = {}
    true_contrib: dict[str, float] = {}
    spend_tot: dict[str, float] = {}
    media_kpi = np.zeros((g, n + lag))
    # what each channel's response is made of, for the TrueResponse (no extra random draws)
    parts: dict[str, list[Any]] = {
        k: [] for k in ("weights", "scale", "beta", "geo_mult", "cpe", "history", "half")
    }
    for ch in sim.channels:
        national = _spend_pattern(ch, n, rng)
        if g > 1:
            # each geo's average share, moved week to week and renormalised so the national
            # total is the one drawn above
            split_sd = sim.geo_split_sd if ch.geo_split_sd is None else ch.geo_split_sd
            split = rng.dirichlet(pop_share * 50)[:, None] * rng.lognormal(0.0, split_sd, (g, n))
            split = split / split.sum(axis=0, keepdims=True)
        else:
            split = np.ones((1, n))
        spend = national[None, :] * split
        exposure = spend / ch.cost_per_exposure if ch.has_exposure else spend
        pc = exposure / pop[:, None]
        scale = pc[pc > 0].mean()
        x = np.concatenate([pc / scale, np.zeros((g, lag))], axis=1)
        w = _weights(sim, ch)
        xa = np.stack([np.convolve(x[i], w)[: n + lag] for i in range(g)])
        half = geo_half_saturation(ch.half_saturation, x[:, :n], sim.geo_relative_saturation)
        s = _saturate(sim, ch, xa, half[:, None])
        # beta chosen so an average active week adds effect_share of the baseline
        active = national > 0
        mean_s = s[:, :n][:, active].mean()
        geo_mult = np.ones(g) if g == 1 else np.exp(rng.normal(0.0, sim.geo_effect_sd, g))
        beta = ch.effect_share * sim.base_weekly_kpi / max(mean_s, 1e-9)
        contrib = beta * pop_share[:, None] * geo_mult[:, None] * s * media_mult[None, :]
        media_kpi += contrib
        spend_tot[ch.name] = float(spend.sum())
        true_contrib[ch.name] = float(contrib.sum())
        true_roi[ch.name] = true_contrib[ch.name] / spend_tot[ch.name]
        frame_cols[f"{ch.name}_spend"] = spend
        parts["weights"].append(np.asarray(w, np.float64))
        parts["scale"].append(scale)
        # a plan after the data: at the media effectiveness of the data's last week
        parts["beta"].append(beta * media_mult[n - 1])
        parts["geo_mult"].append(geo_mult)
        parts["cpe"].append(ch.cost_per_exposure if ch.has_exposure else 1.0)
        parts["history"].append(pc / scale)
        parts["half"].append(half)
        if ch.has_exposure:
            frame_cols[f"{ch.name}_impressions"] = exposure

    noise = rng.normal(0.0, sim.noise_sd, (g, n)) * sim.base_weekly_kpi * pop_share[:, None]
    kpi = base_kpi[:, :n] + media_kpi[:, :n] + noise

    rows: dict[str, Any] = {"date": np.tile(dates.strftime("%Y-%m-%d"), g)}
    if g > 1:
        rows["geo"] = np.repeat(geos, n)
        rows["population"] = np.repeat(pop, n)
    rows[sim.kpi_name] = kpi.reshape(-1)
    for name, arr in frame_cols.items():
        rows[name] = arr.reshape(-1)
    for k in range(sim.n_controls):
        rows[f"control_{k}"] = np.tile(controls[:n, k], g)
    ev = np.array(["na"] * n, dtype=object)
    for e, name in enumerate(event_names):
        ev[events[:n, e] > 0] = name
    if sim.n_events:
        rows["events"] = np.tile(ev, g)
    frame = pd.DataFrame(rows)

    data_cfg: dict[str, Any] = {
        "path": "data.csv",
        "date_column": "date",
        "kpi_column": sim.kpi_name,
        "kpi_type": "revenue",
        "media": [
            {"name": ch.name, "spend_column": f"{ch.name}_spend"}
            | ({"exposure_column": f"{ch.name}_impressions"} if ch.has_exposure else {})
            for ch in sim.channels
        ],
        "controls": [f"control_{k}" for k in range(sim.n_controls)],
    }
    if sim.n_events:
        data_cfg["events_column"] = "events"
    if g > 1:
        data_cfg["geo_column"] = "geo"
        data_cfg["population_column"] = "population"
    config = {
        "name": "simulated-brand",
        "data": data_cfg,
        "model": {
            "adstock": sim.adstock,
            "max_lag": sim.max_lag,
            "saturation": sim.saturation,
            "seasonality": {"period": 52.18, "fourier_terms": sim.fourier_terms},
            "trend": "linear",
        },
        "fit": {"chains": 4, "warmup": 1000, "draws": 1000, "seed": 1},
    }
    total_value = float(kpi.sum())
    truth: dict[str, Any] = {"media_share": float(media_kpi[:, :n].sum()) / total_value}
    if sim.media_drift:
        truth["media_multiplier"] = media_mult[:n].tolist()
    chans = sim.channels
    response = TrueResponse(
        channels=tuple(ch.name for ch in chans),
        weights=np.stack(parts["weights"]),
        saturation="hill" if sim.saturation == "hill" else "logistic",
        # (C,) unless each geo has its own
        half_saturation=np.stack(parts["half"], axis=1)
        if sim.geo_relative_saturation
        else np.array([ch.half_saturation for ch in chans]),
        slope=np.array([ch.slope for ch in chans]),
        lam=np.array([ch.lam for ch in chans]),
        scale=np.array(parts["scale"]),
        beta=np.array(parts["beta"]),
        geo_mult=np.stack(parts["geo_mult"], axis=1),
        pop=pop,
        pop_share=pop_share,
        cost_per_exposure=np.array(parts["cpe"]),
        history=np.stack(parts["history"], axis=2),
    )
    return SimulatedBrand(frame, config, true_roi, true_contrib, spend_tot, truth, response)
