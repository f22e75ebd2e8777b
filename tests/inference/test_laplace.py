"""The Laplace approximation that sets NUTS's starting mass matrix and chain positions."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest

from mixflow.inference.laplace import (
    MAX_VARIANCE,
    MIN_VARIANCE,
    Laplace,
    block_inverse_mass,
    finite_difference_hessian,
    laplace_approximation,
    regularized_covariance,
)

PRIOR_SD = 10.0


def _conjugate_model(arrays: dict[str, Any]) -> None:
    # Normal mean with known noise sd 1 (conjugate: the posterior is exactly Normal) and a
    # positive scale site whose posterior is its prior (to check the log-space transform)
    mu = numpyro.sample("mu", dist.Normal(0.0, PRIOR_SD))
    numpyro.sample("tau", dist.LogNormal(0.5, 0.3))
    numpyro.sample("y", dist.Normal(mu, 1.0), obs=arrays["y"])


def test_finite_difference_hessian_is_exact_on_a_quadratic() -> None:
    a = np.array([[4.0, 1.0], [1.0, 3.0]])
    h = finite_difference_hessian(lambda x: a @ x, np.array([0.3, -1.2]))
    np.testing.assert_allclose(h, a, rtol=1e-9)


def test_regularized_covariance_clips_flat_and_negative_directions() -> None:
    eigvec = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))[0]
    # curvatures: a sharp direction, one flatter than MAX_VARIANCE allows, one negative
    hessian = (eigvec * np.array([1e12, 1e-3, -5.0])) @ eigvec.T
    cov = regularized_covariance(hessian)
    variances = np.sort(np.linalg.eigvalsh(cov))
    np.testing.assert_allclose(variances, [MIN_VARIANCE, MAX_VARIANCE, MAX_VARIANCE], rtol=1e-6)
    np.testing.assert_allclose(cov, cov.T)


def test_laplace_matches_the_conjugate_posterior() -> None:
    rng = np.random.default_rng(3)
    y = rng.normal(2.0, 1.0, size=50).astype(np.float32)
    shapes = {"mu": (), "tau": ()}
    laplace = laplace_approximation(_conjugate_model, {"y": jnp.asarray(y)}, shapes)
    assert laplace is not None
    assert laplace.order == ("mu", "tau")
    precision = len(y) + 1.0 / PRIOR_SD**2
    # exact Normal posterior of mu; float32 gradients through a 1e-3 central difference
    # resolve the curvature (~50) to well under 1%
    np.testing.assert_allclose(laplace.mode[0], y.sum() / precision, rtol=1e-3)
    np.testing.assert_allclose(laplace.covariance[0, 0], 1.0 / precision, rtol=1e-2)
    # tau's posterior is its prior; NumPyro samples log(tau) ~ Normal(0.5, 0.3) unconstrained
    np.testing.assert_allclose(laplace.mode[1], 0.5, atol=1e-3)
    np.testing.assert_allclose(laplace.covariance[1, 1], 0.3**2, rtol=1e-2)
    assert abs(laplace.covariance[0, 1]) < 1e-4


def _laplace_3_sites() -> Laplace:
    shapes = {"a": (2,), "b": (), "z": (2, 2)}
    d = 7
    cov = np.diag(np.arange(1.0, d + 1))
    cov[0, 2] = cov[2, 0] = 0.5
    return Laplace(np.arange(d, dtype=float), cov, ("a", "b", "z"), shapes)


def test_inverse_mass_matrix_blocks_follow_numpyro_layout() -> None:
    laplace = _laplace_3_sites()
    blocks = laplace.inverse_mass_matrix([("b", "a")])
    assert set(blocks) == {("b", "a"), ("z",)}
    dense = np.asarray(blocks[("b", "a")])
    # the block's sites in block order: b (index 2) first, then a (indices 0, 1)
    np.testing.assert_allclose(dense, [[3.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 2.0]])
    np.testing.assert_allclose(np.asarray(blocks[("z",)]), [4.0, 5.0, 6.0, 7.0])


def test_identity_in_the_block_layout_is_numpyros_identity_start() -> None:
    shapes = {"a": (2,), "b": (), "z": (4,)}
    blocks = block_inverse_mass(np.eye(7), ["a", "b", "z"], shapes, [("b", "a")])
    assert list(blocks) == [("b", "a"), ("z",)]
    np.testing.assert_array_equal(np.asarray(blocks[("b", "a")]), np.eye(3))
    np.testing.assert_array_equal(np.asarray(blocks[("z",)]), np.ones(4))


def test_draws_have_the_approximation_moments() -> None:
    laplace = _laplace_3_sites()
    draws = laplace.draws(np.random.default_rng(11), 40_000)
    assert draws["a"].shape == (40_000, 2) and draws["z"].shape == (40_000, 2, 2)
    flat = np.concatenate([draws["a"], draws["b"][:, None], draws["z"].reshape(-1, 4)], axis=1)
    # 40k draws: the sample mean of a variance-7 coordinate has sd sqrt(7/40000) = 0.013
    np.testing.assert_allclose(flat.mean(0), laplace.mode, atol=0.06)
    np.testing.assert_allclose(np.cov(flat.T), laplace.covariance, atol=0.15)


def test_no_finite_mode_gives_none() -> None:
    def improper(arrays: dict[str, Any]) -> None:
        x = numpyro.sample("x", dist.Normal(0.0, 1.0))
        numpyro.factor("nan", x * jnp.nan)

    assert laplace_approximation(improper, {}, {"x": ()}) is None


@pytest.mark.parametrize("n", [1, 3])
def test_draw_count(n: int) -> None:
    draws = _laplace_3_sites().draws(np.random.default_rng(0), n)
    # NumPyro takes the chains' starting points as float32, one leading row per chain
    assert {k: (v.shape, v.dtype) for k, v in draws.items()} == {
        "a": ((n, 2), np.float32),
        "b": ((n,), np.float32),
        "z": ((n, 2, 2), np.float32),
    }
