"""``mixflow experiment analyze DATA.csv ...``: analyse a geo experiment and write
``result.json`` and ``report.html``. Assembled under ``mixflow experiment`` by
:mod:`mixflow.cli.main`.
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from mixflow.cli.output import fmt_amount
from mixflow.errors import DataError
from mixflow.experiments.methods import GeoMethod

app = typer.Typer()


def _parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise DataError(f"{option} must be a date YYYY-MM-DD, got {value!r}") from err


@app.command("analyze")
def analyze(
    data: Annotated[Path, typer.Argument(help="long table (CSV/Parquet): date, location, KPI")],
    treated: Annotated[str, typer.Option(help="comma-separated treated locations")],
    start: Annotated[str, typer.Option(help="first test date (YYYY-MM-DD)")],
    end: Annotated[str, typer.Option(help="last test date, inclusive (YYYY-MM-DD)")],
    out: Annotated[Path, typer.Option(help="folder for result.json and report.html")],
    date_column: Annotated[str, typer.Option(help="date column")] = "date",
    location_column: Annotated[str, typer.Option(help="location column")] = "location",
    kpi_column: Annotated[str, typer.Option(help="KPI column")] = "Y",
    method: Annotated[GeoMethod, typer.Option(help="estimator")] = GeoMethod.ascm,
    spend_column: Annotated[str | None, typer.Option(help="spend column (for iROAS)")] = None,
) -> None:
    """Estimate the lift of a geo experiment (ATT, incremental KPI, lift, p-value, intervals)."""
    from mixflow.data.io import atomic_write_text
    from mixflow.data.loaders import read_table
    from mixflow.experiments.geo import analyze_panel, panel_from_table
    from mixflow.experiments.geo_bands import effect_bands
    from mixflow.report.experiment_pages import render_geo_report

    if not data.is_file():
        raise DataError(f"data file not found: {data}")
    panel = panel_from_table(
        read_table(data),
        date_column=date_column,
        location_column=location_column,
        kpi_column=kpi_column,
        spend_column=spend_column,
    )
    result = analyze_panel(
        panel,
        [name.strip() for name in treated.split(",") if name.strip()],
        _parse_date(start, "--start"),
        _parse_date(end, "--end"),
        method,
    )
    out.mkdir(parents=True, exist_ok=True)
    document = result.to_document()  # typed: mixflow.experiments.geo.GeoResultDocument
    text = json.dumps(document.to_json_dict(), indent=2, allow_nan=False)
    atomic_write_text(out / "result.json", text + "\n")
    atomic_write_text(out / "report.html", render_geo_report(result, effect_bands(panel, result)))
    lo, hi = result.ci_90  # the conformal interval of the total incremental KPI
    lift = "lift undefined" if math.isnan(result.lift_pct) else f"lift {result.lift_pct:.2f}%"
    typer.echo(
        f"{result.method.value}: ATT {result.att:,.1f} per location-day, incremental "
        f"{fmt_amount(result.incremental_kpi)} [90%: {fmt_amount(lo)}, {fmt_amount(hi)}], {lift}, "
        f"p={result.p_value:.3f}; wrote {out}"
    )
