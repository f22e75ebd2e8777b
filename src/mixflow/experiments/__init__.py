"""Experiments: geo-experiment analysis (synthetic control, augmented SC, DiD), design (power,
MDE, market selection, budget) and the value of testing each channel of a fitted MMM."""

from mixflow.experiments.design import (
    DesignResult,
    DesignSettings,
    design_experiment,
    minimum_detectable_effect,
    simulate_power,
)
from mixflow.experiments.geo import (
    GeoMethod,
    GeoPanel,
    GeoResult,
    analyze_geo_experiment,
    analyze_panel,
    panel_from_table,
    sc_weights,
)
from mixflow.experiments.value import TestPrecision, rank_channels

__all__ = [
    "DesignResult",
    "DesignSettings",
    "GeoMethod",
    "GeoPanel",
    "GeoResult",
    "TestPrecision",
    "analyze_geo_experiment",
    "analyze_panel",
    "design_experiment",
    "minimum_detectable_effect",
    "panel_from_table",
    "rank_channels",
    "sc_weights",
    "simulate_power",
]
