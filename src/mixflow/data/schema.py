"""The ``data`` section of the config: which column of the table plays which role.

It lives in the data layer (the loaders read it), and :mod:`mixflow.spec.config` nests it in
the whole config; so ``spec`` imports ``data`` and never the other way round.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from mixflow.data.dataset import KpiType
from mixflow.data.extras import OrganicConfig, TreatmentConfig, check_names
from mixflow.data.rf import check_media_columns
from mixflow.schema_errors import StrictModel


class MediaConfig(StrictModel):
    name: str = Field(min_length=1)
    spend_column: str
    exposure_column: str | None = None
    #: a reach and frequency channel gives both instead of exposure_column (mixflow.data.rf)
    reach_column: str | None = None
    frequency_column: str | None = None

    @model_validator(mode="after")
    def _rf_columns(self) -> MediaConfig:
        check_media_columns(
            self.name, self.exposure_column, self.reach_column, self.frequency_column
        )
        return self

    @property
    def is_rf(self) -> bool:
        return self.reach_column is not None


class DataConfig(StrictModel):
    path: str
    date_column: str = "date"
    geo_column: str | None = None
    population_column: str | None = None
    kpi_column: str
    kpi_type: KpiType = KpiType.REVENUE
    revenue_per_kpi_column: str | None = None
    media: list[MediaConfig] = Field(min_length=1)
    controls: list[str] = Field(default_factory=list)
    events_column: str | None = None
    #: values of the events column that mean "no event"
    events_none_values: list[str] = Field(default_factory=lambda: ["na", "none", ""])
    #: exposure without spend (adstock and saturation, no ROI): see mixflow.data.extras
    organic: list[OrganicConfig] = Field(default_factory=list)
    #: non-media treatments (promotions, price), effects relative to each one's baseline
    treatments: list[TreatmentConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> DataConfig:
        names = [m.name for m in self.media]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"media names must be unique, repeated: {dupes}")
        check_names(self.channels, self.controls, self.organic, self.treatments)
        if self.revenue_per_kpi_column and self.kpi_type is KpiType.REVENUE:
            raise ValueError("revenue_per_kpi_column is only allowed with kpi_type: conversions")
        if self.population_column and not self.geo_column:
            raise ValueError("population_column needs geo_column (population scales geo models)")
        return self

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.media)


__all__ = ["DataConfig", "MediaConfig"]
