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


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _r2(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def summary_lines(summary: RunSummary) -> list[str]:
    """What ``mixflow fit`` prints: the fit quality and its verdict first, then the channels'
    posterior mean ROI (90% HDI; a point estimate for MAP, without intervals), diagnostics and
    weakly identified channels (the one standard of :mod:`mixflow.analysis.schema`)."""
    from mixflow.analysis.schema import fit_verdict, identification_text
    from mixflow.report.fmt import fmt_sig

    d, f = summary.diagnostics, summary.fit
    verdict = fit_verdict(f)
    lines = [
        f"fit: in-sample R² {_r2(f.r2)}, MAPE {_pct(f.mape)}, 90% predictive coverage "
        f"{_pct(f.coverage_90)}"
    ]
    if f.holdout_weeks:
        lines.append(
            f"holdout ({f.holdout_weeks} periods): R² {_r2(f.holdout_r2)}, MAPE "
            f"{_pct(f.holdout_mape)}, 90% predictive coverage {_pct(f.holdout_coverage_90)}"
        )
    else:
        lines.append("holdout: none (set fit.holdout_weeks to judge out-of-sample fit)")
    lines += [f"WARNING: {reason}" for reason in verdict.reasons]
    point = summary.point_estimate
    if point:
        lines.append(
            f"{summary.method.upper()} fit: every number below is a point estimate "
            "(no posterior intervals); refit with NUTS before deciding on it"
        )
        lines.append(f"{'channel':<14}{'spend':>14}{'ROI (point estimate)':>22}")
    else:
        lines.append(f"{'channel':<14}{'spend':>14}{'ROI mean':>12}  90% HDI")
    for ch, v in summary.channels.items():
        lo, hi = v.roi.hdi_90
        if point:
            lines.append(f"{ch:<14}{fmt_sig(v.spend):>14}{fmt_sig(v.roi.mean):>22}")
        else:
            lines.append(
                f"{ch:<14}{fmt_sig(v.spend):>14}{fmt_sig(v.roi.mean):>12}  "
                f"[{fmt_sig(lo)}, {fmt_sig(hi)}]"
            )
    health = "ok" if d.ok else "WARNING: " + "; ".join(d.flags)
    rhat = f"{d.rhat_max:.3f}" if d.rhat_max is not None else "n/a"
    lines.append(
        f"sampler diagnostics: R-hat max {rhat}, {d.divergences} divergences, "
        f"{d.fit_seconds:.1f} s: {health}"
    )
    for ch in summary.weakly_identified():
        prior = summary.channels[ch].roi_prior
        if prior is not None and prior.sd_ratio is not None:
            lines.append(identification_text(ch, prior.sd_ratio) + "; a lift test would pin it")
    status = "ok" if verdict.ok and d.ok else "WARNING (read the reasons above)"
    lines.append(f"status: {status}")
    return lines


def calibration_lines(out: Path) -> list[str]:
    """What ``mixflow fit`` prints of a calibrated run's ``calibration.json``: the number of
    lift tests, then every test the model contradicts (``|z| > 2``) before or after
    calibration, with both z."""
    from mixflow.analysis.calibration_schema import CONTRADICTION_Z, CalibrationTestCheck
    from mixflow.report.rundir import CALIBRATION_FILE, read_calibration

    tests = [
        CalibrationTestCheck.model_validate(t) for t in read_calibration(out / CALIBRATION_FILE)
    ]
    if not tests:
        return []
    lines = [f"calibration: {len(tests)} lift test(s)"]
    for t in tests:
        before = t.before.z if t.before else None
        if t.contradicts or (t.before and t.before.contradicts):
            was = "n/a" if before is None else f"{before:+.1f}"
            state = "still contradicts" if t.contradicts else "reconciled"
            lines.append(
                f"WARNING: the model contradicts lift test {t.label} (|z| > {CONTRADICTION_Z:g}): "
                f"z {was} before calibration, {t.z:+.1f} after ({state})"
            )
    if len(lines) == 1:
        lines[0] += f": the model agrees with every test (|z| <= {CONTRADICTION_Z:g})"
    return lines


def _print_summary(summary: RunSummary, out: Path) -> None:
    for line in summary_lines(summary) + calibration_lines(out):
        typer.echo(line)
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
