"""Experiments: geo-experiment analysis (synthetic control, augmented SC, DiD), design (power,
MDE, market selection, budget) and the value of testing each channel of a fitted MMM.

Names load on first use (PEP 562), so a command that only needs :class:`GeoMethod` (from the
light ``methods`` module) pays for neither pandas nor SciPy at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mixflow.experiments.design import (
        DesignResult,
        DesignSettings,
        design_experiment,
        minimum_detectable_effect,
        simulate_power,
    )
    from mixflow.experiments.geo import (
        GeoPanel,
        GeoResult,
        analyze_geo_experiment,
        analyze_panel,
        panel_from_table,
        sc_weights,
    )
    from mixflow.experiments.methods import GeoMethod
    from mixflow.experiments.value import TestPrecision, rank_channels

_MODULE_OF = {
    "DesignResult": "design",
    "DesignSettings": "design",
    "design_experiment": "design",
    "minimum_detectable_effect": "design",
    "simulate_power": "design",
    "GeoMethod": "methods",
    "GeoPanel": "geo",
    "GeoResult": "geo",
    "analyze_geo_experiment": "geo",
    "analyze_panel": "geo",
    "panel_from_table": "geo",
    "sc_weights": "geo",
    "TestPrecision": "value",
    "rank_channels": "value",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'mixflow.experiments' has no attribute {name!r}")
    module = importlib.import_module(f"mixflow.experiments.{_MODULE_OF[name]}")
    return getattr(module, name)


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
