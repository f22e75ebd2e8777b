"""Adstock and saturation transforms: closed forms, mass, and finite gradients.

JAX computes in float32 here, whose resolution near 1 is about 1.2e-7; tolerances below are a
few tens of ulps unless a comment says why more is needed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from jax.flatten_util import ravel_pytree
from numpyro.infer.util import initialize_model
from scipy import stats

from mixflow.data.dataset import MMMDataset
from mixflow.model.design import build_design
from mixflow.model.mmm import mmm_model
from mixflow.spec.config import SeasonalityConfig
from mixflow.spec.model_spec import Adstock, ModelSpec, Saturation
from mixflow.transforms import (
    adstock_channel_major,
    adstock_component,
    apply_adstock,
    binomial_weights,
    channel_major,
    geometric_weights,
    hill,
    lag_stack,
    logistic,
    saturation_component,
    weibull_weights,
)
from mixflow.transforms.adstock import adstock_series
from mixflow.transforms.registry import default_prior

#: float32 weights summing to one: 9..53 terms each rounded to ~6e-8 relative
SUM_TOL = 1e-5
#: float32 closed forms: exp of a float32 log-weight of magnitude <= ~40 is good to ~40 * 6e-8
RTOL = 1e-5
#: absolute floor for weights that are ~0 (far below anything that matters in a sum to one)
ATOL = 1e-7

MAX_LAGS = (0, 1, 8)


def f32(x: object) -> jnp.ndarray:
    return jnp.asarray(x, dtype=jnp.float32)


def assert_weights(w: object, n_lags: int) -> None:
    a = np.asarray(w)
    assert a.shape[-1] == n_lags
    assert np.all(np.isfinite(a))
    assert np.all(a >= 0.0)
    np.testing.assert_allclose(a.sum(axis=-1), 1.0, atol=SUM_TOL)


# ------------------------------------------------------------------------ weight closed forms
@pytest.mark.parametrize("max_lag", MAX_LAGS)
@pytest.mark.parametrize("alpha", [0.01, 0.3, 0.7, 0.99])
def test_geometric_weights_closed_form(alpha: float, max_lag: int) -> None:
    lags = np.arange(max_lag + 1)
    expected = alpha**lags / np.sum(alpha**lags)
    w = geometric_weights(f32(alpha), max_lag)
    assert_weights(w, max_lag + 1)
    np.testing.assert_allclose(np.asarray(w), expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("max_lag", MAX_LAGS)
@pytest.mark.parametrize(
    ("shape", "scale"), [(0.2, 0.5), (0.5, 1.0), (1.0, 2.0), (1.5, 3.0), (2.5, 4.0), (5.0, 3.0)]
)
def test_weibull_weights_closed_form(shape: float, scale: float, max_lag: int) -> None:
    pdf = stats.weibull_min.pdf(np.arange(max_lag + 1) + 1.0, shape, scale=scale)
    w = weibull_weights(f32(shape), f32(scale), max_lag)
    assert_weights(w, max_lag + 1)
    # (x / scale)**shape reaches ~250 for shape 5; its float32 rounding (~250 * 6e-8) is the
    # relative error of the (tiny) weights it belongs to, still far inside 1e-5 relative
    np.testing.assert_allclose(np.asarray(w), pdf / pdf.sum(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(("shape", "scale"), [(40.0, 0.5), (200.0, 0.1), (60.0, 3.0)])
def test_steep_weibull_weights_stay_finite(shape: float, scale: float) -> None:
    # (x / scale)**shape overflows float32 here (18**40 > 3.4e38; it gave NaN weights before):
    # the weights must still be a distribution, peaked where the PDF is largest
    w = np.asarray(weibull_weights(f32(shape), f32(scale), 8))
    assert_weights(w, 9)
    pdf_log = np.log(shape / scale) + (shape - 1) * np.log(np.arange(1, 10) / scale)
    with np.errstate(over="ignore"):  # float64 overflows too, to inf: a -inf log-density
        pdf_log -= (np.arange(1, 10) / scale) ** shape
    assert int(np.argmax(w)) == int(np.argmax(pdf_log))


@pytest.mark.parametrize("max_lag", MAX_LAGS)
@pytest.mark.parametrize("p", [0.01, 0.3, 0.5, 0.9, 0.99])
def test_binomial_weights_closed_form(p: float, max_lag: int) -> None:
    pmf = stats.binom.pmf(np.arange(max_lag + 1), max_lag, p)
    w = binomial_weights(f32(p), max_lag)
    assert_weights(w, max_lag + 1)
    np.testing.assert_allclose(np.asarray(w), pmf / pmf.sum(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("max_lag", [*MAX_LAGS, 52])
def test_batched_weights_shape_and_normalization(max_lag: int) -> None:
    alpha = f32([1e-6, 0.01, 0.5, 0.99, 1.0 - 1e-6])
    shape, scale = f32([0.2, 0.7, 1.0, 2.5, 5.0]), f32([0.5, 1.0, 3.0, 8.0, 20.0])
    p = f32([1e-6, 0.05, 0.5, 0.95, 1.0 - 1e-6])
    batched = {
        "geometric": geometric_weights(alpha, max_lag),
        "weibull": weibull_weights(shape, scale, max_lag),
        "binomial": binomial_weights(p, max_lag),
    }
    for name, w in batched.items():
        assert w.shape == (5, max_lag + 1), name
        assert_weights(w, max_lag + 1)
    # row c of the batch is the unbatched weight vector of parameter c
    for c in range(5):
        np.testing.assert_allclose(batched["geometric"][c], geometric_weights(alpha[c], max_lag))
        np.testing.assert_allclose(
            batched["weibull"][c], weibull_weights(shape[c], scale[c], max_lag)
        )
        np.testing.assert_allclose(batched["binomial"][c], binomial_weights(p[c], max_lag))


def test_registry_weights_match_module_functions() -> None:
    params = {"alpha": f32([0.3]), "shape": f32([2.0]), "scale": f32([3.0]), "peak": f32([0.4])}
    expected = {
        Adstock.GEOMETRIC: geometric_weights(params["alpha"], 8),
        Adstock.WEIBULL: weibull_weights(params["shape"], params["scale"], 8),
        Adstock.BINOMIAL: binomial_weights(params["peak"], 8),
    }
    for kind, want in expected.items():
        np.testing.assert_array_equal(adstock_component(kind).weights(params, 8), want)


# --------------------------------------------------------------------------- adstock on series
@pytest.mark.parametrize("max_lag", [0, 1, 8])
def test_lag_stack_adstock_equals_numpy_convolution(max_lag: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.lognormal(0.0, 1.0, (2, 30, 3)).astype(np.float32)
    x[0, 5:12, 1] = 0.0  # a flight gap
    weights = np.asarray(geometric_weights(f32([0.2, 0.6, 0.9]), max_lag))
    out = np.asarray(apply_adstock(jnp.asarray(lag_stack(x, max_lag)), jnp.asarray(weights)))
    expected = np.empty_like(x, dtype=np.float64)
    for g in range(2):
        for c in range(3):
            expected[g, :, c] = np.convolve(x[g, :, c], weights[c])[:30]
    assert out.shape == (2, 30, 3)
    # sums of <= 9 float32 products of O(1..20) values: ~1e-6 relative
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    # the single-series convolution agrees with the lag-stack form
    np.testing.assert_allclose(
        np.asarray(adstock_series(jnp.asarray(x[1, :, 2]), jnp.asarray(weights[2]))),
        expected[1, :, 2],
        rtol=1e-5,
        atol=1e-6,
    )


def test_lag_stack_layout() -> None:
    x = np.arange(2 * 5 * 1, dtype=np.float64).reshape(2, 5, 1) + 1.0
    st = lag_stack(x, 2)  # lag leads: (L+1, G, T, C), st[l, g, t, c] = x[g, t - l, c]
    assert st.shape == (3, 2, 5, 1)
    np.testing.assert_array_equal(st[0], x)
    np.testing.assert_array_equal(st[1:, :, 0, :], 0.0)
    np.testing.assert_array_equal(st[2, :, :2, :], 0.0)
    np.testing.assert_array_equal(st[2, :, 2:, :], x[:, :3])


def test_channel_major_layout_and_adstock_agree_with_lag_stack() -> None:
    rng = np.random.default_rng(3)
    x = rng.lognormal(0.0, 1.0, (3, 7, 2)).astype(np.float32)  # (G, T, C)
    st = lag_stack(x, 2)
    cm = channel_major(st)
    assert cm.shape == (2, 3, 3 * 7)  # (C, L+1, G * T)
    # cm[c, l, g * T + t] == st[l, g, t, c], geo-major along the flat axis
    for c, lag, g, t in [(0, 0, 0, 0), (1, 2, 2, 6), (0, 1, 1, 3), (1, 0, 2, 0)]:
        assert cm[c, lag, g * 7 + t] == st[lag, g, t, c]
    weights = np.asarray(geometric_weights(f32([0.3, 0.8]), 2))
    flat = np.asarray(adstock_channel_major(jnp.asarray(cm), jnp.asarray(weights)))
    lagged = np.asarray(apply_adstock(jnp.asarray(st), jnp.asarray(weights)))
    # the same products summed in the same order: equal up to float32 rounding of the layout
    np.testing.assert_allclose(flat.reshape(2, 3, 7).transpose(1, 2, 0), lagged, rtol=1e-6)


@pytest.mark.parametrize(
    "weights",
    [
        geometric_weights(f32([0.1, 0.5, 0.95]), 6),
        weibull_weights(f32([0.5, 1.5, 4.0]), f32([1.0, 2.0, 5.0]), 6),
        binomial_weights(f32([0.05, 0.5, 0.95]), 6),
    ],
    ids=["geometric", "weibull", "binomial"],
)
def test_adstock_preserves_mass_with_trailing_zeros(weights: jnp.ndarray) -> None:
    max_lag = weights.shape[-1] - 1
    rng = np.random.default_rng(1)
    x = rng.lognormal(0.0, 1.0, (2, 25, 3)).astype(np.float32)
    x[:, -max_lag:, :] = 0.0
    out = np.asarray(apply_adstock(jnp.asarray(lag_stack(x, max_lag)), weights))
    # weights sum to one within ~1e-7, sums of 25 float32 terms: 1e-5 relative
    np.testing.assert_allclose(out.sum(axis=1), x.sum(axis=1), rtol=1e-5)


# ------------------------------------------------------------------------ saturation values
X_GRID = np.concatenate([[0.0], np.geomspace(1e-4, 10.0, 60)]).astype(np.float32)


@pytest.mark.parametrize("slope", [0.3, 0.7, 1.0, 2.5])
@pytest.mark.parametrize("half", [0.1, 1.0, 10.0])
def test_hill_closed_form(half: float, slope: float) -> None:
    out = np.asarray(hill(jnp.asarray(X_GRID), f32(half), f32(slope)))
    x = X_GRID[1:].astype(np.float64)
    expected = x**slope / (x**slope + half**slope)
    assert out[0] == 0.0  # exactly zero at zero
    np.testing.assert_allclose(out[1:], expected, rtol=RTOL, atol=1e-7)
    assert np.all(np.diff(out) >= 0.0)  # monotone (float32 may round neighbours equal)
    assert out[-1] > out[1]
    assert np.all(out >= 0.0) and np.all(out < 1.0)


@pytest.mark.parametrize("lam", [0.1, 1.65, 5.0])
def test_logistic_closed_form(lam: float) -> None:
    x = np.linspace(0.0, 3.0, 61).astype(np.float32)
    out = np.asarray(logistic(jnp.asarray(x), f32(lam)))
    e = np.exp(-lam * x.astype(np.float64))
    np.testing.assert_allclose(out, (1.0 - e) / (1.0 + e), rtol=RTOL, atol=1e-7)
    assert out[0] == 0.0
    assert np.all(np.diff(out) >= 0.0) and out[-1] > out[1]
    # on this grid 1 - f >= 1 - tanh(7.5) ~ 6e-7, above float32 resolution, so f < 1 is exact
    assert np.all(out >= 0.0) and np.all(out < 1.0)


def test_registry_curves_match_module_functions() -> None:
    x = jnp.asarray(X_GRID)
    p = {"half_saturation": f32(0.8), "slope": f32(1.3), "lam": f32(2.0)}
    np.testing.assert_array_equal(
        saturation_component(Saturation.HILL).curve(x, p), hill(x, p["half_saturation"], p["slope"])
    )
    np.testing.assert_array_equal(
        saturation_component(Saturation.LOGISTIC).curve(x, p), logistic(x, p["lam"])
    )


# ------------------------------------------------------------------- gradients at zero input
X_WITH_ZEROS = f32([0.0, 0.0, 0.3, 1.0, 0.0, 4.0])
SLOPES = [0.3, 0.7, 1.0, 2.5]
HALVES = [0.1, 1.0, 10.0]


def grads_finite(fn: Callable[..., jnp.ndarray], *args: jnp.ndarray) -> bool:
    grads = jax.grad(lambda *a: jnp.sum(fn(*a)), argnums=tuple(range(len(args))))(*args)
    return all(bool(jnp.all(jnp.isfinite(g))) for g in grads)


@pytest.mark.parametrize("slope", SLOPES)
@pytest.mark.parametrize("half", HALVES)
def test_hill_gradient_finite_at_zero(half: float, slope: float) -> None:
    assert grads_finite(hill, X_WITH_ZEROS, f32(half), f32(slope))


def naive_hill(x: jnp.ndarray, half: jnp.ndarray, slope: jnp.ndarray) -> jnp.ndarray:
    return x**slope / (x**slope + half**slope)


@pytest.mark.parametrize("slope", [0.3, 0.7])
def test_naive_hill_gradient_is_nan_at_zero(slope: float) -> None:
    """The check above would catch the textbook form: its gradient is NaN at 0 for s < 1."""
    gx = jax.grad(lambda x: jnp.sum(naive_hill(x, f32(1.0), f32(slope))))(X_WITH_ZEROS)
    assert np.all(np.isnan(np.asarray(gx)[np.asarray(X_WITH_ZEROS) == 0.0]))
    assert not grads_finite(naive_hill, X_WITH_ZEROS, f32(1.0), f32(slope))


class NonFiniteGradient(AssertionError):
    """A gradient check failed (distinct from other assertion errors, for a precise xfail)."""


@pytest.mark.parametrize("slope", SLOPES)
@pytest.mark.parametrize("half", HALVES)
def test_hill_gradient_finite_at_tiny_positive_input(half: float, slope: float) -> None:
    # 1e-20 is what an adstock tail such as 0.003**8 leaves after a flight ends; a sigmoid
    # written as 1/(1+exp(-z)) overflows there for slope 2.5 (z < -88) and the gradient is NaN
    x = f32([0.0, 1e-20, 1e-12, 1.0])
    if not grads_finite(hill, x, f32(half), f32(slope)):
        raise NonFiniteGradient(f"hill gradient not finite at x={x}")


@pytest.mark.parametrize("lam", [1e-3, 0.1, 1.0, 10.0, 100.0])
def test_logistic_gradient_finite_at_zero(lam: float) -> None:
    assert grads_finite(logistic, X_WITH_ZEROS, f32(lam))


WEIGHT_FNS: dict[str, Callable[..., jnp.ndarray]] = {
    "geometric": geometric_weights,
    "weibull": weibull_weights,
    "binomial": binomial_weights,
}


@functools.cache
def weights_jacobian(kind: str, max_lag: int, n_params: int) -> Callable[..., tuple]:
    """Jitted Jacobian of the weights w.r.t. their parameters (one compile per shape)."""
    fn = functools.partial(lambda f, *a: f(*a, max_lag), WEIGHT_FNS[kind])
    return jax.jit(jax.jacrev(fn, argnums=tuple(range(n_params))))


def weights_jacobian_finite(kind: str, max_lag: int, *params: float) -> bool:
    jac = weights_jacobian(kind, max_lag, len(params))(*(f32(p) for p in params))
    return all(bool(jnp.all(jnp.isfinite(j))) for j in jac)


@pytest.mark.parametrize("max_lag", [0, 1, 8, 52])
@pytest.mark.parametrize("alpha", [1e-6, 1e-3, 0.5, 0.999, 1.0 - 1e-6])
def test_geometric_weights_gradient_finite(alpha: float, max_lag: int) -> None:
    assert weights_jacobian_finite("geometric", max_lag, alpha)


@pytest.mark.parametrize("max_lag", [0, 1, 8, 52])
@pytest.mark.parametrize("scale", [0.1, 1.0, 3.0, 20.0])
@pytest.mark.parametrize("shape", [0.2, 5.0])
def test_weibull_weights_gradient_finite(shape: float, scale: float, max_lag: int) -> None:
    assert weights_jacobian_finite("weibull", max_lag, shape, scale)


@pytest.mark.parametrize("max_lag", [0, 1, 8, 52])
@pytest.mark.parametrize("p", [1e-7, 1e-3, 0.5, 0.999, 1.0 - 1e-7])
def test_binomial_weights_gradient_finite(p: float, max_lag: int) -> None:
    assert weights_jacobian_finite("binomial", max_lag, p)


# --------------------------------------------------------------- gradient of the full model
N_WEEKS = 40
MAX_LAG = 8


@functools.cache
def flighted_dataset() -> MMMDataset:
    """A national panel whose first channel is flighted (two short bursts, zeros elsewhere)."""
    rng = np.random.default_rng(7)
    on = np.zeros(N_WEEKS, dtype=bool)
    on[3:7] = on[21:25] = True
    flighted = np.where(on, rng.uniform(50.0, 150.0, N_WEEKS), 0.0)
    always_on = rng.uniform(20.0, 40.0, N_WEEKS)
    spend = np.stack([flighted, always_on], axis=-1)[None]
    kpi = 1000.0 + 2.0 * flighted + 3.0 * always_on + rng.normal(0.0, 10.0, N_WEEKS)
    return MMMDataset(
        dates=np.datetime64("2021-01-04") + 7 * np.arange(N_WEEKS),
        geos=("national",),
        channels=("tv", "search"),
        kpi=kpi[None],
        spend=spend,
        exposure=spend,
        controls=rng.normal(size=(1, N_WEEKS, 1)),
        control_names=("price",),
        events=np.zeros((1, N_WEEKS, 0)),
        event_names=(),
        population=np.ones(1),
        revenue_per_kpi=np.ones((1, N_WEEKS)),
    )


@functools.cache
def potential(adstock: Adstock, saturation: Saturation) -> tuple[Callable, dict, ModelSpec]:
    """Jitted value and gradient of the potential energy (minus the log density, unconstrained),
    the initial point ``initialize_model`` found, and the spec."""
    seasonality = SeasonalityConfig(fourier_terms=1)
    spec = ModelSpec(
        adstock=adstock, saturation=saturation, max_lag=MAX_LAG, seasonality=seasonality
    )
    arrays = build_design(flighted_dataset(), spec).arrays()
    assert (arrays["x_lag"][0, 0, :N_WEEKS, 0] == 0).sum() >= 30  # mostly zero weeks
    # the tests check the gradient themselves; validate_grad=False halves the eager start-up
    info = initialize_model(
        jax.random.PRNGKey(0),
        functools.partial(mmm_model, spec=spec),
        model_args=(arrays,),
        validate_grad=False,
    )
    return jax.jit(jax.value_and_grad(info.potential_fn)), info.param_info.z, spec


def check_finite(value: jnp.ndarray, grad: dict, where: str) -> None:
    flat, _ = ravel_pytree(grad)
    if not bool(jnp.isfinite(value)):
        raise AssertionError(f"log density not finite {where}")
    if not bool(jnp.all(jnp.isfinite(flat))):
        bad = sorted(k for k, v in grad.items() if not bool(jnp.all(jnp.isfinite(v))))
        raise NonFiniteGradient(f"gradient not finite for {bad} {where}")


COMBOS = [(a, s) for a in Adstock for s in Saturation]
COMBO_IDS = [f"{a.value}-{s.value}" for a, s in COMBOS]


@pytest.mark.parametrize(("adstock", "saturation"), COMBOS, ids=COMBO_IDS)
def test_model_log_density_gradient_finite_at_random_points(
    adstock: Adstock, saturation: Saturation
) -> None:
    """Points uniform in [-2, 2] unconstrained (NumPyro's init region): the Hill slope reaches
    ~7 and the padded carryover tail leaves tiny positive inputs (1/(1+exp(-z)) overflowed)."""
    grad_fn, z0, _ = potential(adstock, saturation)
    flat0, unravel = ravel_pytree(z0)
    check_finite(*grad_fn(z0), "at the initial point")
    for seed in range(20):
        u = jax.random.uniform(jax.random.PRNGKey(seed), flat0.shape, minval=-2.0, maxval=2.0)
        check_finite(*grad_fn(unravel(u)), f"at the random point of seed {seed}")


def unconstrained(prior: dist.Distribution, value: float, n: int) -> jnp.ndarray:
    return dist.biject_to(prior.support).inv(jnp.full((n,), value, dtype=jnp.float32))


#: plausible adstock values (Beta/LogNormal prior tails, 1-3 %) whose lag-8 weight is ~1e-16
TAIL_ADSTOCK = {
    Adstock.GEOMETRIC: {"alpha": 0.01},
    Adstock.WEIBULL: {"shape": 2.5, "scale": 1.0},
    Adstock.BINOMIAL: {"peak": 0.01},
}


@pytest.mark.parametrize(("adstock", "saturation"), COMBOS, ids=COMBO_IDS)
def test_model_gradient_finite_with_tiny_carryover_tail(
    adstock: Adstock, saturation: Saturation
) -> None:
    """Short carryover and a steep Hill (slope 3, 2.7 prior sd) at otherwise initial values."""
    grad_fn, z0, spec = potential(adstock, saturation)
    values = {**TAIL_ADSTOCK[adstock], "slope": 3.0, "half_saturation": 1.0, "lam": 1.65}
    z = dict(z0)
    for comp in (adstock_component(adstock), saturation_component(saturation)):
        for par in comp.params:
            z[par.name] = unconstrained(default_prior(par, spec.max_lag), values[par.name], 2)
    check_finite(*grad_fn(z), f"at {values}")
