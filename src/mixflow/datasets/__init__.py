"""Simulated datasets with known truth."""

from mixflow.datasets.simulate import (
    DEFAULT_CHANNELS,
    BrandSimulation,
    ChannelTruth,
    SimulatedBrand,
    simulate_brand,
)
from mixflow.datasets.truth import TrueResponse, TruthComparison, compare_with_truth

__all__ = [
    "DEFAULT_CHANNELS",
    "BrandSimulation",
    "ChannelTruth",
    "SimulatedBrand",
    "TrueResponse",
    "TruthComparison",
    "compare_with_truth",
    "simulate_brand",
]
