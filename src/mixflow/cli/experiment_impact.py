"""``mixflow experiment impact DATA.csv ...``: single-series causal impact (a Bayesian structural
time series, see :mod:`mixflow.experiments.impact`); writes ``result.json`` and ``report.html``.
Assembled under ``mixflow experiment`` by :mod:`mixflow.cli.main`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mixflow.cli.output import fmt_amount
from mixflow.errors import DataError

app = typer.Typer()


@app.command("impact")
def impact(
    data: Annotated[Path, typer.Argument(help="wide table (CSV/Parquet): one row per time")],
    post_start: Annotated[
        str, typer.Option(help="first time of the post-period (date or date-time)")
    ],
    out: Annotated[Path, typer.Option(help="folder for result.json and report.html")],
    date_column: Annotated[str, typer.Option(help="time column")] = "date",
    kpi_column: Annotated[
        str, typer.Option(help="the treated series (as in analyze and design)")
    ] = "Y",
    response_column: Annotated[
        str | None, typer.Option(hidden=True, help="deprecated: --kpi-column")
    ] = None,
    covariates: Annotated[
        str | None,
        typer.Option(help="comma-separated control series (default: every other column)"),
    ] = None,
    post_end: Annotated[
        str | None, typer.Option(help="last time of the post-period (default: the last row)")
    ] = None,
    pre_start: Annotated[
        str | None, typer.Option(help="first time of the pre-period (default: the first row)")
    ] = None,
    draws: Annotated[int, typer.Option(help="posterior draws per chain")] = 1000,
    warmup: Annotated[int, typer.Option(help="warm-up iterations per chain")] = 1000,
    chains: Annotated[int, typer.Option(help="MCMC chains")] = 2,
    seed: Annotated[int, typer.Option(help="seed of the sampler and the simulation")] = 0,
    prior_level_sd: Annotated[
        float, typer.Option(help="prior sd of the level's step, in pre-period sds of y")
    ] = 0.01,
) -> None:
    """Estimate the effect of an intervention on one series from control series (average and
    cumulative effect, relative effect, intervals, tail-area p-value)."""
    from mixflow.cli.runtime import setup_jax

    setup_jax(chains)
    from mixflow.data.io import atomic_write_text
    from mixflow.data.loaders import read_table
    from mixflow.experiments.impact import ImpactConfig, analyze_impact_table
    from mixflow.report.experiment_pages import render_impact_report

    if response_column is not None:
        typer.echo("warning: --response-column is deprecated; use --kpi-column", err=True)
        kpi_column = response_column
    if not data.is_file():
        raise DataError(f"data file not found: {data}")
    config = ImpactConfig(
        draws=draws,
        warmup=warmup,
        chains=chains,
        seed=seed,
        prior_level_sd=prior_level_sd,
    )
    names = None
    if covariates is not None:
        names = [name.strip() for name in covariates.split(",") if name.strip()]
    result = analyze_impact_table(
        read_table(data),
        date_column=date_column,
        response_column=kpi_column,
        covariates=names,
        post_start=post_start,
        post_end=post_end,
        pre_start=pre_start,
        config=config,
    )
    out.mkdir(parents=True, exist_ok=True)
    document = result.to_document()  # typed: mixflow.experiments.impact.ImpactResultDocument
    atomic_write_text(out / "result.json", json.dumps(document.to_json_dict(), indent=2) + "\n")
    atomic_write_text(out / "report.html", render_impact_report(result))
    avg, rel = result.effect_average, result.relative_effect_pct
    typer.echo(
        f"average effect {_num(avg.mean)} per step [90%: {_num(avg.ci_90[0])}, "
        f"{_num(avg.ci_90[1])}], cumulative {_num(result.effect_cumulative.mean)}, relative "
        f"{rel.mean:.1f}% [{rel.ci_90[0]:.1f}%, {rel.ci_90[1]:.1f}%], p={result.p_value:.4f}; "
        f"wrote {out}"
    )
    if not result.diagnostics.ok:
        typer.echo("warning: sampler diagnostics: " + "; ".join(result.diagnostics.flags))


def _num(value: float) -> str:
    """Four significant figures (whole numbers with thousands separators from 1,000)."""
    if abs(value) >= 1000:
        return f"{fmt_amount(value)}"
    return f"{value:.4g}"
