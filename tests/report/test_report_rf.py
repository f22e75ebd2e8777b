"""The report's "Reach and frequency" table (issue 17): per R&F channel, the historical frequency,
the optimal one (mean [90% HDI]) and the frequency curve's ec and slope, from summary.json's
``channels.NAME.frequency``; absent for a run without R&F channels."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mixflow.analysis.schema import load_summary
from mixflow.report import render_report

RunDirFactory = Callable[..., Path]

SECTION = "<h2>Reach and frequency</h2>"

#: one R&F channel's frequency block, shaped as mixflow.analysis.rf writes it
FREQUENCY: dict[str, Any] = {
    "optimal": {"mean": 1.874, "median": 1.8, "hdi_90": [1.0, 2.618]},
    "historical": 1.8349,
    "search_range": [1.0, 4.2],
    "ec": {"mean": 2.0513, "median": 2.0, "hdi_90": [1.1234, 3.8765]},
    "slope": {"mean": 3.9001, "median": 3.8, "hdi_90": [2.2, 5.55]},
}


def _with_frequency(run_dir: Path, channel: str, **edit: Any) -> Path:
    """Give ``channel`` of the run's summary.json the frequency block of an R&F channel (and
    the top-level ``edit``); the typed summary must still read it."""
    path = run_dir / "summary.json"
    summary = json.loads(path.read_text(encoding="utf-8"))
    summary["channels"][channel]["frequency"] = FREQUENCY
    summary.update(edit)
    path.write_text(json.dumps(summary), encoding="utf-8")
    assert load_summary(path).channels[channel].frequency is not None
    return run_dir


def _section(html: str) -> str:
    match = re.search(re.escape(SECTION) + r"(.*?)</section>", html, re.S)
    assert match, "no Reach and frequency section"
    return match.group(1)


def test_the_table_shows_each_rf_channel_s_frequencies(make_run_dir: RunDirFactory) -> None:
    run = _with_frequency(make_run_dir(), "search")
    table = _section(render_report(run).read_text(encoding="utf-8"))
    (row,) = re.findall(r"<tr><td>[^<]*</td>.*?</tr>", table)  # tv and social are not R&F
    assert row == (
        '<tr><td>search</td><td class="num">1.83</td><td class="num">1.87 [1.00, 2.62]</td>'
        '<td class="num">2.05 [1.12, 3.88]</td><td class="num">3.90 [2.20, 5.55]</td></tr>'
    )
    assert "<th>Historical frequency</th><th>Optimal frequency</th>" in table
    assert "Posterior mean [90% HDI]." in table


def test_a_point_estimate_shows_the_frequencies_without_intervals(
    make_run_dir: RunDirFactory,
) -> None:
    run = _with_frequency(make_run_dir(method="map"), "tv")
    table = _section(render_report(run).read_text(encoding="utf-8"))
    assert '<tr><td>tv</td><td class="num">1.83</td><td class="num">1.87</td>' in table
    assert "[1.00, 2.62]" not in table and "Point estimate." in table


def test_channel_names_in_the_table_are_escaped(make_run_dir: RunDirFactory) -> None:
    hostile = "<script>alert(1)</script>"
    run = _with_frequency(make_run_dir(channels=(hostile, "tv")), hostile)
    table = _section(render_report(run).read_text(encoding="utf-8"))
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in table
    assert "<script" not in table


def test_a_run_without_rf_channels_has_no_such_section(make_run_dir: RunDirFactory) -> None:
    html = render_report(make_run_dir()).read_text(encoding="utf-8")
    assert "Reach and frequency" not in html
    assert "<h2>Channels</h2>" in html  # the report itself was rendered
