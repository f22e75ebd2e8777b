"""Model-implied lift of experiments over posterior draws: the calibration check of a fitted
model (each lift test's measurement against the posterior's lift), and the predicted lift of a
proposed test."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from mixflow.analysis.stats import stat
from mixflow.data.lift_tests import LiftTest
from mixflow.model.design import build_design
from mixflow.model.mmm import implied_lift, media_coefficients, saturated_media
from mixflow.posterior.posterior import Posterior
from mixflow.spec.model_spec import calibration_from_config


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
        s = saturated_media(params, arrays["x_lag"], spec)
        beta = media_coefficients(params, arrays, spec, s)
        return implied_lift(params, arrays, spec, s, beta)

    out = jax.jit(lambda d: jax.lax.map(one, d, batch_size=50))(flat)
    return np.asarray(out, dtype=np.float64) * design.calibration.unit


def calibration_check(posterior: Posterior, max_draws: int | None = 1000) -> list[dict[str, Any]]:
    """Per lift test of the run's config: the measurement, the posterior's implied lift (mean,
    median, 90% HDI) and the standardized gap ``(model mean - measured) / sqrt(se^2 + sd^2)``.
    Empty when the model was not calibrated."""
    cal = calibration_from_config(posterior.config)
    if cal is None:
        return []
    draws = lift_draws(posterior, cal.tests, max_draws)
    rows = []
    for i, test in enumerate(cal.tests):
        d = draws[:, i]
        sd = float(np.std(d))
        gap = (float(np.mean(d)) - test.incremental_kpi) / math.hypot(test.standard_error, sd)
        rows.append(
            {
                **test.to_record(),
                "method": cal.method.value,
                "model_lift": stat(d),
                "model_sd": sd,
                "z": gap,
                "consistent": abs(gap) < 1.645,
            }
        )
    return rows


__all__ = ["calibration_check", "lift_draws"]
