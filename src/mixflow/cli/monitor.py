"""``mixflow monitor MODEL --actuals new_weeks.csv``: score new weeks of actuals with a fitted
model. Assembled by :mod:`mixflow.cli.main`.

``MODEL`` is a registered model's name (its ``champion`` by default; ``NAME@challenger`` or
``--alias`` for another alias), a ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` URI, or a
run directory. Exit codes: 0 ok, 1 warn, 3 alert; 2 for bad input (the usual one-line
``error: ...``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from mixflow.cli.runtime import lifecycle_settings, resolve_run_dir, setup_jax
from mixflow.errors import RegistryError

app = typer.Typer()

#: a registered model's name with an optional ``@alias`` (the registry's own name rule)
_NAME_REF = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.\-]{0,127})(?:@(?P<alias>[A-Za-z]\w*))?$")
_DEFAULT_ALIAS = "champion"


def monitor_target(model: str, alias: str | None = None) -> str | Path:
    """What ``MODEL`` names: an existing run directory (a :class:`Path`), or a registry URI
    (``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``). A bare ``NAME`` or ``NAME@ALIAS``
    is a registered model; ``alias`` (``--alias``) picks the alias when ``NAME`` has none.

    Raises:
        RegistryError: ``--alias`` with a URI, a directory or ``NAME@ALIAS``; or ``MODEL`` is
            neither a directory nor a model name.
    """
    if model.startswith("models:"):
        if alias is not None:
            raise RegistryError(f"--alias {alias!r} cannot be combined with the URI {model!r}")
        return model
    path = Path(model)
    if path.is_dir():
        if alias is not None:
            raise RegistryError(
                f"--alias {alias!r} applies to model names, not the folder {model!r}"
            )
        return path
    match = _NAME_REF.match(model)
    if match is None:
        raise RegistryError(
            f"MODEL {model!r} is neither a run directory nor a registered model name "
            f"(NAME, NAME@ALIAS, models:/NAME@ALIAS or models:/NAME/VERSION)"
        )
    if match["alias"] is not None and alias is not None:
        raise RegistryError(f"{model!r} already names alias {match['alias']!r}; drop --alias")
    return f"models:/{match['name']}@{match['alias'] or alias or _DEFAULT_ALIAS}"


@app.command()
def monitor(
    model: Annotated[
        str,
        typer.Argument(
            help="registered model NAME[@ALIAS] (champion), models:/ URI or run directory"
        ),
    ],
    actuals: Annotated[
        Path, typer.Option("--actuals", help="new weeks (CSV/Parquet), training columns")
    ],
    alias: Annotated[
        str | None, typer.Option("--alias", help="alias of a model NAME (default champion)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="folder for monitor.json and monitor.html")
    ] = None,
    seed: Annotated[int, typer.Option(help="seed of the predictive noise")] = 0,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="YAML monitor policy (thresholds; defaults if absent)"),
    ] = None,
) -> None:
    """Score new weeks right after the training data against the model's posterior predictive:
    bias, CUSUM drift and interval coverage, each with a stated false-alarm rate; spend outside
    the range the model saw warns. Exits 0 ok, 1 warn, 3 alert."""
    target = monitor_target(model, alias)
    setup_jax(1)
    from mixflow.data.loaders import read_table
    from mixflow.lifecycle.monitor import (
        load_actuals,
        load_monitor_policy,
        log_monitor_metrics,
        training_mape,
    )
    from mixflow.lifecycle.monitor import monitor as run_monitor
    from mixflow.workflow import load_run

    monitor_policy = load_monitor_policy(policy) if policy is not None else None
    run_dir = resolve_run_dir(target)
    posterior = load_run(run_dir)
    data = load_actuals(read_table(actuals), posterior)
    label = str(target)
    result = run_monitor(
        posterior,
        data,
        policy=monitor_policy,
        training_mape=training_mape(run_dir),
        seed=seed,
        model=label,
    )
    if isinstance(target, str):
        step = posterior.dataset.n_times + len(result.weeks)
        log_monitor_metrics(target, result, step, lifecycle_settings())
    payload = result.model_dump_json(indent=2)
    if out is not None:
        from mixflow.data.io import atomic_write_text
        from mixflow.report.monitor_report import build_monitor_html

        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "monitor.json", payload)
        atomic_write_text(out / "monitor.html", build_monitor_html(result, label))
    if as_json:
        typer.echo(payload)
    else:
        m = result.metrics
        mape = "n/a" if m.mape is None else f"{m.mape:.1%}"
        bias = "n/a" if m.bias is None else f"{m.bias:+.1%}"
        typer.echo(
            f"{result.status.value}: coverage {m.coverage:.0%}, MAPE {mape}, bias {bias} over "
            f"{len(result.weeks)} weeks"
        )
        for f in result.findings:
            typer.echo(f"  [{f.status.value}] {f.message}")
    raise typer.Exit(code=result.status.exit_code)
