"""Self-contained HTML page of a monitor result: verdict, findings, two charts."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np

from mixflow.report.charts import png_bytes
from mixflow.report.html import _CSS, _img, _section

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from mixflow.lifecycle.monitor import MonitorResult

_STATUS_CLASS = {"ok": "diag-ok", "warn": "diag-bad", "alert": "diag-bad"}


def _dates(result: MonitorResult) -> np.ndarray:
    return np.array(result.dates, dtype="datetime64[D]")


def fit_chart(result: MonitorResult) -> Figure:
    """Actual KPI per week against the predictive mean and its interval (geos summed)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    ax = fig.add_subplot()
    x = _dates(result)
    level = f"{result.policy.interval:.0%}"
    ax.fill_between(x, result.lower, result.upper, alpha=0.25, label=f"{level} predictive band")
    ax.plot(x, result.predicted, label="predicted mean")
    ax.plot(x, result.actual, "o-", color="black", markersize=3, label="actual")
    ax.set_ylabel("KPI")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return fig


def cusum_chart(result: MonitorResult) -> Figure:
    """Standardized residuals per week with the two CUSUM paths and the threshold ``h``."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    ax = fig.add_subplot()
    x = _dates(result)
    ax.bar(x, result.z, width=4, color="#9e9e9e", label="standardized residual")
    ax.plot(x, result.cusum.upper, color="#1f77b4", label="CUSUM (actual above)")
    ax.plot(x, -result.cusum.lower, color="#ff7f0e", label="CUSUM (actual below), negated")
    h = result.policy.cusum_h
    for y in (h, -h):
        ax.axhline(y, color="#d62728", linestyle="--", linewidth=1)
    if result.cusum.fired_at is not None:
        ax.axvline(x[result.cusum.fired_at], color="#d62728", linewidth=1)
    ax.set_ylabel("predictive sds")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return fig


def build_monitor_html(result: MonitorResult, model: str) -> str:
    """The page; every text from outside goes through :func:`html.escape`."""
    status = result.status.value
    items = "".join(
        f"<li>[{html.escape(f.status.value)}] {html.escape(f.message)}</li>"
        for f in result.findings
    )
    box = (
        f'<div class="diag {_STATUS_CLASS[status]}"><strong>status: {status}</strong>'
        + (f"<ul>{items}</ul>" if items else "no findings")
        + "</div>"
    )
    train = "n/a" if result.training_mape is None else f"{result.training_mape:.1%}"
    rows = [
        (f"coverage of the {result.policy.interval:.0%} interval", f"{result.coverage:.0%}"),
        ("MAPE (training)", f"{result.mape:.1%} ({train})"),
        ("bias", f"{result.bias:+.1%}"),
        ("CUSUM fired", result.cusum_fired_week or "no"),
    ] + [(f"PSI {ch}", f"{v:.2f}") for ch, v in result.psi.items()]
    table = (
        "<table><tr><th>metric</th><th>value</th></tr>"
        + "".join(
            f'<tr><td>{html.escape(k)}</td><td class="num">{html.escape(v)}</td></tr>'
            for k, v in rows
        )
        + "</table>"
    )
    head = (
        f"<header><h1>Monitor: {html.escape(model)}</h1>"
        f'<dl class="meta"><dt>weeks</dt><dd>{html.escape(result.dates[0])} .. '
        f"{html.escape(result.dates[-1])} ({len(result.dates)})</dd>"
        f"<dt>geos</dt><dd>{result.n_geos}</dd><dt>draws</dt><dd>{result.n_draws}</dd></dl>"
        "</header>"
    )
    body = "\n".join(
        [
            head,
            box,
            _section("Metrics", table),
            _section(
                "Actual vs predicted",
                _img(png_bytes(fit_chart(result)), "actual vs predicted KPI per week"),
            ),
            _section(
                "Drift (CUSUM)",
                _img(png_bytes(cusum_chart(result)), "standardized residuals and CUSUM"),
                f'<p class="note">CUSUM with k={result.policy.cusum_k:g}, '
                f"h={result.policy.cusum_h:g} on residuals divided by the predictive sd.</p>",
            ),
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>mixflow monitor</title><style>{_CSS}</style></head>"
        f"<body><main>\n{body}\n</main></body></html>\n"
    )


__all__ = ["build_monitor_html", "cusum_chart", "fit_chart"]
