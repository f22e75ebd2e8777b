"""One budget split jointly over every model's channels (the portfolio optimizer).

The decision is the total spend of every channel of every model over the horizon,
``x = concat(x_1, ..., x_M)`` (currency). Each model's plan maps its totals to spend exactly as
``mixflow optimize`` does (:func:`mixflow.optimize.resolve`: last-52-week geo split, flat weekly
pattern) and is scored by the same posterior simulation engine
(:meth:`mixflow.simulate.Simulator.outcome_fn`, carryover tail included). The objective is the
sum over models of the posterior mean incremental value (revenue; ``value_per_kpi`` times the
incremental KPI for a conversions model without revenue per KPI), minus spend for
``max_profit``. One compiled program evaluates the whole portfolio and its gradient; SLSQP runs
from the same starts as the single-model optimizer (current split, historical split, random
splits), so a portfolio of one model gives that model's own ``mixflow optimize`` plan.

Constraints: the total (spent exactly for ``max_revenue``; a cap for ``max_profit``), per-model
minimum and maximum budgets, and relative bounds ``LO..HI`` times each channel's spend in the
current split (every model at its recent 13-week pace, scaled so that together they spend the
total).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import minimize

from mixflow.analysis.stats import stat
from mixflow.errors import ConvergenceError, InfeasiblePlanError, SpecError, did_you_mean
from mixflow.optimize import BudgetProblem, FeasibleSet, resolve
from mixflow.optimize.constraints import money
from mixflow.optimize.solver import SCREEN_FTOL, unique_starts
from mixflow.portfolio.schema import Expected, Interval, ModelPlan, PortfolioPlan
from mixflow.simulate import Simulator

#: SLSQP settings, as the single-model optimizer's (see mixflow.optimize.solver)
FTOL = 1e-9
MAX_ITER = 200
N_RANDOM_STARTS = 3


class PortfolioObjective(StrEnum):
    """``max_revenue``: spend the whole total; ``max_profit``: revenue minus spend, the total
    is a cap."""

    MAX_REVENUE = "max_revenue"
    MAX_PROFIT = "max_profit"


@dataclass(frozen=True, eq=False)
class Member:
    """One fitted model of the portfolio: its name, simulator and value per KPI unit."""

    name: str
    simulator: Simulator
    value_per_kpi: float | None = None

    def __post_init__(self) -> None:
        data = self.simulator.posterior.dataset
        valued = data.value_is_currency
        if not valued and self.value_per_kpi is None:
            raise SpecError(
                f"model '{self.name}': its KPI '{data.kpi_type.value}' has no revenue per KPI, "
                "so its revenue is unknown; set value_per_kpi (currency per KPI unit) for it in "
                "the portfolio file, or leave it out of the portfolio"
            )
        if valued and self.value_per_kpi is not None:
            raise SpecError(
                f"model '{self.name}': value_per_kpi is only for KPIs without revenue; this "
                f"model's KPI is already valued in currency"
            )

    @property
    def coefs(self) -> tuple[float, float]:
        """Weights of (incremental KPI, incremental value) in the member's revenue."""
        return (self.value_per_kpi, 0.0) if self.value_per_kpi is not None else (0.0, 1.0)


@dataclass(frozen=True)
class PortfolioProblem:
    """The joint problem: ``total_budget`` (currency) over ``horizon`` weeks.

    Attributes:
        relative_bounds: ``(lo, hi)``: each channel within ``lo..hi`` times its spend in the
            current split.
        model_bounds: ``{model: (min, max)}`` the model's total (``max`` ``None``: no cap).
    """

    total_budget: float
    horizon: int = 13
    objective: PortfolioObjective = PortfolioObjective.MAX_REVENUE
    relative_bounds: tuple[float, float] | None = None
    model_bounds: Mapping[str, tuple[float, float | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        tb = float(self.total_budget)
        if not math.isfinite(tb) or tb <= 0:
            raise SpecError(f"budget must be a finite amount > 0, got {self.total_budget!r}")
        object.__setattr__(self, "total_budget", tb)
        # BudgetProblem checks the horizon and the relative bounds with the optimizer's words
        BudgetProblem(horizon=self.horizon, budget=tb, relative_bounds=self.relative_bounds)
        try:
            object.__setattr__(self, "objective", PortfolioObjective(self.objective))
        except ValueError:
            allowed = ", ".join(o.value for o in PortfolioObjective)
            raise SpecError(f"objective must be one of {allowed}; got {self.objective!r}") from None
        for name, (lo, hi) in self.model_bounds.items():
            if not (math.isfinite(lo) and lo >= 0) or (hi is not None and not hi >= lo):
                raise SpecError(f"model bounds of '{name}': need 0 <= MIN <= MAX, got {lo:g}:{hi}")


@dataclass(frozen=True, eq=False)
class JointPlan:
    """The optimized plan as arrays (``plan``: the document written) for charts and tests.

    ``allocation`` and ``current`` are ``{model: (C_m,)}`` totals over the horizon."""

    plan: PortfolioPlan
    allocation: dict[str, np.ndarray]
    current: dict[str, np.ndarray]
    channels: dict[str, tuple[str, ...]]


class _Joint:
    """The portfolio's compiled functions (one program each, whatever the number of models):
    the objective and its gradient ``x (N,) -> (value, (N,))``, and each model's per-draw
    revenue ``x (N,) -> [(S_m,)]``."""

    def __init__(
        self, members: Sequence[Member], sets: Sequence[FeasibleSet], horizon: int, profit: bool
    ) -> None:
        outcomes = [m.simulator.outcome_fn(horizon) for m in members]
        maps = [jnp.asarray(fs.mapping(), jnp.float32) for fs in sets]
        coefs = [m.coefs for m in members]
        cuts = np.cumsum([0, *(len(fs.channels) for fs in sets)])
        self.cuts = cuts
        self.profit = profit

        def revenue(x: jnp.ndarray) -> list[jnp.ndarray]:
            out = []
            for i, fn in enumerate(outcomes):
                xi = x[cuts[i] : cuts[i + 1]]
                kpi, value = fn(xi[None, None, :] * maps[i])
                out.append(coefs[i][0] * kpi + coefs[i][1] * value)
            return out

        def total(x: jnp.ndarray) -> jnp.ndarray:
            out = jnp.sum(jnp.stack([jnp.mean(r) for r in revenue(x)]))
            return out - jnp.sum(x) if profit else out

        self._vg = jax.jit(jax.value_and_grad(total))
        self._revenue = jax.jit(revenue)

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        val, grad = self._vg(jnp.asarray(x, jnp.float32))
        return float(val), np.asarray(grad, np.float64)

    def revenue_draws(self, x: np.ndarray) -> list[np.ndarray]:
        """Each model's per-draw incremental revenue ``(S_m,)`` at ``x`` (currency)."""
        return [np.asarray(r, np.float64) for r in self._revenue(jnp.asarray(x, jnp.float32))]

    def marginal_roi(self, x: np.ndarray) -> np.ndarray:
        """``(N,)`` d revenue / d spend of every channel at ``x`` (posterior mean): the models
        are separable, so this is the objective's gradient (plus 1 for profit)."""
        grad = self(x)[1]
        return grad + 1.0 if self.profit else grad


def _joint_set(
    members: Sequence[Member], sets: Sequence[FeasibleSet], problem: PortfolioProblem
) -> FeasibleSet:
    """The joint constraints as one :class:`FeasibleSet` over all channels (its geo split and
    weekly pattern are placeholders: each model maps its own slice with its own set)."""
    total = problem.total_budget
    recent = np.concatenate([fs.current for fs in sets])
    if recent.sum() <= 0:
        raise InfeasiblePlanError("no model spent anything in its last 13 weeks: no current split")
    cur = recent * total / recent.sum()
    n = len(cur)
    names = tuple(
        f"{m.name}/{ch}" for m, fs in zip(members, sets, strict=True) for ch in fs.channels
    )
    if problem.relative_bounds is not None:
        lo_m, hi_m = problem.relative_bounds
        lo, hi = lo_m * cur, hi_m * cur
    else:
        lo, hi = np.zeros(n), np.full(n, np.inf)
    rows: list[np.ndarray] = []
    rhs: list[float] = []
    labels: list[str] = []
    index = {m.name: i for i, m in enumerate(members)}
    cuts = np.cumsum([0, *(len(fs.channels) for fs in sets)])
    for name, (mn, mx) in problem.model_bounds.items():
        if name not in index:
            raise SpecError(
                f"--model-bounds: unknown model '{name}'{did_you_mean(name, list(index))}; the "
                f"portfolio's fitted models are {list(index)}"
            )
        i = index[name]
        row = np.zeros(n)
        row[cuts[i] : cuts[i + 1]] = 1.0
        if mx is not None:
            rows.append(row)
            rhs.append(float(mx))
            labels.append(f"model '{name}' max {money(mx)}")
        if mn > 0:
            rows.append(-row)
            rhs.append(-float(mn))
            labels.append(f"model '{name}' min {money(mn)}")
    fixed = problem.objective is PortfolioObjective.MAX_REVENUE
    if fixed and lo.sum() > total * (1 + 1e-9):
        raise InfeasiblePlanError(
            f"relative bounds {problem.relative_bounds}: channel minimums {money(lo.sum())} "
            f"exceed the budget {money(total)}"
        )
    if fixed and hi.sum() < total * (1 - 1e-9):
        raise InfeasiblePlanError(
            f"relative bounds {problem.relative_bounds}: channel maximums {money(hi.sum())} "
            f"are below the budget {money(total)}"
        )
    weights = np.array([fs.current.sum() for fs in sets]) / recent.sum()
    hist = np.concatenate([fs.hist_share * w for fs, w in zip(sets, weights, strict=True)])
    fs = FeasibleSet(
        channels=names,
        lo=lo,
        hi=hi,
        locked=np.zeros(n, dtype=bool),
        total=total,
        fixed_total=fixed,
        rows=np.array(rows).reshape(len(rows), n),
        rhs=np.asarray(rhs, np.float64),
        row_labels=tuple(labels),
        hist_share=hist / hist.sum(),
        share_lo=np.zeros(n),
        share_hi=np.full(n, np.inf),
        geo_share=np.ones((1, n)),
        pattern=np.full((problem.horizon, n), 1.0 / problem.horizon),
        current=cur,
    )
    if len(fs.rhs) and fs.lp_point(np.zeros(n)) is None:
        raise InfeasiblePlanError(
            f"the model bounds cannot be met together with the budget {money(total)}"
            + (f" and relative bounds {problem.relative_bounds}" if problem.relative_bounds else "")
            + ": "
            + "; ".join(labels)
        )
    return fs


def _solve(
    fn: _Joint, fs: FeasibleSet, x0: np.ndarray, center: np.ndarray, ftol: float = FTOL
) -> np.ndarray | None:
    """SLSQP from ``x0`` in scaled free variables (as the single-model solver)."""
    s = fs.scale
    free = fs.hi - fs.lo > 1e-12 * s
    base = np.where(free, 0.0, fs.lo)
    if not free.any():
        return fs.project(base, center)
    fscale = max(abs(fn(x0)[0]), 1e-9 * s)

    def x_of(z: np.ndarray) -> np.ndarray:
        x = base.copy()
        x[free] = z * s
        return x

    def fun(z: np.ndarray) -> tuple[float, np.ndarray]:
        val, grad = fn(x_of(z))
        return -val / fscale, -grad[free] * s / fscale

    room = (fs.total - base.sum()) / s
    ones = np.ones(int(free.sum()))
    cons: list[dict[str, Any]] = [
        {
            "type": "eq" if fs.fixed_total else "ineq",
            "fun": lambda z: room - z.sum(),
            "jac": lambda z: -ones,
        }
    ]
    if len(fs.rhs):
        a = fs.rows[:, free]
        b = (fs.rhs - fs.rows @ base) / s
        cons.append({"type": "ineq", "fun": lambda z: b - a @ z, "jac": lambda z: -a})
    hi = [None if not np.isfinite(h) else h / s for h in fs.hi[free]]
    res = minimize(
        fun,
        x0[free] / s,
        jac=True,
        method="SLSQP",
        bounds=list(zip((fs.lo[free] / s).tolist(), hi, strict=True)),
        constraints=cons,
        options={"maxiter": MAX_ITER, "ftol": ftol},
    )
    if not np.all(np.isfinite(res.x)):
        return None
    return fs.project(x_of(np.asarray(res.x, np.float64)), center)


def _interval(draws: np.ndarray) -> Interval:
    st = stat(draws)
    return Interval(mean=st["mean"], hdi_90=(st["hdi_90"][0], st["hdi_90"][1]))


def _expected(value: np.ndarray, spend: float) -> Expected:
    return Expected(
        incremental_revenue=_interval(value),
        roi=_interval(value / spend) if spend > 0 else None,
    )


class PortfolioOptimizer:
    """Optimizes portfolio problems over one set of members; the compiled portfolio program
    is kept per (horizon, objective), so a second problem on the same models (another budget,
    other bounds) skips compiling (as :class:`mixflow.optimize.BudgetOptimizer` does for one
    model)."""

    def __init__(self, members: Sequence[Member], n_random_starts: int = N_RANDOM_STARTS) -> None:
        if not members:
            raise SpecError("the portfolio has no fitted model to optimize")
        names = [m.name for m in members]
        if len(set(names)) != len(names):
            raise SpecError(f"model names must be unique, got {names}")
        self.members = tuple(members)
        self.n_random_starts = n_random_starts
        self._compiled: dict[tuple[int, bool], _Joint] = {}

    def optimize(self, problem: PortfolioProblem, seed: int = 0) -> JointPlan:
        """The joint split of ``problem.total_budget`` over the members' channels (see the
        module docstring).

        Raises:
            SpecError: unknown model names in the bounds.
            InfeasiblePlanError: bounds that contradict the budget (named).
            ConvergenceError: no start produced a plan satisfying every constraint.
        """
        members = self.members
        profit = problem.objective is PortfolioObjective.MAX_PROFIT
        single = BudgetProblem(horizon=problem.horizon, budget=problem.total_budget)
        sets = [resolve(single, m.simulator.posterior.dataset) for m in members]
        fs = _joint_set(members, sets, problem)
        key = (problem.horizon, profit)
        if key not in self._compiled:
            # the plan mapping (geo split, flat weekly pattern) depends on the data and the
            # horizon only, so the program serves every budget and bound
            self._compiled[key] = _Joint(members, sets, problem.horizon, profit)
        fn = self._compiled[key]
        rng = np.random.default_rng(seed)
        center = fs.interior_point(rng)
        starts = unique_starts(fs.budget_starts(fs.current, center, rng, self.n_random_starts), fs)
        screened = [_solve(fn, fs, x0, center, SCREEN_FTOL) for x0 in starts]
        ok = [x for x in [*screened, *starts] if x is not None and not fs.violations(x)]
        if ok:
            polished = _solve(fn, fs, max(ok, key=lambda x: fn(x)[0]), center)
            if polished is not None and not fs.violations(polished):
                ok.append(polished)
        if not ok:
            raise ConvergenceError(
                "the portfolio optimizer found no plan satisfying every constraint"
            )
        best = max(ok, key=lambda x: fn(x)[0])
        return _assemble(members, sets, fs, fn, problem, best)


def optimize_portfolio(
    members: Sequence[Member],
    problem: PortfolioProblem,
    seed: int = 0,
    n_random_starts: int = N_RANDOM_STARTS,
) -> JointPlan:
    """Optimize ``problem`` over ``members`` (see :class:`PortfolioOptimizer`; build one to
    solve several problems without recompiling)."""
    return PortfolioOptimizer(members, n_random_starts).optimize(problem, seed=seed)


def _assemble(
    members: Sequence[Member],
    sets: Sequence[FeasibleSet],
    fs: FeasibleSet,
    fn: _Joint,
    problem: PortfolioProblem,
    best: np.ndarray,
) -> JointPlan:
    cuts = fn.cuts
    best_draws, cur_draws = fn.revenue_draws(best), fn.revenue_draws(fs.current)
    mroi_all = fn.marginal_roi(best)
    n_draws = min(m.simulator.n_draws for m in members)
    totals = np.zeros((2, n_draws))
    models: dict[str, ModelPlan] = {}
    alloc: dict[str, np.ndarray] = {}
    cur: dict[str, np.ndarray] = {}
    for i, (m, s) in enumerate(zip(members, sets, strict=True)):
        xi, ci = best[cuts[i] : cuts[i + 1]], fs.current[cuts[i] : cuts[i + 1]]
        revenue = np.stack([best_draws[i], cur_draws[i]])  # (2, S)
        # the models' posteriors are independent: draws paired by position are joint draws
        pick = np.linspace(0, revenue.shape[1] - 1, n_draws).round().astype(int)
        totals += revenue[:, pick]
        mroi = mroi_all[cuts[i] : cuts[i + 1]]
        chans = s.channels
        models[m.name] = ModelPlan(
            budget=float(xi.sum()),
            current_budget=float(ci.sum()),
            allocation={ch: float(v) for ch, v in zip(chans, xi, strict=True)},
            current_allocation={ch: float(v) for ch, v in zip(chans, ci, strict=True)},
            marginal_roi={ch: float(v) for ch, v in zip(chans, mroi, strict=True)},
            expected=_expected(revenue[0], float(xi.sum())),
            current_expected=_expected(revenue[1], float(ci.sum())),
            value_per_kpi=m.value_per_kpi,
        )
        alloc[m.name], cur[m.name] = xi, ci
    spend = np.array([best.sum(), fs.current.sum()])
    gain = totals - spend[:, None] if problem.objective is PortfolioObjective.MAX_PROFIT else totals
    plan = PortfolioPlan(
        total_budget=problem.total_budget,
        horizon_weeks=problem.horizon,
        objective=problem.objective.value,
        relative_bounds=problem.relative_bounds,
        model_bounds=dict(problem.model_bounds),
        models=models,
        expected=_expected(totals[0], float(spend[0])),
        current_expected=_expected(totals[1], float(spend[1])),
        probability_beats_current=float(np.mean(gain[0] > gain[1])),
        n_draws=n_draws,
    )
    names = {m.name: s.channels for m, s in zip(members, sets, strict=True)}
    return JointPlan(plan=plan, allocation=alloc, current=cur, channels=names)


__all__ = [
    "JointPlan",
    "Member",
    "PortfolioObjective",
    "PortfolioOptimizer",
    "PortfolioProblem",
    "optimize_portfolio",
]
