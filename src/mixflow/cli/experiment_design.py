"""``mixflow experiment design`` and ``mixflow experiment next``: plan a geo experiment (power,
MDE, market selection, budget) and pick the channel worth testing next. Assembled under
``mixflow experiment`` by :mod:`mixflow.cli.main`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mixflow.cli.output import fmt_amount
from mixflow.cli.runtime import resolve_run_dir
from mixflow.errors import DataError, SpecError
from mixflow.experiments.methods import GeoMethod

if TYPE_CHECKING:
    from mixflow.experiments.design import CostPerKpi, Design, DesignResult
    from mixflow.experiments.value import ChannelTestValue

app = typer.Typer()


def _numbers(text: str, option: str, kind: type[int] | type[float]) -> tuple[Any, ...]:
    """``"3,2,4,2"`` -> ``(2, 3, 4)`` (sorted, distinct); a SpecError naming ``option`` otherwise."""
    try:
        values = tuple(kind(part) for part in text.split(",") if part.strip())
    except ValueError as err:
        raise SpecError(f"{option} must be comma-separated {kind.__name__}s, got {text!r}") from err
    if not values:
        raise SpecError(f"{option} must list at least one value, got {text!r}")
    return tuple(sorted(set(values)))


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(n.strip() for n in (text or "").split(",") if n.strip())


def _cost_per_kpi(
    cpik: float | None, run_dir: Path | None, channel: str | None
) -> CostPerKpi | None:
    """The cost per incremental KPI from ``--cpik`` or from the posterior of ``--run-dir``."""
    from mixflow.experiments.design import CostPerKpi

    if cpik is not None and run_dir is not None:
        raise SpecError("give either --cpik or RUN/--channel, not both")
    if cpik is not None:
        return CostPerKpi(cpik, "--cpik")
    if run_dir is None:
        if channel is not None:
            raise SpecError("--channel needs RUN (the model run that prices the channel)")
        return None
    if channel is None:
        raise SpecError("RUN needs --channel (whose cost per incremental KPI to use)")
    from mixflow.cli.runtime import setup_jax

    setup_jax(1)
    from mixflow.experiments.value import load_channel_posterior

    posterior = load_channel_posterior(resolve_run_dir(run_dir))
    return CostPerKpi(
        posterior.mean_cost_per_kpi(channel),
        f"posterior mean cost per incremental KPI of '{channel}' in {run_dir}",
    )


@app.command("design")
def design(
    data: Annotated[Path, typer.Argument(help="pre-period long table (CSV/Parquet)")],
    run: Annotated[
        Path | None,
        typer.Argument(
            help="model run (folder or models:/NAME@ALIAS) that prices --channel's incremental KPI"
        ),
    ] = None,
    *,
    out: Annotated[Path, typer.Option(help="folder for designs.json/.csv and report.html")],
    date_column: Annotated[str, typer.Option(help="date column")] = "date",
    location_column: Annotated[str, typer.Option(help="location column")] = "location",
    kpi_column: Annotated[str, typer.Option(help="KPI column")] = "Y",
    treated_sizes: Annotated[str, typer.Option(help="treated-set sizes to try")] = "2,3,4,5",
    test_lengths: Annotated[str, typer.Option(help="test lengths, in dates")] = "14,21,28",
    effects: Annotated[
        str, typer.Option(help="lifts to simulate, fractions")
    ] = "0,0.01,0.02,0.03,0.05,0.1,0.15,0.25",
    include: Annotated[str | None, typer.Option(help="locations every set must hold")] = None,
    exclude: Annotated[str | None, typer.Option(help="locations never treated")] = None,
    alpha: Annotated[float, typer.Option(help="significance level (p <= alpha)")] = 0.1,
    target_power: Annotated[float, typer.Option(help="power the MDE must reach")] = 0.8,
    method: Annotated[GeoMethod, typer.Option(help="estimator")] = GeoMethod.ascm,
    windows: Annotated[int, typer.Option(help="pseudo test windows per design")] = 10,
    window_stride: Annotated[int, typer.Option(help="dates between pseudo windows")] = 1,
    candidates: Annotated[int, typer.Option(help="treated sets simulated per size")] = 5,
    random_sets: Annotated[int, typer.Option(help="random candidate sets per size")] = 10,
    cpik: Annotated[
        float | None, typer.Option(help="cost per incremental KPI unit (currency)")
    ] = None,
    run_dir: Annotated[
        Path | None, typer.Option(hidden=True, help="deprecated: the RUN argument")
    ] = None,
    channel: Annotated[str | None, typer.Option(help="channel the test spends on")] = None,
    top: Annotated[int, typer.Option(help="designs printed and charted")] = 10,
    seed: Annotated[int, typer.Option(help="seed of the random candidate sets")] = 0,
    no_progress: Annotated[
        bool, typer.Option("--no-progress", help="hide the progress bar")
    ] = False,
) -> None:
    """Rank geo-experiment designs (treated markets x test length) by simulated power and MDE."""
    import numpy as np

    from mixflow.data.io import atomic_write_bytes, atomic_write_text, csv_bytes
    from mixflow.data.loaders import read_table
    from mixflow.experiments.design import DesignsDocument, DesignSettings, design_experiment
    from mixflow.experiments.geo import panel_from_table
    from mixflow.report.experiment_pages import render_design_report

    settings = DesignSettings(
        treated_sizes=_numbers(treated_sizes, "--treated-sizes", int),
        test_lengths=_numbers(test_lengths, "--test-lengths", int),
        effects=_numbers(effects, "--effects", float),
        alpha=alpha,
        target_power=target_power,
        method=method,
        n_windows=windows,
        window_stride=window_stride,
        include=_names(include),
        exclude=_names(exclude),
        max_candidates=candidates,
        n_random=random_sets,
    )
    if top < 1:
        raise SpecError(f"--top must be >= 1, got {top}")
    if not data.is_file():
        raise DataError(f"data file not found: {data}")
    panel = panel_from_table(
        read_table(data),
        date_column=date_column,
        location_column=location_column,
        kpi_column=kpi_column,
    )
    if run_dir is not None:
        typer.echo("warning: --run-dir is deprecated; give the run as an argument", err=True)
        if run is not None:
            raise SpecError("give the run once: as the RUN argument, not also as --run-dir")
        run = run_dir
    cost = _cost_per_kpi(cpik, run, channel)
    result = design_experiment(
        panel,
        settings,
        cpik=cost,
        rng=np.random.default_rng(seed),
        progress=not no_progress,
    )
    out.mkdir(parents=True, exist_ok=True)
    payload = {"data": str(data), "kpi_column": kpi_column, "seed": seed, **result.to_dict()}
    document = DesignsDocument.model_validate(payload)  # the typed designs.json
    atomic_write_text(out / "designs.json", json.dumps(document.to_json_dict(), indent=2) + "\n")
    atomic_write_bytes(out / "designs.csv", csv_bytes(result.to_frame()))
    atomic_write_text(out / "report.html", render_design_report(result, top))
    _print_designs(result, top)
    typer.echo(f"wrote {out}")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _money(value: float | None) -> str:
    return "-" if value is None else f"{fmt_amount(value)}"


def _fpr(design: Design) -> str:
    """The false positive rate, with ``!`` when it is above the calibration limit."""
    if design.false_positive_rate is None:
        return "-"
    return f"{design.false_positive_rate:.2f}" + ("" if design.calibrated else "!")


def _print_designs(result: DesignResult, top: int) -> None:
    typer.echo(
        f"{'rank':>4}  {'treated':<40}{'length':>7}{'MDE':>8}{'power':>7}{'FPR':>7}"
        f"{'MDE KPI':>11}{'budget':>12}{'imbal.':>8}{'share':>7}"
    )
    for d in result.designs[:top]:
        treated = ", ".join(d.treated)
        treated = treated if len(treated) <= 38 else treated[:35] + "..."
        power = "-" if d.power_at_mde is None else f"{d.power_at_mde:.2f}"
        typer.echo(
            f"{d.rank:>4}  {treated:<40}{d.test_length:>7}{_pct(d.mde):>8}{power:>7}"
            f"{_fpr(d):>7}{_money(d.mde_incremental_kpi):>11}{_money(d.budget):>12}"
            f"{d.scaled_l2_imbalance:>8.3f}{_pct(d.share_of_kpi):>7}"
        )
    from mixflow.experiments.design import false_positive_limit

    s = result.settings
    typer.echo(
        f"{len(result.designs)} designs ({result.n_simulated_sets} of {result.n_candidates} "
        f"candidate sets x {len(s.test_lengths)} lengths), {result.n_fits} {s.method.value} fits; "
        f"power = share of {s.n_windows} pseudo tests with p <= {s.alpha:g}, "
        f"MDE at power >= {s.target_power:g}; FPR (power at 0) above "
        f"{false_positive_limit(s):g} marked ! and ranked last"
    )


# --------------------------------------------------------------------------- next


@app.command("next")
def next_channel(
    run_dir: Annotated[Path, typer.Argument(help="run directory written by `mixflow fit`")],
    out: Annotated[Path | None, typer.Option(help="folder for next.json and next.csv")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="print JSON, not a table")] = False,
    horizon: Annotated[int, typer.Option(help="periods of spend at stake")] = 52,
    test_rel_se: Annotated[
        float, typer.Option(help="test's ROI standard error, fraction of |ROI|")
    ] = 0.25,
    test_se: Annotated[
        float | None, typer.Option(help="test's ROI standard error, ROI units")
    ] = None,
    breakeven_roi: Annotated[
        float | None, typer.Option(help="ROI below which spend is cut (EVSI)")
    ] = None,
) -> None:
    """Rank the model's channels by the value of testing them next."""
    from mixflow.cli.runtime import setup_jax
    from mixflow.experiments.value import (
        NextDocument,
        TestPrecision,
        ValueUnit,
        load_channel_posterior,
        rank_channels,
    )

    precision = TestPrecision(relative_se=test_rel_se, absolute_se=test_se)
    setup_jax(1)
    posterior = load_channel_posterior(resolve_run_dir(run_dir), horizon)
    breakeven = breakeven_roi
    if breakeven is None and posterior.value_unit is ValueUnit.revenue:
        breakeven = 1.0
    ranked = rank_channels(posterior, precision, breakeven)
    rows = [v.to_dict() for v in ranked]
    payload: dict[str, Any] = {
        "run_dir": str(run_dir),
        "horizon_periods": posterior.horizon,
        "value_unit": posterior.value_unit.value,
        "test_precision": precision.describe(),
        "breakeven_roi": breakeven,
        "value": "(roi_sd - roi_sd_after) x budget_at_stake; "
        "roi_sd_after = roi_sd x test_se / sqrt(roi_sd^2 + test_se^2)",
        "channels": rows,
    }
    payload = NextDocument.model_validate(payload).to_json_dict()  # the typed next.json
    if out is not None:
        import pandas as pd

        from mixflow.data.io import atomic_write_bytes, atomic_write_text, csv_bytes

        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "next.json", json.dumps(payload, indent=2) + "\n")
        frame = pd.DataFrame(rows)
        atomic_write_bytes(out / "next.csv", csv_bytes(frame))
    if json_output:
        typer.echo(json.dumps(payload, indent=2))
        return
    _print_values(ranked, payload)
    if out is not None:
        typer.echo(f"wrote {out}")


def _print_values(ranked: tuple[ChannelTestValue, ...], payload: dict[str, Any]) -> None:
    typer.echo(
        f"{'rank':>4}  {'channel':<14}{'budget':>13}{'ROI mean':>10}{'ROI sd':>8}{'test se':>9}"
        f"{'sd after':>10}{'value':>12}{'EVSI':>12}"
    )
    for v in ranked:
        evsi = "-" if v.evsi is None else f"{fmt_amount(v.evsi)}"
        typer.echo(
            f"{v.rank:>4}  {v.channel:<14}{fmt_amount(v.budget):>13}{v.roi_mean:>10.3f}{v.roi_sd:>8.3f}"
            f"{v.test_se:>9.3f}{v.roi_sd_after:>10.3f}{fmt_amount(v.value):>12}{evsi:>12}"
        )
    breakeven = payload["breakeven_roi"]
    typer.echo(
        f"value = ROI sd reduction x spend of the last {payload['horizon_periods']} periods; "
        f"test: {payload['test_precision']}; EVSI: keep-or-cut at ROI "
        + ("-" if breakeven is None else f"{breakeven:g}")
    )
