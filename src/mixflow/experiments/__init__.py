"""Experiments: geo-experiment analysis (synthetic control, augmented SC, DiD)."""

from mixflow.experiments.geo import (
    GeoMethod,
    GeoPanel,
    GeoResult,
    analyze_geo_experiment,
    analyze_panel,
    panel_from_table,
    sc_weights,
)

__all__ = [
    "GeoMethod",
    "GeoPanel",
    "GeoResult",
    "analyze_geo_experiment",
    "analyze_panel",
    "panel_from_table",
    "sc_weights",
]
