"""Data contract: loaders, validation and the validated dataset object."""

from mixflow.data.dataset import NATIONAL_GEO, KpiType, MMMDataset

__all__ = ["NATIONAL_GEO", "KpiType", "MMMDataset"]
