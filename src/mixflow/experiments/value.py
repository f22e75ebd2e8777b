"""Which channel to test next: the value of an experiment for each channel of a fitted MMM.

Inputs per channel ``c``: the posterior ROI draws ``roi[:, c]`` (``(S, C)``, incremental value
per currency unit of spend, the ROI of ``summary.json``) and the budget at stake ``B_c``
(currency: the channel's spend over the last ``horizon`` periods of the data).

Normal-normal preposterior approximation. Treat the current ROI posterior as
``N(m, s^2)`` (``m``, ``s``: mean and sd of the draws) and a test as an unbiased measurement
``y ~ N(ROI, se^2)`` of the channel's ROI with standard error ``se`` (:class:`TestPrecision`).
After the test the ROI posterior has

    s_after = (1 / s^2 + 1 / se^2) ** -0.5 = s * se / sqrt(s^2 + se^2),

whatever ``y`` turns out to be, so the expected reduction of the ROI sd is exactly
``delta = s - s_after``. The value of testing is ``value = delta * B``: the reduction of the sd of
the channel's incremental return on the budget at stake (currency). Channels are ranked by it.

Expected value of sample information (EVSI) for a keep-or-cut decision on the budget at stake,
optional: keeping the budget earns ``B * (ROI - r)`` where ``r`` is the break-even ROI (1 for
revenue ROI: a currency unit of spend must return one); cutting it earns 0. Before the test the
posterior mean after it is distributed ``N(m, s_pre^2)`` with ``s_pre^2 = s^2 - s_after^2 =
s^4 / (s^2 + se^2)``, and the decision made on it is worth, in expectation, more than the decision
made now by

    EVSI = B * s_pre * L(|m - r| / s_pre),   L(z) = phi(z) - z * (1 - Phi(z)),

the unit normal loss function (Raiffa & Schlaifer). EVSI is large when the channel's ROI is close
to break-even and uncertain, and near zero when the test could not change the decision. It relies
on the normal approximation and a linear payoff (no saturation within the budget at stake).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from pydantic import BaseModel, ConfigDict
from scipy.stats import norm

from mixflow.errors import SpecError, did_you_mean

if TYPE_CHECKING:
    from mixflow.posterior.posterior import Posterior

#: Periods of spend that count as the budget at stake (a year of weekly data).
DEFAULT_HORIZON: Final = 52
#: A typical geo test measures a channel's ROI to about a quarter of its value.
DEFAULT_RELATIVE_SE: Final = 0.25


class ValueUnit(StrEnum):
    """What an ROI of the run measures: revenue per currency unit, or KPI units per currency."""

    revenue = "revenue"
    kpi = "kpi"


@dataclass(frozen=True)
class TestPrecision:
    """The ROI standard error of the hypothetical test: ``absolute_se`` (ROI units) when given,
    else ``relative_se`` times the channel's posterior mean |ROI|."""

    __test__ = False  # not a pytest test class, despite the name

    relative_se: float = DEFAULT_RELATIVE_SE
    absolute_se: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.relative_se) and self.relative_se > 0):
            raise SpecError(f"relative_se: expected a number > 0, got {self.relative_se}")
        if self.absolute_se is not None and not (
            math.isfinite(self.absolute_se) and self.absolute_se > 0
        ):
            raise SpecError(f"absolute_se: expected a number > 0, got {self.absolute_se}")

    def se(self, roi_mean: float) -> float:
        """Standard error of the test's ROI estimate for a channel with posterior mean
        ``roi_mean`` (floored at ``1e-9`` so a zero mean does not make the test perfect)."""
        if self.absolute_se is not None:
            return self.absolute_se
        return max(self.relative_se * abs(roi_mean), 1e-9)

    def describe(self) -> str:
        if self.absolute_se is not None:
            return f"ROI standard error {self.absolute_se:g}"
        return f"ROI standard error {self.relative_se:g} x |posterior mean ROI|"


@dataclass(frozen=True, eq=False)
class ChannelPosterior:
    """What the value of testing needs from a fitted model.

    Attributes:
        channels: channel names ``(C,)``.
        roi: posterior ROI draws ``(S, C)``.
        cost_per_kpi: posterior draws of spend per incremental KPI unit ``(S, C)`` (currency
            per KPI unit, over the data window).
        budget: spend over the last ``horizon`` periods ``(C,)``, currency.
        horizon: periods of spend in ``budget``.
        value_unit: unit of the ROI numerator.
    """

    channels: tuple[str, ...]
    roi: np.ndarray
    cost_per_kpi: np.ndarray
    budget: np.ndarray
    horizon: int
    value_unit: ValueUnit

    def __post_init__(self) -> None:
        c = len(self.channels)
        if self.roi.ndim != 2 or self.roi.shape[1] != c:
            raise SpecError(f"roi draws have shape {self.roi.shape}, expected (draws, {c})")
        if self.cost_per_kpi.shape != self.roi.shape:
            raise SpecError(
                f"cost_per_kpi draws have shape {self.cost_per_kpi.shape}, "
                f"expected {self.roi.shape}"
            )
        if self.budget.shape != (c,):
            raise SpecError(f"budget has shape {self.budget.shape}, expected ({c},)")

    def channel_index(self, channel: str) -> int:
        if channel not in self.channels:
            raise SpecError(
                f"channel '{channel}' not in the model{did_you_mean(channel, self.channels)}; "
                f"channels: {', '.join(self.channels)}"
            )
        return self.channels.index(channel)

    def mean_cost_per_kpi(self, channel: str) -> float:
        """Posterior mean spend per incremental KPI unit of ``channel`` (currency per KPI)."""
        return float(np.mean(self.cost_per_kpi[:, self.channel_index(channel)]))


@dataclass(frozen=True)
class ChannelTestValue:
    """One channel's case for a test. ROI figures in ROI units; ``budget``, ``value`` and
    ``evsi`` in currency (``evsi`` is None without a break-even ROI)."""

    rank: int
    channel: str
    roi_mean: float
    roi_sd: float
    test_se: float
    roi_sd_after: float
    sd_reduction: float
    budget: float
    value: float
    evsi: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "channel": self.channel,
            "roi_mean": self.roi_mean,
            "roi_sd": self.roi_sd,
            "test_se": self.test_se,
            "roi_sd_after": self.roi_sd_after,
            "sd_reduction": self.sd_reduction,
            "sd_reduction_pct": 100.0 * self.sd_reduction / self.roi_sd if self.roi_sd else 0.0,
            "budget_at_stake": self.budget,
            "value": self.value,
            "evsi": self.evsi,
        }


class ChannelValueRow(BaseModel):
    """One channel of ``next.json`` (:meth:`ChannelTestValue.to_dict`): ROI figures in ROI
    units, ``budget_at_stake``, ``value`` and ``evsi`` in currency (``evsi`` ``None`` without
    a break-even ROI)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rank: int
    channel: str
    roi_mean: float
    roi_sd: float
    test_se: float
    roi_sd_after: float
    sd_reduction: float
    sd_reduction_pct: float
    budget_at_stake: float
    value: float
    evsi: float | None


class NextDocument(BaseModel):
    """``next.json`` of ``mixflow experiment next``: the run, the horizon of spend at stake,
    the test's precision and every channel ranked by the value of testing it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_dir: str
    horizon_periods: int
    value_unit: ValueUnit
    test_precision: str
    breakeven_roi: float | None
    #: how ``value`` is computed, in words
    value: str
    channels: list[ChannelValueRow]

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON object written to ``next.json`` (and printed by ``--json``)."""
        return self.model_dump(mode="json")


def next_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``next.json`` (validation mode)."""
    return NextDocument.model_json_schema()


# --------------------------------------------------------------------------- formulas


def posterior_sd_after_test(prior_sd: float, test_se: float) -> float:
    """ROI posterior sd after a test of standard error ``test_se``: ``s se / sqrt(s^2 + se^2)``."""
    if prior_sd <= 0:
        return 0.0
    return float(prior_sd * test_se / math.hypot(prior_sd, test_se))


def expected_value_of_sample_information(
    mean: float, sd: float, test_se: float, budget: float, breakeven: float
) -> float:
    """EVSI of the keep-or-cut decision on ``budget`` (currency); see the module doc."""
    s_pre = sd * sd / math.hypot(sd, test_se) if sd > 0 else 0.0
    if s_pre <= 0:
        return 0.0
    z = abs(mean - breakeven) / s_pre
    loss = float(norm.pdf(z) - z * norm.sf(z))
    return float(budget * s_pre * loss)


def rank_channels(
    posterior: ChannelPosterior,
    precision: TestPrecision | None = None,
    breakeven_roi: float | None = None,
) -> tuple[ChannelTestValue, ...]:
    """Channels by the value of testing them, highest first (ties: larger EVSI, then name)."""
    precision = precision or TestPrecision()
    if posterior.roi.shape[0] < 2:
        raise SpecError(
            "the run holds a single posterior draw (method map): it carries no ROI uncertainty; "
            "fit with method nuts or svi"
        )
    values = []
    for i, channel in enumerate(posterior.channels):
        draws = posterior.roi[:, i]
        mean, sd = float(np.mean(draws)), float(np.std(draws, ddof=1))
        se = precision.se(mean)
        after = posterior_sd_after_test(sd, se)
        budget = float(posterior.budget[i])
        evsi = (
            None
            if breakeven_roi is None
            else expected_value_of_sample_information(mean, sd, se, budget, breakeven_roi)
        )
        values.append(
            ChannelTestValue(
                rank=0,
                channel=channel,
                roi_mean=mean,
                roi_sd=sd,
                test_se=se,
                roi_sd_after=after,
                sd_reduction=sd - after,
                budget=budget,
                value=(sd - after) * budget,
                evsi=evsi,
            )
        )
    values.sort(key=lambda v: (-v.value, -(v.evsi or 0.0), v.channel))
    return tuple(replace(v, rank=k + 1) for k, v in enumerate(values))


# --------------------------------------------------------------------------- from a run


def channel_posterior(
    posterior: Posterior, horizon: int = DEFAULT_HORIZON, max_draws: int | None = 1000
) -> ChannelPosterior:
    """ROI and cost-per-KPI draws and the budget at stake from a fitted :class:`Posterior`.

    ROI and cost per KPI are those of ``summary.json``: each channel's incremental value (KPI)
    over the data window plus its carryover tail, against its spend over the data window.
    """
    from mixflow.analysis.draws import compute_draws

    if horizon < 1:
        raise SpecError(f"horizon: expected a number of periods >= 1, got {horizon}")
    data = posterior.dataset
    quantities = compute_draws(posterior, max_draws=max_draws, multipliers=(1.0,))
    spend = data.spend.sum(axis=(0, 1))  # (C,)
    safe_spend = np.where(spend > 0, spend, np.nan)
    roi = quantities.contribution_value / safe_spend[None, :]
    cost = spend[None, :] / np.maximum(quantities.contribution_kpi, 1e-12)
    revenue = data.value_is_currency
    return ChannelPosterior(
        channels=tuple(data.channels),
        roi=np.nan_to_num(roi),
        cost_per_kpi=cost,
        budget=data.spend[:, -horizon:, :].sum(axis=(0, 1)),
        horizon=min(horizon, data.n_times),
        value_unit=ValueUnit.revenue if revenue else ValueUnit.kpi,
    )


def load_channel_posterior(run_dir: Path, horizon: int = DEFAULT_HORIZON) -> ChannelPosterior:
    """:func:`channel_posterior` of the run directory ``run_dir`` (written by ``mixflow fit``)."""
    from mixflow.posterior.posterior import Posterior

    return channel_posterior(Posterior.load(Path(run_dir)), horizon)


__all__ = [
    "DEFAULT_HORIZON",
    "DEFAULT_RELATIVE_SE",
    "ChannelPosterior",
    "ChannelTestValue",
    "ChannelValueRow",
    "NextDocument",
    "TestPrecision",
    "ValueUnit",
    "channel_posterior",
    "expected_value_of_sample_information",
    "load_channel_posterior",
    "next_json_schema",
    "posterior_sd_after_test",
    "rank_channels",
]
