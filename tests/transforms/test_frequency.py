"""The frequency curve of R&F channels (mixflow.transforms.frequency)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from mixflow.spec.options import Saturation
from mixflow.transforms.frequency import fold_gain, frequency_gain, optimal_frequency
from mixflow.transforms.registry import saturation_component


@pytest.mark.parametrize(("ec", "slope"), [(2.0, 2.0), (1.5, 3.5), (4.0, 1.3), (2.0, 0.8)])
def test_optimal_frequency_maximizes_hill_per_exposure(ec: float, slope: float) -> None:
    grid = np.linspace(1.0, 8.0, 70_001)  # float64, step 1e-4

    def per_exposure(f: np.ndarray) -> np.ndarray:
        return f**slope / (f**slope + ec**slope) / f

    best = float(optimal_frequency(jnp.asarray(ec), jnp.asarray(slope), 1.0, 8.0))
    # float32 arithmetic: the optimum to ~1e-6 relative; the curve is flat at its peak, so
    # its value there matches the grid's best to 1e-9 relative
    assert best == pytest.approx(grid[np.argmax(per_exposure(grid))], abs=1e-3)
    assert per_exposure(np.asarray(best)) >= per_exposure(grid).max() * (1 - 1e-9)


def test_optimal_frequency_of_a_flat_slope_is_the_lowest() -> None:
    assert float(optimal_frequency(jnp.asarray(3.0), jnp.asarray(0.9), 1.0, 5.0)) == 1.0


def test_gain_is_one_at_the_reference_and_zero_without_exposure() -> None:
    f = jnp.asarray([0.0, 1.0, 2.5, 4.0])
    gain = np.asarray(frequency_gain(f, 2.0, 2.0, jnp.asarray(2.5)))
    assert gain[0] == 0.0 and gain[2] == pytest.approx(1.0)
    assert np.all(np.diff(gain) > 0)


@pytest.mark.parametrize("kind", [Saturation.HILL, Saturation.LOGISTIC])
def test_folded_gain_equals_the_curve_of_the_scaled_input(kind: Saturation) -> None:
    sat = saturation_component(kind)
    params = {
        "half_saturation": jnp.asarray(0.8),
        "slope": jnp.asarray(1.7),
        "lam": jnp.asarray(1.2),
    }
    x = jnp.linspace(0.0, 3.0, 31)
    gain = jnp.asarray(0.6)
    direct = sat.curve(gain * x, params)
    folded = sat.curve(x, fold_gain(kind, params, gain))
    np.testing.assert_allclose(np.asarray(folded), np.asarray(direct), rtol=1e-6, atol=1e-7)
