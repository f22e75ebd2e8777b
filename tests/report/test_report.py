"""The HTML report of a run directory: content, self-containment, escaping, errors, atomicity."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from mixflow.errors import RunDirError
from mixflow.report import render_report
from mixflow.report.charts import CHARTS
from mixflow.report.fmt import (
    MISSING,
    fmt_amount,
    fmt_compact,
    fmt_interval,
    fmt_pct,
    fmt_timestamp,
)

#: fit, decomposition, ROI, shares, response curves (one panel per channel), adstock.
N_CHARTS = 6
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

RunDirFactory = Callable[..., Path]


@pytest.fixture(scope="module")
def report_html(shared_run_dir: Path) -> str:
    return render_report(shared_run_dir).read_text(encoding="utf-8")


def _edit_summary(run_dir: Path, edit: dict[str, object]) -> None:
    path = run_dir / "summary.json"
    summary = json.loads(path.read_text(encoding="utf-8"))
    summary.update(edit)
    path.write_text(json.dumps(summary), encoding="utf-8")


def test_render_writes_report_html_in_run_dir(shared_run_dir: Path, report_html: str) -> None:
    path = shared_run_dir / "report.html"
    assert path.is_file()
    assert report_html.startswith("<!DOCTYPE html>")


def test_report_is_self_contained(report_html: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", report_html, re.I)
    assert "<script" not in report_html.lower()
    assert "<link" not in report_html.lower()
    assert "@import" not in report_html and "url(" not in report_html


def test_report_names_every_channel(report_html: str) -> None:
    for name in ("tv", "search", "social"):
        assert f"<td>{name}</td>" in report_html


def test_report_embeds_one_png_per_chart(report_html: str) -> None:
    images = re.findall(r'<img [^>]*src="data:image/png;base64,([^"]+)"', report_html)
    assert len(CHARTS) == N_CHARTS
    assert len(images) == N_CHARTS
    assert report_html.count("<img") == N_CHARTS
    assert all(base64.b64decode(data).startswith(PNG_MAGIC) for data in images)


def test_header_shows_name_window_kpi_method_and_date(report_html: str) -> None:
    header = report_html.split("</header>")[0]
    assert "<h1>brand-x</h1>" in header
    assert "2024-01-01 to 2025-02-17 (60 periods, 1 geo)" in header
    assert "revenue" in header and "NUTS" in header
    assert "2026-11-28 20:00 UTC" in header


def test_healthy_fit_shows_green_box(report_html: str) -> None:
    assert 'class="diag diag-ok"' in report_html
    assert "diag-bad" not in report_html.split("<style>")[1].split("</style>")[1]


def test_tables_format_numbers_for_humans(shared_run_dir: Path, report_html: str) -> None:
    summary = json.loads((shared_run_dir / "summary.json").read_text(encoding="utf-8"))
    tv = summary["channels"]["tv"]
    lo, hi = tv["roi"]["hdi_90"]
    assert f"{tv['roi']['mean']:.2f} [{lo:.2f}, {hi:.2f}]" in report_html
    assert f">{fmt_compact(tv['spend'])}<" in report_html  # the one compact format: 2.5M
    assert f"{round(tv['spend']):,d}" not in report_html
    assert f"{100 * tv['spend_share']:.1f}%" in report_html
    assert "Holdout (8 periods)" in report_html
    assert '<td>MAPE</td><td class="num">5.0%</td><td class="num">7.0%</td>' in report_html


def test_revenue_report_has_no_cpa_column(report_html: str) -> None:
    assert "<th>CPA</th>" not in report_html


def test_prior_posterior_table_shown_when_file_present(report_html: str) -> None:
    assert "Priors and posteriors" in report_html
    assert "0.90 [0.17, 4.70]" in report_html


def test_prior_posterior_table_marks_weakly_identified_channels(
    make_run_dir: RunDirFactory,
) -> None:
    run_dir = make_run_dir()
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["channels"]["search"]["roi_prior"] |= {"sd_ratio": 0.74, "weakly_identified": True}
    summary["channels"]["tv"]["roi_prior"] |= {"sd_ratio": 0.12, "weakly_identified": False}
    (run_dir / "summary.json").write_text(json.dumps(summary))
    text = render_report(run_dir).read_text(encoding="utf-8")
    rows = {
        ch: re.search(rf"<tr><td>{ch}</td><td>roi</td>.*?</tr>", text, re.S)
        for ch in ("tv", "search", "social")
    }
    assert all(rows.values()), rows
    assert '<td class="num">0.74 (weakly identified)</td>' in rows["search"].group(0)
    assert '<td class="num">0.12</td>' in rows["tv"].group(0)
    # no ratio in the summary (MAP fits, older runs): a dash, not a number
    last_cell = rows["social"].group(0).rsplit("<td", 1)[-1]
    assert MISSING in last_cell and "0." not in last_cell


def test_unhealthy_fit_lists_flags_in_red_box(make_run_dir: RunDirFactory) -> None:
    run_dir = make_run_dir(ok=False)
    text = render_report(run_dir).read_text(encoding="utf-8")
    assert 'class="diag diag-bad"' in text
    assert "diag diag-ok" not in text
    assert "<li>rhat_max 1.083 &gt; 1.01 (worst: beta_tv)</li>" in text
    assert "<li>divergences 37 &gt; 0.5%</li>" in text


def test_channel_names_are_escaped(make_run_dir: RunDirFactory) -> None:
    run_dir = make_run_dir(channels=("<b>tv</b>", "search & co", "$ocial"))
    text = render_report(run_dir).read_text(encoding="utf-8")
    assert "<b>tv</b>" not in text
    assert "&lt;b&gt;tv&lt;/b&gt;" in text
    assert "search &amp; co" in text
    assert text.count("<img") == N_CHARTS


def test_conversions_kpi_adds_cpa_and_drops_break_even(make_run_dir: RunDirFactory) -> None:
    run_dir = make_run_dir(kpi_type="conversions")
    text = render_report(run_dir).read_text(encoding="utf-8")
    assert "<th>CPA</th>" in text
    assert text.count("<img") == N_CHARTS


def test_map_fit_without_holdout_or_priors_renders_dashes(make_run_dir: RunDirFactory) -> None:
    run_dir = make_run_dir(method="map", holdout_weeks=0, prior_posterior=False)
    text = render_report(run_dir).read_text(encoding="utf-8")
    assert "Holdout (none)" in text
    assert f'<td>Max R-hat</td><td class="num">{MISSING}</td>' in text
    assert "R-hat and ESS are not available for method map." in text
    assert "Priors and posteriors" not in text
    assert text.count("<img") == N_CHARTS


def test_write_is_atomic_and_leaves_no_temp_files(run_dir: Path) -> None:
    before = {p.name for p in run_dir.iterdir()}
    render_report(run_dir)
    render_report(run_dir)  # replacing an existing report leaves nothing behind either
    assert {p.name for p in run_dir.iterdir()} == before | {"report.html"}


def test_missing_contributions_csv_names_the_file(run_dir: Path) -> None:
    (run_dir / "contributions.csv").unlink()
    with pytest.raises(RunDirError, match=r"lacks contributions\.csv"):
        render_report(run_dir)
    assert not (run_dir / "report.html").exists()


def test_missing_summary_json_names_the_file(run_dir: Path) -> None:
    (run_dir / "summary.json").unlink()
    with pytest.raises(RunDirError, match=r"lacks summary\.json"):
        render_report(run_dir)


def test_summary_without_channels_names_the_key(run_dir: Path) -> None:
    path = run_dir / "summary.json"
    summary = json.loads(path.read_text(encoding="utf-8"))
    del summary["channels"]
    path.write_text(json.dumps(summary), encoding="utf-8")
    with pytest.raises(RunDirError, match=r"summary\.json lacks required key 'channels'"):
        render_report(run_dir)


def test_summary_channel_without_roi_names_the_nested_key(run_dir: Path) -> None:
    path = run_dir / "summary.json"
    summary = json.loads(path.read_text(encoding="utf-8"))
    del summary["channels"]["search"]["roi"]
    path.write_text(json.dumps(summary), encoding="utf-8")
    with pytest.raises(RunDirError, match=r"'channels\.search\.roi'"):
        render_report(run_dir)


def test_unknown_kpi_type_lists_allowed_values(run_dir: Path) -> None:
    _edit_summary(run_dir, {"kpi_type": "profit"})
    with pytest.raises(RunDirError, match=r"'profit'; allowed values: revenue, conversions"):
        render_report(run_dir)


def test_newer_schema_version_is_refused(run_dir: Path) -> None:
    _edit_summary(run_dir, {"schema_version": 99})
    with pytest.raises(RunDirError, match=r"schema_version 99"):
        render_report(run_dir)


def test_contributions_without_channel_column_names_the_column(run_dir: Path) -> None:
    path = run_dir / "contributions.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    keep = [i for i, col in enumerate(header) if col != "social"]
    path.write_text(
        "\n".join(",".join(line.split(",")[i] for i in keep) for line in lines) + "\n",
        encoding="utf-8",
    )
    with pytest.raises(RunDirError, match=r"contributions\.csv lacks column 'social'"):
        render_report(run_dir)


def test_missing_run_dir_is_a_run_dir_error(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="does not exist"):
        render_report(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1_234_567.8, "1.23M"),
        (640_000.0, "640k"),
        (3.49e9, "3.49B"),
        (-2_500_000.0, "-2.5M"),
        (999_999.0, "1M"),
        (123.4, "123"),
        (12.345, "12.35"),
        (0.012345, "0.0123"),
        (0.0, "0"),
        (None, MISSING),
        (float("nan"), MISSING),
    ],
)
def test_fmt_amount(value: float | None, expected: str) -> None:
    assert fmt_amount(value) == expected


def test_fmt_interval_and_pct() -> None:
    assert fmt_interval({"mean": 1.234, "hdi_90": [0.98, 1.514]}) == "1.23 [0.98, 1.51]"
    assert fmt_interval({"mean": 0.4, "hdi_90": [0.3, 0.5]}, fmt_pct) == "40.0% [30.0%, 50.0%]"
    assert fmt_interval(None) == MISSING
    # a CPA of cents keeps its significant digits; a point estimate shows no interval
    assert fmt_interval({"mean": 0.0123, "hdi_90": [0.004, 0.021]}, fmt_amount) == (
        "0.0123 [0.004, 0.021]"
    )
    assert fmt_interval({"mean": 6.98, "hdi_90": [6.98, 6.98]}, point_estimate=True) == "6.98"


def test_fmt_timestamp_and_compact() -> None:
    assert fmt_timestamp("2026-11-28T20:00:00Z") == "2026-11-28 20:00 UTC"
    assert fmt_timestamp("yesterday") == "yesterday"
    assert fmt_compact(1_250_000) == "1.25M"
    assert fmt_compact(350) == "350"
