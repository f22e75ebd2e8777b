"""The geo-experiment estimators by name, and the version of the experiments' ``result.json``:
a module of its own so the command line can offer them without importing the estimators
(pandas, scipy) at start-up."""

from __future__ import annotations

from enum import StrEnum
from typing import Final, Literal

#: version of the ``result.json`` documents the experiment commands write (1: before the
#: documents were typed; a geo result's ``att`` was then the per-date list)
RESULT_SCHEMA_VERSION: Final[Literal[2]] = 2


class GeoMethod(StrEnum):
    """Estimator of the counterfactual of the treated group."""

    ascm = "ascm"
    sc = "sc"
    did = "did"
