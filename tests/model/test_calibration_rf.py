"""Lift tests of reach and frequency channels: a test's extra spend buys reach at the cells' own
frequency, and the model's implied lift at the true parameters equals the simulator's lift,
recomputed here from the simulated columns and the channel's truth."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from mixflow.data.lift_tests import LiftTest
from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand
from mixflow.datasets.rf import DEFAULT_RF_CHANNELS, add_rf_channels
from mixflow.model.design import build_design
from mixflow.model.mmm import implied_lift
from mixflow.spec import model_spec_from_config, parse_config

VIDEO = DEFAULT_RF_CHANNELS[0]
LAG = 8
#: the model evaluates in float32; the recomputed truth in float64
FLOAT32_RTOL = 2e-4


def _hill(x: np.ndarray, half: float, slope: float) -> np.ndarray:
    xs = np.power(np.maximum(x, 0.0), slope)
    return xs / (xs + half**slope)


def _true_response(reach: np.ndarray, freq: np.ndarray, scale: float, ref: float) -> np.ndarray:
    """``(T + L,)`` the simulator's saturated video response (before its coefficient) for a
    national reach and frequency series, the reach per capita divided by ``scale``; ``ref``:
    the history's reach-weighted mean frequency (the gain is 1 there)."""
    gain = np.where(
        freq > 0,
        _hill(freq, VIDEO.ec, VIDEO.freq_slope)
        / _hill(np.asarray(ref), VIDEO.ec, VIDEO.freq_slope),
        0.0,
    )
    x = np.concatenate([reach / scale * gain, np.zeros(LAG)])
    w = VIDEO.retention ** np.arange(LAG + 1)
    xa = np.convolve(x, w / w.sum())[: x.size]
    return _hill(xa, VIDEO.half_saturation, VIDEO.slope)


@pytest.mark.parametrize("change", [60_000.0, -15_000.0], ids=["heavy-up", "partial-go-dark"])
def test_implied_lift_of_an_rf_test_at_true_parameters_equals_the_true_lift(change: float) -> None:
    sim = BrandSimulation(n_weeks=60, channels=(DEFAULT_CHANNELS[0],), n_events=0)
    rng = np.random.default_rng(5)
    base = simulate_brand(sim, rng)
    brand = add_rf_channels(base, (VIDEO,), rng)
    config = parse_config(
        {
            **brand.config,
            "model": {**brand.config["model"], "priors": {"parameterization": "coefficient"}},
        }
    )
    data = dataset_from_frame(brand.frame, config.data)
    frame = brand.frame
    reach, freq, spend = (
        frame[f"video_{k}"].to_numpy(float) for k in ("reach", "frequency", "spend")
    )
    first, last = 20, 25
    window = np.zeros(reach.size, dtype=bool)
    window[first : last + 1] = True
    assert spend[window].sum() > -change  # the go-dark removes part of what was spent
    # the extra spend lands in proportion to the window's own spend and buys reach at each
    # week's own frequency: the window's reach scales by one factor
    factor = 1.0 + change / spend[window].sum()
    scale = reach[reach > 0].mean()
    ref = float((reach * freq).sum() / reach.sum())
    s0 = _true_response(reach, freq, scale, ref)
    s1 = _true_response(np.where(window, reach * factor, reach), freq, scale, ref)
    # the simulator's coefficient: an average active week adds effect_share of the base KPI
    kpi_base = float(base.frame["revenue"].mean())
    active = spend > 0
    beta = VIDEO.effect_share * kpi_base / s0[: reach.size][active].mean()
    want = beta * float((s1 - s0)[first : last + 1 + LAG].sum())

    test = LiftTest(
        "video",
        pd.Timestamp(data.dates[first]).date(),
        pd.Timestamp(data.dates[last]).date(),
        (),
        change,
        1.0,
        1.0,
    )
    spec = model_spec_from_config(config)
    design = build_design(data, spec, lift_tests=(test,))
    arrays = {k: jnp.asarray(v) for k, v in design.arrays().items()}
    assert np.asarray(arrays["cal_rf"]).tolist() == [0]
    c = data.channels.index("video")
    n_ch = data.n_channels
    params = {
        "alpha": jnp.full(n_ch, VIDEO.retention),
        "half_saturation": jnp.full(n_ch, VIDEO.half_saturation),
        "slope": jnp.full(n_ch, VIDEO.slope),
        "rf_ec": jnp.asarray([VIDEO.ec]),
        "rf_slope": jnp.asarray([VIDEO.freq_slope]),
    }
    coef = np.zeros((1, n_ch))
    coef[0, c] = beta / (design.kpi_scale * float(data.population[0]))
    got = float(implied_lift(params, arrays, spec, jnp.asarray(coef, jnp.float32))[0])
    got *= design.calibration.unit  # type: ignore[union-attr]
    assert abs(want) > 100.0
    assert math.copysign(1.0, want) == math.copysign(1.0, change)
    assert got == pytest.approx(want, rel=FLOAT32_RTOL)


def test_a_calibrated_fit_with_an_rf_lift_test_moves_toward_it() -> None:
    """End to end (MAP): a go-dark test of the R&F channel enters the likelihood, and the
    calibrated model's implied lift sits closer to the measurement than the plain model's."""
    from mixflow.analysis.calibration import lift_draws
    from mixflow.workflow import fit_dataset

    sim = BrandSimulation(n_weeks=80, channels=(DEFAULT_CHANNELS[0],), n_events=0)
    rng = np.random.default_rng(5)
    brand = add_rf_channels(simulate_brand(sim, rng), (VIDEO,), rng)
    raw = dict(brand.config)
    raw["fit"] = {"method": "map", "svi_steps": 800, "seed": 1, "progress_bar": False}
    plain = parse_config(raw)
    data = dataset_from_frame(brand.frame, plain.data)
    spent = float(brand.frame["video_spend"].to_numpy()[30:38].sum())
    test = LiftTest(
        "video",
        pd.Timestamp(data.dates[30]).date(),
        pd.Timestamp(data.dates[37]).date(),
        (),
        -spent,
        -60_000.0,  # far from what the plain model implies, with a tight error
        3_000.0,
    )
    record = {k: v for k, v in test.to_record().items() if v is not None}
    calibrated = parse_config({**raw, "calibration": {"method": "likelihood", "tests": [record]}})
    before = float(lift_draws(fit_dataset(plain, data), [test], None)[0, 0])
    after = float(lift_draws(fit_dataset(calibrated, data), [test], None)[0, 0])
    assert before < 0 and after < 0  # going dark loses KPI
    assert abs(after - test.incremental_kpi) < 0.5 * abs(before - test.incremental_kpi)
