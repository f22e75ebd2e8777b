"""A budget problem resolved against a fitted model: linear constraints on channel totals.

:func:`resolve` reads the model's data (channel names, the current plan's shares, default budget and
current plan, weekly pattern) and checks feasibility before any solving, raising
:class:`~mixflow.errors.InfeasiblePlanError` with the constraint named.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixflow.data.dataset import MMMDataset
from mixflow.errors import InfeasiblePlanError, SpecError, did_you_mean
from mixflow.optimize.problem import (
    SEARCH_CAP_MULTIPLE,
    BudgetProblem,
    Objective,
    SpendPattern,
)

#: weeks of history behind the historical weekly pattern and the geo split
SHARE_WEEKS = 52
#: weeks of history behind "current": the current plan (their weekly average x horizon), its
#: channel shares (what ``relative_bounds`` multiply) and the default budget (its total). One
#: baseline, so a plan's change against "current" stays within its relative bounds
CURRENT_WEEKS = 13


@dataclass(frozen=True, eq=False)
class FeasibleSet:
    """A problem resolved against a model: linear constraints on channel totals ``x (C,)``.

    ``lo <= x <= hi``; ``sum(x) == total`` when ``fixed_total`` else ``sum(x) <= total``;
    ``rows @ x <= rhs`` (flights, and relative bounds when the total is free). Shares and the
    weekly pattern map totals to a plan: ``spend = x * geo_share[:, None] * pattern[None]``.

    Attributes:
        channels: ``C`` names in the model's order.
        lo, hi: ``(C,)`` currency (``hi`` may be ``inf``); equal for locked channels.
        locked: ``(C,)`` bool.
        total: the budget (fixed) or the cap on total spend (currency).
        rows, rhs, row_labels: ``(m, C)``, ``(m,)`` and ``m`` names of the linear constraints.
        hist_share: ``(C,)`` share of each channel in the current plan (the last
            :data:`CURRENT_WEEKS` weeks' spend).
        share_lo, share_hi: ``(C,)`` relative-bound multipliers of ``hist_share`` (0 and
            ``inf`` where none apply), used to name the bound a channel sits at.
        geo_share: ``(G, C)`` split of each channel over geos (columns sum to 1).
        pattern: ``(H, C)`` weekly shape of each channel (columns sum to 1).
        current: ``(C,)`` the default current plan (last 13 weeks' weekly average x H).
    """

    channels: tuple[str, ...]
    lo: np.ndarray
    hi: np.ndarray
    locked: np.ndarray
    total: float
    fixed_total: bool
    rows: np.ndarray
    rhs: np.ndarray
    row_labels: tuple[str, ...]
    hist_share: np.ndarray
    share_lo: np.ndarray
    share_hi: np.ndarray
    geo_share: np.ndarray
    pattern: np.ndarray
    current: np.ndarray

    @property
    def scale(self) -> float:
        """Typical size of the decision (currency): variables are solved as ``x / scale``."""
        return max(self.total, 1.0)

    def spend(self, x: np.ndarray) -> np.ndarray:
        """``(G, H, C)`` plan spend for channel totals ``x (C,)``."""
        return np.asarray(x)[None, None, :] * self.mapping()

    def mapping(self) -> np.ndarray:
        """``(G, H, C)`` spend per unit of channel total."""
        return self.geo_share[:, None, :] * self.pattern[None, :, :]

    def effective_bounds(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(C,)`` lower and upper bounds at ``x``, relative bounds included."""
        tot = float(np.sum(x))
        lo = np.maximum(self.lo, self.share_lo * self.hist_share * tot)
        with np.errstate(invalid="ignore"):
            rel_hi = np.where(
                np.isfinite(self.share_hi), self.share_hi * self.hist_share * tot, np.inf
            )
        return lo, np.minimum(self.hi, rel_hi)

    def violations(self, x: np.ndarray, rtol: float = 1e-6) -> list[str]:
        """Names of the constraints ``x`` breaks by more than ``rtol`` of the scale."""
        tol = rtol * self.scale
        out: list[str] = []
        for i, ch in enumerate(self.channels):
            if x[i] < self.lo[i] - tol or x[i] > self.hi[i] + tol:
                out.append(f"channel '{ch}' bounds [{money(self.lo[i])}, {money(self.hi[i])}]")
        tot = float(np.sum(x))
        if self.fixed_total and abs(tot - self.total) > tol:
            out.append(f"total spend {money(tot)} != budget {money(self.total)}")
        if not self.fixed_total and tot > self.total + tol:
            out.append(f"total spend {money(tot)} > maximum {money(self.total)}")
        if len(self.rhs):
            bad = self.rows @ x > self.rhs + tol
            out.extend(lbl for lbl, b in zip(self.row_labels, bad, strict=True) if b)
        return out

    def project(self, x: np.ndarray, center: np.ndarray | None = None) -> np.ndarray:
        """A feasible point near ``x``: clip to the bounds, shift onto the total, then blend
        towards ``center`` (a feasible point) just enough to satisfy the linear rows."""
        y = np.clip(np.asarray(x, np.float64), self.lo, self.hi)
        if self.fixed_total or y.sum() > self.total:
            y = _shift_to_total(y, self.lo, self.hi, self.total)
        if center is not None and len(self.rhs):
            ay, ac = self.rows @ y, self.rows @ center
            over = ay > self.rhs
            if over.any():
                t = np.max((ay[over] - self.rhs[over]) / np.maximum(ay[over] - ac[over], 1e-300))
                y = (1.0 - min(t, 1.0)) * y + min(t, 1.0) * center
        return y

    def lp_point(self, cost: np.ndarray) -> np.ndarray | None:
        """The vertex minimizing ``cost @ x`` over the linear constraints (``None``: empty)."""
        from scipy.optimize import linprog

        c = len(self.channels)
        eq = {"A_eq": np.ones((1, c)), "b_eq": [self.total]} if self.fixed_total else {}
        a_ub = np.vstack([self.rows, np.ones((1, c))]) if not self.fixed_total else self.rows
        b_ub = np.concatenate([self.rhs, [self.total]]) if not self.fixed_total else self.rhs
        hi = [None if not np.isfinite(h) else float(h) for h in self.hi]
        res = linprog(
            cost,
            A_ub=a_ub if len(b_ub) else None,
            b_ub=b_ub if len(b_ub) else None,
            bounds=list(zip(self.lo.tolist(), hi, strict=True)),
            method="highs",
            **eq,
        )
        return np.asarray(res.x, np.float64) if res.status == 0 else None

    def interior_point(self, rng: np.random.Generator) -> np.ndarray:
        """A feasible point inside the linear rows (mean of LP vertices in random directions;
        without rows, the historical split projected onto the bounds and the total)."""
        if not len(self.rhs):
            return self.project(self.hist_share * self.total)
        c = len(self.lo)
        costs = [np.ones(c), -np.ones(c)] + [rng.normal(size=c) for _ in range(c)]
        pts = [p for p in (self.lp_point(k) for k in costs) if p is not None]
        if not pts:
            raise InfeasiblePlanError(f"no plan satisfies: {'; '.join(self.row_labels)}")
        return np.mean(pts, axis=0)

    def budget_starts(
        self, current: np.ndarray, center: np.ndarray, rng: np.random.Generator, n_random: int
    ) -> list[np.ndarray]:
        """Feasible starting points: the current plan (rescaled to a fixed budget), the
        historical split, and ``n_random`` random splits (of random totals when not fixed)."""
        total = self.total
        fixed = self.fixed_total
        raw = [current * total / current.sum() if current.sum() > 0 and fixed else current]
        raw.append(self.hist_share * total)
        if not fixed:  # profit: the best total is often well under the cap
            raw.append(0.5 * self.hist_share * total)
        for _ in range(n_random):
            share = rng.dirichlet(np.ones(len(self.lo)))
            raw.append(share * total * (1.0 if fixed else rng.uniform(0.2, 1.0)))
        return [self.project(x, center) for x in raw]


def resolve(problem: BudgetProblem, data: MMMDataset) -> FeasibleSet:
    """Resolve ``problem`` against the model's data and check it is feasible.

    Raises:
        SpecError: a channel name that is not in the model.
        InfeasiblePlanError: contradicting constraints; the message names them.
    """
    channels = tuple(data.channels)
    c, h = len(channels), problem.horizon
    recent = np.asarray(data.spend[:, -CURRENT_WEEKS:], np.float64)  # (G, W, C)
    current = recent.sum(axis=0).mean(axis=0) * h  # (C,) the current plan
    hist_share = current / current.sum() if current.sum() > 0 else np.full(c, 1.0 / c)
    default_budget = float(current.sum())
    idx = {ch: i for i, ch in enumerate(channels)}
    for name, keys in (
        ("bounds", problem.bounds),
        ("locked", problem.locked),
        ("flights", [ch for f in problem.flights for ch in f.channels]),
    ):
        for ch in keys:
            if ch not in idx:
                raise SpecError(
                    f"{name}: unknown channel '{ch}'{did_you_mean(ch, channels)}; "
                    f"the model's channels are {list(channels)}"
                )
    obj = problem.objective
    if obj.fixed_total or obj is Objective.MAX_PROFIT:
        total = problem.budget if problem.budget is not None else default_budget
    else:
        total = problem.budget if problem.budget else SEARCH_CAP_MULTIPLE * default_budget
    lo = np.array([problem.bounds[ch].min if ch in problem.bounds else 0.0 for ch in channels])
    hi = np.array([problem.bounds[ch].max if ch in problem.bounds else np.inf for ch in channels])
    locked = np.array([ch in problem.locked for ch in channels])
    for ch, amount in problem.locked.items():
        i = idx[ch]
        if not lo[i] - 1e-9 * amount <= amount <= hi[i] + 1e-9 * amount:
            raise InfeasiblePlanError(
                f"channel '{ch}': locked at {money(amount)} outside its bounds "
                f"[{money(lo[i])}, {money(hi[i])}]"
            )
        lo[i] = hi[i] = amount
    for i, ch in enumerate(channels):
        if lo[i] > hi[i]:
            raise InfeasiblePlanError(f"channel '{ch}': min {money(lo[i])} > max {money(hi[i])}")
    share_lo, share_hi = np.zeros(c), np.full(c, np.inf)
    rows: list[np.ndarray] = []
    rhs: list[float] = []
    labels: list[str] = []
    if problem.relative_bounds is not None:
        rel = problem.relative_bounds
        share_lo = np.where(locked, 0.0, rel[0])
        share_hi = np.where(locked, np.inf, rel[1])
        if obj.fixed_total:
            _apply_relative(lo, hi, locked, rel, hist_share, total, channels)
        else:
            rows, labels = _relative_rows(locked, rel, hist_share, channels)
            rhs = [0.0] * len(rows)
    cap = float(np.sum(hi))
    if not obj.fixed_total:
        total = min(total, cap)
    _check_totals(lo, hi, total, obj.fixed_total)
    pattern = _pattern(data, problem)
    for f in problem.flights:
        sel = [idx[ch] for ch in f.channels] if f.channels else list(range(c))
        row = np.zeros(c)
        row[sel] = pattern[f.start_week : f.end_week, sel].sum(axis=0)
        if row @ lo > f.max_spend * (1 + 1e-9):
            raise InfeasiblePlanError(
                f"{f.label()}: the channel minimums already spend {money(row @ lo)} there, "
                f"above its cap {money(f.max_spend)}"
            )
        rows.append(row)
        rhs.append(f.max_spend)
        labels.append(f"{f.label()} cap {money(f.max_spend)}")
    fs = FeasibleSet(
        channels=channels,
        lo=lo,
        hi=hi,
        locked=locked,
        total=float(total),
        fixed_total=obj.fixed_total,
        rows=np.array(rows).reshape(len(rows), c),
        rhs=np.asarray(rhs, np.float64),
        row_labels=tuple(labels),
        hist_share=hist_share,
        share_lo=share_lo,
        share_hi=share_hi,
        geo_share=_geo_share(data),
        pattern=pattern,
        current=current,
    )
    if len(fs.rhs) and fs.lp_point(np.zeros(c)) is None:
        what = "flight budgets" if problem.flights else f"relative bounds {problem.relative_bounds}"
        raise InfeasiblePlanError(
            f"{what} cannot be met together with the channel bounds, locks and the "
            f"{'budget' if obj.fixed_total else 'maximum spend'} {money(total)}: "
            + "; ".join(labels)
        )
    return fs


def _apply_relative(
    lo: np.ndarray,
    hi: np.ndarray,
    locked: np.ndarray,
    rel: tuple[float, float],
    hist_share: np.ndarray,
    budget: float,
    channels: tuple[str, ...],
) -> None:
    """Fold relative bounds into ``lo``/``hi`` (in place) when the budget is fixed."""
    for i, ch in enumerate(channels):
        if locked[i]:
            continue
        rlo, rhi = rel[0] * hist_share[i] * budget, rel[1] * hist_share[i] * budget
        if max(lo[i], rlo) > min(hi[i], rhi) * (1 + 1e-12):
            raise InfeasiblePlanError(
                f"channel '{ch}': min {money(max(lo[i], rlo))} > max {money(min(hi[i], rhi))} "
                f"(relative bounds {rel[0]:g}:{rel[1]:g} of its current share "
                f"{hist_share[i]:.1%} give [{money(rlo)}, {money(rhi)}])"
            )
        lo[i], hi[i] = max(lo[i], rlo), min(hi[i], rhi)


def _relative_rows(
    locked: np.ndarray, rel: tuple[float, float], hist_share: np.ndarray, channels: tuple[str, ...]
) -> tuple[list[np.ndarray], list[str]]:
    """Relative bounds as rows ``a @ x <= 0`` when the total is free: ``lo * share * sum(x)
    <= x_c <= hi * share * sum(x)`` for each unlocked channel."""
    c = len(channels)
    rows, labels = [], []
    for i, ch in enumerate(channels):
        if locked[i]:
            continue
        if rel[0] * hist_share[i] > 0:
            row = np.full(c, rel[0] * hist_share[i])
            row[i] -= 1.0
            rows.append(row)
            labels.append(f"channel '{ch}': relative min {rel[0]:g} x share {hist_share[i]:.1%}")
        if rel[1] * hist_share[i] < 1.0:
            row = np.full(c, -rel[1] * hist_share[i])
            row[i] += 1.0
            rows.append(row)
            labels.append(f"channel '{ch}': relative max {rel[1]:g} x share {hist_share[i]:.1%}")
    return rows, labels


def _check_totals(lo: np.ndarray, hi: np.ndarray, total: float, fixed: bool) -> None:
    slack = 1e-9 * max(total, 1.0)
    if fixed and lo.sum() > total + slack:
        raise InfeasiblePlanError(
            f"sum of channel minimums {money(lo.sum())} exceeds the budget {money(total)}"
        )
    if fixed and hi.sum() < total - slack:
        raise InfeasiblePlanError(
            f"sum of channel maximums {money(hi.sum())} is below the budget {money(total)}"
        )
    if not fixed and lo.sum() > total + slack:
        raise InfeasiblePlanError(
            f"sum of channel minimums {money(lo.sum())} exceeds the maximum spend "
            f"(budget) {money(total)}"
        )


def _pattern(data: MMMDataset, problem: BudgetProblem) -> np.ndarray:
    """``(H, C)`` weekly shape per channel; historical: the same weeks a year earlier when the
    data has a year, else the last ``H`` weeks; flat where history has no spend."""
    h, c = problem.horizon, data.n_channels
    flat = np.full((h, c), 1.0 / h)
    if problem.pattern is SpendPattern.FLAT:
        return flat
    national = np.asarray(data.spend, np.float64).sum(axis=0)  # (T, C)
    t = national.shape[0]
    if t >= SHARE_WEEKS and h <= SHARE_WEEKS:
        window = national[t - SHARE_WEEKS : t - SHARE_WEEKS + h]
    elif t >= h:
        window = national[t - h :]
    else:
        return flat
    tot = window.sum(axis=0)
    return np.where(tot > 0, window / np.where(tot > 0, tot, 1.0), flat)


def _geo_share(data: MMMDataset) -> np.ndarray:
    """``(G, C)`` split of each channel over geos in the last 52 weeks (population split where a
    channel did not spend)."""
    recent = np.asarray(data.spend[:, -SHARE_WEEKS:], np.float64).sum(axis=1)  # (G, C)
    tot = recent.sum(axis=0)
    pop = np.asarray(data.population, np.float64)
    pop_share = pop / pop.sum()
    return np.where(tot > 0, recent / np.where(tot > 0, tot, 1.0), pop_share[:, None])


def _shift_to_total(y: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: float) -> np.ndarray:
    """``clip(y + lam, lo, hi)`` with ``lam`` chosen so the sum is ``total`` (bisection)."""
    finite_hi = np.where(np.isfinite(hi), hi, total + np.abs(y).max() + 1.0)
    a, b = -np.max(y - lo) - 1.0, np.max(finite_hi - y) + 1.0
    for _ in range(200):
        mid = 0.5 * (a + b)
        if np.clip(y + mid, lo, hi).sum() < total:
            a = mid
        else:
            b = mid
        if b - a <= 1e-13 * max(total, 1.0):
            break
    out = np.clip(y + 0.5 * (a + b), lo, hi)
    # spread the last rounding residual over the channels strictly inside their bounds
    free = (out > lo) & (out < hi)
    if free.any():
        out[free] += (total - out.sum()) / free.sum()
        out = np.clip(out, lo, hi)
    return out


def money(v: float) -> str:
    """An amount for messages: ``1,234,567`` (``inf`` for no cap)."""
    if not np.isfinite(v):
        return "inf"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


__all__ = ["CURRENT_WEEKS", "SHARE_WEEKS", "FeasibleSet", "money", "resolve"]
