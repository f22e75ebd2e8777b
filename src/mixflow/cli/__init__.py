"""The mixflow command line: one Typer app assembled from per-area command modules.

- :mod:`mixflow.cli.main` builds ``app``, lists the command modules (``COMMAND_MODULES``) and is
  the one place that turns a :class:`~mixflow.errors.MixflowError` into ``error: ...`` on
  stderr and the error's exit code. Commands raise; they never catch a MixflowError to print it.
- Command modules (``runs``, ``plans``, ``compare_runs``, ``lifecycle``, ``monitor``,
  ``service``, ``schema``, ``experiment``, ``experiment_design``, ``experiment_impact``) each define ``app = typer.Typer()`` and their
  commands on it. They never import one another nor ``main`` (the import contract in
  pyproject.toml checks it): what two of them share lives in a support module (``runtime``:
  JAX set-up, settings, run folders; ``output``: terminal tables) or, when it is domain logic,
  in its package, where the service calls it too.
- A command stays thin: parse options, call one library function, print or write its result.

To add commands: write ``cli/NAME.py`` with ``app = typer.Typer()`` and ``@app.command()``
functions, then add ``(NAME, None)`` (or ``(NAME, "group")`` for ``mixflow group ...``) to
``COMMAND_MODULES`` in ``main.py`` with its import, and the module to the CLI contracts in
pyproject.toml.
"""

import warnings

# ArviZ announces its coming refactor with a FutureWarning at import, once a day; mixflow pins
# arviz<1, so the banner tells a mixflow user nothing. Silenced here, where the command line
# starts (before anything imports arviz), for that one message only: library users of mixflow
# keep their own warning filters.
warnings.filterwarnings(
    "ignore", message=r"\s*ArviZ is undergoing a major refactor", category=FutureWarning
)
