"""The HTML page of a budget optimization (``mixflow optimize --out DIR`` -> DIR/plan.html)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, Final

from mixflow.data.io import atomic_write_text
from mixflow.errors import RunDirError
from mixflow.report.html import _CSS, _img, _section

PLAN_REPORT_FILE: Final = "plan.html"


def _stat(s: dict[str, Any], ratio: bool = False) -> str:
    fmt = "{:,.2f}" if ratio else "{:,.0f}"
    lo, hi = s["hdi_90"]
    return f"{fmt.format(s['mean'])} [{fmt.format(lo)}, {fmt.format(hi)}]"


def render_plan_report(out_dir: Path) -> Path:
    """Write ``out_dir/plan.html`` from ``plan.json`` and ``plan.png`` (atomically)."""
    out_dir = Path(out_dir)
    for name in ("plan.json", "plan.png"):
        if not (out_dir / name).is_file():
            raise RunDirError(
                f"{out_dir} lacks {name}; run `mixflow optimize ... --out {out_dir}` first"
            )
    plan = json.loads((out_dir / "plan.json").read_text())
    rows = []
    for ch, amount in plan["allocation"].items():
        cur = plan["current_allocation"][ch]
        change = f"{amount / cur - 1:+.0%}" if cur > 0 else "new"
        bound = plan.get("at_bounds", {}).get(ch, "")
        rows.append(
            f"<tr><td>{html.escape(ch)}</td><td>{cur:,.0f}</td><td>{amount:,.0f}</td><td>{change}</td>"
            f"<td>{plan['marginal_roi'][ch]:.2f}</td><td>{html.escape(bound)}</td></tr>"
        )
    table = (
        "<table><thead><tr><th>channel</th><th>current</th><th>optimized</th><th>change</th>"
        "<th>marginal ROI</th><th>at bound</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )
    e, c = plan["expected"], plan["current_expected"]
    outcome = (
        "<table><thead><tr><th></th><th>optimized (mean [90% HDI])</th><th>current</th></tr></thead><tbody>"
        f"<tr><td>incremental KPI</td><td>{_stat(e['incremental_kpi'])}</td><td>{_stat(c['incremental_kpi'])}</td></tr>"
        f"<tr><td>incremental revenue</td><td>{_stat(e['incremental_revenue'])}</td>"
        f"<td>{_stat(c['incremental_revenue'])}</td></tr>"
        f"<tr><td>ROI</td><td>{_stat(e['roi'], True)}</td><td>{_stat(c['roi'], True)}</td></tr>"
        "</tbody></table>"
    )
    facts = (
        f"<p>Budget {plan['budget']:,.0f} over {plan['horizon_weeks']} weeks; objective "
        f"<b>{html.escape(str(plan['objective']))}</b>, risk <b>{html.escape(str(plan['risk']))}</b>. "
        f"Probability that the optimized plan beats the current one: "
        f"<b>{plan['prob_beats_current']:.0%}</b>.</p>"
    )
    body = (
        "<main><header><h1>Budget optimization</h1></header>"
        + facts
        + _section("Allocation", table)
        + _section("Expected outcome (carryover tail included)", outcome)
        + _section(
            "Allocation and response curves",
            _img((out_dir / "plan.png").read_bytes(), "allocation chart"),
        )
        + "</main>"
    )
    page = f"<!doctype html><html><head><meta charset='utf-8'><title>mixflow plan</title><style>{_CSS}</style></head><body>{body}</body></html>"
    path = out_dir / PLAN_REPORT_FILE
    atomic_write_text(path, page)
    return path
