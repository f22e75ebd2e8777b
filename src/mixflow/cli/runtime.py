"""Process-level set-up for the command line (the edge; the library never does this): JAX
devices and caches, lifecycle settings from the environment, run folders named by a registry URI.
A support module: command modules import it, it imports no command module."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from mixflow.errors import SpecError

if TYPE_CHECKING:
    from mixflow.lifecycle import LifecycleSettings
    from mixflow.lifecycle.settings import EnvironmentSettings
    from mixflow.simulate import Simulator

#: cap on the compiled-program cache (a national sampler is a few MB compiled)
JAX_CACHE_MAX_BYTES = 2 * 2**30


def environment() -> EnvironmentSettings:
    """The process environment's ``MIXFLOW_*`` settings (pydantic-settings); a bad value is a
    :class:`~mixflow.errors.SpecError` naming the variable and its value."""
    from pydantic import ValidationError

    from mixflow.lifecycle.settings import EnvironmentSettings
    from mixflow.schema_errors import format_validation_error

    try:
        # every field has a default; mypy does not see pydantic's Field(default, alias=...)
        return EnvironmentSettings()  # type: ignore[call-arg]
    except ValidationError as err:
        raise SpecError(format_validation_error(err, "environment", EnvironmentSettings)) from None


def cache_dir(env: EnvironmentSettings | None = None) -> Path:
    """Where compiled XLA programs are kept between runs (``MIXFLOW_CACHE_DIR`` overrides,
    else ``$XDG_CACHE_HOME/mixflow``, else ``~/.cache/mixflow``)."""
    env = env if env is not None else environment()
    if env.cache_dir:
        return Path(env.cache_dir)
    return Path(env.xdg_cache_home or Path.home() / ".cache") / "mixflow"


def setup_jax(n_devices: int) -> None:
    """Expose ``n_devices`` CPU devices (one per chain) and the persistent compilation cache.

    Must run before JAX runs its first computation. Set ``MIXFLOW_JAX_CACHE=0`` (or ``false``)
    to disable the cache (every process then compiles the sampler anew).
    """
    import numpyro

    env = environment()
    numpyro.set_host_device_count(max(1, n_devices))
    if env.jax_cache:
        import jax

        path = cache_dir(env) / "jax"
        path.mkdir(parents=True, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", str(path))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        # a refit with one more week of data is a new shape, hence a new entry: unbounded, the
        # folder only grows. JAX's own cap (jax_compilation_cache_max_size) tracks every access
        # and made a warm national fit 2.5x slower (9.4 s against 3.9 s), so the oldest entries
        # are removed here instead, once per process
        from mixflow.data.io import prune

        prune(path, "*-cache", JAX_CACHE_MAX_BYTES)


def lifecycle_settings() -> LifecycleSettings:
    """Lifecycle settings from the environment (``MIXFLOW_HOME``, ``MLFLOW_TRACKING_URI``)."""
    from mixflow.lifecycle import settings_from_env

    # MLflow's download progress bar and the run links it prints to stdout when a run on a
    # tracking server ends would interleave with --json output
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    return settings_from_env(os.environ)


def resolve_run_dir(run: Path | str) -> Path:
    """A run directory, or a registered model version (``models:/NAME@ALIAS``,
    ``models:/NAME/VERSION``) downloaded from the MLflow registry."""
    text = str(run)
    if text.startswith("models:"):
        from mixflow.lifecycle.registry import load_version
        from mixflow.lifecycle.settings import settings_from_env

        # Path() folds "models:/x" and "models://x" alike; MLflow expects "models:/x"
        uri = "models:/" + text.removeprefix("models:").lstrip("/")
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        return load_version(uri, settings_from_env(os.environ))
    return Path(run)


def simulator_for(run: Path | str) -> Simulator:
    """A simulator over the posterior of a run directory or registered version, on one device."""
    setup_jax(1)
    from mixflow.simulate import Simulator
    from mixflow.workflow import load_run

    return Simulator(load_run(resolve_run_dir(run)))
