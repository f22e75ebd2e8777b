"""Ways to state a plan: explicit spend, "like the last N weeks", or a budget with shares and a
flighting pattern. Geo splits default to each channel's historical split (last 52 weeks)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from mixflow.data.dataset import MMMDataset
from mixflow.errors import SpecError, did_you_mean
from mixflow.simulate.plan import Plan, check_amount, check_horizon

HISTORY_WEEKS = 52


def next_period(data: MMMDataset) -> np.datetime64:
    """The date of the first period after the data."""
    return np.datetime64(data.dates[-1] + np.timedelta64(data.period_days, "D"), "D")


def geo_split(data: MMMDataset, weeks: int = HISTORY_WEEKS) -> np.ndarray:
    """``(G, C)`` each channel's share of spend per geo over the last ``weeks`` periods."""
    recent = data.spend[:, -weeks:].sum(axis=1)  # (G, C)
    total = recent.sum(axis=0, keepdims=True)
    pop_share = (data.population / data.population.sum())[:, None]
    return np.where(total > 0, recent / np.where(total > 0, total, 1.0), pop_share)


def channel_shares(data: MMMDataset, weeks: int = HISTORY_WEEKS) -> np.ndarray:
    """``(C,)`` each channel's share of total spend over the last ``weeks`` periods."""
    recent = data.spend[:, -weeks:].sum(axis=(0, 1))
    return recent / recent.sum()


def time_pattern(
    data: MMMDataset, horizon: int, flighting: Literal["flat", "historical"]
) -> np.ndarray:
    """``(H, C)`` weights over the horizon summing to 1 per channel.

    ``flat`` spreads evenly; ``historical`` copies the channel's national spend pattern of the
    same weeks one year earlier (the last ``horizon`` periods when the data is shorter).
    """
    c = data.n_channels
    if flighting == "flat":
        return np.full((horizon, c), 1.0 / horizon)
    national = data.spend.sum(axis=0)  # (T, C)
    t = data.n_times
    start = t - HISTORY_WEEKS if t >= HISTORY_WEEKS + horizon else t - horizon
    start = max(start, 0)
    window = national[start : start + horizon]
    if window.shape[0] < horizon:  # data shorter than the horizon: repeat it
        reps = int(np.ceil(horizon / max(window.shape[0], 1)))
        window = np.tile(window, (reps, 1))[:horizon]
    totals = window.sum(axis=0, keepdims=True)
    return np.where(totals > 0, window / np.where(totals > 0, totals, 1.0), 1.0 / horizon)


def plan_from_totals(
    data: MMMDataset,
    totals: np.ndarray,
    horizon: int,
    flighting: Literal["flat", "historical"] = "flat",
    name: str = "plan",
) -> Plan:
    """Spend ``totals (C,)`` over ``horizon`` periods with a flighting pattern and historical geo split."""
    pattern = time_pattern(data, horizon, flighting)  # (H, C)
    split = geo_split(data)  # (G, C)
    spend = split[:, None, :] * pattern[None, :, :] * np.asarray(totals)[None, None, :]
    return Plan(spend, data.channels, data.geos, next_period(data), name=name)


def plan_like_last(data: MMMDataset, weeks: int, scale: float = 1.0, name: str = "plan") -> Plan:
    """Repeat the last ``weeks`` periods of spend (per geo and channel), times ``scale``."""
    if not 1 <= weeks <= data.n_times:
        raise SpecError(f"like_last_weeks must be between 1 and {data.n_times}, got {weeks}")
    if scale < 0:
        raise SpecError(f"scale must be >= 0, got {scale}")
    spend = data.spend[:, -weeks:] * scale
    return Plan(spend, data.channels, data.geos, next_period(data), name=name)


def _channel_map(data: MMMDataset, values: Mapping[str, Any], field: str) -> dict[str, Any]:
    for key in values:
        if key not in data.channels:
            raise SpecError(
                f"plan {field}: unknown channel '{key}'{did_you_mean(key, data.channels)}; "
                f"channels are: {', '.join(data.channels)}"
            )
    return dict(values)


#: the keys of a plan file (docs/simulate.md); the service's plan bodies accept the same
PLAN_KEYS: tuple[str, ...] = (
    "name",
    "horizon_weeks",
    "like_last_weeks",
    "scale",
    "budget",
    "shares",
    "flighting",
    "spend",
    "treatments",
    "frequency",
)


def plan_from_dict(data: MMMDataset, raw: Mapping[str, Any], default_name: str = "plan") -> Plan:
    """Build a plan from a parsed YAML/JSON mapping (see docs/simulate.md for the keys)."""
    allowed = set(PLAN_KEYS)
    for key in raw:
        if key not in allowed:
            raise SpecError(
                f"plan: unknown key '{key}'{did_you_mean(key, allowed)}; allowed: {', '.join(sorted(allowed))}"
            )
    if "frequency" in raw:  # the frequency R&F channels' spend buys (simulate.rf)
        from mixflow.simulate.rf import with_frequency

        rest = {k: v for k, v in raw.items() if k != "frequency"}
        return with_frequency(data, plan_from_dict(data, rest, default_name), raw["frequency"])
    if "treatments" in raw:  # future values of non-media treatments (simulate.treatments)
        from mixflow.simulate.treatments import with_treatments

        rest = {k: v for k, v in raw.items() if k != "treatments"}
        return with_treatments(data, plan_from_dict(data, rest, default_name), raw["treatments"])
    name = str(raw.get("name", default_name))
    flighting = raw.get("flighting", "flat")
    if flighting == "history":  # the old name, before optimize's --flighting historical
        warnings.warn(
            "plan flighting 'history' is deprecated; use 'historical'", FutureWarning, stacklevel=2
        )
        flighting = "historical"
    if flighting not in ("flat", "historical"):
        raise SpecError(f"plan flighting: expected 'flat' or 'historical', got {flighting!r}")
    if "like_last_weeks" in raw:
        weeks, scale = raw["like_last_weeks"], raw.get("scale", 1.0)
        if isinstance(weeks, bool) or not isinstance(weeks, int):
            raise SpecError(f"plan like_last_weeks must be a whole number, got {weeks!r}")
        scale = check_amount(scale, "plan scale")
        return plan_like_last(data, weeks, scale, name)
    horizon = raw.get("horizon_weeks")
    if horizon is not None:
        horizon = check_horizon(horizon, "plan horizon_weeks")
    if "budget" in raw:
        if horizon is None:
            raise SpecError("plan: 'budget' needs 'horizon_weeks'")
        budget = check_amount(raw["budget"], "plan budget")
        shares = channel_shares(data)
        if "shares" in raw:
            given = _channel_map(data, raw["shares"], "shares")
            shares = np.array([float(given.get(ch, 0.0)) for ch in data.channels])
            if np.any(shares < 0) or not np.isclose(shares.sum(), 1.0, atol=1e-6):
                raise SpecError(
                    f"plan shares must be >= 0 and sum to 1, got sum {shares.sum():.4f}"
                )
        return plan_from_totals(data, budget * shares, int(horizon), flighting, name)
    if "spend" in raw:
        given = _channel_map(data, raw["spend"], "spend")
        lengths = {len(v) for v in given.values() if isinstance(v, list)}
        if len(lengths) > 1:
            raise SpecError(
                f"plan spend: per-period lists have different lengths {sorted(lengths)}"
            )
        h = int(horizon) if horizon is not None else (lengths.pop() if lengths else None)
        if h is None:
            raise SpecError("plan: spend given as totals needs 'horizon_weeks'")
        weekly = np.zeros((h, data.n_channels))
        for i, ch in enumerate(data.channels):
            v = given.get(ch, 0.0)
            if isinstance(v, list):
                if len(v) != h:
                    raise SpecError(f"plan spend.{ch}: {len(v)} periods, expected {h}")
                try:
                    weekly[:, i] = np.asarray(v, dtype=float)
                except (TypeError, ValueError):
                    raise SpecError(f"plan spend.{ch}: expected a list of amounts") from None
            else:
                weekly[:, i] = check_amount(v, f"plan spend.{ch}") / h
        spend = geo_split(data)[:, None, :] * weekly[None, :, :]
        return Plan(spend, data.channels, data.geos, next_period(data), name=name)
    raise SpecError("plan: give one of 'like_last_weeks', 'budget' (+ horizon_weeks) or 'spend'")
