"""Data contract: loaders, validation and the validated dataset object."""

from mixflow.data.dataset import NATIONAL_GEO, KpiType, MMMDataset
from mixflow.data.loaders import dataset_from_frame, load_dataset, read_table
from mixflow.data.validation import min_periods

__all__ = [
    "NATIONAL_GEO",
    "KpiType",
    "MMMDataset",
    "dataset_from_frame",
    "load_dataset",
    "min_periods",
    "read_table",
]
