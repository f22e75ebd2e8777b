"""Model-implied lift of experiments over posterior draws: the calibration check of a fitted
model (each lift test's measurement against the posterior's lift), and the predicted lift of a
proposed test. ``calibration.json`` (written in a calibrated model's run folder) is typed in
:mod:`mixflow.analysis.calibration_schema` (re-exported here)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np

from mixflow.analysis.calibration_schema import (
    CALIBRATION_SCHEMA_VERSION,
    CONTRADICTION_Z,
    CalibrationDocument,
    CalibrationTestCheck,
    LiftBefore,
    calibration_json_schema,
)
from mixflow.analysis.stats import stat
from mixflow.data.lift_tests import LiftTest
from mixflow.model.design import build_design
from mixflow.model.mmm import (
    implied_lift,
    media_coefficients,
    saturated_media,
    with_time_multiplier,
)
from mixflow.posterior.posterior import Posterior
from mixflow.spec.model_spec import calibration_from_config
from mixflow.spec.options import CalibrationMethod


def calibration_document(posterior: Posterior, max_draws: int | None = 1000) -> CalibrationDocument:
    """The run's :class:`CalibrationDocument` (current schema version); no tests when the
    model was not calibrated."""
    tests = [
        CalibrationTestCheck.model_validate(row) for row in calibration_check(posterior, max_draws)
    ]
    return CalibrationDocument(
        schema_version=CALIBRATION_SCHEMA_VERSION,
        tests=tests,
        contradicted=[t.label for t in tests if t.contradicts],
        contradicted_before=[t.label for t in tests if t.before and t.before.contradicts],
    )


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
        s = with_time_multiplier(
            params, arrays, saturated_media(params, arrays["x_lag"], spec, arrays)
        )
        beta = media_coefficients(params, arrays, spec, s)
        return implied_lift(params, arrays, spec, beta)

    out = jax.jit(lambda d: jax.lax.map(one, d, batch_size=50))(flat)
    return np.asarray(out, dtype=np.float64) * design.calibration.unit


#: fewest posterior draws that the "before calibration" reweighting uses
MIN_REWEIGHT_DRAWS = 100


def _gap(draws: np.ndarray, test: LiftTest) -> tuple[float, float]:
    sd = float(np.std(draws))
    return sd, (float(np.mean(draws)) - test.incremental_kpi) / math.hypot(test.standard_error, sd)


def _before_draws(draws: np.ndarray, tests: Sequence[LiftTest]) -> tuple[np.ndarray, float]:
    """``draws`` ``(S, n)`` resampled to the posterior without the tests' likelihood term
    (PSIS weights ``1 / prod_i Normal(measured_i | lift_i, se_i)``, systematic resampling: no
    randomness) and the Pareto k of the weights."""
    obs = np.array([t.incremental_kpi for t in tests])
    se = np.array([t.standard_error for t in tests])
    log_w = 0.5 * (((obs - draws) / se) ** 2).sum(axis=1)
    smoothed, k = az.psislw(log_w)
    w = np.exp(smoothed - smoothed.max())
    cdf = np.cumsum(w / w.sum())
    n = draws.shape[0]
    idx = np.searchsorted(cdf, (np.arange(n) + 0.5) / n).clip(0, n - 1)
    return draws[idx], float(k)


def calibration_check(posterior: Posterior, max_draws: int | None = 1000) -> list[dict[str, Any]]:
    """Per lift test of the run's config: the measurement, the posterior's implied lift (mean,
    median, 90% HDI), the standardized gap ``(model mean - measured) / sqrt(se^2 + sd^2)`` and,
    for likelihood calibration, the same for the model before calibration (:class:`LiftBefore`).
    Empty when the model was not calibrated. Each row is a :class:`CalibrationTestCheck`'s JSON
    form (validated as it is built)."""
    cal = calibration_from_config(posterior.config)
    if cal is None:
        return []
    draws = lift_draws(posterior, cal.tests, max_draws)
    before = None
    # a point estimate (MAP) has no draws to reweight
    if cal.method is CalibrationMethod.LIKELIHOOD and draws.shape[0] >= MIN_REWEIGHT_DRAWS:
        before, k = _before_draws(draws, cal.tests)
    rows = []
    for i, test in enumerate(cal.tests):
        sd, gap = _gap(draws[:, i], test)
        prior_fit = None
        if before is not None:
            sd_b, gap_b = _gap(before[:, i], test)
            prior_fit = {
                "model_lift": stat(before[:, i]),
                "model_sd": sd_b,
                "z": gap_b,
                "contradicts": abs(gap_b) > CONTRADICTION_Z,
                "pareto_k": k,
            }
        check = CalibrationTestCheck.model_validate(
            {
                **test.to_record(),
                "method": cal.method,
                "model_lift": stat(draws[:, i]),
                "model_sd": sd,
                "z": gap,
                "consistent": abs(gap) < 1.645,
                "contradicts": abs(gap) > CONTRADICTION_Z,
                "before": prior_fit,
            }
        )
        rows.append(check.model_dump(mode="json"))
    return rows


__all__ = [
    "CALIBRATION_SCHEMA_VERSION",
    "CONTRADICTION_Z",
    "CalibrationDocument",
    "CalibrationTestCheck",
    "LiftBefore",
    "calibration_check",
    "calibration_document",
    "calibration_json_schema",
    "lift_draws",
]
