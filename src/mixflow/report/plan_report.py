"""The HTML page of a budget optimization (``mixflow optimize --out DIR`` -> DIR/plan.html)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from mixflow.data.io import atomic_write_text
from mixflow.errors import RunDirError
from mixflow.report.templating import render_page

PLAN_REPORT_FILE: Final = "plan.html"


def render_plan_report(
    out_dir: Path, notes: Sequence[str] = (), point_estimate: bool = False
) -> Path:
    """Write ``out_dir/plan.html`` from ``plan.json`` and ``plan.png`` (atomically); ``notes``
    are warnings shown above the table; a ``point_estimate`` plan (MAP fit) shows no
    intervals and no probability of beating the current plan."""
    out_dir = Path(out_dir)
    for name in ("plan.json", "plan.png"):
        if not (out_dir / name).is_file():
            raise RunDirError(
                f"{out_dir} lacks {name}; run `mixflow optimize ... --out {out_dir}` first"
            )
    page = build_plan_html(
        json.loads((out_dir / "plan.json").read_text(encoding="utf-8")),
        (out_dir / "plan.png").read_bytes(),
        notes=notes,
        point_estimate=point_estimate,
    )
    path = out_dir / PLAN_REPORT_FILE
    atomic_write_text(path, page)
    return path


def build_plan_html(
    plan: object, chart_png: bytes, notes: Sequence[str] = (), point_estimate: bool = False
) -> str:
    """The page (``templates/plan.html.j2``) of a plan: ``plan.json``'s content (a mapping, or
    an object with the same attributes), the allocation chart, warnings."""
    return render_page(
        "plan.html.j2",
        plan=plan,
        chart_png=chart_png,
        notes=list(notes),
        point_estimate=point_estimate,
    )
