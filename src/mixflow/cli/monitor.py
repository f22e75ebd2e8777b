"""``mixflow monitor MODEL --actuals new_weeks.csv``: score new weeks of actuals with a fitted
model. Assembled by :mod:`mixflow.cli.main`.

Exit codes: 0 ok, 1 warn, 3 alert; 2 for bad input (the usual one-line ``error: ...``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mixflow.cli.runtime import lifecycle_settings, resolve_run_dir, setup_jax

app = typer.Typer()


@app.command()
def monitor(
    model: Annotated[str, typer.Argument(help="run directory or models:/NAME@ALIAS")],
    actuals: Annotated[
        Path, typer.Option("--actuals", help="new weeks (CSV/Parquet), training columns")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="folder for monitor.json and monitor.html")
    ] = None,
    seed: Annotated[int, typer.Option(help="seed of the predictive noise")] = 0,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="YAML monitor policy (thresholds; defaults if absent)"),
    ] = None,
) -> None:
    """Score new weeks right after the training data: coverage, MAPE, bias, CUSUM drift and
    spend drift (PSI, extrapolation). Exits 0 ok, 1 warn, 3 alert."""
    setup_jax(1)
    from mixflow.data.loaders import read_table
    from mixflow.lifecycle.monitor import (
        load_actuals,
        load_monitor_policy,
        log_monitor_metrics,
        training_mape,
    )
    from mixflow.lifecycle.monitor import monitor as run_monitor
    from mixflow.workflow import load_run

    monitor_policy = load_monitor_policy(policy) if policy is not None else None
    run_dir = resolve_run_dir(model)
    posterior = load_run(run_dir)
    data = load_actuals(read_table(actuals), posterior)
    result = run_monitor(
        posterior,
        data,
        policy=monitor_policy,
        training_mape=training_mape(run_dir),
        seed=seed,
    )
    if model.startswith("models:"):
        step = posterior.dataset.n_times + len(result.dates)
        log_monitor_metrics(model, result, step, lifecycle_settings())
    payload = result.to_dict() | {"model": model}
    if out is not None:
        from mixflow.data.io import atomic_write_text
        from mixflow.report.monitor_report import build_monitor_html

        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "monitor.json", json.dumps(payload, indent=2, allow_nan=False))
        atomic_write_text(out / "monitor.html", build_monitor_html(result, model))
    if as_json:
        typer.echo(json.dumps(payload, indent=2, allow_nan=False))
    else:
        typer.echo(
            f"{result.status.value}: coverage {result.coverage:.0%}, MAPE {result.mape:.1%}, "
            f"bias {result.bias:+.1%} over {len(result.dates)} weeks"
        )
        for f in result.findings:
            typer.echo(f"  [{f.status.value}] {f.message}")
    raise typer.Exit(code=result.status.exit_code)
