"""What-if questions on a workspace's registered model: simulate a plan, compare two plans,
optimize a budget. Any role may ask (viewer and up).

The plan object of a request has the keys of the CLI's plan files (``docs/simulate.md``) and
goes through the same builder (:func:`mixflow.simulate.plan_from_dict`), so a check the CLI
makes answers 422 with the CLI's wording, in ``errors: [{loc, msg}]``. The simulator of each
registered version is loaded once and kept in the app's :class:`~mixflow.service.cache.ModelCache`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from mixflow.errors import SpecError, did_you_mean
from mixflow.optimize.problem import Objective, Risk, SpendPattern, _coerce
from mixflow.optimize.schema import PlanDocument, PlanInterval, PlanOutcomes, WeakMove
from mixflow.service.auth import Caller, Role, require
from mixflow.service.cache import LoadedModel, ModelCache, RefCache, load_model
from mixflow.service.intervals import finite_rows, row_stats
from mixflow.service.settings import ServiceSettings
from mixflow.service.store import StoredVersion, resolve_model
from mixflow.simulate.builders import PLAN_KEYS
from mixflow.simulate.plan import check_amount, check_horizon

router = APIRouter(prefix="/api/v1/models", tags=["planning"])

Viewer = Annotated[Caller, Depends(require(Role.viewer))]


def _cli_error(err: SpecError) -> PydanticCustomError:
    # a custom error keeps the library's message as it is (a ValueError gets "Value error, ")
    return PydanticCustomError("invalid", str(err))


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- requests
class PlanSpec(_Frozen):
    """A media plan, with the keys of a CLI plan file (``docs/simulate.md``). Give one of
    ``like_last_weeks`` (+ ``scale``), ``budget`` + ``horizon_weeks`` (+ ``shares``,
    ``flighting``) or ``spend`` (per channel: a total over ``horizon_weeks`` or a list of
    weekly amounts). National amounts are split over geos by each channel's historical split."""

    name: str | None = Field(None, max_length=200, description="label (default: plan)")
    horizon_weeks: int | None = Field(None, description="weeks in the plan (1-520)")
    like_last_weeks: int | None = Field(
        None, description="repeat the spend of the last N weeks of data"
    )
    scale: float | None = Field(None, description="multiplier for like_last_weeks (default 1)")
    budget: float | None = Field(None, description="total spend over horizon_weeks (currency)")
    shares: dict[str, float] | None = Field(
        None,
        description="each channel's share of the budget, summing to 1 (default: last 52 weeks)",
    )
    flighting: Literal["flat", "historical", "history"] | None = Field(
        None,
        description="how a budget is spread over the weeks: flat (default) or historical "
        "('history' is the deprecated spelling)",
    )
    spend: dict[str, float | list[float]] | None = Field(
        None, description="per channel: a total over horizon_weeks, or one amount per week"
    )

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, raw: Any) -> Any:
        if isinstance(raw, dict):
            for key in raw:
                if key not in PLAN_KEYS:
                    raise PydanticCustomError(
                        "invalid",
                        f"plan: unknown key '{key}'{did_you_mean(str(key), PLAN_KEYS)}; "
                        f"allowed: {', '.join(sorted(PLAN_KEYS))}",
                    )
        return raw

    @field_validator("horizon_weeks", mode="before")
    @classmethod
    def _horizon(cls, v: Any) -> Any:
        try:
            return None if v is None else check_horizon(v, "plan horizon_weeks")
        except SpecError as err:
            raise _cli_error(err) from None

    @field_validator("like_last_weeks", mode="before")
    @classmethod
    def _weeks(cls, v: Any) -> Any:
        if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
            raise PydanticCustomError(
                "invalid", f"plan like_last_weeks must be a whole number, got {v!r}"
            )
        return v

    @field_validator("scale", "budget", mode="before")
    @classmethod
    def _amount(cls, v: Any, info: Any) -> Any:
        try:
            return None if v is None else check_amount(v, f"plan {info.field_name}")
        except SpecError as err:
            raise _cli_error(err) from None

    @field_validator("flighting", mode="before")
    @classmethod
    def _flighting(cls, v: Any) -> Any:
        if v is not None and v not in ("flat", "historical", "history"):
            raise PydanticCustomError(
                "invalid", f"plan flighting: expected 'flat' or 'historical', got {v!r}"
            )
        return v

    def as_mapping(self) -> dict[str, Any]:
        """The keys given, as a plan file's mapping."""
        return self.model_dump(exclude_none=True)


Ref = Annotated[
    str | int,
    Field(description="'champion', 'challenger' or a version number", examples=["champion", 3]),
]


class SimulateRequest(_Frozen):
    """Simulate ``plan`` on version ``ref`` of the model."""

    ref: Ref = "champion"
    plan: PlanSpec


class CompareRequest(_Frozen):
    """Compare two plans on the same posterior draws of version ``ref``."""

    ref: Ref = "champion"
    plans: list[PlanSpec] = Field(
        min_length=2, max_length=2, description="the first and the second plan"
    )
    metric: Literal["profit", "revenue", "kpi"] = Field(
        "profit",
        description="profit (incremental revenue - spend), revenue (incremental revenue) or "
        "kpi (incremental KPI): the objectives' names",
    )

    @field_validator("metric", mode="before")
    @classmethod
    def _metric(cls, v: Any) -> Any:
        if v not in ("profit", "revenue", "kpi"):
            raise PydanticCustomError(
                "invalid", f"metric must be 'profit', 'revenue' or 'kpi', got {v!r}"
            )
        return v


class OptimizeRequest(_Frozen):
    """The budget problem of ``mixflow optimize``, as JSON (totals over the horizon, currency)."""

    ref: Ref = "champion"
    budget: float | None = Field(None, description="total budget (default: recent spend)")
    horizon_weeks: int = Field(13, description="weeks in the plan (1-520)")
    relative_bounds: tuple[float, float] | None = Field(
        None, description="[lo, hi] times each channel's share of the last 52 weeks"
    )
    channel_bounds: dict[str, tuple[float, float | None]] = Field(
        default_factory=dict, description="channel -> [min, max] total (max null: no cap)"
    )
    locked: dict[str, float] = Field(default_factory=dict, description="channel -> fixed total")
    objective: Objective = Objective.MAX_REVENUE
    risk: str = Field("mean", description="mean | quantile:Q | mean_minus_k_sd:K | cvar:ALPHA")
    target_kpi: float | None = Field(None, description="for objective min_spend_for_kpi")
    target_roi: float | None = Field(None, description="for objective max_budget_at_roi")
    flighting: SpendPattern = Field(SpendPattern.FLAT, description="flat | historical")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="seed of the solver's random starts")

    @field_validator("horizon_weeks", mode="before")
    @classmethod
    def _horizon(cls, v: Any) -> Any:
        try:
            return check_horizon(v, "horizon_weeks")
        except SpecError as err:
            raise _cli_error(err) from None

    @field_validator("objective", mode="before")
    @classmethod
    def _objective(cls, v: Any) -> Any:
        try:
            return _coerce(Objective, v, "objective")
        except SpecError as err:
            raise _cli_error(err) from None

    @field_validator("flighting", mode="before")
    @classmethod
    def _flighting(cls, v: Any) -> Any:
        try:
            return _coerce(SpendPattern, v, "flighting")
        except SpecError as err:
            raise _cli_error(err) from None

    @field_validator("risk", mode="before")
    @classmethod
    def _risk(cls, v: Any) -> Any:
        try:
            return str(Risk.parse(str(v)))
        except SpecError as err:
            raise _cli_error(err) from None


# --------------------------------------------------------------------------- responses
class ModelRef(_Frozen):
    """The registered version that answered."""

    model_name: str
    version: int


class ChannelOutcome(_Frozen):
    """One channel's spend and outcomes (carryover after the horizon included)."""

    spend: float
    incremental_kpi: PlanInterval
    incremental_revenue: PlanInterval
    #: incremental revenue over spend; null entries when the channel spends nothing
    roi: PlanInterval


class WeekOutcome(_Frozen):
    """One week of the horizon: the plan's effect in that week (its carryover from earlier
    weeks included), the expected KPI with baseline, and the ROI so far."""

    week: int = Field(description="1 = the first week after the data")
    start: date
    spend: float
    kpi: PlanInterval = Field(description="expected KPI, baseline and all media included")
    incremental_kpi: PlanInterval
    incremental_revenue: PlanInterval
    roi_to_date: PlanInterval = Field(
        description="incremental revenue of weeks 1..week over their spend (null: no spend yet)"
    )


class TailOutcome(_Frozen):
    """What the plan's spend still earns after the horizon (carryover)."""

    weeks: int
    incremental_kpi: PlanInterval
    incremental_revenue: PlanInterval


class SimulateResponse(_Frozen):
    """A plan's expected outcomes over the posterior: totals, per channel and per week.
    Totals and per-channel figures include the carryover after the horizon, as
    ``mixflow simulate``'s ``*_with_tail`` figures; they are the same numbers."""

    model: ModelRef
    plan_name: str
    horizon_weeks: int
    start: date
    spend: float
    controls: str
    expected: PlanOutcomes
    profit: PlanInterval = Field(description="incremental revenue (with tail) minus spend")
    per_channel: dict[str, ChannelOutcome]
    per_week: list[WeekOutcome]
    after_horizon: TailOutcome


class CompareResponse(_Frozen):
    """Two plans on the same draws: each one's metric, P(first beats second), the
    interval of the difference first - second, and the second plan's moves of budget into
    weakly identified channels against the first (``mixflow compare --json``'s fields)."""

    model: ModelRef
    metric: Literal["profit", "revenue", "kpi"]
    first: str
    second: str
    plans: dict[str, PlanInterval]
    prob_first_beats_second: float
    difference: PlanInterval
    best: str
    reference: str = Field(description="the plan the other is judged against: the first")
    weakly_identified_moves: dict[str, list[WeakMove]] = Field(
        description="plan name -> the budget it puts into weakly identified channels beyond "
        "the reference's (plan.json's entries, largest first; [] when none); the reference "
        "itself is not listed"
    )


# --------------------------------------------------------------------------- helpers
_NULL = PlanInterval(mean=None, hdi_90=(None, None))


def _interval(d: dict[str, Any] | None) -> PlanInterval:
    if d is None:
        return _NULL
    return PlanInterval(mean=d["mean"], hdi_90=tuple(d["hdi_90"]))  # type: ignore[arg-type]


def _row_intervals(rows: np.ndarray) -> list[PlanInterval]:
    """Mean and 90% HDI of each row of ``rows (N, S)`` (non-finite rows: nulls)."""
    safe, finite = finite_rows(rows)
    mean, band = row_stats(safe)
    return [
        PlanInterval(
            mean=float(mean[i]),
            hdi_90=(float(band[i, 1]), float(band[i, 2])),
        )
        if finite[i]
        else _NULL
        for i in range(len(finite))
    ]


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` per column, NaN where ``den`` is 0."""
    den = np.asarray(den, np.float64)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _invalid(err: SpecError, loc: tuple[str | int, ...] = ("body",)) -> RequestValidationError:
    return RequestValidationError([{"loc": loc, "msg": str(err), "type": "invalid"}])


def model_cache(request: Request) -> ModelCache:
    cache: ModelCache = request.app.state.models
    return cache


def loaded_model(
    request: Request, workspace: str, model_name: str, ref: str | int
) -> tuple[StoredVersion, LoadedModel]:
    """The stored version ``ref`` of the workspace's model and its cached simulator."""
    settings: ServiceSettings = request.app.state.settings
    refs: RefCache[StoredVersion] = request.app.state.refs
    stored = refs.get(
        (workspace, model_name, str(ref)),
        lambda: resolve_model(settings, workspace, model_name, ref),
    )
    model = model_cache(request).get(
        (stored.registered_name, stored.version),
        lambda: load_model(stored.registered_name, stored.version, stored.run_dir),
    )
    return stored, model


def simulate_plan(
    stored: StoredVersion, model: LoadedModel, spec: PlanSpec, loc: tuple[str | int, ...]
) -> SimulateResponse:
    """Simulate ``spec`` on ``model``: the figures of ``mixflow simulate`` plus weekly ones.

    Every figure's series of draws is one row of a matrix summarised at once
    (:func:`~mixflow.service.intervals.row_stats`): :func:`mixflow.simulate.summarize`'s
    numbers to float64 round-off (``tests/service/test_intervals.py``), without its
    per-series ArviZ calls and its per-period figures, which this answer does not show."""
    from mixflow.simulate import plan_from_dict

    sim = model.simulator
    data = sim.posterior.dataset
    try:
        plan = plan_from_dict(data, spec.as_mapping())
    except SpecError as err:
        raise _invalid(err, loc) from None
    draws = sim.simulate(plan)
    h, c = plan.horizon, len(plan.channels)
    spend = plan.total
    spend_by_channel = plan.by_channel()
    spends = np.array([spend_by_channel[ch] for ch in plan.channels])
    weekly_spend = plan.spend.sum(axis=(0, 2))  # (H,)
    media_kpi, media_value = draws.media_kpi, draws.media_value  # (S, H + L, C)
    # two passes over each (S, H + L, C) array: by channel (periods summed) and by period
    # (channels summed, as einsum: NumPy's sum over a short inner axis is 5x slower); the
    # totals follow from these. Sums in another order than summarize()'s differ by ulps
    ch_kpi = media_kpi.sum(axis=1).T  # (C, S)
    ch_value = media_value.sum(axis=1).T
    period_kpi = np.einsum("stc->st", media_kpi)  # (S, H + L)
    period_value = np.einsum("stc->st", media_value)
    inc_kpi, inc_value = ch_kpi.sum(axis=0), ch_value.sum(axis=0)  # (S,), tail included
    week_value = period_value[:, :h]  # (S, H)
    # one row per figure
    rows = np.concatenate(
        [
            np.stack(
                [
                    inc_kpi,
                    inc_value,
                    inc_value - spend,
                    inc_value / spend if spend > 0 else np.full_like(inc_value, np.nan),
                ]
            ),
            ch_kpi,
            ch_value,
            _ratio(ch_value, spends[:, None]),  # channel ROI (C, S)
            draws.kpi.T,  # (H, S) expected KPI per week
            period_kpi[:, :h].T,
            week_value.T,
            _ratio(np.cumsum(week_value, axis=1), np.cumsum(weekly_spend)[None, :]).T,
            np.stack([period_kpi[:, h:].sum(axis=1), period_value[:, h:].sum(axis=1)]),
        ]
    )
    stats = _row_intervals(rows)
    total, rest = stats[:4], stats[4:]
    kpi_c, value_c, roi_c = rest[:c], rest[c : 2 * c], rest[2 * c : 3 * c]
    weekly = rest[3 * c : 3 * c + 4 * h]
    kpi_w, inc_kpi_w, inc_val_w, roi_w = (weekly[i * h : (i + 1) * h] for i in range(4))
    tail = rest[3 * c + 4 * h :]
    first = date.fromisoformat(str(plan.start)[:10])
    return SimulateResponse(
        model=ModelRef(model_name=stored.model_name, version=stored.version),
        plan_name=plan.name,
        horizon_weeks=h,
        start=first,
        spend=spend,
        controls="held at their last observed values",
        expected=PlanOutcomes(incremental_kpi=total[0], incremental_revenue=total[1], roi=total[3]),
        profit=total[2],
        per_channel={
            ch: ChannelOutcome(
                spend=spend_by_channel[ch],
                incremental_kpi=kpi_c[i],
                incremental_revenue=value_c[i],
                roi=roi_c[i],
            )
            for i, ch in enumerate(plan.channels)
        },
        per_week=[
            WeekOutcome(
                week=w + 1,
                start=first + timedelta(days=w * int(data.period_days)),
                spend=float(weekly_spend[w]),
                kpi=kpi_w[w],
                incremental_kpi=inc_kpi_w[w],
                incremental_revenue=inc_val_w[w],
                roi_to_date=roi_w[w],
            )
            for w in range(h)
        ],
        after_horizon=TailOutcome(
            weeks=int(media_kpi.shape[1] - h), incremental_kpi=tail[0], incremental_revenue=tail[1]
        ),
    )


#: which request field a library message starting with a word is about
_FIELD_OF = {
    "budget": "budget",
    "horizon": "horizon_weeks",
    "relative_bounds": "relative_bounds",
    "bounds": "channel_bounds",
    "locked": "locked",
    "target_kpi": "target_kpi",
    "target_roi": "target_roi",
    "risk": "risk",
    "risk.level": "risk",
}


def _problem_loc(err: SpecError) -> tuple[str, ...]:
    head = str(err).split(" ", 1)[0].split("[", 1)[0].rstrip(":")
    field = _FIELD_OF.get(head)
    return ("body", field) if field else ("body",)


# --------------------------------------------------------------------------- routes
@router.post("/{name}/simulate", response_model=SimulateResponse)
def simulate(
    name: str, body: SimulateRequest, caller: Viewer, request: Request
) -> SimulateResponse:
    """Simulate a plan on version ``ref`` over every posterior draw: expected incremental KPI,
    revenue and ROI (mean, 90% HDI) in total, per channel and per week."""
    stored, model = loaded_model(request, caller.workspace, name, body.ref)
    return simulate_plan(stored, model, body.plan, ("body", "plan"))


@router.post("/{name}/compare", response_model=CompareResponse)
def compare(name: str, body: CompareRequest, caller: Viewer, request: Request) -> CompareResponse:
    """Compare two plans on the same draws (as ``mixflow compare``): P(first beats second)
    on the metric, the 90% HDI of the difference, and any budget the second plan moves into a
    weakly identified channel against the first, with P(that spend returns less than it costs)."""
    from mixflow.analysis.stats import stat
    from mixflow.optimize.identification import compare_weak_moves
    from mixflow.simulate import compare as compare_plans
    from mixflow.simulate import metric_draws, plan_from_dict

    stored, model = loaded_model(request, caller.workspace, name, body.ref)
    data = model.simulator.posterior.dataset
    plans = []
    for i, spec in enumerate(body.plans):
        try:
            plans.append(plan_from_dict(data, spec.as_mapping(), default_name=f"plan_{i + 1}"))
        except SpecError as err:
            raise _invalid(err, ("body", "plans", i)) from None
    names = [p.name for p in plans]
    if len(set(names)) != len(names):
        raise _invalid(SpecError(f"plan names must differ, got {names}"), ("body", "plans"))
    results = [(p, model.simulator.simulate(p)) for p in plans]
    out = compare_plans(results, body.metric)
    (a, da), (b, db) = results
    diff = metric_draws(a, da, body.metric) - metric_draws(b, db, body.metric)
    # the second plan against the first, as `mixflow compare` judges each plan after the first
    moves = compare_weak_moves(model.simulator, plans, model.sd_ratios)
    return CompareResponse(
        model=ModelRef(model_name=stored.model_name, version=stored.version),
        metric=body.metric,
        first=a.name,
        second=b.name,
        plans={n: _interval(v) for n, v in out["plans"].items()},
        prob_first_beats_second=out["prob_beats"][a.name][b.name],
        difference=_interval(stat(diff)),
        best=out["best"],
        reference=a.name,
        weakly_identified_moves={
            n: [WeakMove.model_validate(m) for m in ms] for n, ms in moves.items()
        },
    )


@router.post("/{name}/optimize", response_model=PlanDocument, response_model_exclude_unset=True)
def optimize(name: str, body: OptimizeRequest, caller: Viewer, request: Request) -> PlanDocument:
    """Find the budget split that maximizes the objective over the full posterior (as
    ``mixflow optimize``); the answer is the ``plan.json`` document."""
    from mixflow.optimize import BudgetProblem
    from mixflow.optimize.recent import optimize_with_current

    try:
        problem = BudgetProblem(
            horizon=body.horizon_weeks,
            budget=body.budget,
            objective=body.objective,
            risk=Risk.parse(body.risk),
            bounds=dict(body.channel_bounds),  # type: ignore[arg-type]
            relative_bounds=body.relative_bounds,
            locked=dict(body.locked),
            pattern=body.flighting,
            target_kpi=body.target_kpi,
            target_roi=body.target_roi,
        )
    except SpecError as err:
        raise _invalid(err, _problem_loc(err)) from None
    _, model = loaded_model(request, caller.workspace, name, body.ref)
    try:
        result = optimize_with_current(
            model.optimizer, problem, seed=body.seed, sd_ratios=model.sd_ratios
        )
    except SpecError as err:  # unknown channels, named
        raise _invalid(err, _problem_loc(err)) from None
    return PlanDocument.model_validate(result.to_dict())


__all__ = [
    "ChannelOutcome",
    "CompareRequest",
    "CompareResponse",
    "ModelRef",
    "OptimizeRequest",
    "PlanSpec",
    "SimulateRequest",
    "SimulateResponse",
    "TailOutcome",
    "WeekOutcome",
    "loaded_model",
    "simulate_plan",
]
