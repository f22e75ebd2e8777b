"""The stored-program NUTS driver: it runs NumPyro's kernel, so it must sample what NumPyro's
own ``MCMC`` samples; chain layouts must agree; chunking and progress must cover every
iteration; stored programs must load back and give the same draws."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jax
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
from numpyro.infer import MCMC, NUTS

from mixflow.inference.chains import BlockLayout, ChainDraws, NutsSettings, run_chains
from mixflow.inference.programs import ProgramStore

COV = np.array([[1.0, 0.8], [0.8, 1.0]])


def gaussian(arrays: dict[str, np.ndarray]) -> None:
    """A correlated 2-d normal with a location from the data, plus a positive scale site
    (so the constrained and unconstrained spaces differ)."""
    numpyro.sample("x", dist.MultivariateNormal(arrays["loc"], covariance_matrix=COV))
    numpyro.sample("s", dist.LogNormal(0.0, 0.5))


ARRAYS = {"loc": np.array([1.0, -2.0], dtype=np.float32)}
INIT = {
    "x": np.zeros((4, 2), np.float32),
    "s": np.zeros((4,), np.float32),
}
MASS = {("s", "x"): np.eye(3, dtype=np.float32)}


def _settings(
    method: str, warmup: int = 200, draws: int = 300, chunk: int = 100, flat: bool = False
) -> NutsSettings:
    return NutsSettings(
        chains=4,
        warmup=warmup,
        draws=draws,
        target_accept=0.8,
        max_tree_depth=10,
        chain_method=method,
        chunk=chunk,
        flat=flat,
    )


def _run(method: str, store: ProgramStore | None = None, **kw: Any) -> ChainDraws:
    return run_chains(
        gaussian,
        ARRAYS,
        INIT,
        MASS,
        _settings(method, **kw),
        seed=5,
        store=store or ProgramStore(None, "test"),
    )


@pytest.mark.parametrize("method", ["parallel", "vectorized", "sequential"])
def test_draws_match_numpyro_mcmc(method: str) -> None:
    """Same kernel, keys, start and mass matrix as NumPyro's MCMC with the same chain method:
    the same chains, draw for draw (NumPyro's dict-of-sites position: ``flat=False``)."""
    mine = _run(method, warmup=100, draws=100, flat=False)
    kernel = NUTS(gaussian, dense_mass=[("s", "x")], inverse_mass_matrix=MASS)
    mcmc = MCMC(
        kernel,
        num_warmup=100,
        num_samples=100,
        num_chains=4,
        chain_method=method,
        progress_bar=False,
    )
    mcmc.run(jax.random.PRNGKey(5), ARRAYS, init_params=INIT, extra_fields=("num_steps",))
    theirs = mcmc.get_samples(group_by_chain=True)
    for site in ("x", "s"):
        np.testing.assert_allclose(mine.samples[site], np.asarray(theirs[site]), atol=1e-5)
    steps = np.asarray(mcmc.get_extra_fields(group_by_chain=True)["num_steps"])
    np.testing.assert_array_equal(mine.num_steps, steps)


def test_parallel_and_sequential_chains_agree() -> None:
    """One chain per device or one chain after another: the same program per chain. (Batched
    chains do the same arithmetic under ``vmap``, whose float rounding differs, so they part
    ways after some draws, in NumPyro's MCMC as here.)"""
    parallel = _run("parallel")
    sequential = _run("sequential")
    np.testing.assert_array_equal(sequential.samples["x"], parallel.samples["x"])
    np.testing.assert_array_equal(sequential.num_steps, parallel.num_steps)


def test_flat_block_layout_runs_the_same_chains() -> None:
    """One vector per mass-matrix block is a relabelling of the same position: on this model
    the chains agree with NumPyro's dict layout draw for draw."""
    flat = _run("parallel", flat=True)
    sites = _run("parallel", flat=False)
    np.testing.assert_allclose(flat.samples["x"], sites.samples["x"], atol=1e-4)
    np.testing.assert_allclose(flat.samples["s"], sites.samples["s"], rtol=1e-4)
    np.testing.assert_array_equal(flat.num_steps, sites.num_steps)


def test_block_layout_round_trip() -> None:
    shapes = {"a": (2, 3), "b": (), "c": (4,)}
    layout = BlockLayout((("a", "b"), ("c",)), shapes)
    rng = np.random.default_rng(0)
    z = {k: rng.normal(size=(5, *s)).astype(np.float32) for k, s in shapes.items()}
    flat = layout.join(z, batch=1)
    assert {k: v.shape for k, v in flat.items()} == {"b0": (5, 7), "b1": (5, 4)}
    # block order is the mass matrix's order: a's six entries, then b
    np.testing.assert_array_equal(flat["b0"][:, :6], z["a"].reshape(5, 6))
    np.testing.assert_array_equal(flat["b0"][:, 6], z["b"])
    back = layout.split({k: v[2] for k, v in flat.items()})
    for k in shapes:
        np.testing.assert_array_equal(back[k], z[k][2])
    mass = layout.mass({("a", "b"): np.eye(7), ("c",): np.ones(4)})
    assert list(mass) == [("b0",), ("b1",)]


def test_samples_the_target() -> None:
    draws = _run("parallel", warmup=500, draws=1000)
    x = draws.samples["x"].reshape(-1, 2)
    # 4000 draws, ESS well above 1000 for this target: the mean's MC error is < 0.05
    np.testing.assert_allclose(x.mean(axis=0), ARRAYS["loc"], atol=0.12)
    np.testing.assert_allclose(np.cov(x.T), COV, atol=0.15)
    s = draws.samples["s"].reshape(-1)
    assert np.all(s > 0)  # constrained draws
    assert abs(np.median(np.log(s))) < 0.1


def test_chunks_and_progress_cover_every_iteration() -> None:
    seen: dict[str, int] = {"warmup": 0, "sampling": 0}

    def progress(phase: str, n: int) -> None:
        seen[phase] += n

    draws = run_chains(
        gaussian,
        ARRAYS,
        INIT,
        MASS,
        _settings("parallel", warmup=30, draws=45, chunk=20),
        seed=5,
        store=ProgramStore(None, "test"),
        progress=progress,
    )
    assert seen == {"warmup": 30, "sampling": 45}
    assert draws.samples["x"].shape == (4, 45, 2)
    assert draws.num_steps.shape == (4, 45)
    assert np.all(draws.num_steps > 0)  # no padding from the chunk's idle tail
    # chunking is invisible: the same run in one chunk per phase
    whole = _run("parallel", warmup=30, draws=45, chunk=45)
    np.testing.assert_allclose(draws.samples["x"], whole.samples["x"], atol=1e-5)


def test_stored_programs_load_back(tmp_path: Path) -> None:
    fresh = _run("parallel", store=ProgramStore(tmp_path, "gaussian"))
    files = sorted(p.name for p in tmp_path.iterdir())
    assert [f.split("-")[1] for f in files] == ["advance", "init"]
    loaded = _run("parallel", store=ProgramStore(tmp_path, "gaussian"))
    assert sorted(p.name for p in tmp_path.iterdir()) == files  # nothing exported anew
    np.testing.assert_array_equal(loaded.samples["x"], fresh.samples["x"])


def test_stored_programs_reused_on_different_data_of_the_same_shape(tmp_path: Path) -> None:
    """A stored program is keyed by shapes, not values: new data of the same shape must reuse
    it (nothing exported anew) and still sample the new target, exactly as a fresh export
    would. A program that baked the first data in as constants would fail both checks."""
    store_dir = tmp_path / "store"
    _run("parallel", store=ProgramStore(store_dir, "gaussian"))
    files = sorted(p.name for p in store_dir.iterdir())
    moved = {"loc": np.array([6.0, 3.0], dtype=np.float32)}

    def run_on(arrays: dict[str, np.ndarray], store: ProgramStore) -> ChainDraws:
        return run_chains(gaussian, arrays, INIT, MASS, _settings("parallel"), seed=5, store=store)

    reused = run_on(moved, ProgramStore(store_dir, "gaussian"))
    assert sorted(p.name for p in store_dir.iterdir()) == files  # the stored program was used
    fresh = run_on(moved, ProgramStore(None, "gaussian"))
    np.testing.assert_allclose(reused.samples["x"], fresh.samples["x"], atol=1e-5)
    # and it samples the new location: 1,200 draws of a unit-variance normal put the mean
    # within about 0.1 of it even with autocorrelation; the old location is 5 or more away
    mean = reused.samples["x"].reshape(-1, 2).mean(axis=0)
    np.testing.assert_allclose(mean, moved["loc"], atol=0.25)


def test_programs_are_keyed_by_the_sampler_settings(tmp_path: Path) -> None:
    """The caller's context names the model only: a different chunk size is a different
    advance program (reusing the other would silently run the wrong number of iterations)."""
    store = ProgramStore(tmp_path, "gaussian")
    small = _run("parallel", store=store, warmup=30, draws=45, chunk=20)
    whole = _run("parallel", store=store, warmup=30, draws=45, chunk=45)
    assert len(list(tmp_path.iterdir())) == 4
    assert whole.samples["x"].shape == (4, 45, 2)
    np.testing.assert_allclose(whole.samples["x"], small.samples["x"], atol=1e-5)


def test_damaged_program_is_exported_again(tmp_path: Path) -> None:
    store = ProgramStore(tmp_path, "gaussian")
    first = _run("parallel", store=store)
    for path in tmp_path.iterdir():
        path.write_bytes(b"not a program")
    again = _run("parallel", store=ProgramStore(tmp_path, "gaussian"))
    np.testing.assert_array_equal(again.samples["x"], first.samples["x"])
    assert all(p.stat().st_size > 1000 for p in tmp_path.iterdir())


def test_store_keeps_its_folder_under_the_cap(tmp_path: Path) -> None:
    def program(x: jax.Array) -> jax.Array:
        return x * 2.0

    fn = jax.jit(program)
    first = ProgramStore(tmp_path, "cap")
    first.get("p", fn, (np.zeros(3, np.float32),))
    (one,) = tmp_path.glob("*.jaxexport")
    os.utime(one, (1000.0, 1000.0))  # long unused
    # room for about one program: exporting a second one removes the unused first
    store = ProgramStore(tmp_path, "cap", max_bytes=int(one.stat().st_size * 1.5))
    out = store.get("p", fn, (np.zeros(5, np.float32),))(np.ones(5, np.float32))
    np.testing.assert_array_equal(out, np.full(5, 2.0, np.float32))
    (two,) = tmp_path.glob("*.jaxexport")
    assert two != one
    # loading a program marks it used
    os.utime(two, (1000.0, 1000.0))
    store.get("p", fn, (np.zeros(5, np.float32),))
    assert two.stat().st_mtime > 1000.0


def test_program_key_covers_context_and_shapes() -> None:
    a = ProgramStore(None, "model A")
    b = ProgramStore(None, "model B")
    args = (np.zeros((3,), np.float32),)
    assert a.key("p", args) != b.key("p", args)
    assert a.key("p", args) != a.key("p", (np.zeros((4,), np.float32),))
    assert a.key("p", args) != a.key("p", (np.zeros((3,), np.int32),))
    assert a.key("p", args) == ProgramStore(None, "model A").key("p", args)


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="chain method"):
        _settings("auto")
    with pytest.raises(ValueError, match="chunk"):
        _settings("parallel", chunk=0)
