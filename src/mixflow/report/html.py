"""Assemble the self-contained HTML report of a run directory.

The page embeds its charts as base64 PNG and carries a small inline stylesheet: no scripts, no
external CSS, fonts or images, so it can be mailed or archived as one file. Every piece of text
that comes from the run directory goes through :func:`html.escape`.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from mixflow.data.io import atomic_write_text
from mixflow.report.charts import CHARTS, calibration_chart, png_bytes
from mixflow.report.fmt import MISSING, fmt_int, fmt_ratio, fmt_timestamp
from mixflow.report.rundir import RunFiles, read_run_dir
from mixflow.report.tables import (
    calibration_table,
    channel_table,
    diagnostics_table,
    fit_table,
    model_table,
    prior_posterior_table,
    table_html,
)

REPORT_FILE: Final = "report.html"

_PRIOR_NOTE: Final = (
    "<p>Posterior / prior spread: the posterior's log-sd of ROI over the prior's. Near 1 the "
    "data hardly narrowed the prior and the estimate is mostly the prior's; from 0.5 up the "
    "channel is marked weakly identified. That is typical of always-on channels whose spend "
    "barely varies; a lift test on such a channel pins its ROI (calibration in "
    "docs/model.md).</p>"
)

_CSS: Final = """
:root { --ink: #1d2330; --muted: #5b6472; --rule: #dde1e7; --ok: #1e7b34; --ok-bg: #e8f5eb;
  --bad: #a61b1b; --bad-bg: #fdecea; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 28px 48px; }
header { border-bottom: 2px solid var(--rule); margin-bottom: 20px; padding-bottom: 12px; }
h1 { margin: 0 0 6px; font-size: 26px; }
h2 { margin: 32px 0 10px; font-size: 19px; border-bottom: 1px solid var(--rule); padding-bottom: 4px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0;
  color: var(--muted); }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; }
.diag { border: 1px solid; border-left-width: 6px; border-radius: 4px; padding: 10px 14px; }
.diag-ok { border-color: var(--ok); background: var(--ok-bg); }
.diag-bad { border-color: var(--bad); background: var(--bad-bg); }
.diag strong { display: block; }
.diag ul { margin: 6px 0 0; padding-left: 20px; }
table { border-collapse: collapse; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 12px; border-bottom: 1px solid var(--rule); text-align: left; }
th { background: #f4f6f8; font-weight: 600; }
td.num { text-align: right; white-space: nowrap; }
img.chart { display: block; max-width: 100%; height: auto; margin: 12px 0; }
p.note, footer { color: var(--muted); font-size: 13px; }
footer { margin-top: 40px; border-top: 1px solid var(--rule); padding-top: 8px; }
"""


def render_report(run_dir: Path) -> Path:
    """Write ``run_dir/report.html`` from the run directory's files and return its path.

    The file is replaced atomically: a reader sees the old report or the whole new one.
    Raises :class:`~mixflow.errors.RunDirError` naming the file, key or column when the run
    directory is incomplete.
    """
    run = read_run_dir(Path(run_dir))
    target = run.run_dir / REPORT_FILE
    atomic_write_text(target, build_html(run))
    return target


def build_html(run: RunFiles) -> str:
    """The whole report page for a parsed run directory."""
    charts = {key: _img(png_bytes(build(run)), alt) for key, alt, build in CHARTS}
    sections = [
        _header(run.summary),
        _diagnostics_box(run.summary),
        _section("Channels", table_html(channel_table(run))),
        _section("Model fit", charts["fit"], table_html(fit_table(run))),
        _section("Decomposition", charts["decomposition"]),
        _section("Return on investment", charts["roi"], charts["share"]),
        _section("Response curves", charts["response_curves"]),
        _section("Adstock", charts["adstock"]),
    ]
    if run.prior_posterior is not None:
        sections.append(
            _section(
                "Priors and posteriors",
                table_html(prior_posterior_table(run.prior_posterior, run.summary.get("channels"))),
                _PRIOR_NOTE,
            )
        )
    if run.calibration:
        chart = _img(png_bytes(calibration_chart(run)), "lift tests: experiment vs model")
        sections.append(
            _section("Lift-test calibration", chart, table_html(calibration_table(run)))
        )
    sections += [
        _section("Diagnostics", table_html(diagnostics_table(run))),
        _section("Model specification", table_html(model_table(run))),
        _footer(run),
    ]
    title = html.escape(f"mixflow report: {run.summary['name']}")
    body = "\n".join(sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _header(summary: Mapping[str, Any]) -> str:
    data: Mapping[str, Any] = summary["data"]
    window = f"{data['start']} to {data['end']}"
    extent = [
        f"{fmt_int(data['n_periods'])} periods" if data.get("n_periods") is not None else "",
        _count(data.get("n_geos"), "geo"),
    ]
    if any(extent):
        window += f" ({', '.join(part for part in extent if part)})"
    kpi = str(summary["kpi_type"])
    if summary.get("value_unit") and summary["value_unit"] != kpi:
        kpi += f" (valued in {summary['value_unit']})"
    items = (
        ("Data window", window),
        ("KPI", kpi),
        ("Method", str(summary["method"]).upper()),
        ("Fitted", fmt_timestamp(summary["created_at"])),
    )
    meta = "\n".join(
        f"<dt>{html.escape(label)}</dt><dd>{html.escape(value)}</dd>" for label, value in items
    )
    name = html.escape(str(summary["name"]))
    return f'<header>\n<h1>{name}</h1>\n<dl class="meta">\n{meta}\n</dl>\n</header>'


def _diagnostics_box(summary: Mapping[str, Any]) -> str:
    """Green when ``diagnostics.ok``; red, listing every flag, otherwise."""
    diag: Mapping[str, Any] = summary["diagnostics"]
    facts = _diagnostic_facts(diag)
    detail = f"<p>{html.escape(facts)}</p>" if facts else ""
    if diag["ok"]:
        return (
            '<section class="diag diag-ok">\n<strong>Diagnostics: OK</strong>\n'
            f"{detail}\n</section>"
        )
    flags = [str(flag) for flag in diag["flags"]] or ["diagnostics.ok is false; no flag recorded"]
    items = "\n".join(f"<li>{html.escape(flag)}</li>" for flag in flags)
    return (
        '<section class="diag diag-bad">\n'
        "<strong>Diagnostics: attention needed, read results with caution</strong>\n"
        f"<ul>\n{items}\n</ul>\n{detail}\n</section>"
    )


def _diagnostic_facts(diag: Mapping[str, Any]) -> str:
    method = str(diag.get("method") or "")
    if diag.get("rhat_max") is None:
        return f"R-hat and ESS are not available for method {method or MISSING}."
    parts = [
        f"max R-hat {fmt_ratio(diag['rhat_max'], 3)}",
        f"min bulk ESS {fmt_int(diag.get('ess_bulk_min'))}",
        f"{fmt_int(diag.get('divergences'))} divergences",
    ]
    return "; ".join(parts) + "."


def _section(title: str, *parts: str) -> str:
    return f"<section>\n<h2>{html.escape(title)}</h2>\n" + "\n".join(parts) + "\n</section>"


def _img(png: bytes, alt: str) -> str:
    encoded = base64.b64encode(png).decode("ascii")
    return f'<img class="chart" alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def _footer(run: RunFiles) -> str:
    summary = run.summary
    text = (
        f"Generated by mixflow {summary.get('mixflow_version') or MISSING} from run directory "
        f"{run.run_dir.name}; summary schema version {summary.get('schema_version', 1)}."
    )
    return f"<footer>{html.escape(text)}</footer>"


def _count(value: Any, noun: str) -> str:
    if value is None:
        return ""
    return f"{fmt_int(value)} {noun}{'' if value == 1 else 's'}"
