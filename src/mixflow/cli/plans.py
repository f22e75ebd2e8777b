"""``mixflow simulate | compare | optimize``: media plans over a fitted model's posterior."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from mixflow.cli.output import fmt_amount
from mixflow.cli.runtime import simulator_for
from mixflow.errors import SpecError

app = typer.Typer()


@app.command()
def simulate(
    run_dir: Annotated[Path, typer.Argument(help="run directory written by `mixflow fit`")],
    plan: Annotated[Path, typer.Option("--plan", help="plan file (.yaml or .csv)")],
    out: Annotated[Path, typer.Option("--out", help="folder for simulation.json, CSV and chart")],
) -> None:
    """Simulate a media plan over every posterior draw (carryover in and out included)."""
    from mixflow.data.io import atomic_write_bytes, atomic_write_text
    from mixflow.report.plan_charts import plan_chart
    from mixflow.simulate import load_plan, summarize
    from mixflow.simulate.schema import SimulationDocument

    sim = simulator_for(run_dir)
    data = sim.posterior.dataset
    p = load_plan(plan, data)
    conversions = data.kpi_type.value == "conversions"
    result = summarize(sim.simulate(p), p, conversions=conversions, period_days=data.period_days)
    result["controls"] = (
        "held at their last observed values" if p.controls is None else "from the plan"
    )
    result = SimulationDocument.model_validate(result).to_json_dict()  # the typed document
    atomic_write_text(out / "simulation.json", json.dumps(result, indent=2))
    rows = ["period,date,kpi_mean,kpi_hdi_lo,kpi_hdi_hi"] + [
        f"{r['period']},{r['date']},{r['kpi_mean']},{r['kpi_hdi_90'][0]},{r['kpi_hdi_90'][1]}"
        for r in result["per_period"]
    ]
    atomic_write_text(out / "simulation_periods.csv", "\n".join(rows) + "\n")
    atomic_write_bytes(out / "simulation.png", plan_chart([result]))
    inc = result["incremental_revenue_with_tail"]
    roi = result["roi_with_tail"]
    typer.echo(f"plan '{p.name}': {p.horizon} weeks, spend {fmt_amount(p.total)}")
    if sim.posterior.method.value == "map":
        typer.echo(
            f"incremental revenue (with carryover tail, point estimate: MAP fit) {fmt_amount(inc['mean'])}"
            + (f"; ROI {roi['mean']:.2f}" if roi else "")
        )
    else:
        typer.echo(
            f"incremental revenue (with carryover tail, posterior mean [90% HDI]) "
            f"{fmt_amount(inc['mean'])} [{fmt_amount(inc['hdi_90'][0])}, {fmt_amount(inc['hdi_90'][1])}]"
            + (
                f"; ROI {roi['mean']:.2f} [{roi['hdi_90'][0]:.2f}, {roi['hdi_90'][1]:.2f}]"
                if roi
                else ""
            )
        )
    typer.echo(f"wrote {out}")


@app.command()
def compare(
    run_dir: Annotated[Path, typer.Argument(help="run directory written by `mixflow fit`")],
    plans: Annotated[list[Path], typer.Argument(help="two or more plan files (.yaml or .csv)")],
    metric: Annotated[
        str,
        typer.Option(
            help="revenue | kpi | profit (revenue - spend), as in max_revenue|max_kpi|max_profit"
        ),
    ] = "profit",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Compare plans side by side on the same posterior draws, with P(one beats the other)."""
    from mixflow.optimize.identification import compare_weak_moves
    from mixflow.simulate import compare as compare_plans
    from mixflow.simulate import load_plan

    if metric not in ("revenue", "kpi", "profit"):
        raise SpecError(f"--metric must be 'revenue', 'kpi' or 'profit', got {metric!r}")
    if len(plans) < 2:
        raise SpecError("compare needs at least two plan files")
    sim = simulator_for(run_dir)
    loaded = [load_plan(p, sim.posterior.dataset) for p in plans]
    names = [p.name for p in loaded]
    if len(set(names)) != len(names):
        raise SpecError(f"plan names must differ, got {names}")
    result = compare_plans([(p, sim.simulate(p)) for p in loaded], metric)
    # each plan against the first: budget moved into a weakly identified channel says so
    moves = compare_weak_moves(sim, loaded, _sd_ratios(run_dir))
    result["reference"] = names[0]
    result["weakly_identified_moves"] = moves
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    if sim.posterior.method.value == "map":
        # one point of the posterior: no interval, and no probability to compute from it
        typer.echo(f"{'plan':<20}{metric + ' (point estimate)':>26}")
        for name, st in result["plans"].items():
            typer.echo(f"{name:<20}{fmt_amount(st['mean']):>26}")
        typer.echo("MAP fit: no P(one plan beats another) from a point estimate")
    else:
        typer.echo(f"{'plan':<20}{metric + ' mean':>18}  90% HDI")
        for name, st in result["plans"].items():
            typer.echo(
                f"{name:<20}{fmt_amount(st['mean']):>18}  [{fmt_amount(st['hdi_90'][0])}, {fmt_amount(st['hdi_90'][1])}]"
            )
        for a, row in result["prob_beats"].items():
            for b, pr in row.items():
                typer.echo(f"P({a} beats {b}) = {pr:.2f}")
    typer.echo(f"best: {result['best']}")
    for line in compare_weak_move_notes(moves, names[0]):
        typer.echo(line)


def compare_weak_move_notes(moves: Mapping[str, list[dict[str, Any]]], reference: str) -> list[str]:
    """``mixflow compare``'s warnings: one line per move, naming the plan and the reference."""
    from mixflow.optimize.identification import weak_move_notes

    return [
        f"WARNING: plan '{name}' against '{reference}': " + note.removeprefix("WARNING: ")
        for name, plan_moves in moves.items()
        for note in weak_move_notes(plan_moves, fmt_amount)
    ]


def _parse_relative_bounds(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    lo, sep, hi = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return float(lo), float(hi)
    except ValueError:
        raise SpecError(
            f"--relative-bounds must look like LO:HI (e.g. 0.5:2.0), got {text!r}"
        ) from None


def _parse_channel_bounds(items: list[str]) -> dict[str, tuple[float, float | None]]:
    out: dict[str, tuple[float, float | None]] = {}
    for item in items:
        name, sep, rng = item.partition("=")
        lo, sep2, hi = rng.partition(":")
        try:
            if not sep or not sep2:
                raise ValueError
            out[name] = (float(lo or 0.0), float(hi) if hi else None)
        except ValueError:
            raise SpecError(
                f"--bound must look like CHANNEL=MIN:MAX (MAX may be empty), got {item!r}"
            ) from None
    return out


def _parse_locks(items: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        name, sep, amount = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name] = float(amount)
        except ValueError:
            raise SpecError(f"--lock must look like CHANNEL=AMOUNT, got {item!r}") from None
    return out


@app.command()
def optimize(
    run_dir: Annotated[Path, typer.Argument(help="run directory written by `mixflow fit`")],
    out: Annotated[Path, typer.Option("--out", help="folder for plan.json, plan.csv and plan.png")],
    budget: Annotated[
        float | None, typer.Option(help="total budget over the horizon (default: recent spend)")
    ] = None,
    horizon: Annotated[int, typer.Option(help="weeks in the plan")] = 13,
    relative_bounds: Annotated[
        str | None,
        typer.Option(
            "--relative-bounds",
            help="LO:HI times each channel's current share (last 13 weeks, the 'current' column)",
        ),
    ] = None,
    bound: Annotated[
        list[str], typer.Option("--bound", help="CHANNEL=MIN:MAX total over the horizon")
    ] = [],  # noqa: B006
    lock: Annotated[list[str], typer.Option("--lock", help="CHANNEL=AMOUNT fixed total")] = [],  # noqa: B006
    objective: Annotated[
        str,
        typer.Option(
            help="max_revenue | max_kpi | max_profit | min_spend_for_kpi | max_budget_at_roi"
        ),
    ] = "max_revenue",
    risk: Annotated[
        str, typer.Option(help="mean | quantile:Q | mean_minus_k_sd:K | cvar:ALPHA")
    ] = "mean",
    target_kpi: Annotated[float | None, typer.Option(help="target for min_spend_for_kpi")] = None,
    target_roi: Annotated[float | None, typer.Option(help="target for max_budget_at_roi")] = None,
    flighting: Annotated[
        str, typer.Option(help="flat | historical (a plan file's flighting: the same names)")
    ] = "flat",
    seed: Annotated[int, typer.Option(help="seed of the random solver starts")] = 0,
    rf_frequency: Annotated[
        str,
        typer.Option(help="historical | optimal: the frequency R&F channels' spend buys"),
    ] = "historical",
) -> None:
    """Find the budget split that maximizes the objective over the full posterior."""
    import numpy as np

    from mixflow.data.io import atomic_write_bytes, atomic_write_text, csv_bytes
    from mixflow.optimize import BudgetOptimizer, BudgetProblem, Risk
    from mixflow.optimize.curves import allocation_curves
    from mixflow.report.plan_charts import allocation_chart

    problem = BudgetProblem(
        horizon=horizon,
        budget=budget,
        objective=objective,  # type: ignore[arg-type]
        risk=Risk.parse(risk),
        bounds=_parse_channel_bounds(bound),  # type: ignore[arg-type]
        relative_bounds=_parse_relative_bounds(relative_bounds),
        locked=_parse_locks(lock),
        pattern=flighting,  # type: ignore[arg-type]
        target_kpi=target_kpi,
        target_roi=target_roi,
    )
    from mixflow.optimize.recent import optimize_with_current
    from mixflow.optimize.rf import frequency_lines, optimal_simulator

    if rf_frequency not in ("historical", "optimal"):
        raise SpecError(f"--rf-frequency: expected 'historical' or 'optimal', got {rf_frequency!r}")
    sim = simulator_for(run_dir)
    if rf_frequency == "optimal":  # R&F channels at their posterior-mean optimal frequency
        sim = optimal_simulator(sim)
    ratios = _sd_ratios(run_dir)  # a plan moving budget into a weakly identified channel says so
    result = optimize_with_current(BudgetOptimizer(sim), problem, seed=seed, sd_ratios=ratios)
    payload = result.to_dict()
    curves = allocation_curves(sim, result)
    atomic_write_text(out / "plan.json", json.dumps(payload, indent=2))
    atomic_write_bytes(out / "plan.csv", csv_bytes(result.to_frame()))
    atomic_write_bytes(
        out / "plan.png", allocation_chart(result.allocation, result.current_allocation, curves)
    )
    from mixflow.report.plan_report import render_plan_report

    data = sim.posterior.dataset
    point = sim.posterior.method.value == "map"
    currency = data.value_is_currency
    story = plan_story(payload, point_estimate=point, value_is_currency=currency)
    render_plan_report(out, notes=story.notes, point_estimate=point)
    frame = result.to_frame()
    typer.echo(f"{'channel':<14}{'current':>14}{'optimized':>14}{'change':>9}{'mROI':>8}  bound")
    for row in frame.itertuples():
        pct = float(row.change_pct)  # type: ignore[arg-type]
        change = "" if np.isnan(pct) else f"{pct:+.0%}"
        typer.echo(
            f"{row.channel:<14}{fmt_amount(row.current):>14}{fmt_amount(row.optimized):>14}{change:>9}{row.marginal_roi:>8.2f}  {row.at_bound}"
        )
    for line in frequency_lines(payload.get("frequency")) + story.lines + story.notes:
        typer.echo(line)
    typer.echo(f"wrote {out}")


def _sd_ratios(run: Path) -> dict[str, float | None]:
    from mixflow.analysis.schema import SUMMARY_FILE, load_summary
    from mixflow.cli.runtime import resolve_run_dir
    from mixflow.optimize.identification import sd_ratios

    return sd_ratios(load_summary(resolve_run_dir(run) / SUMMARY_FILE))


@dataclass(frozen=True)
class PlanStory:
    """What ``mixflow optimize`` says under its table: ``lines`` (the objective's own value
    for both plans, spend against budget or cap, the probability of beating the current plan)
    and ``notes`` (warnings, also on plan.html)."""

    lines: list[str]
    notes: list[str]


#: marginal ROI of a revenue objective's last unit of spend below which it loses money
BREAK_EVEN_MROI = 1.0


def plan_story(
    payload: Mapping[str, Any], *, point_estimate: bool, value_is_currency: bool
) -> PlanStory:
    """The optimizer's story from ``plan.json``'s content (pure). ``current`` is the same
    baseline the relative bounds use: the last 13 weeks' split (at the plan's budget when one
    is given and spent in full)."""
    objective = str(payload["objective"])
    exp, cur = payload["expected"], payload["current_expected"]
    tag = " (point estimate)" if point_estimate else " (posterior mean)"
    spend, budget = float(payload["total_spend"]), float(payload["budget"])
    current_spend = float(sum(payload["current_allocation"].values()))
    if objective == "max_profit":
        profit = float(exp["incremental_revenue"]["mean"]) - spend
        cur_profit = float(cur["incremental_revenue"]["mean"]) - current_spend
        head = f"profit (incremental revenue - spend){tag}: optimized {fmt_amount(profit)} vs current {fmt_amount(cur_profit)}"
    elif objective in ("max_kpi", "min_spend_for_kpi"):
        head = (
            f"incremental KPI{tag}: optimized {fmt_amount(float(exp['incremental_kpi']['mean']))} vs "
            f"current {fmt_amount(float(cur['incremental_kpi']['mean']))}"
        )
    else:
        head = (
            f"incremental revenue{tag}: optimized {fmt_amount(float(exp['incremental_revenue']['mean']))}"
            f" vs current {fmt_amount(float(cur['incremental_revenue']['mean']))}"
        )
    fixed = objective in ("max_revenue", "max_kpi")
    lines = [
        f"objective {objective}, {head}",
        f"spend {fmt_amount(spend)} of {'the budget' if fixed else 'a cap of'} {fmt_amount(budget)} "
        f"({spend / budget:.0%}); current plan {fmt_amount(current_spend)}"
        if budget > 0
        else f"spend {fmt_amount(spend)}",
    ]
    notes: list[str] = []
    if point_estimate:
        notes.append(
            "point estimate (MAP fit): no probability that the plan beats the current one "
            "and no intervals; refit with NUTS before acting on the plan"
        )
    else:
        lines.append(f"P(optimized beats current) = {float(payload['prob_beats_current']):.2f}")
    if value_is_currency and objective in ("max_revenue", "max_kpi"):
        losing = {
            ch: float(m)
            for ch, m in payload["marginal_roi"].items()
            if float(m) < BREAK_EVEN_MROI and float(payload["allocation"][ch]) > 0
        }
        if losing:
            listed = ", ".join(f"{ch} {m:.2f}" for ch, m in sorted(losing.items()))
            notes.append(
                f"WARNING: marginal ROI below break-even ({BREAK_EVEN_MROI:g}) on {listed}: "
                "the plan's last units of spend there return less revenue than they cost; "
                "--objective max_profit or a smaller --budget spends less"
            )
    from mixflow.optimize.identification import weak_move_notes

    notes += weak_move_notes(payload.get("weakly_identified_moves"), fmt_amount)
    return PlanStory(lines=lines, notes=notes)
