"""The ``mixflow`` command line: thin commands over :mod:`mixflow.workflow`.

Errors mixflow raises on purpose print one line (``error: ...``) and exit with the error's code
(2 for bad input); nothing prints a traceback.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from mixflow.errors import MixflowError, SpecError

app = typer.Typer(
    name="mixflow",
    help="Bayesian marketing mix modeling: validate data, fit models, report ROI.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class Method(StrEnum):
    nuts = "nuts"
    map = "map"
    svi = "svi"


def _version(value: bool) -> None:
    if value:
        from mixflow import __version__

        typer.echo(f"mixflow {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="print mixflow's version and exit"
        ),
    ] = False,
) -> None:
    """Bayesian marketing mix modeling: validate data, fit models, report ROI."""


def _fail(err: MixflowError) -> None:
    typer.echo(f"error: {err}", err=True)
    raise typer.Exit(code=err.exit_code)


@app.command()
def validate(config: Annotated[Path, typer.Argument(help="YAML config file")]) -> None:
    """Check a config and its data against the data contract."""
    from mixflow.workflow import validate_config

    try:
        cfg, data = validate_config(config)
    except MixflowError as err:
        _fail(err)
        return
    typer.echo(
        f"ok: {data.n_times} periods ({data.dates[0]} .. {data.dates[-1]}), {data.n_geos} geo(s), "
        f"{data.n_channels} channels ({', '.join(data.channels)}), {len(data.control_names)} controls, "
        f"{len(data.event_names)} events; KPI '{cfg.data.kpi_column}' ({data.kpi_type.value})"
        + (
            f"; {len(cfg.calibration.tests)} lift test(s), calibration by {cfg.calibration.method}"
            if cfg.calibration and cfg.calibration.tests
            else ""
        )
    )


@app.command()
def fit(
    config: Annotated[Path, typer.Argument(help="YAML config file")],
    out: Annotated[Path, typer.Option("--out", help="run directory to write")],
    method: Annotated[Method | None, typer.Option(help="override fit.method")] = None,
    no_progress: Annotated[
        bool, typer.Option("--no-progress", help="hide the progress bar")
    ] = False,
    no_report: Annotated[bool, typer.Option("--no-report", help="skip the HTML report")] = False,
    register: Annotated[
        str | None,
        typer.Option(
            "--register", help="also log to MLflow and register as a version of this model"
        ),
    ] = None,
) -> None:
    """Fit a model and write posterior, summary.json, tables and report.html to OUT.

    With ``--register NAME`` the run is logged to MLflow, registered as a new version of NAME
    and checked against the governance gates (see ``mixflow register``)."""
    from mixflow.cli.runtime import setup_jax
    from mixflow.spec.config import load_config
    from mixflow.spec.model_spec import FitMethod

    try:
        cfg, _ = load_config(config)
        setup_jax(cfg.fit.chains)
        from mixflow.workflow import fit_run

        _, analysis = fit_run(
            config,
            out,
            method=FitMethod(method.value) if method else None,
            progress_bar=False if no_progress else None,
        )
        if not no_report:
            from mixflow.report import render_report

            render_report(out)
    except MixflowError as err:
        _fail(err)
        return
    _print_summary(analysis.summary, out)
    if register:
        from mixflow.cli.lifecycle import register as register_command

        register_command(out, register)


def _print_summary(summary: dict, out: Path) -> None:  # type: ignore[type-arg]
    d = summary["diagnostics"]
    typer.echo(f"{'channel':<14}{'spend':>14}{'ROI median':>12}  90% HDI")
    for ch, v in summary["channels"].items():
        lo, hi = v["roi"]["hdi_90"]
        typer.echo(f"{ch:<14}{v['spend']:>14,.0f}{v['roi']['median']:>12.2f}  [{lo:.2f}, {hi:.2f}]")
    f = summary["fit"]
    typer.echo(f"fit: R² {f['r2']:.3f}  MAPE {f['mape']:.1%}  NRMSE {f['nrmse']:.3f}")
    health = "ok" if d["ok"] else "WARNING: " + "; ".join(d["flags"])
    rhat = f"{d['rhat_max']:.3f}" if d["rhat_max"] is not None else "n/a"
    typer.echo(
        f"diagnostics: R-hat max {rhat}, {d['divergences']} divergences, {d['fit_seconds']:.1f} s: {health}"
    )
    from mixflow.analysis.summary import weakly_identified

    weak = weakly_identified(summary)
    if weak:
        typer.echo(
            f"weakly identified: the data left the ROI of {', '.join(weak)} close to its prior"
            " (posterior spread >= half the prior's); a lift test would pin it"
        )
    typer.echo(f"wrote {out}")


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="run directory written by `mixflow fit`")],
) -> None:
    """(Re)build RUN_DIR/report.html from a run directory."""
    from mixflow.report import render_report

    try:
        path = render_report(run_dir)
    except MixflowError as err:
        _fail(err)
        return
    typer.echo(f"wrote {path}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="folder for data, run and report")] = Path(
        "runs/demo"
    ),
    seed: Annotated[int, typer.Option(help="simulation and fit seed")] = 7,
    quick: Annotated[bool, typer.Option("--quick", help="fewer draws (for smoke tests)")] = False,
) -> None:
    """Simulate a brand with known ROIs, fit it, compare estimates with the truth, write a report."""
    from mixflow.cli.runtime import setup_jax

    setup_jax(4)
    from mixflow.cli.demo import run_demo

    try:
        result = run_demo(out, seed=seed, quick=quick)
    except MixflowError as err:
        _fail(err)
        return
    typer.echo(result)


def resolve_run_dir(run: Path | str) -> Path:
    """A run directory, or a registered model version (``models:/NAME@ALIAS``,
    ``models:/NAME/VERSION``) downloaded from the MLflow registry."""
    text = str(run)
    if text.startswith("models:"):
        import os

        from mixflow.lifecycle.registry import load_version
        from mixflow.lifecycle.settings import settings_from_env

        # Path() folds "models:/x" and "models://x" alike; MLflow expects "models:/x"
        uri = "models:/" + text.removeprefix("models:").lstrip("/")
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        return load_version(uri, settings_from_env(os.environ))
    return Path(run)


def _simulator_for(run_dir: Path) -> Any:
    from mixflow.cli.runtime import setup_jax

    setup_jax(1)
    from mixflow.simulate import Simulator
    from mixflow.workflow import load_run

    return Simulator(load_run(resolve_run_dir(run_dir)))


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

    try:
        sim = _simulator_for(run_dir)
        data = sim.posterior.dataset
        p = load_plan(plan, data)
        result = summarize(sim.simulate(p), p, conversions=data.kpi_type.value == "conversions")
    except MixflowError as err:
        _fail(err)
        return
    result["controls"] = (
        "held at their last observed values" if p.controls is None else "from the plan"
    )
    atomic_write_text(out / "simulation.json", json.dumps(result, indent=2))
    rows = ["period,kpi_mean,kpi_hdi_lo,kpi_hdi_hi"] + [
        f"{r['period']},{r['kpi_mean']},{r['kpi_hdi_90'][0]},{r['kpi_hdi_90'][1]}"
        for r in result["per_period"]
    ]
    atomic_write_text(out / "simulation_periods.csv", "\n".join(rows) + "\n")
    atomic_write_bytes(out / "simulation.png", plan_chart([result]))
    inc = result["incremental_revenue_with_tail"]
    roi = result["roi_with_tail"]
    typer.echo(f"plan '{p.name}': {p.horizon} weeks, spend {p.total:,.0f}")
    typer.echo(
        f"incremental revenue (with carryover tail) {inc['mean']:,.0f} "
        f"[{inc['hdi_90'][0]:,.0f}, {inc['hdi_90'][1]:,.0f}]"
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
    metric: Annotated[str, typer.Option(help="profit (revenue - spend) or kpi")] = "profit",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Compare plans side by side on the same posterior draws, with P(one beats the other)."""
    from mixflow.simulate import compare as compare_plans
    from mixflow.simulate import load_plan

    if metric not in ("profit", "kpi"):
        _fail(SpecError(f"--metric must be 'profit' or 'kpi', got {metric!r}"))
    if len(plans) < 2:
        _fail(SpecError("compare needs at least two plan files"))
    try:
        sim = _simulator_for(run_dir)
        loaded = [load_plan(p, sim.posterior.dataset) for p in plans]
        names = [p.name for p in loaded]
        if len(set(names)) != len(names):
            raise SpecError(f"plan names must differ, got {names}")
        result = compare_plans([(p, sim.simulate(p)) for p in loaded], metric)
    except MixflowError as err:
        _fail(err)
        return
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    typer.echo(f"{'plan':<20}{metric + ' mean':>18}  90% HDI")
    for name, st in result["plans"].items():
        typer.echo(
            f"{name:<20}{st['mean']:>18,.0f}  [{st['hdi_90'][0]:,.0f}, {st['hdi_90'][1]:,.0f}]"
        )
    for a, row in result["prob_beats"].items():
        for b, pr in row.items():
            typer.echo(f"P({a} beats {b}) = {pr:.2f}")
    typer.echo(f"best: {result['best']}")


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
            "--relative-bounds", help="LO:HI times each channel's share of the last 52 weeks"
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
    flighting: Annotated[str, typer.Option(help="flat | historical weekly pattern")] = "flat",
    seed: Annotated[int, typer.Option(help="seed of the random solver starts")] = 0,
) -> None:
    """Find the budget split that maximizes the objective over the full posterior."""
    import numpy as np

    from mixflow.data.io import atomic_write_bytes, atomic_write_text, csv_bytes
    from mixflow.report.plan_charts import allocation_chart

    try:
        from mixflow.optimize import BudgetOptimizer, BudgetProblem, Risk

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
        sim = _simulator_for(run_dir)
        current = None
        if budget is not None and problem.objective.fixed_total:
            from mixflow.optimize.recent import current_split

            # compare like with like: today's channel split (last 13 weeks) at the same budget
            current = current_split(sim.posterior.dataset, budget)
        result = BudgetOptimizer(sim).optimize(problem, current=current, seed=seed)
    except MixflowError as err:
        _fail(err)
        return
    payload = result.to_dict()
    curves = _allocation_curves(sim, result)
    atomic_write_text(out / "plan.json", json.dumps(payload, indent=2))
    atomic_write_bytes(out / "plan.csv", csv_bytes(result.to_frame()))
    atomic_write_bytes(
        out / "plan.png", allocation_chart(result.allocation, result.current_allocation, curves)
    )
    from mixflow.report.plan_report import render_plan_report

    render_plan_report(out)
    frame = result.to_frame()
    typer.echo(f"{'channel':<14}{'current':>14}{'optimized':>14}{'change':>9}{'mROI':>8}  bound")
    for row in frame.itertuples():
        pct = float(row.change_pct)  # type: ignore[arg-type]
        change = "" if np.isnan(pct) else f"{pct:+.0%}"
        typer.echo(
            f"{row.channel:<14}{row.current:>14,.0f}{row.optimized:>14,.0f}{change:>9}{row.marginal_roi:>8.2f}  {row.at_bound}"
        )
    exp, cur = payload["expected"], payload["current_expected"]
    typer.echo(
        f"incremental revenue: optimized {exp['incremental_revenue']['mean']:,.0f} vs current "
        f"{cur['incremental_revenue']['mean']:,.0f}; P(optimized beats current) = {payload['prob_beats_current']:.2f}"
    )
    typer.echo(f"wrote {out}")


def _allocation_curves(sim: Any, result: Any) -> dict[str, tuple[list[float], list[float]]]:
    """Each channel's incremental value over the horizon as its spend varies (others fixed)."""
    import numpy as np

    plan = result.plan
    h = plan.horizon
    fn = sim.outcome_fn(h)
    opt = plan.spend
    curves = {}
    for i, ch in enumerate(plan.channels):
        top = max(2.0 * result.allocation[ch], 1.5 * result.current_allocation[ch], 1.0)
        total = max(result.allocation[ch], 1e-9)
        grid = np.linspace(0.0, top, 21)
        values = []
        base = opt.copy()
        base[:, :, i] = 0.0
        v0 = float(np.mean(fn(base)[1]))
        for amount in grid:
            s = opt.copy()
            if result.allocation[ch] > 0:
                s[:, :, i] = opt[:, :, i] * (amount / total)
            else:
                s[:, :, i] = amount / (h * opt.shape[0])
            values.append(float(np.mean(fn(s)[1])) - v0)
        curves[ch] = (grid.tolist(), values)
    return curves


@app.command()
def summary(run_dir: Annotated[Path, typer.Argument(help="run directory")]) -> None:
    """Print a run's summary.json."""
    path = run_dir / "summary.json"
    if not path.is_file():
        _fail(SpecError(f"{path} not found; is {run_dir} a run directory?"))
    typer.echo(json.dumps(json.loads(path.read_text()), indent=2))


# lifecycle commands (register, promote, audit, models) register themselves on `app`
# (not when this file runs as `__main__`: see the end of the file)
if __name__ != "__main__":
    from mixflow.cli import experiment as _experiment  # noqa: F401
    from mixflow.cli import experiment_design as _experiment_design  # noqa: F401
    from mixflow.cli import experiment_impact as _experiment_impact  # noqa: F401
    from mixflow.cli import lifecycle as _lifecycle  # noqa: F401
    from mixflow.cli import monitor as _monitor  # noqa: F401


def _exit_on_sigterm(signum: int, frame: object) -> None:
    # an exception unwinds the command: a fit's temporary folder is removed, an open MLflow
    # run is marked FAILED (exit status 143 = 128 + 15, as a shell reports it)
    raise SystemExit(143)


def run() -> None:
    """Console entry point."""
    import signal

    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    # run as a script this file is `__main__`, a module apart from `mixflow.cli.main`, on whose
    # app the other command modules register themselves: run that app
    from mixflow.cli.main import run as _run

    _run()
