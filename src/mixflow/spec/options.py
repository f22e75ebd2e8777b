"""The fixed choices of the config, as enums: the JSON Schema, ``--help`` and error messages
list their values."""

from __future__ import annotations

from enum import StrEnum


class Adstock(StrEnum):
    GEOMETRIC = "geometric"
    WEIBULL = "weibull"
    BINOMIAL = "binomial"


class Saturation(StrEnum):
    HILL = "hill"
    LOGISTIC = "logistic"


class Trend(StrEnum):
    NONE = "none"
    LINEAR = "linear"
    PIECEWISE = "piecewise"
    #: a smooth time-varying baseline (random-walk B-spline, mixflow.model.baseline)
    SPLINE = "spline"


class Likelihood(StrEnum):
    NORMAL = "normal"
    STUDENT_T = "student_t"


class GeoSaturation(StrEnum):
    """What a geo model's saturation is measured against (national models: the channel's
    mean exposure, always)."""

    #: one half-saturation in units of the channel's panel-wide mean exposure per capita
    POOLED = "pooled"
    #: in units of each geo's own mean active exposure per capita
    RELATIVE = "relative"


class PriorParameterization(StrEnum):
    ROI = "roi"
    COEFFICIENT = "coefficient"


class CalibrationMethod(StrEnum):
    """How lift tests enter the model."""

    LIKELIHOOD = "likelihood"
    ROI_PRIOR = "roi_prior"


class FitMethod(StrEnum):
    NUTS = "nuts"
    MAP = "map"
    SVI = "svi"


class ChainMethod(StrEnum):
    """How NUTS chains run: ``auto`` picks ``parallel`` with a device per chain."""

    AUTO = "auto"
    PARALLEL = "parallel"
    VECTORIZED = "vectorized"
    SEQUENTIAL = "sequential"


class InitMass(StrEnum):
    """NUTS's starting mass matrix (see docs/model.md)."""

    LAPLACE = "laplace"
    IDENTITY = "identity"


__all__ = [
    "Adstock",
    "CalibrationMethod",
    "ChainMethod",
    "FitMethod",
    "GeoSaturation",
    "InitMass",
    "Likelihood",
    "PriorParameterization",
    "Saturation",
    "Trend",
]
