"""The geo-experiment estimators by name: a module of its own so the command line can offer
them without importing the estimators (pandas, scipy) at start-up."""

from __future__ import annotations

from enum import StrEnum


class GeoMethod(StrEnum):
    """Estimator of the counterfactual of the treated group."""

    ascm = "ascm"
    sc = "sc"
    did = "did"
