"""Plans and forward simulation over the full posterior."""

from mixflow.simulate.engine import SimulationDraws, Simulator
from mixflow.simulate.plan import Plan

__all__ = ["Plan", "SimulationDraws", "Simulator"]
