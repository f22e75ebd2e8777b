"""Design of a geo experiment: power and minimum detectable effect (MDE) by simulation on
pre-period data, market selection, and the budget a test needs.

Shapes and units: ``panel.kpi`` is ``(n_times, n_locations)`` (dates x locations, KPI units);
effects are fractions of the treated locations' KPI (``0.05`` = a 5 % lift); KPI totals are sums
over the treated locations and the test dates; budgets are in the currency of the cost per
incremental KPI (``cpik``).

Power by simulation (the approach of GeoLift's ``GeoLiftPower``, written anew). For a candidate
set of treated locations and a test length ``L`` (dates):

1. pseudo test windows: window ``k = 0 .. n_windows - 1`` holds the ``L`` dates that end
   ``k * window_stride`` dates before the last date; the dates after the window are dropped, so
   every simulated test looks like a real one (pre-period, then the test, then nothing);
2. for every effect ``e`` on the grid the treated locations' KPI inside the window is multiplied
   by ``1 + e`` (the treated average series is, as the estimator sees it, ``y * (1 + e)``);
3. the estimator of :mod:`mixflow.experiments.geo` (``ascm`` by default, or ``sc`` / ``did``) is
   fitted and its conformal p-value of "no effect" computed exactly as ``mixflow experiment
   analyze`` computes it (:func:`conformal_p_value`);
4. ``power(e)`` is the share of windows with ``p <= alpha``; the MDE is the effect of smallest
   magnitude (other than 0) whose power reaches ``target_power``. Power at ``e = 0`` is the false
   positive rate and should sit near ``alpha``.

Windows one date apart overlap heavily, so ``n_windows`` sets the resolution of the power
estimate (steps of ``1 / n_windows``) more than its precision.

Market selection: for every treated-set size ``N``, candidate sets are each eligible location
together with its ``N - 1`` most correlated eligible locations (GeoLift's non-stochastic
selector), plus ``n_random`` sets drawn at random, all containing the ``include`` locations and
none of the ``exclude`` ones (excluded locations stay available as controls). Each candidate is
fitted once on the whole panel and the ``max_candidates`` of each size with the smallest relative
pre-period RMSE (RMSE of the fit over the treated average's mean level, the noise a lift has to
beat) go on to the power simulation.

Calibration: the power at ``e = 0`` is the design's false positive rate. A design whose treated
markets drift away from their synthetic control at the end of the pre-period rejects "no effect"
too often, and an injected lift then looks easier to detect than it is. A design is *calibrated*
when its false positive rate is at most the 95th percentile of ``Binomial(n_windows, alpha) /
n_windows`` (0.3 for 10 windows at alpha 0.1; lenient, since overlapping windows vary more than
independent ones); without ``0`` on the effect grid every design counts as calibrated.

Ranking of the simulated designs (treated set x test length): calibrated designs first, then
designs that reach the target power, then the smaller MDE, then the cheaper test (the budget when a
cost per incremental KPI is given, else the MDE's incremental KPI, to which the budget is
proportional), then the higher power averaged over the effect grid, then the smaller scaled L2
imbalance.

Budget: ``budget = mde_incremental_kpi * cpik`` where ``mde_incremental_kpi = MDE * baseline KPI``
and the baseline KPI is the treated locations' total KPI over a test window (averaged over the
pseudo windows).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, ClassVar, Final

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from scipy.stats import binom

from mixflow.errors import DataError, SpecError, did_you_mean
from mixflow.experiments.geo import GeoMethod, GeoPanel, conformal_p_value, fit_synthetic_control
from mixflow.schema_errors import CheckedModel

#: Lifts simulated by default: fine where MDEs of geo tests usually fall (1-5 %), up to GeoLift's 25 %.
DEFAULT_EFFECTS: Final = (0.0, 0.01, 0.02, 0.03, 0.05, 0.10, 0.15, 0.25)
_MIN_DONORS: Final = 2


#: a whole number (``True`` is not 2) and a finite one (``nan``/``inf`` refused)
_Int = StrictInt
_Number = Annotated[float, Field(allow_inf_nan=False)]


class DesignSettings(CheckedModel):
    """What the design search explores and how a test is judged (a pydantic model: building
    one with a bad value raises :class:`~mixflow.errors.SpecError` naming the field, the value
    and what is expected).

    Attributes:
        treated_sizes: numbers of treated locations to try.
        test_lengths: test lengths to try, in dates of the panel (days for daily data).
        effects: lifts to inject, fractions of the treated KPI (``> -1``).
        alpha: significance level; a simulated test is significant when ``p <= alpha``.
        target_power: power the MDE must reach.
        method: estimator of the counterfactual.
        n_windows: pseudo test windows per design (power resolution ``1 / n_windows``).
        window_stride: dates between the ends of consecutive pseudo windows.
        include: locations every treated set must contain (sizes they overfill are skipped).
        exclude: locations never treated (they remain controls).
        max_candidates: candidate sets per size kept for the power simulation.
        n_random: random candidate sets per size, besides the nearest-neighbour ones.
    """

    schema_source: ClassVar[str] = "design settings"

    treated_sizes: tuple[_Int, ...] = (2, 3, 4, 5)
    test_lengths: tuple[_Int, ...] = (14, 21, 28)
    effects: tuple[_Number, ...] = DEFAULT_EFFECTS
    alpha: _Number = 0.1
    target_power: _Number = 0.8
    method: GeoMethod = GeoMethod.ascm
    n_windows: _Int = 10
    window_stride: _Int = 1
    include: tuple[StrictStr, ...] = ()
    exclude: tuple[StrictStr, ...] = ()
    max_candidates: _Int = 5
    n_random: _Int = 10

    @field_validator("treated_sizes", "test_lengths")
    @classmethod
    def _positive_counts(cls, values: tuple[int, ...], info: ValidationInfo) -> tuple[int, ...]:
        what = "sizes" if info.field_name == "treated_sizes" else "lengths"
        _require(bool(values), f"at least one {what[:-1]}")
        _require(all(n >= 1 for n in values), f"{what} >= 1")
        _require(len(set(values)) == len(values), "distinct values")
        return values

    @field_validator("effects")
    @classmethod
    def _lifts(cls, values: tuple[float, ...]) -> tuple[float, ...]:
        _require(bool(values), "at least one effect")
        _require(len(set(values)) == len(values), "distinct values")
        _require(all(e > -1.0 for e in values), "effects > -1")
        return values

    @field_validator("alpha")
    @classmethod
    def _level(cls, value: float) -> float:
        _require(0.0 < value < 1.0, "a level in (0, 1)")
        return value

    @field_validator("target_power")
    @classmethod
    def _power(cls, value: float) -> float:
        _require(0.0 < value <= 1.0, "a power in (0, 1]")
        return value

    @field_validator("n_windows", "window_stride", "max_candidates")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        _require(value >= 1, "an integer >= 1")
        return value

    @field_validator("n_random")
    @classmethod
    def _at_least_zero(cls, value: int) -> int:
        _require(value >= 0, "an integer >= 0")
        return value

    @model_validator(mode="after")
    def _locations(self) -> DesignSettings:
        both = sorted(set(self.include) & set(self.exclude))
        if both:
            raise ValueError(f"location(s) {', '.join(both)} are both included and excluded")
        if len(set(self.include)) > max(self.treated_sizes):
            raise ValueError(
                f"{len(set(self.include))} included locations do not fit in treated sets of at "
                f"most {max(self.treated_sizes)} (treated_sizes)"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON (lists for tuples, the method's name)."""
        return self.model_dump(mode="json")


def _require(ok: bool, expected: str) -> None:
    """A field check: the formatter adds the field's name and the value given."""
    if not ok:
        raise ValueError(f"expected {expected}")


@dataclass(frozen=True)
class CostPerKpi:
    """Spend needed per incremental KPI unit (currency per KPI unit) and where it came from."""

    value: float
    source: str

    def __post_init__(self) -> None:
        if not (math.isfinite(self.value) and self.value > 0):
            raise SpecError(f"cost per incremental KPI must be a positive number, got {self.value}")


@dataclass(frozen=True, eq=False)
class PowerCurve:
    """Simulated power of one design.

    Attributes:
        treated: treated locations.
        test_length: test dates.
        effects: injected lifts (fractions), ``(n_effects,)``.
        power: share of significant pseudo tests per effect, ``(n_effects,)``.
        p_values: conformal p-values, ``(n_windows, n_effects)``.
        baseline_kpi: treated locations' KPI summed over a test window, mean over windows.
    """

    treated: tuple[str, ...]
    test_length: int
    effects: tuple[float, ...]
    power: tuple[float, ...]
    p_values: np.ndarray = field(repr=False)
    baseline_kpi: float


@dataclass(frozen=True)
class Design:
    """A ranked design: treated set x test length, with its power curve and cost.

    ``mde`` is a fraction (``None`` when no effect on the grid reaches the target power);
    ``mde_incremental_kpi`` is ``mde * baseline_kpi`` (KPI units, treated total over the test);
    ``budget`` is ``mde_incremental_kpi * cpik`` (currency; ``None`` without a cpik or an MDE);
    ``share_of_kpi`` is the treated locations' share of the panel's total KPI;
    ``false_positive_rate`` is the power at effect 0 (``None`` when 0 is not on the grid) and
    ``calibrated`` says whether it is within the binomial limit (see the module doc).
    """

    rank: int
    treated: tuple[str, ...]
    test_length: int
    effects: tuple[float, ...]
    power: tuple[float, ...]
    mde: float | None
    power_at_mde: float | None
    baseline_kpi: float
    mde_incremental_kpi: float | None
    budget: float | None
    scaled_l2_imbalance: float
    relative_rmse: float
    share_of_kpi: float
    false_positive_rate: float | None
    calibrated: bool

    @property
    def mean_power(self) -> float:
        return float(np.mean(self.power))

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "treated": list(self.treated),
            "n_treated": len(self.treated),
            "test_length": self.test_length,
            "mde": self.mde,
            "power_at_mde": self.power_at_mde,
            "baseline_kpi": self.baseline_kpi,
            "mde_incremental_kpi": self.mde_incremental_kpi,
            "budget": self.budget,
            "scaled_l2_imbalance": self.scaled_l2_imbalance,
            "relative_rmse": self.relative_rmse,
            "share_of_kpi": self.share_of_kpi,
            "false_positive_rate": self.false_positive_rate,
            "calibrated": self.calibrated,
            "mean_power": self.mean_power,
            "power_curve": [
                {"effect": e, "power": p} for e, p in zip(self.effects, self.power, strict=True)
            ],
        }


@dataclass(frozen=True)
class DesignResult:
    """Every simulated design, best first, with the search settings and its size."""

    designs: tuple[Design, ...]
    settings: DesignSettings
    cpik: CostPerKpi | None
    n_locations: int
    n_times: int
    n_candidates: int
    n_simulated_sets: int
    n_fits: int

    @property
    def best(self) -> Design:
        return self.designs[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": self.settings.to_dict(),
            "cpik": None if self.cpik is None else self.cpik.value,
            "cpik_source": None if self.cpik is None else self.cpik.source,
            "n_locations": self.n_locations,
            "n_times": self.n_times,
            "n_candidate_sets": self.n_candidates,
            "n_simulated_sets": self.n_simulated_sets,
            "n_estimator_fits": self.n_fits,
            "significance": "conformal p-value <= alpha",
            "false_positive_limit": false_positive_limit(self.settings),
            "designs": [d.to_dict() for d in self.designs],
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per design; power columns are named ``power_<effect>``."""
        rows = []
        for d in self.designs:
            row: dict[str, Any] = {
                "rank": d.rank,
                "treated": ";".join(d.treated),
                "n_treated": len(d.treated),
                "test_length": d.test_length,
                "mde": d.mde,
                "power_at_mde": d.power_at_mde,
                "mde_incremental_kpi": d.mde_incremental_kpi,
                "budget": d.budget,
                "baseline_kpi": d.baseline_kpi,
                "scaled_l2_imbalance": d.scaled_l2_imbalance,
                "relative_rmse": d.relative_rmse,
                "share_of_kpi": d.share_of_kpi,
                "false_positive_rate": d.false_positive_rate,
                "calibrated": d.calibrated,
                "mean_power": d.mean_power,
            }
            for e, p in zip(d.effects, d.power, strict=True):
                row[f"power_{e:g}"] = p
            rows.append(row)
        return pd.DataFrame(rows)


class _Document(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PowerPoint(_Document):
    """Simulated power at one injected lift (a fraction)."""

    effect: float
    power: float


class DesignRow(_Document):
    """One ranked design of ``designs.json`` (:meth:`Design.to_dict`)."""

    rank: int
    treated: list[str]
    n_treated: int
    test_length: int
    mde: float | None
    power_at_mde: float | None
    baseline_kpi: float
    mde_incremental_kpi: float | None
    budget: float | None
    scaled_l2_imbalance: float
    relative_rmse: float
    share_of_kpi: float
    false_positive_rate: float | None
    calibrated: bool
    mean_power: float
    power_curve: list[PowerPoint]


class DesignsDocument(_Document):
    """``designs.json`` of ``mixflow experiment design``: the input (``data``, ``kpi_column``,
    ``seed``), the settings and every simulated design, best first."""

    data: str
    kpi_column: str
    seed: int
    settings: DesignSettings
    cpik: float | None
    cpik_source: str | None
    n_locations: int
    n_times: int
    n_candidate_sets: int
    n_simulated_sets: int
    n_estimator_fits: int
    significance: str
    false_positive_limit: float
    designs: list[DesignRow]

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON object written to ``designs.json``."""
        return self.model_dump(mode="json")


def designs_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``designs.json`` (validation mode)."""
    return DesignsDocument.model_json_schema()


# --------------------------------------------------------------------------- the test


def minimum_detectable_effect(
    effects: Sequence[float], power: Sequence[float], target_power: float
) -> tuple[float | None, float | None]:
    """The non-zero effect of smallest magnitude whose power reaches ``target_power`` and its
    power; ``(None, None)`` when none does. At equal magnitude the increase wins."""
    reached = [
        (abs(e), -e, e, p)
        for e, p in zip(effects, power, strict=True)
        if e != 0 and p >= target_power - 1e-12
    ]
    if not reached:
        return None, None
    _, _, effect, pw = min(reached)
    return float(effect), float(pw)


def false_positive_limit(settings: DesignSettings) -> float:
    """Largest calibrated false positive rate: the 95th percentile of ``Binomial(n_windows,
    alpha)`` over ``n_windows``."""
    return float(binom.ppf(0.95, settings.n_windows, settings.alpha)) / settings.n_windows


def required_budget(incremental_kpi: float, cpik: float) -> float:
    """Spend that buys ``incremental_kpi`` (KPI units) at ``cpik`` (currency per KPI unit)."""
    return float(abs(incremental_kpi) * cpik)


# --------------------------------------------------------------------------- simulation


def _location_index(panel: GeoPanel, names: Sequence[str], role: str) -> list[int]:
    index = []
    for name in names:
        if name not in panel.locations:
            raise DataError(
                f"{role} location '{name}' not in the data{did_you_mean(name, panel.locations)}"
            )
        index.append(panel.locations.index(name))
    return sorted(set(index))


def _check_lengths(n_times: int, longest: int, settings: DesignSettings) -> None:
    """The earliest pseudo window of the longest test must leave as many pre-period dates as
    test dates (and at least 3)."""
    span = (settings.n_windows - 1) * settings.window_stride
    n_pre = n_times - span - longest
    if n_pre < max(3, longest):
        raise DataError(
            f"{n_times} dates cannot hold a {longest}-date test with {settings.n_windows} pseudo "
            f"window(s) {settings.window_stride} date(s) apart: the earliest window would leave "
            f"{n_pre} pre-period dates, need at least {max(3, longest)} (as many as test dates); "
            "shorten the test lengths or use fewer pseudo windows"
        )


def _simulate(
    kpi: np.ndarray,
    treated_idx: Sequence[int],
    test_length: int,
    settings: DesignSettings,
) -> tuple[np.ndarray, float]:
    """p-values ``(n_windows, n_effects)`` and the mean baseline KPI of one design."""
    n_times, n_locations = kpi.shape
    donor_idx = np.setdiff1d(np.arange(n_locations), np.asarray(treated_idx))
    target_all = kpi[:, list(treated_idx)].mean(axis=1)
    effects = np.asarray(settings.effects, dtype=float)
    p_values = np.empty((settings.n_windows, len(effects)))
    baseline = np.empty(settings.n_windows)
    for k in range(settings.n_windows):
        end = n_times - k * settings.window_stride
        target, donors = target_all[:end], kpi[:end, donor_idx]
        post = np.zeros(end, dtype=bool)
        post[end - test_length :] = True
        baseline[k] = float(target[post].sum() * len(treated_idx))
        for j, effect in enumerate(effects):
            lifted = target * (1.0 + effect * post)
            p_values[k, j] = conformal_p_value(lifted, donors, post, settings.method)
    return p_values, float(baseline.mean())


def simulate_power(
    panel: GeoPanel,
    treated: Sequence[str],
    test_length: int,
    settings: DesignSettings | None = None,
) -> PowerCurve:
    """Power of a test of ``treated`` over ``test_length`` dates for every effect of
    ``settings.effects`` (see the module doc); uses ``effects``, ``alpha``, ``method``,
    ``n_windows`` and ``window_stride`` of ``settings``."""
    settings = settings or DesignSettings()
    index = _location_index(panel, treated, "treated")
    if not index:
        raise SpecError("no treated locations given")
    if len(panel.locations) - len(index) < _MIN_DONORS:
        raise DataError("need at least two control locations besides the treated ones")
    if test_length < 1:
        raise SpecError(f"test_length: expected an integer >= 1, got {test_length}")
    _check_lengths(len(panel.dates), test_length, settings)
    p_values, baseline = _simulate(panel.kpi, index, test_length, settings)
    power = (p_values <= settings.alpha).mean(axis=0)
    return PowerCurve(
        treated=tuple(panel.locations[i] for i in index),
        test_length=test_length,
        effects=settings.effects,
        power=tuple(float(p) for p in power),
        p_values=p_values,
        baseline_kpi=baseline,
    )


# --------------------------------------------------------------------------- market selection


def _correlation(kpi: np.ndarray) -> np.ndarray:
    """``(n_locations, n_locations)`` Pearson correlation of the locations' series (0 for a
    constant series)."""
    centred = kpi - kpi.mean(axis=0)
    norm = np.linalg.norm(centred, axis=0)
    scaled = np.divide(centred, norm, out=np.zeros_like(centred), where=norm > 0)
    return np.asarray(scaled.T @ scaled)


def candidate_sets(
    panel: GeoPanel,
    size: int,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    n_random: int = 0,
    rng: np.random.Generator | None = None,
) -> list[tuple[int, ...]]:
    """Candidate treated sets of ``size`` locations, as sorted location indices (see the module
    doc): every set holds all of ``include`` and none of ``exclude``; duplicates removed, order
    kept (nearest-neighbour sets first)."""
    forced = _location_index(panel, include, "included")
    banned = set(_location_index(panel, exclude, "excluded"))
    if len(forced) > size:
        raise SpecError(f"{len(forced)} included locations do not fit in a set of {size}")
    free = [i for i in range(len(panel.locations)) if i not in banned and i not in forced]
    if len(forced) + len(free) < size:
        raise DataError(
            f"only {len(forced) + len(free)} locations may be treated, fewer than {size}"
        )
    if len(panel.locations) - size < _MIN_DONORS:
        raise DataError(
            f"a treated set of {size} leaves {len(panel.locations) - size} control location(s) "
            f"of {len(panel.locations)}; need at least {_MIN_DONORS}"
        )
    seen: dict[tuple[int, ...], None] = {}
    missing = size - len(forced)
    if missing == 0:
        return [tuple(forced)]
    corr = _correlation(panel.kpi)
    for anchor in free:
        others = sorted((i for i in free if i != anchor), key=lambda i: -corr[anchor, i])
        seen.setdefault(tuple(sorted([*forced, anchor, *others[: missing - 1]])), None)
    generator = rng if rng is not None else np.random.default_rng(0)
    for _ in range(n_random):
        drawn = generator.choice(free, size=missing, replace=False)
        seen.setdefault(tuple(sorted([*forced, *(int(i) for i in drawn)])), None)
    return list(seen)


@dataclass(frozen=True)
class _Screened:
    index: tuple[int, ...]
    relative_rmse: float
    imbalance: float


def _screen(kpi: np.ndarray, index: tuple[int, ...], method: GeoMethod) -> _Screened:
    """Fit ``method`` on the whole panel for the treated set ``index``."""
    donor_idx = np.setdiff1d(np.arange(kpi.shape[1]), np.asarray(index))
    target = kpi[:, list(index)].mean(axis=1)
    everything = np.ones(kpi.shape[0], dtype=bool)
    fit = fit_synthetic_control(target, kpi[:, donor_idx], everything, method)
    level = abs(float(target.mean())) or 1.0
    return _Screened(index, fit.pre_rmse / level, fit.imbalance)


def _rank_key(design: Design) -> tuple[float, ...]:
    cost = design.budget if design.budget is not None else design.mde_incremental_kpi
    return (
        0.0 if design.calibrated else 1.0,
        0.0 if design.mde is not None else 1.0,
        abs(design.mde) if design.mde is not None else math.inf,
        abs(cost) if cost is not None else math.inf,
        -design.mean_power,
        design.scaled_l2_imbalance,
    )


def design_experiment(
    panel: GeoPanel,
    settings: DesignSettings | None = None,
    *,
    cpik: CostPerKpi | None = None,
    rng: np.random.Generator | None = None,
    progress: bool = False,
) -> DesignResult:
    """Rank candidate designs (treated set x test length) by simulated power and MDE.

    ``rng`` draws the random candidate sets (``numpy.random.default_rng(0)`` when omitted, so
    the result is reproducible); ``progress`` shows a tqdm bar over the simulated designs.
    """
    from tqdm.auto import tqdm

    settings = settings or DesignSettings()
    rng = rng if rng is not None else np.random.default_rng(0)
    _check_lengths(len(panel.dates), max(settings.test_lengths), settings)
    kpi = np.asarray(panel.kpi, dtype=float)
    screened: list[_Screened] = []
    n_candidates = 0
    for size in settings.treated_sizes:
        if size < len(set(settings.include)):
            continue  # the included locations alone fill more than this size
        sets = candidate_sets(
            panel,
            size,
            include=settings.include,
            exclude=settings.exclude,
            n_random=settings.n_random,
            rng=rng,
        )
        n_candidates += len(sets)
        fits = sorted((_screen(kpi, s, settings.method) for s in sets), key=_screen_key)
        screened.extend(fits[: settings.max_candidates])
    jobs = [(s, length) for s in screened for length in settings.test_lengths]
    designs = []
    with tqdm(total=len(jobs), disable=not progress, desc="power simulation", unit="design") as bar:
        for cand, length in jobs:
            designs.append(_evaluate(panel, cand, length, settings, cpik))
            bar.update(1)
    ranked = sorted(designs, key=_rank_key)
    n_fits = len(jobs) * settings.n_windows * len(settings.effects)
    return DesignResult(
        designs=tuple(_with_rank(d, i + 1) for i, d in enumerate(ranked)),
        settings=settings,
        cpik=cpik,
        n_locations=len(panel.locations),
        n_times=len(panel.dates),
        n_candidates=n_candidates,
        n_simulated_sets=len(screened),
        n_fits=n_fits,
    )


def _evaluate(
    panel: GeoPanel,
    cand: _Screened,
    length: int,
    settings: DesignSettings,
    cpik: CostPerKpi | None,
) -> Design:
    """Simulate one design and summarise it (rank filled in later)."""
    p_values, baseline = _simulate(panel.kpi, cand.index, length, settings)
    power = tuple(float(p) for p in (p_values <= settings.alpha).mean(axis=0))
    mde, power_at_mde = minimum_detectable_effect(settings.effects, power, settings.target_power)
    mde_kpi = None if mde is None else mde * baseline
    budget = None if (mde_kpi is None or cpik is None) else required_budget(mde_kpi, cpik.value)
    total_kpi = float(panel.kpi.sum())
    share = float(panel.kpi[:, list(cand.index)].sum()) / total_kpi if total_kpi else math.nan
    fpr = power[settings.effects.index(0.0)] if 0.0 in settings.effects else None
    return Design(
        rank=0,
        treated=tuple(panel.locations[i] for i in cand.index),
        test_length=length,
        effects=settings.effects,
        power=power,
        mde=mde,
        power_at_mde=power_at_mde,
        baseline_kpi=baseline,
        mde_incremental_kpi=mde_kpi,
        budget=budget,
        scaled_l2_imbalance=cand.imbalance,
        relative_rmse=cand.relative_rmse,
        share_of_kpi=share,
        false_positive_rate=fpr,
        calibrated=fpr is None or fpr <= false_positive_limit(settings) + 1e-12,
    )


def _screen_key(s: _Screened) -> tuple[float, float]:
    return (s.relative_rmse, s.imbalance)


def _with_rank(design: Design, rank: int) -> Design:
    return replace(design, rank=rank)


__all__ = [
    "DEFAULT_EFFECTS",
    "CostPerKpi",
    "Design",
    "DesignResult",
    "DesignRow",
    "DesignSettings",
    "DesignsDocument",
    "PowerCurve",
    "PowerPoint",
    "candidate_sets",
    "conformal_p_value",
    "design_experiment",
    "designs_json_schema",
    "false_positive_limit",
    "minimum_detectable_effect",
    "required_budget",
    "simulate_power",
]
