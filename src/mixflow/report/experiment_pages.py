"""The experiment pages: a geo experiment's analysis, a causal impact, a geo test design.

Each ``render_*`` function returns one self-contained HTML page (the base layout, charts inline)
rendered from its template under ``templates/``; the commands of ``mixflow experiment`` write it
to ``report.html``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from mixflow.report.charts import png_bytes
from mixflow.report.experiment_charts import (
    design_power_chart,
    geo_att_chart,
    geo_effect_chart,
    geo_series_chart,
    impact_chart,
)
from mixflow.report.templating import render_page

if TYPE_CHECKING:
    from mixflow.experiments.design import DesignResult
    from mixflow.experiments.geo import GeoResult
    from mixflow.experiments.geo_bands import GeoEffectBands
    from mixflow.experiments.impact import ImpactResult

GEO_TEMPLATE: Final = "geo.html.j2"
IMPACT_TEMPLATE: Final = "impact.html.j2"
DESIGN_TEMPLATE: Final = "design.html.j2"


def render_geo_report(result: GeoResult, bands: GeoEffectBands | None = None) -> str:
    """The page of a geo experiment: summary, treated vs synthetic, the effect over time and
    the cumulative effect with their conformal bands (``bands``, from
    :func:`mixflow.experiments.geo_bands.effect_bands`; without them the effect is drawn
    alone, with a note), donors."""
    donors = sorted(result.weights.items(), key=lambda item: -abs(item[1]))
    effect = geo_effect_chart(result, bands) if bands is not None else geo_att_chart(result)
    return render_page(
        GEO_TEMPLATE,
        result=result,
        bands=bands,
        donors=donors,
        series_png=png_bytes(geo_series_chart(result)),
        att_png=png_bytes(effect),
    )


def render_impact_report(result: ImpactResult) -> str:
    """The page of a causal impact: the summary, the classic three panels, model and sampler."""
    return render_page(IMPACT_TEMPLATE, result=result, chart_png=png_bytes(impact_chart(result)))


def render_design_report(result: DesignResult, top: int) -> str:
    """The page of a design search: settings, the best designs' power curves, the ``top``
    designs' table."""
    from mixflow.experiments.design import false_positive_limit

    return render_page(
        DESIGN_TEMPLATE,
        result=result,
        top=top,
        false_positive_limit=false_positive_limit(result.settings),
        power_png=png_bytes(design_power_chart(result)),
    )


__all__ = ["render_design_report", "render_geo_report", "render_impact_report"]
