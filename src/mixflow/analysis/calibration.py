"""Model-implied lift of experiments over posterior draws: the calibration check of a fitted
model (each lift test's measurement against the posterior's lift), and the predicted lift of a
proposed test. ``calibration.json`` (written in a calibrated model's run folder) is typed here:
:class:`CalibrationDocument`, its JSON Schema :func:`calibration_json_schema`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from pydantic import BaseModel, ConfigDict

from mixflow.analysis.schema import Interval
from mixflow.analysis.stats import stat
from mixflow.data.lift_tests import LiftTest
from mixflow.model.design import build_design
from mixflow.model.mmm import implied_lift, media_coefficients, saturated_media
from mixflow.posterior.posterior import Posterior
from mixflow.spec.model_spec import calibration_from_config
from mixflow.spec.options import CalibrationMethod


class CalibrationTestCheck(BaseModel):
    """One lift test of the run's config against the fitted model. The first fields are the
    lift-test table's columns (``geos`` joined by ``;``, empty for a national test); KPI figures
    are in KPI units; ``z`` is ``(model mean - measured) / sqrt(se^2 + model_sd^2)`` and
    ``consistent`` means ``|z| < 1.645``."""

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


class CalibrationDocument(BaseModel):
    """What ``calibration.json`` holds: one check per lift test (the file is written only for
    a calibrated model, so ``tests`` is never empty there)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tests: list[CalibrationTestCheck]

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON object written to ``calibration.json``."""
        return self.model_dump(mode="json")


def calibration_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``calibration.json`` (validation mode)."""
    return CalibrationDocument.model_json_schema()


def lift_draws(
    posterior: Posterior, tests: Sequence[LiftTest], max_draws: int | None = 1000
) -> np.ndarray:
    """``(S, n)`` each test's model-implied incremental KPI (KPI units, carryover over the
    measured periods included) for up to ``max_draws`` posterior draws."""
    design = build_design(posterior.dataset, posterior.spec, posterior.holdout_weeks, tuple(tests))
    assert design.calibration is not None  # tests is non-empty
    arrays = {k: jnp.asarray(v) for k, v in design.arrays().items()}
    flat = {k: jnp.asarray(v) for k, v in posterior.flat_samples(max_draws).items()}
    spec = posterior.spec

    def one(params: dict[str, jnp.ndarray]) -> jnp.ndarray:
        s = saturated_media(params, arrays["x_lag"], spec, arrays)
        beta = media_coefficients(params, arrays, spec, s)
        return implied_lift(params, arrays, spec, beta)

    out = jax.jit(lambda d: jax.lax.map(one, d, batch_size=50))(flat)
    return np.asarray(out, dtype=np.float64) * design.calibration.unit


def calibration_check(posterior: Posterior, max_draws: int | None = 1000) -> list[dict[str, Any]]:
    """Per lift test of the run's config: the measurement, the posterior's implied lift (mean,
    median, 90% HDI) and the standardized gap ``(model mean - measured) / sqrt(se^2 + sd^2)``.
    Empty when the model was not calibrated. Each row is a :class:`CalibrationTestCheck`'s JSON
    form (validated as it is built)."""
    cal = calibration_from_config(posterior.config)
    if cal is None:
        return []
    draws = lift_draws(posterior, cal.tests, max_draws)
    rows = []
    for i, test in enumerate(cal.tests):
        d = draws[:, i]
        sd = float(np.std(d))
        gap = (float(np.mean(d)) - test.incremental_kpi) / math.hypot(test.standard_error, sd)
        check = CalibrationTestCheck.model_validate(
            {
                **test.to_record(),
                "method": cal.method,
                "model_lift": stat(d),
                "model_sd": sd,
                "z": gap,
                "consistent": abs(gap) < 1.645,
            }
        )
        rows.append(check.model_dump(mode="json"))
    return rows


__all__ = [
    "CalibrationDocument",
    "CalibrationTestCheck",
    "calibration_check",
    "calibration_json_schema",
    "lift_draws",
]
