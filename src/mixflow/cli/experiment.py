"""``mixflow experiment analyze DATA.csv ...``: analyse a geo experiment and write
``result.json`` and ``report.html``. Registered on :data:`mixflow.cli.main.app` when that module
loads; bad input prints one ``error: ...`` line and exits 2.
"""

from __future__ import annotations

import html
import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mixflow.cli.main import _fail, app
from mixflow.errors import DataError, MixflowError
from mixflow.experiments.methods import GeoMethod

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from mixflow.experiments.geo import GeoResult

experiment_app = typer.Typer(help="Experiments: analyse geo experiments.")
app.add_typer(experiment_app, name="experiment")


def _parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise DataError(f"{option} must be a date YYYY-MM-DD, got {value!r}") from err


@experiment_app.command("analyze")
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
    from mixflow.experiments.geo import analyze_geo_experiment

    try:
        if not data.is_file():
            raise DataError(f"data file not found: {data}")
        result = analyze_geo_experiment(
            read_table(data),
            date_column=date_column,
            location_column=location_column,
            kpi_column=kpi_column,
            treated=[name.strip() for name in treated.split(",") if name.strip()],
            start=_parse_date(start, "--start"),
            end=_parse_date(end, "--end"),
            method=method,
            spend_column=spend_column,
        )
    except MixflowError as err:
        _fail(err)
        return
    out.mkdir(parents=True, exist_ok=True)
    payload = result.to_dict()
    atomic_write_text(out / "result.json", json.dumps(payload, indent=2) + "\n")
    atomic_write_text(out / "report.html", build_report(result))
    typer.echo(
        f"{result.method.value}: ATT {result.att_mean:,.1f} per location-day, incremental "
        f"{result.incremental_kpi:,.0f}, lift {result.lift_pct:.2f}%, p={result.p_value:.3f}; "
        f"wrote {out}"
    )


def build_report(result: GeoResult) -> str:
    """A self-contained HTML page with the summary and two charts."""
    from mixflow.report.charts import png_bytes
    from mixflow.report.html import _CSS, _img, _section

    facts = [
        ("Method", result.method.value),
        ("Treated", ", ".join(result.treated)),
        ("Test window", f"{result.test_dates[0]} .. {result.test_dates[-1]}"),
        ("ATT (per location-day)", f"{result.att_mean:,.2f}"),
        ("Incremental KPI", f"{result.incremental_kpi:,.0f}"),
        ("Lift", f"{result.lift_pct:.2f}%"),
        ("p-value (conformal)", f"{result.p_value:.3f}"),
        ("90% interval", f"{result.ci_90[0]:,.0f} .. {result.ci_90[1]:,.0f}"),
        ("95% interval", f"{result.ci_95[0]:,.0f} .. {result.ci_95[1]:,.0f}"),
        ("Scaled L2 imbalance", f"{result.scaled_l2_imbalance:.3f}"),
    ]
    if result.iroas is not None:
        facts.append(("iROAS", f"{result.iroas:.3f}"))
    rows = "\n".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in facts
    )
    weights = "\n".join(
        f'<tr><td>{html.escape(name)}</td><td class="num">{w:.3f}</td></tr>'
        for name, w in sorted(result.weights.items(), key=lambda item: -abs(item[1]))
    )
    body = "\n".join(
        [
            "<header><h1>Geo experiment</h1></header>",
            _section("Summary", f"<table>{rows}</table>"),
            _section(
                "Treated vs synthetic",
                _img(png_bytes(_series_chart(result)), "treated vs synthetic control"),
            ),
            _section("Effect over time", _img(png_bytes(_att_chart(result)), "ATT over time")),
            _section(
                "Donor weights", f"<table><tr><th>Donor</th><th>Weight</th></tr>{weights}</table>"
            ),
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Geo experiment</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def _shade(ax: object, result: GeoResult) -> None:
    import numpy as np

    first = np.datetime64(result.test_dates[0]) - np.timedelta64(12, "h")
    last = np.datetime64(result.test_dates[-1]) + np.timedelta64(12, "h")
    ax.axvspan(first, last, color="#ff9f1c", alpha=0.15, linewidth=0, label="test window")  # type: ignore[attr-defined]


def _series_chart(result: GeoResult) -> Figure:
    import numpy as np
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    ax = fig.add_subplot()
    dates = np.array(result.dates, dtype="datetime64[D]")
    ax.plot(dates, result.series_actual, color="#222222", label="treated (average)")
    ax.plot(dates, result.series_counterfactual, color="#1f77b4", ls="--", label="synthetic")
    _shade(ax, result)
    ax.set_ylabel("KPI per treated location")
    ax.legend(loc="upper left")
    ax.grid(True, axis="y", alpha=0.3)
    return fig


def _att_chart(result: GeoResult) -> Figure:
    import numpy as np
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    ax = fig.add_subplot()
    dates = np.array(result.dates, dtype="datetime64[D]")
    gap = np.array(result.series_actual) - np.array(result.series_counterfactual)
    ax.plot(dates, gap, color="#1f77b4", label="actual - synthetic")
    ax.axhline(0.0, color="#b8b8b8", linewidth=1)
    _shade(ax, result)
    ax.set_ylabel("ATT per location-day")
    ax.legend(loc="upper left")
    ax.grid(True, axis="y", alpha=0.3)
    return fig
