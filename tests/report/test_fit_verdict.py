"""Issue 20: fit quality is part of the verdict, point estimates are labelled as such, the
contribution column is in the KPI's unit, and the console tells the same story as the report."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

from mixflow.analysis.schema import RunSummary, fit_verdict, load_summary
from mixflow.cli.runs import summary_lines
from mixflow.report import build_html, read_run_dir
from mixflow.report.fmt import fmt_amount, fmt_interval, fmt_sig

RunDirFactory = Callable[..., Path]


def _edit(run_dir: Path, changes: dict[str, object]) -> RunSummary:
    path = run_dir / "summary.json"
    summary = load_summary(path).updated(changes)
    path.write_text(summary.model_dump_json(indent=2), encoding="utf-8")
    return summary


def _page(run_dir: Path) -> str:
    return html.unescape(build_html(read_run_dir(run_dir)))


def _row(page: str, channel: str) -> list[str]:
    """The cells of the channels table's row for ``channel`` (the first table naming it)."""
    match = re.search(rf"<tr><td>{re.escape(channel)}</td>(.*?)</tr>", page, re.S)
    assert match, f"no row for {channel}"
    return re.findall(r'<td class="num">(.*?)</td>', match.group(1), re.S)


def test_a_negative_holdout_r2_turns_the_report_status_into_a_warning_with_the_reason(
    make_run_dir: RunDirFactory,
) -> None:
    run_dir = make_run_dir(method="nuts", ok=True)
    _edit(run_dir, {"fit": {"holdout_r2": -0.069, "coverage_90": 0.88}})
    page = _page(run_dir)
    assert "Fit and diagnostics: OK" not in page
    assert "Attention needed" in page
    assert "holdout R² -0.069 < 0 over 8 held-out periods" in page
    # the fit section comes before the channels
    assert page.index("<h2>Model fit</h2>") < page.index("<h2>Channels</h2>")


def test_a_good_fit_is_reported_ok(make_run_dir: RunDirFactory) -> None:
    run_dir = make_run_dir()
    summary = _edit(
        run_dir, {"fit": {"holdout_r2": 0.62, "coverage_90": 0.9, "holdout_coverage_90": 0.85}}
    )
    assert fit_verdict(summary.fit).ok
    page = _page(run_dir)
    assert "Fit and diagnostics: OK" in page
    assert "90% predictive coverage 90% in sample, 85% in the holdout" in page


def test_console_leads_with_fit_and_warns_on_a_negative_holdout(
    make_run_dir: RunDirFactory,
) -> None:
    summary = _edit(make_run_dir(), {"fit": {"holdout_r2": -2.036}})
    lines = summary_lines(summary)
    assert lines[0].startswith("fit: in-sample R²")
    assert lines[1].startswith("holdout (8 periods): R² -2.036")
    assert any(line.startswith("WARNING: holdout R² -2.036 < 0") for line in lines)
    assert lines[-1] == "status: WARNING (read the reasons above)"


def test_conversions_column_shows_conversions_not_revenue(make_run_dir: RunDirFactory) -> None:
    run_dir = make_run_dir(kpi_type="conversions")
    summary = load_summary(run_dir / "summary.json")
    name, channel = next(iter(summary.channels.items()))
    # a valued conversions KPI: revenue contribution 35x the conversions
    revenue = {k: v * 35 for k, v in channel.contribution.model_dump().items() if k != "hdi_90"}
    revenue["hdi_90"] = [v * 35 for v in channel.contribution.hdi_90]
    summary = _edit(run_dir, {"channels": {name: {"contribution": revenue}}})
    channel = summary.channels[name]
    cells = _row(_page(run_dir), name)
    page = _page(run_dir)
    assert "<th>Contribution (conversions)</th><th>Contribution (revenue)</th>" in page
    assert cells[2] == fmt_interval(channel.contribution_kpi.model_dump(), fmt_amount)
    assert cells[3] == fmt_interval(channel.contribution.model_dump(), fmt_amount)
    assert cells[2] != cells[3]


def test_map_fit_shows_point_estimates_without_intervals(make_run_dir: RunDirFactory) -> None:
    run_dir = make_run_dir(method="map")
    summary = load_summary(run_dir / "summary.json")
    page = _page(run_dir)
    name, channel = next(iter(summary.channels.items()))
    cells = _row(page, name)
    assert all("[" not in cell for cell in cells), cells
    assert "Point estimate (MAP fit, no posterior intervals)" in page
    assert "Fit and diagnostics: OK" not in page
    lines = summary_lines(summary)
    assert any("point estimate" in line for line in lines)
    assert not any("HDI" in line or "[" in line for line in lines)
    row = next(line for line in lines if line.startswith(f"{name:<14}"))
    assert row.split()[-1] == fmt_sig(channel.roi.mean)
