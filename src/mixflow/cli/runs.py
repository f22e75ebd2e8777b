"""``mixflow validate | fit | report | summary | demo``: one run folder, from config to report."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mixflow.cli.output import print_registration
from mixflow.cli.runtime import lifecycle_settings, setup_jax
from mixflow.errors import SpecError

if TYPE_CHECKING:
    from mixflow.analysis.schema import RunSummary

app = typer.Typer()


class Method(StrEnum):
    nuts = "nuts"
    map = "map"
    svi = "svi"


@app.command()
def validate(config: Annotated[Path, typer.Argument(help="YAML config file")]) -> None:
    """Check a config and its data against the data contract."""
    from mixflow.workflow import validate_config

    cfg, data = validate_config(config)
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
    from mixflow.spec.config import load_config
    from mixflow.spec.model_spec import FitMethod

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
    _print_summary(analysis.summary, out)
    if register:
        from mixflow.lifecycle import register as register_run
        from mixflow.report.model_card import model_card_html

        info = register_run(out, register, lifecycle_settings(), card_page=model_card_html)
        print_registration(info)


def _print_summary(summary: RunSummary, out: Path) -> None:
    d = summary.diagnostics
    typer.echo(f"{'channel':<14}{'spend':>14}{'ROI median':>12}  90% HDI")
    for ch, v in summary.channels.items():
        lo, hi = v.roi.hdi_90
        typer.echo(f"{ch:<14}{v.spend:>14,.0f}{v.roi.median:>12.2f}  [{lo:.2f}, {hi:.2f}]")
    f = summary.fit
    typer.echo(f"fit: R² {f.r2:.3f}  MAPE {f.mape:.1%}  NRMSE {f.nrmse:.3f}")
    health = "ok" if d.ok else "WARNING: " + "; ".join(d.flags)
    rhat = f"{d.rhat_max:.3f}" if d.rhat_max is not None else "n/a"
    typer.echo(
        f"diagnostics: R-hat max {rhat}, {d.divergences} divergences, {d.fit_seconds:.1f} s: {health}"
    )
    weak = summary.weakly_identified()
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

    path = render_report(run_dir)
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

    setup_jax(4)
    from mixflow.cli.demo import run_demo

    result = run_demo(out, seed=seed, quick=quick)
    typer.echo(result)


@app.command()
def summary(run_dir: Annotated[Path, typer.Argument(help="run directory")]) -> None:
    """Print a run's summary.json."""
    from mixflow.analysis.schema import SUMMARY_FILE, load_summary
    from mixflow.data.folders import verify_folder

    path = run_dir / SUMMARY_FILE
    if not path.is_file():
        raise SpecError(f"{path} not found; is {run_dir} a run directory?")
    verify_folder(run_dir)  # a truncated or edited summary is refused, as every reader does
    typer.echo(json.dumps(load_summary(path).to_json(), indent=2))
