"""Inference: NUTS (default), MAP and SVI over the NumPyro model.

``fit_design(design, spec, config)`` returns raw posterior draws keyed by site name, each
``(chains, draws, ...)``, plus diagnostics. Randomness comes only from ``config.seed``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jax
import numpy as np
import numpyro
from numpyro.infer import SVI, Trace_ELBO, init_to_median
from numpyro.infer.autoguide import AutoDelta, AutoMultivariateNormal
from numpyro.infer.util import initialize_model

from mixflow.errors import ConvergenceError
from mixflow.inference.chains import NutsSettings, run_chains
from mixflow.inference.diagnostics import Diagnostics, compute_diagnostics
from mixflow.inference.laplace import block_inverse_mass, laplace_approximation
from mixflow.inference.programs import ProgramStore, default_directory
from mixflow.model.design import Design
from mixflow.model.mmm import GEO_SITES, mmm_model
from mixflow.spec.model_spec import FitConfig, FitMethod, ModelSpec


@dataclass(frozen=True)
class FitOutput:
    """Posterior draws ``{site: (chains, draws, ...)}`` and how they were obtained."""

    samples: dict[str, np.ndarray]
    diagnostics: Diagnostics
    method: FitMethod
    sample_stats: dict[str, np.ndarray] = field(default_factory=dict)


def _model_for(spec: ModelSpec) -> Callable[[dict[str, Any]], None]:
    def model(arrays: dict[str, Any]) -> None:
        mmm_model(arrays, spec)

    return model


def resolve_chain_method(requested: str, chains: int) -> str:
    """``auto``: one chain per device when there are enough devices, else vectorized."""
    if requested != "auto":
        return requested
    if chains == 1:
        return "sequential"
    return "parallel" if jax.local_device_count() >= chains else "vectorized"


def fit_design(design: Design, spec: ModelSpec, config: FitConfig) -> FitOutput:
    """Fit the model to a design with the configured method."""
    arrays = design.arrays()
    if config.method is FitMethod.NUTS:
        return _fit_nuts(arrays, spec, config)
    return _fit_optim(arrays, spec, config)


def latent_shapes(arrays: dict[str, np.ndarray], spec: ModelSpec) -> dict[str, tuple[int, ...]]:
    """Shape of every latent (sampled, unobserved) site of the model, from an abstract trace
    (no computation, no compilation)."""
    model = _model_for(spec)
    shapes: dict[str, tuple[int, ...]] = {}

    def probe(a: dict[str, Any]) -> jax.Array:
        trace = numpyro.handlers.trace(numpyro.handlers.seed(model, 0)).get_trace(a)
        for name, site in trace.items():
            if site["type"] == "sample" and not site.get("is_observed", False):
                shapes[name] = tuple(int(d) for d in jax.numpy.shape(site["value"]))
        return jax.numpy.zeros(())

    jax.eval_shape(probe, arrays)
    return shapes


def dense_mass_structure(shapes: dict[str, tuple[int, ...]]) -> list[tuple[str, ...]]:
    """The NUTS mass matrix blocks: one dense block over every parameter of a national model;
    for a geo model dense over the shared parameters and the geo levels (where the ridges
    between ROI, curve shape and level live) and diagonal for the per-geo media deviations. A
    dense matrix over all of them (80+ geo deviations on Meridian's 20 geos) adapted so poorly
    that NUTS hit its maximum tree depth; the block structure measured ~100 steps per draw."""
    return [tuple(sorted(name for name in shapes if name not in GEO_SITES))]


def _prefetch_arviz() -> None:
    """Import ArviZ in a background thread while the sampler runs.

    Importing ArviZ (xarray, its plotting stack) costs 1-2 s of pure Python; XLA releases the
    GIL while sampling, so the import overlaps with it instead of following it.
    """
    import threading

    def _load() -> None:
        # a failure here resurfaces, with its traceback, when the diagnostics import ArviZ
        with contextlib.suppress(Exception):
            import arviz  # noqa: F401

    threading.Thread(target=_load, name="mixflow-arviz-import", daemon=True).start()


def _fit_nuts(arrays: dict[str, np.ndarray], spec: ModelSpec, config: FitConfig) -> FitOutput:
    start = time.perf_counter()
    model = _model_for(spec)
    shapes = latent_shapes(arrays, spec)
    blocks = dense_mass_structure(shapes)
    # one store for the model's programs; the chains add their settings to its keys
    store = ProgramStore(default_directory(), repr(spec))
    settings = NutsSettings(
        chains=config.chains,
        warmup=config.warmup,
        draws=config.draws,
        target_accept=config.target_accept,
        max_tree_depth=config.max_tree_depth,
        chain_method=resolve_chain_method(config.chain_method, config.chains),
        # one vector per mass-matrix block: fewer tiny ops per leapfrog step (docs/model.md)
        flat=True,
    )
    laplace = (
        laplace_approximation(model, arrays, shapes, store=store)
        if config.init_mass == "laplace"
        else None
    )
    if laplace is not None:
        # each chain starts at its own draw from the approximation: near the bulk, where the
        # starting mass matrix fits, rather than at the prior's median
        init = laplace.draws(np.random.default_rng(config.seed), config.chains)
        inverse_mass: dict[tuple[str, ...], Any] = dict(laplace.inverse_mass_matrix(blocks))
    else:
        init = _prior_median_starts(model, arrays, config)
        size = sum(int(np.prod(shape)) for shape in shapes.values())
        inverse_mass = block_inverse_mass(np.eye(size), sorted(shapes), shapes, blocks)
    # the chains run without the GIL: import ArviZ meanwhile
    _prefetch_arviz()
    with _progress_bar(config, settings) as report:
        chains = run_chains(model, arrays, init, inverse_mass, settings, config.seed, store, report)
    elapsed = time.perf_counter() - start
    samples = chains.samples
    _check_finite(samples)
    diag = compute_diagnostics(samples, chains.diverging, chains.num_steps, elapsed, "nuts")
    stats = {"diverging": chains.diverging, "n_steps": chains.num_steps}
    return FitOutput(samples, diag, FitMethod.NUTS, stats)


def _prior_median_starts(
    model: Callable[[dict[str, Any]], None], arrays: dict[str, np.ndarray], config: FitConfig
) -> dict[str, np.ndarray]:
    """Unconstrained starting points at (a draw around) the prior median, one per chain."""
    keys = jax.random.split(jax.random.PRNGKey(config.seed), config.chains)
    starts = [
        initialize_model(
            k, model, init_strategy=init_to_median(num_samples=15), model_args=(arrays,)
        )[0].z
        for k in keys
    ]
    return {name: np.stack([np.asarray(s[name]) for s in starts]) for name in starts[0]}


@contextlib.contextmanager
def _progress_bar(
    config: FitConfig, settings: NutsSettings
) -> Iterator[Callable[[str, int], None] | None]:
    if not config.progress_bar:
        yield None
        return
    from tqdm.auto import tqdm

    runs = settings.chains if settings.chain_method == "sequential" else 1
    total = (settings.warmup + settings.draws) * runs
    with tqdm(total=total, desc="warmup", unit="it") as bar:

        def report(phase: str, n: int) -> None:
            bar.set_description(phase, refresh=False)
            bar.update(n)

        yield report


def _fit_optim(arrays: dict[str, np.ndarray], spec: ModelSpec, config: FitConfig) -> FitOutput:
    model = _model_for(spec)
    guide = (
        AutoDelta(model, init_loc_fn=init_to_median(num_samples=15))
        if config.method is FitMethod.MAP
        else AutoMultivariateNormal(
            model, init_loc_fn=init_to_median(num_samples=15), init_scale=0.05
        )
    )
    optim = numpyro.optim.ClippedAdam(step_size=0.01, clip_norm=10.0)
    svi = SVI(model, guide, optim, Trace_ELBO())
    key_fit, key_draw = jax.random.split(jax.random.PRNGKey(config.seed))
    start = time.perf_counter()
    result = svi.run(key_fit, config.svi_steps, arrays, progress_bar=config.progress_bar)
    n_draws = 1 if config.method is FitMethod.MAP else config.draws
    # with the model's arguments the guide also returns its deterministic sites (the intercept)
    draws = guide.sample_posterior(key_draw, result.params, arrays, sample_shape=(n_draws,))
    elapsed = time.perf_counter() - start
    samples = {k: np.asarray(v)[None, ...] for k, v in draws.items() if k != "y"}
    losses = np.asarray(result.losses)
    if not np.isfinite(losses[-1]):
        raise ConvergenceError(
            f"{config.method.value} optimisation diverged (loss {losses[-1]}); try --method nuts"
        )
    _check_finite(samples)
    diag = compute_diagnostics(samples, None, None, elapsed, config.method.value)
    return FitOutput(samples, diag, config.method)


def _check_finite(samples: dict[str, np.ndarray]) -> None:
    bad = [k for k, v in samples.items() if not np.all(np.isfinite(v))]
    if bad:
        raise ConvergenceError(f"the posterior has non-finite draws for {bad}")
