"""``mixflow portfolio fit | optimize``: many models fitted on Ray, one budget split across them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mixflow.cli.output import fmt_amount
from mixflow.cli.runtime import setup_jax
from mixflow.errors import SpecError

if TYPE_CHECKING:
    from mixflow.portfolio import JointPlan

app = typer.Typer()

#: the files ``portfolio optimize`` writes into DIR
PLAN_FILE = "portfolio_plan.json"
CHART_FILE = "portfolio_plan.png"


def _tracking_env() -> dict[str, str]:
    """The lifecycle's environment for the workers, ``MIXFLOW_HOME`` made absolute (a worker's
    working directory is not the driver's)."""
    env = {"MIXFLOW_HOME": str(Path(os.environ.get("MIXFLOW_HOME") or ".mixflow").resolve())}
    for key in ("MLFLOW_TRACKING_URI", "MIXFLOW_EXPERIMENT"):
        if os.environ.get(key):
            env[key] = os.environ[key]
    return env


@app.command("fit")
def fit(
    portfolio_file: Annotated[Path, typer.Argument(help="portfolio YAML file")],
    out: Annotated[Path, typer.Option("--out", help="folder for run folders and portfolio.json")],
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address", help="Ray cluster address (default: RAY_ADDRESS, else a local Ray)"
        ),
    ] = None,
    register: Annotated[
        bool, typer.Option("--register", help="register each model in MLflow, with its gates")
    ] = False,
    cpus_per_fit: Annotated[
        int, typer.Option("--cpus-per-fit", min=1, help="CPUs each fit task declares to Ray")
    ] = 1,
    local_cpus: Annotated[
        int | None,
        typer.Option("--local-cpus", min=1, help="CPUs of a local Ray (default: all)"),
    ] = None,
    no_progress: Annotated[
        bool, typer.Option("--no-progress", help="hide the progress bar")
    ] = False,
) -> None:
    """Fit every model of a portfolio on Ray; a re-run resumes. Exit 0 when all succeeded, 1
    when some failed (each failure's message is in OUT/portfolio.json)."""
    from mixflow.portfolio import ModelState, RayOptions, fit_portfolio, load_portfolio

    portfolio = load_portfolio(portfolio_file)  # every entry checked before Ray starts
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    record = fit_portfolio(
        portfolio,
        out,
        ray_options=RayOptions(
            address=ray_address, cpus_per_fit=cpus_per_fit, local_cpus=local_cpus
        ),
        register=register,
        tracking_env=_tracking_env(),
        setup=setup_jax,
        progress=not no_progress,
    )
    typer.echo(f"{'model':<24}{'state':<11}{'R-hat':>7}{'seconds':>9}  detail")
    for name, rec in record.models.items():
        rhat = f"{rec.rhat_max:.3f}" if rec.rhat_max is not None else "n/a"
        secs = f"{rec.wall_seconds:.1f}" if rec.wall_seconds is not None else ""
        if rec.state is ModelState.FAILED:
            detail = str(rec.error).splitlines()[0] if rec.error else ""
        else:
            detail = "resumed" if rec.resumed else ""
            if rec.registered_version is not None:
                gates = "gates passed" if rec.gates_passed else "GATES FAILED"
                detail = f"{detail} version {rec.registered_version} ({gates})".strip()
        typer.echo(f"{name:<24}{rec.state.value:<11}{rhat:>7}{secs:>9}  {detail}")
    typer.echo(
        f"{record.succeeded} succeeded, {record.failed} failed; wrote {out / 'portfolio.json'}"
    )
    if record.failed:
        raise typer.Exit(code=1)


def _parse_range(text: str, what: str) -> tuple[float, float | None]:
    lo, sep, hi = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return float(lo or 0.0), float(hi) if hi else None
    except ValueError:
        raise SpecError(f"{what} must look like MIN:MAX (MAX may be empty), got {text!r}") from None


def _parse_model_bounds(items: list[str]) -> dict[str, tuple[float, float | None]]:
    out: dict[str, tuple[float, float | None]] = {}
    for item in items:
        name, sep, rng = item.partition("=")
        if not sep or not name:
            raise SpecError(f"--model-bounds must look like NAME=MIN:MAX, got {item!r}")
        out[name] = _parse_range(rng, f"--model-bounds {name}")
    return out


@app.command("optimize")
def optimize(
    out_dir: Annotated[Path, typer.Argument(help="folder written by `mixflow portfolio fit`")],
    budget: Annotated[float, typer.Option(help="total budget over the horizon, all models")],
    horizon: Annotated[int, typer.Option(help="weeks in the plan")] = 13,
    relative_bounds: Annotated[
        str | None,
        typer.Option(
            "--relative-bounds",
            help="LO:HI times each channel's spend in the current split (recent 13-week pace)",
        ),
    ] = None,
    model_bounds: Annotated[
        list[str], typer.Option("--model-bounds", help="NAME=MIN:MAX a model's total budget")
    ] = [],  # noqa: B006
    objective: Annotated[str, typer.Option(help="max_revenue | max_profit")] = "max_revenue",
    seed: Annotated[int, typer.Option(help="seed of the random solver starts")] = 0,
) -> None:
    """Split one budget jointly over every fitted model's channels; writes
    DIR/portfolio_plan.json and DIR/portfolio_plan.png."""
    from mixflow.data.io import atomic_write_bytes, atomic_write_text
    from mixflow.portfolio import (
        Member,
        ModelState,
        PortfolioProblem,
        optimize_portfolio,
        read_record,
    )

    rel = None
    if relative_bounds is not None:
        lo, hi = _parse_range(relative_bounds, "--relative-bounds")
        if hi is None:
            raise SpecError(f"--relative-bounds must look like LO:HI, got {relative_bounds!r}")
        rel = (lo, hi)
    problem = PortfolioProblem(
        total_budget=budget,
        horizon=horizon,
        objective=objective,  # type: ignore[arg-type]
        relative_bounds=rel,
        model_bounds=_parse_model_bounds(model_bounds),
    )
    record = read_record(out_dir)
    if record is None:
        raise SpecError(
            f"{out_dir / 'portfolio.json'} not found; run `mixflow portfolio fit` first"
        )
    setup_jax(1)
    from mixflow.simulate import Simulator
    from mixflow.workflow import load_run

    members = []
    for name, rec in record.models.items():
        if rec.state is not ModelState.SUCCEEDED or rec.run_dir is None:
            typer.echo(f"left out: {name} ({rec.state.value})", err=True)
            continue
        sim = Simulator(load_run(Path(rec.run_dir)))
        members.append(Member(name, sim, rec.value_per_kpi))
    joint = optimize_portfolio(members, problem, seed=seed)
    doc = joint.plan.to_json_dict()
    atomic_write_text(out_dir / PLAN_FILE, json.dumps(doc, indent=2, allow_nan=False))
    atomic_write_bytes(out_dir / CHART_FILE, _chart(joint))
    typer.echo(f"{'model':<24}{'current':>14}{'optimized':>14}{'mROI range':>16}")
    for name, mp in joint.plan.models.items():
        mroi = list(mp.marginal_roi.values())
        typer.echo(
            f"{name:<24}{fmt_amount(mp.current_budget):>14}{fmt_amount(mp.budget):>14}"
            f"{min(mroi):>8.2f}..{max(mroi):.2f}"
        )
    exp, cur = (
        joint.plan.expected.incremental_revenue,
        joint.plan.current_expected.incremental_revenue,
    )
    typer.echo(
        f"incremental revenue: optimized {fmt_amount(exp.mean)} [{fmt_amount(exp.hdi_90[0])}, "
        f"{fmt_amount(exp.hdi_90[1])}] vs current {fmt_amount(cur.mean)}; "
        f"P(optimized beats current) = {joint.plan.probability_beats_current:.2f}"
    )
    typer.echo(f"wrote {out_dir / PLAN_FILE}")


def _chart(joint: JointPlan) -> bytes:
    """PNG: current vs optimized spend of every model's channels."""
    from mixflow.report.charts import axes_figure, png_bytes

    labels = [f"{m}/{ch}" for m, chans in joint.channels.items() for ch in chans]
    cur = [float(v) for m in joint.channels for v in joint.current[m]]
    opt = [float(v) for m in joint.channels for v in joint.allocation[m]]
    fig, ax = axes_figure((max(6.0, 0.6 * len(labels)), 4.0))
    x = list(range(len(labels)))
    ax.bar([i - 0.2 for i in x], cur, width=0.4, label="current", color="#9e9e9e")
    ax.bar([i + 0.2 for i in x], opt, width=0.4, label="optimized", color="#1f77b4")
    ax.set_xticks(x, labels, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("Spend over the horizon")
    ax.set_title("Portfolio budget: current vs optimized, per model and channel")
    ax.legend()
    return png_bytes(fig)
