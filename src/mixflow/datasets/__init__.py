"""Simulated datasets with known truth."""

from mixflow.datasets.simulate import (
    DEFAULT_CHANNELS,
    BrandSimulation,
    ChannelTruth,
    SimulatedBrand,
    simulate_brand,
)

__all__ = [
    "DEFAULT_CHANNELS",
    "BrandSimulation",
    "ChannelTruth",
    "SimulatedBrand",
    "simulate_brand",
]
