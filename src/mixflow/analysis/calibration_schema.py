"""``calibration.json``, typed: :class:`CalibrationDocument` (one :class:`CalibrationTestCheck`
per lift test), its JSON Schema :func:`calibration_json_schema`. Pydantic only, no math: the
report reads run folders through it."""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from pydantic import BaseModel, ConfigDict

from mixflow.analysis.schema import Interval
from mixflow.spec.options import CalibrationMethod

#: ``calibration.json``'s schema version: 2 added ``schema_version``, ``contradicts``, the
#: ``before`` comparison and the document's ``contradicted`` list (version 1 files read with
#: those absent)
CALIBRATION_SCHEMA_VERSION: Final = 2

#: ``|z|`` above which the model contradicts a test (about a 5 % chance for a consistent pair)
CONTRADICTION_Z: Final = 2.0


class LiftBefore(BaseModel):
    """The uncalibrated model's implied lift of a test: the calibrated posterior's draws
    reweighted by the inverse of the lift tests' likelihood (Pareto-smoothed importance
    sampling), which removes the tests' term. ``pareto_k`` above 0.7 means the tests moved the
    model so far that the reweighting is unreliable (refit without calibration to see it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model_lift: Interval
    model_sd: float
    z: float
    contradicts: bool
    pareto_k: float


class CalibrationTestCheck(BaseModel):
    """One lift test of the run's config against the fitted model. The first fields are the
    lift-test table's columns (``geos`` joined by ``;``, empty for a national test); KPI figures
    are in KPI units; ``z`` is ``(model mean - measured) / sqrt(se^2 + model_sd^2)``,
    ``consistent`` means ``|z| < 1.645`` and ``contradicts`` means ``|z| >`` :data:`CONTRADICTION_Z`;
    ``before`` is the same comparison for the model without calibration (likelihood
    calibration only)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: str
    start: date
    end: date
    geos: str
    spend_change: float
    incremental_kpi: float
    standard_error: float
    measured_until: date | None
    method: CalibrationMethod
    model_lift: Interval
    model_sd: float
    z: float
    consistent: bool
    contradicts: bool | None = None
    before: LiftBefore | None = None

    @property
    def label(self) -> str:
        """``channel start..end`` (and its geos), for messages."""
        geos = f" in {self.geos}" if self.geos else ""
        return f"{self.channel} {self.start}..{self.end}{geos}"


class CalibrationDocument(BaseModel):
    """What ``calibration.json`` holds: one check per lift test (the file is written only for
    a calibrated model, so ``tests`` is never empty there); ``contradicted`` and
    ``contradicted_before`` list the labels of the tests the calibrated (uncalibrated) model
    contradicts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    tests: list[CalibrationTestCheck]
    contradicted: list[str] = []
    contradicted_before: list[str] = []

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON object written to ``calibration.json``."""
        return self.model_dump(mode="json")


def calibration_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``calibration.json`` (validation mode)."""
    return CalibrationDocument.model_json_schema()


__all__ = [
    "CALIBRATION_SCHEMA_VERSION",
    "CONTRADICTION_Z",
    "CalibrationDocument",
    "CalibrationTestCheck",
    "LiftBefore",
    "calibration_json_schema",
]
