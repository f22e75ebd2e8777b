"""Lift tests on a simulated brand: what an experiment would measure under the true model."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from mixflow.data.dataset import MMMDataset
from mixflow.data.lift_tests import LiftTest, spend_change_cells
from mixflow.datasets.truth import TrueResponse
from mixflow.errors import SpecError


def true_lift(truth: TrueResponse, test: LiftTest, data: MMMDataset) -> float:
    """The exact incremental KPI of ``test``'s spend change under the true model, over the
    periods the test measures (its window plus ``max_lag`` carryover periods by default)."""
    cells = spend_change_cells(test, data, truth.max_lag)
    return truth.lift(cells.channel, cells.exposure, cells.measured)


def simulated_lift_test(
    truth: TrueResponse,
    data: MMMDataset,
    channel: str,
    start: date,
    end: date,
    spend_change: float,
    relative_se: float,
    rng: np.random.Generator,
    geos: Sequence[str] = (),
) -> LiftTest:
    """A lift test as an experiment would report it: the true lift plus Normal noise whose sd
    (the reported standard error) is ``relative_se`` times the true lift's magnitude."""
    if not relative_se > 0:
        raise SpecError(f"relative_se must be > 0, got {relative_se}")
    probe = LiftTest(channel, start, end, tuple(geos), spend_change, 0.0, 1.0)
    value = true_lift(truth, probe, data)
    se = relative_se * max(abs(value), 1e-9)
    return LiftTest(
        channel,
        start,
        end,
        tuple(geos),
        spend_change,
        incremental_kpi=float(value + rng.normal(0.0, se)),
        standard_error=float(se),
        label=f"simulated {channel} test",
    )


def _window(
    data: MMMDataset, channel: str, first: int, last: int, geos: Sequence[str]
) -> tuple[date, date, float]:
    """First and last day of periods ``first`` .. ``last`` (indices into ``data.dates``,
    inclusive) and ``channel``'s spend over them in ``geos`` (every geo when empty)."""
    c = data.channels.index(channel)
    rows = [data.geos.index(g) for g in geos] if geos else list(range(data.n_geos))
    spend = float(data.spend[rows, first : last + 1, c].sum())
    start, end = (pd.Timestamp(data.dates[i]).date() for i in (first, last))
    return start, end, spend


def simulated_go_dark_test(
    truth: TrueResponse,
    data: MMMDataset,
    channel: str,
    first: int,
    last: int,
    relative_se: float,
    rng: np.random.Generator,
    geos: Sequence[str] = (),
) -> LiftTest:
    """:func:`simulated_lift_test` of ``channel`` going dark over periods ``first`` .. ``last``
    (indices into ``data.dates``, inclusive) in ``geos`` (every geo when empty): its whole
    spend there cut."""
    start, end, spend = _window(data, channel, first, last, geos)
    return simulated_lift_test(truth, data, channel, start, end, -spend, relative_se, rng, geos)


def heavy_up_probe(
    data: MMMDataset,
    channel: str,
    first: int,
    last: int,
    increase: float,
    geos: Sequence[str] = (),
) -> LiftTest:
    """The spend change of ``channel`` spending ``increase`` (0.5: +50 %) more over periods
    ``first`` .. ``last`` in ``geos`` (every geo when empty), as a test with no measurement
    (0 ± 1): for :func:`true_lift` and a model's implied lift of the same change."""
    if not increase > 0:
        raise SpecError(f"increase must be > 0, got {increase}")
    start, end, spend = _window(data, channel, first, last, geos)
    label = f"{channel} +{increase:.0%} heavy-up"
    return LiftTest(channel, start, end, tuple(geos), increase * spend, 0.0, 1.0, label=label)


def simulated_heavy_up_test(
    truth: TrueResponse,
    data: MMMDataset,
    channel: str,
    first: int,
    last: int,
    increase: float,
    relative_se: float,
    rng: np.random.Generator,
    geos: Sequence[str] = (),
) -> LiftTest:
    """:func:`simulated_lift_test` of :func:`heavy_up_probe`'s spend change."""
    probe = heavy_up_probe(data, channel, first, last, increase, geos)
    return simulated_lift_test(
        truth, data, channel, probe.start, probe.end, probe.spend_change, relative_se, rng, geos
    )


__all__ = [
    "heavy_up_probe",
    "simulated_go_dark_test",
    "simulated_heavy_up_test",
    "simulated_lift_test",
    "true_lift",
]
