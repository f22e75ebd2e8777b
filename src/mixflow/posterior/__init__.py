"""The fitted posterior: draws, config and data, with save/load."""

from mixflow.posterior.posterior import SCHEMA_VERSION, Posterior

__all__ = ["SCHEMA_VERSION", "Posterior"]
