"""Weak identification in plans: what a plan's move of budget into a channel whose ROI the data
left close to its prior risks.

A channel is weakly identified by the one standard of the fit output, the report and the gates
(:func:`mixflow.analysis.schema.is_weakly_identified`, posterior/prior log-sd >= 0.5); the
caller passes the channels' ratios in (``RunSummary.channels[ch].roi_prior.sd_ratio``). For each
such channel whose optimized spend exceeds the current one, :func:`weak_moves` evaluates, per
posterior draw, the plan's value with and without the extra spend on that channel alone (the
other channels at their optimized spend; channels add up, so this is the extra spend's own
return, carryover tail included) and the share of draws in which it returns less than it costs.
:func:`compare_weak_moves` asks the same of plans compared against a reference plan
(``mixflow compare`` and the service's compare route).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from mixflow.analysis.schema import (
    WEAK_IDENTIFICATION_SD_RATIO,
    RunSummary,
    is_weakly_identified,
)
from mixflow.analysis.stats import stat

if TYPE_CHECKING:
    from mixflow.simulate import Plan, Simulator

#: a channel's spend must rise by more than this share of the plan's total spend to count as a
#: move into it (below, it is the solver's rounding, not a decision)
MOVE_MIN_SHARE = 0.005


def sd_ratios(summary: RunSummary) -> dict[str, float | None]:
    """Channel -> posterior/prior log-sd ratio of its ROI, as the run's summary holds it
    (``None`` where it is not judged: MAP fits, coefficient priors)."""
    return {ch: v.roi_prior.sd_ratio if v.roi_prior else None for ch, v in summary.channels.items()}


def weak_moves(
    allocation: np.ndarray,
    current: np.ndarray,
    channels: tuple[str, ...],
    sd_ratios: Mapping[str, float | None],
    values: Callable[[np.ndarray], np.ndarray],
    value_is_currency: bool,
) -> list[dict[str, Any]]:
    """The plan's moves into weakly identified channels, as ``plan.json``'s
    ``weakly_identified_moves`` entries (:class:`~mixflow.optimize.schema.WeakMove`), largest
    move first.

    Args:
        allocation, current: ``(C,)`` optimized and current spend per channel over the horizon
            (currency).
        channels: the ``C`` channel names.
        sd_ratios: channel -> posterior/prior log-sd ratio of its ROI (``None``: not judged,
            e.g. a MAP fit); channels not named are not judged.
        values: ``xs (N, C) -> (N, S)`` per-draw incremental value of allocations.
        value_is_currency: whether the value is revenue (else KPI units: no probability of
            losing money).
    """
    allocation = np.asarray(allocation, np.float64)
    current = np.asarray(current, np.float64)
    floor = MOVE_MIN_SHARE * float(allocation.sum())
    moved = [
        i
        for i, ch in enumerate(channels)
        if is_weakly_identified(sd_ratios.get(ch)) and allocation[i] - current[i] > floor
    ]
    if not moved:
        return []
    without = [np.where(np.arange(len(channels)) == i, current, allocation) for i in moved]
    draws = values(np.stack([allocation, *without]))  # (1 + M, S)
    out = []
    for j, i in enumerate(moved):
        extra = float(allocation[i] - current[i])
        gain = draws[0] - draws[j + 1]  # (S,) return of the extra spend, per draw
        band = stat(gain)
        ratio = sd_ratios[channels[i]]
        assert ratio is not None
        out.append(
            {
                "channel": channels[i],
                "spend_moved": extra,
                "incremental_revenue": {"mean": band["mean"], "hdi_90": band["hdi_90"]},
                "prob_loses_money": float(np.mean(gain < extra)) if value_is_currency else None,
                "sd_ratio": float(ratio),
            }
        )
    return sorted(out, key=lambda m: -m["spend_moved"])


def compare_weak_moves(
    sim: Simulator, plans: Sequence[Plan], ratios: Mapping[str, float | None]
) -> dict[str, list[dict[str, Any]]]:
    """Plan name -> its moves of budget into weakly identified channels against ``plans[0]``
    (the reference), for every plan after the first: ``plan.json``'s ``weakly_identified_moves``
    entries (:func:`weak_moves`), largest move first.

    A channel's spend moved is the plan's total on it minus the reference's (currency, over
    each plan's own horizon). What the extra spend returns is, per draw, the plan's incremental
    value (carryover tail included) minus that of the same plan with only that channel's spend
    scaled down to the reference's total (its flighting and geo split kept).
    ``ratios``: channel -> posterior/prior log-sd ratio of its ROI (:func:`sd_ratios` of the
    run summary)."""
    data = sim.posterior.dataset
    currency = data.value_is_currency
    reference = plans[0].spend.sum(axis=(0, 1))  # (C,)
    out: dict[str, list[dict[str, Any]]] = {}
    for plan in plans[1:]:
        totals = plan.spend.sum(axis=(0, 1))  # (C,)

        def values(xs: np.ndarray, plan: Plan = plan, totals: np.ndarray = totals) -> np.ndarray:
            # xs (N, C) channel totals -> (N, S): the plan's spend scaled channel by channel
            scale = np.divide(xs, totals, out=np.ones_like(xs), where=totals > 0)
            return np.stack(
                [
                    sim.simulate(plan.with_spend(plan.spend * s)).incremental_value_with_tail
                    for s in scale
                ]
            )

        out[plan.name] = weak_moves(totals, reference, plan.channels, ratios, values, currency)
    return out


def weak_move_notes(
    moves: list[dict[str, Any]] | None, amount: Callable[[float], str] | None = None
) -> list[str]:
    """One warning line per move (``mixflow optimize``'s and ``mixflow compare``'s console).
    ``amount`` formats the moved spend (the CLI passes the reports' compact ``2.5M``; this
    layer may not import them); by default ``2,202,828``."""
    amount = amount or (lambda v: f"{v:,.0f}")
    lines = []
    for m in moves or []:
        prob = m["prob_loses_money"]
        risk = (
            f"P(the moved spend returns less than it costs) = {prob:.2f}"
            if prob is not None
            else "no revenue per KPI unit, so no probability of losing money"
        )
        lines.append(
            f"WARNING: the plan moves {amount(m['spend_moved'])} into {m['channel']}, whose ROI is "
            f"weakly identified (posterior/prior log-sd {m['sd_ratio']:.2f} >= "
            f"{WEAK_IDENTIFICATION_SD_RATIO:g}: the data "
            f"left it close to the prior); {risk}. A lift test of {m['channel']} "
            "(mixflow experiment next) would tell"
        )
    return lines


__all__ = ["MOVE_MIN_SHARE", "compare_weak_moves", "sd_ratios", "weak_move_notes", "weak_moves"]
