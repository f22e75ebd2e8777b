"""Charts of simulated plans (KPI per period with its 90% band; plan comparisons)."""

from __future__ import annotations

from typing import Any

from mixflow.report.charts import _compact_formatter, _figure, png_bytes


def plan_chart(summaries: list[dict[str, Any]]) -> bytes:
    """PNG: expected KPI per period of each simulated plan, with 90% HDI bands."""
    fig, ax = _figure()
    for s in summaries:
        periods = [p["period"] for p in s["per_period"]]
        mean = [p["kpi_mean"] for p in s["per_period"]]
        lo = [p["kpi_hdi_90"][0] for p in s["per_period"]]
        hi = [p["kpi_hdi_90"][1] for p in s["per_period"]]
        line = ax.plot(periods, mean, label=f"{s['name']} (mean)")[0]
        ax.fill_between(
            periods, lo, hi, alpha=0.2, color=line.get_color(), label=f"{s['name']} 90% HDI"
        )
    ax.set_title("Simulated KPI per period")
    ax.set_xlabel("Period of the horizon")
    ax.set_ylabel("Expected KPI")
    ax.yaxis.set_major_formatter(_compact_formatter())
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return png_bytes(fig)
