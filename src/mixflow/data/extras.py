"""Organic media and non-media treatments: the config entries and how their columns are read.

*Organic media* (``data.organic``) are exposures without spend (email sends, social posts): they
go through adstock and saturation like paid media, but have no ROI. *Treatments*
(``data.treatments``) are non-media variables a business sets (a promotion flag, a price): they
enter the model linearly like controls, and their effect is reported relative to a stated
``baseline`` value (no promotion, the list price). A treatment is a control of the dataset
(so plans can set its future values like any control) with its baseline recorded beside it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from mixflow.schema_errors import StrictModel

if TYPE_CHECKING:
    from mixflow.data import validation as v


class OrganicConfig(StrictModel):
    """One organic channel: exposure without spend (``data.organic[i]``)."""

    name: str = Field(min_length=1)
    exposure_column: str


class TreatmentConfig(StrictModel):
    """One non-media treatment (``data.treatments[i]``): its column and the value whose effect
    is zero by definition (``baseline``: 0 for a promotion flag, the list price for a price)."""

    name: str = Field(min_length=1)
    column: str
    baseline: float = 0.0

    @field_validator("baseline")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"baseline must be a finite number, got {value}")
        return value


def extra_roles(
    organic: list[OrganicConfig], treatments: list[TreatmentConfig]
) -> list[v.ColumnRole]:
    """The column roles of the organic channels and treatments (for the missing-column check)."""
    from mixflow.data.validation import ColumnRole

    roles = [
        ColumnRole(
            o.exposure_column,
            f"organic '{o.name}' exposure_column",
            f"data.organic[{i}].exposure_column",
        )
        for i, o in enumerate(organic)
    ]
    roles += [
        ColumnRole(t.column, f"treatment '{t.name}' column", f"data.treatments[{i}].column")
        for i, t in enumerate(treatments)
    ]
    return roles


def organic_columns(
    table: pd.DataFrame, organic: list[OrganicConfig], where: v.RowLocator
) -> list[np.ndarray]:
    """Per organic channel ``(N,)`` non-negative exposure."""
    from mixflow.data import validation as val

    out = []
    for role in extra_roles(organic, []):
        values = val.to_numeric(table[role.column], role, where)
        val.check_non_negative(values, role, where)
        out.append(values)
    return out


def treatment_columns(
    table: pd.DataFrame, treatments: list[TreatmentConfig], where: v.RowLocator
) -> list[np.ndarray]:
    """Per treatment ``(N,)`` values (any finite number)."""
    from mixflow.data import validation as val

    return [val.to_numeric(table[role.column], role, where) for role in extra_roles([], treatments)]


def check_names(
    media: tuple[str, ...],
    controls: list[str],
    organic: list[OrganicConfig],
    treatments: list[TreatmentConfig],
) -> None:
    """Organic and treatment names are unique and distinct from the media and control names."""
    if not organic and not treatments:
        return
    names = [*media, *controls, *(o.name for o in organic), *(t.name for t in treatments)]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(
            f"names of media, controls, organic channels and treatments must be unique, "
            f"repeated: {dupes}"
        )


__all__ = [
    "OrganicConfig",
    "TreatmentConfig",
    "check_names",
    "extra_roles",
    "organic_columns",
    "treatment_columns",
]
