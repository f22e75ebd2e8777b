"""The self-contained HTML report of a run directory (``report.html``).

The page embeds its charts as base64 PNG and carries the inline stylesheet of the base layout:
no scripts, no external CSS, fonts or images, so it can be mailed or archived as one file. It is
rendered from ``templates/run.html.j2`` with autoescaping, so every piece of text that comes from
the run directory is escaped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from mixflow.analysis.geo_breakdown import GEO_CONTRIBUTIONS_FILE, GEO_ROI_FILE
from mixflow.analysis.schema import fit_verdict
from mixflow.data.io import atomic_write_text
from mixflow.errors import RunDirError
from mixflow.report.charts import CHARTS, calibration_chart, png_bytes
from mixflow.report.rundir import RunFiles, read_run_dir
from mixflow.report.templating import render_page

REPORT_FILE: Final = "report.html"
RUN_TEMPLATE: Final = "run.html.j2"


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
    prior_rows = None
    if run.prior_posterior is not None:
        prior_rows = run.prior_posterior.to_dict("records")
    return render_page(
        RUN_TEMPLATE,
        summary=run.summary,
        verdict=fit_verdict(run.summary.fit),
        run_dir_name=run.run_dir.name,
        charts={key: png_bytes(build(run)) for key, _alt, build in CHARTS},
        chart_alts={key: alt for key, alt, _build in CHARTS},
        prior_rows=prior_rows,
        lift_tests=run.calibration,
        calibration_chart=png_bytes(calibration_chart(run)) if run.calibration else None,
        geo_rows=geo_rows(run.run_dir),
        baseline_chart=_baseline_png(run),
        media_multiplier_chart=_media_multiplier_png(run),
    )


def _baseline_png(run: RunFiles) -> bytes | None:
    from mixflow.report.extras import baseline_chart

    fig = baseline_chart(run)
    return None if fig is None else png_bytes(fig)


def _media_multiplier_png(run: RunFiles) -> bytes | None:
    from mixflow.report.extras import media_multiplier_chart

    fig = media_multiplier_chart(run)
    return None if fig is None else png_bytes(fig)


def _stat(row: Any, prefix: str) -> dict[str, Any]:
    lo, hi = row[f"{prefix}_hdi_90_lo"], row[f"{prefix}_hdi_90_hi"]
    return {"mean": row[f"{prefix}_mean"], "median": row[f"{prefix}_median"], "hdi_90": [lo, hi]}


def geo_rows(run_dir: Path) -> list[dict[str, Any]] | None:
    """The per-geo table's rows from ``geo_roi.csv`` and ``geo_contributions.csv`` (geo models
    only; ``None`` when the run has none); a damaged file is a :class:`RunDirError`."""
    import pandas as pd

    if not (run_dir / GEO_ROI_FILE).is_file():
        return None
    try:
        roi = pd.read_csv(run_dir / GEO_ROI_FILE, dtype={"geo": str, "channel": str})
        contrib = pd.read_csv(run_dir / GEO_CONTRIBUTIONS_FILE, dtype={"geo": str, "channel": str})
        table = roi.merge(contrib, on=["geo", "channel"], validate="one_to_one")
        return [
            {
                "geo": row["geo"],
                "channel": row["channel"],
                "spend": row["spend"],
                "roi": _stat(row, "roi"),
                "contribution": _stat(row, "contribution_kpi"),
                "share": row["share_of_kpi_mean"],
            }
            for _, row in table.iterrows()
        ]
    except (OSError, ValueError, KeyError, pd.errors.ParserError):
        raise RunDirError(
            f"{GEO_ROI_FILE}/{GEO_CONTRIBUTIONS_FILE} in {run_dir} are damaged or incomplete"
        ) from None
