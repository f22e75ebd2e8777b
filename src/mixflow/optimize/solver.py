"""Budget optimization over the full posterior: SLSQP on JAX gradients, several starts.

Variables are the free channel totals scaled by the budget (``z = x / scale``, O(1)); the
objective is a risk measure over draws of a per-draw quantity (a linear mix of incremental KPI,
incremental value and spend), differentiated by JAX through the simulation engine. Everything
is compiled once per horizon and reused across problems (:class:`BudgetOptimizer`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import minimize

from mixflow.errors import ConvergenceError, InfeasiblePlanError, SpecError
from mixflow.optimize.constraints import FeasibleSet, money, resolve
from mixflow.optimize.identification import weak_moves
from mixflow.optimize.problem import BudgetProblem, Objective, Risk, risk_functions
from mixflow.optimize.result import OptimizationResult, build_result, objective_quantity
from mixflow.optimize.rf import with_frequency_report
from mixflow.simulate.engine import Simulator

#: constraint margin for target objectives (relative): float32 noise in the outcome is ~1e-7
TARGET_MARGIN = 1e-5
#: points per ray when searching starts for the target objectives
RAY_POINTS = 24
#: SLSQP's tolerance on the (O(1)-scaled) objective: float32 outcomes carry ~1e-7 noise, so
#: tighter settings only burn iterations. SLSQP also holds constraint violations to it, so the
#: float32 target constraint needs the looser one (its margin, 1e-5, absorbs the difference).
FTOL = 1e-9
#: budget objectives solve every start to this relative tolerance first and polish only the best
#: one to :data:`FTOL`: the objective is a float32 posterior mean whose resolution is ~1e-7 of
#: its value, so SLSQP at 1e-9 from every start mostly refined round-off (the starts agree to
#: ~1e-4 of the budget at 1e-5; a 20-model portfolio went from 8.6 s to 3.3 s, bench/portfolio.py)
SCREEN_FTOL = 1e-5
FTOL_TARGET = 1e-7
BATCH = 32  # allocations per compiled batch evaluation (padded: one compile per horizon)


@dataclass(frozen=True)
class Goal:
    """``risk`` over draws of ``kpi * coefs[0] + value * coefs[1] + spend * coefs[2]``."""

    coefs: tuple[float, float, float]
    risk: Risk


class _Compiled:
    """Per-draw outcomes of channel totals and risk-adjusted value-and-gradient, for one horizon.

    Plan shape and risk are arguments (not constants), so one compilation serves all problems
    of that horizon.
    """

    def __init__(self, simulator: Simulator, horizon: int) -> None:
        outcome = simulator.outcome_fn(horizon)
        branches = list(risk_functions(jnp))

        def draws(x: jnp.ndarray, m: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
            return outcome(x[None, None, :] * m)

        def goal(
            x: jnp.ndarray, m: jnp.ndarray, coefs: jnp.ndarray, kind: jnp.ndarray, level: Any
        ) -> jnp.ndarray:
            kpi, value = draws(x, m)
            per_draw = coefs[0] * kpi + coefs[1] * value + coefs[2] * jnp.sum(x)
            return jax.lax.switch(kind, branches, per_draw, level)

        self.draws = jax.jit(draws)
        self.goal_and_grad = jax.jit(jax.value_and_grad(goal))
        self.batch = jax.jit(jax.vmap(draws, in_axes=(0, None)))


class BudgetOptimizer:
    """Optimizes budget problems over one simulator's posterior draws.

    Compiled functions are cached per horizon, so solving many problems with one optimizer
    compiles once. ``n_random_starts`` random feasible points join the current allocation and
    the historical split as SLSQP starting points.
    """

    def __init__(self, simulator: Simulator, n_random_starts: int = 3, max_iter: int = 200) -> None:
        self.simulator = simulator
        self.n_random_starts = n_random_starts
        self.max_iter = max_iter
        self._compiled: dict[int, _Compiled] = {}

    # ------------------------------------------------------------------ evaluation
    def compiled(self, horizon: int) -> _Compiled:
        if horizon not in self._compiled:
            self._compiled[horizon] = _Compiled(self.simulator, horizon)
        return self._compiled[horizon]

    def draws(self, fs: FeasibleSet, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-draw incremental KPI and value ``(S,)`` of channel totals ``x (C,)``."""
        c = self.compiled(fs.pattern.shape[0])
        kpi, value = c.draws(jnp.asarray(x), jnp.asarray(fs.mapping()))
        return np.asarray(kpi, np.float64), np.asarray(value, np.float64)

    def batch_draws(self, fs: FeasibleSet, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-draw incremental KPI and value ``(N, S)`` of allocations ``xs (N, C)``."""
        c = self.compiled(fs.pattern.shape[0])
        m = jnp.asarray(fs.mapping())
        kpis, values = [], []
        for i in range(0, len(xs), BATCH):
            chunk = xs[i : i + BATCH]
            pad = np.concatenate([chunk, np.repeat(chunk[-1:], BATCH - len(chunk), axis=0)])
            k, v = c.batch(jnp.asarray(pad), m)
            kpis.append(np.asarray(k, np.float64)[: len(chunk)])
            values.append(np.asarray(v, np.float64)[: len(chunk)])
        return np.concatenate(kpis), np.concatenate(values)

    def goal(self, fs: FeasibleSet, goal: Goal, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Risk-adjusted ``goal`` at ``x (C,)`` and its gradient ``(C,)`` per unit of currency."""
        return self.goal_fn(fs, goal)(x)

    def goal_fn(
        self, fs: FeasibleSet, goal: Goal
    ) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
        """:meth:`goal` with its constant arguments moved to the device once (SLSQP calls it
        hundreds of times)."""
        c = self.compiled(fs.pattern.shape[0])
        m, coefs = jnp.asarray(fs.mapping()), jnp.asarray(goal.coefs)
        kind, level = jnp.int32(goal.risk.index), jnp.float32(goal.risk.level or 0.0)

        def fn(x: np.ndarray) -> tuple[float, np.ndarray]:
            val, grad = c.goal_and_grad(np.asarray(x, np.float32), m, coefs, kind, level)
            return float(val), np.asarray(grad, np.float64)

        return fn

    def objective_value(
        self, problem: BudgetProblem, allocations: np.ndarray | Mapping[str, float]
    ) -> np.ndarray:
        """The risk-adjusted objective of allocations ``(N, C)`` or ``(C,)`` (or a dict): the
        goal for budget objectives, risk-adjusted KPI for ``MIN_SPEND_FOR_KPI`` and risk-adjusted
        ROI for ``MAX_BUDGET_AT_ROI``. Returns ``(N,)`` or a scalar array."""
        fs = resolve(problem, self.simulator.posterior.dataset)
        xs = _as_array(allocations, fs.channels)
        flat = np.atleast_2d(xs)
        kpi, value = self.batch_draws(fs, flat)
        out = objective_quantity(problem, kpi, value, flat.sum(axis=1))
        return out if xs.ndim == 2 else out[0]

    # ------------------------------------------------------------------ solving
    def optimize(
        self,
        problem: BudgetProblem,
        current: np.ndarray | None = None,
        seed: int = 0,
        sd_ratios: Mapping[str, float | None] | None = None,
    ) -> OptimizationResult:
        """Solve ``problem``; ``current`` (``(C,)`` totals over the horizon, currency) is the plan
        to compare against (default: the last 13 weeks' average weekly spend x horizon).
        ``sd_ratios`` (channel -> posterior/prior log-sd of its ROI, as the run's summary holds
        them) marks the weakly identified channels: a plan moving budget into one carries the
        probability that the move loses money (``weak_moves``).

        Raises:
            SpecError: unknown channel names, or ``current`` of the wrong shape.
            InfeasiblePlanError: contradicting constraints or an unreachable target (named).
            ConvergenceError: no start produced a plan satisfying every constraint.
        """
        fs = resolve(problem, self.simulator.posterior.dataset)
        cur = fs.current if current is None else _as_array(current, fs.channels)
        if cur.shape != (len(fs.channels),) or not np.all(np.isfinite(cur)) or np.any(cur < 0):
            raise SpecError(
                f"current must be {len(fs.channels)} finite amounts >= 0 (one per channel "
                f"{list(fs.channels)}), got {np.asarray(current).tolist()}"
            )
        rng = np.random.default_rng(seed)
        center = fs.interior_point(rng)
        run = _Run(self, fs, problem, center)
        solved: list[np.ndarray | None]
        if problem.objective.fixed_total or problem.objective is Objective.MAX_PROFIT:
            starts = unique_starts(fs.budget_starts(cur, center, rng, self.n_random_starts), fs)
            solved = [run.solve(s, ftol=SCREEN_FTOL) for s in starts]
            screened = run.best([*solved, *starts])
            if screened is not None:
                solved.append(run.solve(screened))  # polish the best screened plan
        else:
            starts = run.target_starts(cur, rng, self.n_random_starts)
            solved = [run.solve(s) for s in starts]
        best = run.best([*solved, *starts])
        if best is None:
            raise ConvergenceError(
                f"the optimizer found no plan satisfying every constraint of '{problem.objective}'"
            )
        mroi = self.goal(fs, Goal((0.0, 1.0, 0.0), Risk.mean()), best)[1]
        kpi, value = self.batch_draws(fs, np.stack([best, cur]))
        result = build_result(
            problem=problem,
            fs=fs,
            allocation=best,
            current=cur,
            kpi=kpi,
            value=value,
            marginal_roi=mroi,
            objective_value=run.quantity(best),
            current_objective_value=run.quantity(cur),
            start_date=_next_date(self.simulator),
            geos=tuple(self.simulator.geos),
        )
        data = self.simulator.posterior.dataset
        moves = weak_moves(
            best,
            cur,
            fs.channels,
            sd_ratios or {},
            lambda xs: self.batch_draws(fs, xs)[1],
            value_is_currency=data.value_is_currency,
        )
        if moves:
            result = replace(result, weak_moves=moves)
        return with_frequency_report(result, self.simulator)  # R&F channels' frequency


def unique_starts(starts: list[np.ndarray], fs: FeasibleSet) -> list[np.ndarray]:
    """``starts`` without repeats (the current and the historical split often coincide)."""
    out: list[np.ndarray] = []
    for x in starts:
        if all(np.max(np.abs(x - y)) > 1e-9 * fs.scale for y in out):
            out.append(x)
    return out


class _Run:
    """One problem's objective, constraints and SLSQP calls (in scaled free variables)."""

    def __init__(
        self, opt: BudgetOptimizer, fs: FeasibleSet, problem: BudgetProblem, center: np.ndarray
    ) -> None:
        self.opt, self.fs, self.problem, self.center = opt, fs, problem, center
        self.scale = fs.scale
        self._goal_fns: dict[Goal, Callable[[np.ndarray], tuple[float, np.ndarray]]] = {}
        self.free = fs.hi - fs.lo > 1e-12 * fs.scale
        self.base = np.where(self.free, 0.0, fs.lo)
        obj = problem.objective
        self.maximize: Goal | None = None
        self.constraint: tuple[Goal, float, float] | None = None  # goal >= rhs, scaled by 1/size
        if obj is Objective.MAX_KPI:
            self.maximize = Goal((1.0, 0.0, 0.0), problem.risk)
        elif obj is Objective.MAX_REVENUE:
            self.maximize = Goal((0.0, 1.0, 0.0), problem.risk)
        elif obj is Objective.MAX_PROFIT:
            self.maximize = Goal((0.0, 1.0, -1.0), problem.risk)
        elif obj is Objective.MIN_SPEND_FOR_KPI:
            tk = float(problem.target_kpi or 0.0)
            self.constraint = (Goal((1.0, 0.0, 0.0), problem.risk), tk, tk)
        else:
            tr = float(problem.target_roi or 0.0)
            self.constraint = (Goal((0.0, 1.0, -tr), problem.risk), 0.0, tr * self.scale)

    def goal(self, goal: Goal, x: np.ndarray) -> tuple[float, np.ndarray]:
        if goal not in self._goal_fns:
            self._goal_fns[goal] = self.opt.goal_fn(self.fs, goal)
        return self._goal_fns[goal](x)

    def x_of(self, z: np.ndarray) -> np.ndarray:
        x = self.base.copy()
        x[self.free] = z * self.scale
        return x

    def quantity(self, x: np.ndarray) -> float:
        """The reported risk-adjusted objective at ``x``."""
        kpi, value = self.opt.draws(self.fs, x)
        return float(objective_quantity(self.problem, kpi[None], value[None], np.sum(x)[None])[0])

    def feasible(self, x: np.ndarray) -> bool:
        if self.fs.violations(x):
            return False
        if self.constraint is None:
            return True
        return self.meets_target(x)

    def meets_target(self, x: np.ndarray) -> bool:
        """Whether ``x`` clears the target with half the solver's margin to spare (so a zero
        plan never "keeps" an ROI target: 0 >= 0 is not enough)."""
        assert self.constraint is not None
        goal, rhs, size = self.constraint
        return self.goal(goal, x)[0] >= rhs + 0.5 * TARGET_MARGIN * size

    def score(self, x: np.ndarray) -> float:
        if self.maximize is not None:
            return self.goal(self.maximize, x)[0]
        sign = 1.0 if self.problem.objective is Objective.MAX_BUDGET_AT_ROI else -1.0
        return sign * float(np.sum(x))

    def best(self, candidates: list[np.ndarray | None]) -> np.ndarray | None:
        ok = [x for x in candidates if x is not None and self.feasible(x)]
        return max(ok, key=self.score) if ok else None

    def solve(
        self, x0: np.ndarray, maximize: Goal | None = None, ftol: float = FTOL
    ) -> np.ndarray | None:
        """SLSQP from ``x0`` to relative tolerance ``ftol``; returns the projected solution
        (feasibility checked by caller)."""
        maximize = maximize or self.maximize
        fs, free, s = self.fs, self.free, self.scale
        if not free.any():
            return fs.project(self.base, self.center)
        fscale = max(abs(self.goal(maximize, x0)[0]), 1e-9 * s) if maximize else 1.0
        target_sign = 1.0 if self.problem.objective is Objective.MAX_BUDGET_AT_ROI else -1.0

        def fun(z: np.ndarray) -> tuple[float, np.ndarray]:
            if maximize is None:  # the total: minimized (MIN_SPEND) or maximized (ROI)
                return -target_sign * float(z.sum()), -target_sign * np.ones_like(z)
            val, grad = self.goal(maximize, self.x_of(z))
            return -val / fscale, -grad[free] * s / fscale

        cons = self._linear_constraints()
        if self.constraint is not None and maximize is None:
            cons.append(self._target_constraint())
            ftol = FTOL_TARGET
        hi = [None if not np.isfinite(h) else h / s for h in fs.hi[free]]
        res = minimize(
            fun,
            x0[free] / s,
            jac=True,
            method="SLSQP",
            bounds=list(zip((fs.lo[free] / s).tolist(), hi, strict=True)),
            constraints=cons,
            options={"maxiter": self.opt.max_iter, "ftol": ftol},
        )
        if not np.all(np.isfinite(res.x)):
            return None
        return fs.project(self.x_of(np.asarray(res.x, np.float64)), self.center)

    def _linear_constraints(self) -> list[dict[str, Any]]:
        fs, free, s = self.fs, self.free, self.scale
        room = (fs.total - self.base.sum()) / s
        ones = np.ones(int(free.sum()))
        kind = "eq" if fs.fixed_total else "ineq"
        cons: list[dict[str, Any]] = [
            {"type": kind, "fun": lambda z: room - z.sum(), "jac": lambda z: -ones}
        ]
        if len(fs.rhs):
            a = fs.rows[:, free]
            b = (fs.rhs - fs.rows @ self.base) / s
            cons.append({"type": "ineq", "fun": lambda z: b - a @ z, "jac": lambda z: -a})
        return cons

    def _target_constraint(self) -> dict[str, Any]:
        assert self.constraint is not None
        goal, rhs, size = self.constraint
        cache: dict[bytes, tuple[float, np.ndarray]] = {}

        def value(z: np.ndarray) -> tuple[float, np.ndarray]:
            key = z.tobytes()
            if key not in cache:
                cache.clear()
                cache[key] = self.goal(goal, self.x_of(z))
            return cache[key]

        def fun(z: np.ndarray) -> float:
            return (value(z)[0] - rhs) / size - TARGET_MARGIN

        def jac(z: np.ndarray) -> np.ndarray:
            return value(z)[1][self.free] * self.scale / size

        return {"type": "ineq", "fun": fun, "jac": jac}

    # ------------------------------------------------------------------ target objectives
    def target_starts(
        self, cur: np.ndarray, rng: np.random.Generator, n_random: int
    ) -> list[np.ndarray]:
        """Feasible starts on rays from zero (current, historical and random directions):
        per ray the least spend reaching the KPI target, or the most spend keeping the ROI."""
        fs = self.fs
        assert self.constraint is not None
        goal, rhs, _ = self.constraint
        dirs = [cur, fs.hist_share] + [rng.dirichlet(np.ones(len(fs.lo))) for _ in range(n_random)]
        ts = np.geomspace(0.01, 1.0, RAY_POINTS)
        pts = np.array(
            [
                fs.project(t * fs.total * d / max(d.sum(), 1e-300), self.center)
                for d in dirs
                for t in ts
            ]
        )
        kpi, value = self.opt.batch_draws(fs, pts)
        per_draw = goal.coefs[0] * kpi + goal.coefs[1] * value + goal.coefs[2] * pts.sum(1)[:, None]
        ok = (goal.risk.apply(per_draw) >= rhs + TARGET_MARGIN * self.constraint[2]).reshape(
            len(dirs), RAY_POINTS
        )
        pts = pts.reshape(len(dirs), RAY_POINTS, -1)
        roi_target = self.problem.objective is Objective.MAX_BUDGET_AT_ROI
        starts = [
            pts[i, np.flatnonzero(ok[i])[-1 if roi_target else 0]]
            for i in range(len(dirs))
            if ok[i].any()
        ]
        if starts:
            return starts
        # no ray reaches the target: push the constrained goal itself as far as it goes
        best_ray = pts.reshape(-1, pts.shape[-1])[int(np.argmax(goal.risk.apply(per_draw)))]
        x = self.solve(best_ray, maximize=goal)
        if x is None or fs.violations(x) or not self.meets_target(x):
            raise self._unreachable(best_ray if x is None else x, pts, value)
        return [x]

    def _unreachable(self, x: np.ndarray, pts: np.ndarray, value: np.ndarray) -> Exception:
        fs, p = self.fs, self.problem
        if p.objective is Objective.MIN_SPEND_FOR_KPI:
            best = self.quantity(x)
            raise InfeasiblePlanError(
                f"target KPI {p.target_kpi:,.6g} is not reached even at the maximum spend "
                f"{money(fs.total)} (best {best:,.6g}, risk '{p.risk}')"
            )
        flat = pts.reshape(-1, pts.shape[-1])
        tot = flat.sum(axis=1)
        roi = np.where(tot > 0, p.risk.apply(value) / np.maximum(tot, 1e-300), -np.inf)
        i = int(np.argmax(roi))
        raise InfeasiblePlanError(
            f"target ROI {p.target_roi:g} is not reached at any spend up to {money(fs.total)} "
            f"(best ROI {roi[i]:.4g} at spend {money(tot[i])}, risk '{p.risk}')"
        )


def optimize(
    simulator: Simulator, problem: BudgetProblem, current: np.ndarray | None = None, seed: int = 0
) -> OptimizationResult:
    """Optimize ``problem`` over ``simulator``'s posterior draws (see :class:`BudgetOptimizer`;
    build one to solve several problems without recompiling)."""
    return BudgetOptimizer(simulator).optimize(problem, current=current, seed=seed)


def _as_array(values: np.ndarray | Mapping[str, float], channels: tuple[str, ...]) -> np.ndarray:
    if isinstance(values, Mapping):
        unknown = set(values) - set(channels)
        if unknown:
            raise SpecError(f"unknown channels {sorted(unknown)}; expected {list(channels)}")
        return np.array([float(values.get(ch, 0.0)) for ch in channels])
    return np.asarray(values, np.float64)


def _next_date(simulator: Simulator) -> np.datetime64:
    data = simulator.posterior.dataset
    return np.datetime64(data.dates[-1] + np.timedelta64(data.period_days, "D"))


__all__ = ["BudgetOptimizer", "Goal", "optimize"]
