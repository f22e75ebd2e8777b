"""``mixflow register | promote | audit | models list/show | reproduce | refresh``: thin commands
over :mod:`mixflow.lifecycle`, assembled by :mod:`mixflow.cli.main`.

Settings come from the environment (``MIXFLOW_HOME``, ``MLFLOW_TRACKING_URI``).
"""

from __future__ import annotations

import signal
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mixflow.cli.output import echo_json, print_gates, print_registration
from mixflow.cli.runtime import lifecycle_settings, setup_jax
from mixflow.errors import MixflowError

if TYPE_CHECKING:
    from mixflow.lifecycle.refresh import RefreshResult

#: exit code of a refresh ended by SIGTERM (128 + 15, as a shell reports it)
SIGTERM_EXIT = 143


class RefreshFailed(MixflowError):
    """A refresh that failed before deciding: exit 2, whatever the cause's own code."""

    exit_code = 2


app = typer.Typer()
models_app = typer.Typer(help="Registered models: list them, show versions, aliases and gates.")
app.add_typer(models_app, name="models")


@app.command()
def register(
    run_dir: Annotated[Path, typer.Argument(help="run directory written by `mixflow fit`")],
    name: Annotated[str, typer.Option("--name", help="registered model name")],
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="YAML gate policy (default thresholds if absent)"),
    ] = None,
    by: Annotated[str | None, typer.Option("--by", help="who registers (default: OS user)")] = None,
) -> None:
    """Log RUN_DIR to MLflow, register it as a new version of NAME and run the gates."""
    from mixflow.lifecycle import load_policy
    from mixflow.lifecycle import register as register_run
    from mixflow.report.model_card import model_card_html

    gate_policy = load_policy(policy) if policy is not None else None
    info = register_run(
        run_dir,
        name,
        lifecycle_settings(),
        policy=gate_policy,
        actor=by,
        card_page=model_card_html,
    )
    print_registration(info)


@app.command()
def promote(
    name: Annotated[str, typer.Argument(help="registered model name")],
    version: Annotated[int, typer.Argument(help="version number")],
    reason: Annotated[str, typer.Option("--reason", help="why (written to the audit trail)")],
    to: Annotated[str, typer.Option("--to", help="alias: champion or challenger")] = "champion",
    by: Annotated[str, typer.Option("--by", help="who promotes")] = "",
    override: Annotated[
        str | None, typer.Option("--override", help="promote despite failed gates, because ...")
    ] = None,
) -> None:
    """Point alias --to of NAME at VERSION (refused while a gate fails, unless --override)."""
    from mixflow.lifecycle import Alias, RegistryError
    from mixflow.lifecycle import promote as promote_version

    if to not in {a.value for a in Alias}:
        raise RegistryError(f"--to must be one of {', '.join(a.value for a in Alias)}, got {to!r}")
    info = promote_version(
        name, version, Alias(to), by, reason, lifecycle_settings(), override_reason=override
    )
    note = " (gates overridden)" if not info.gates_passed else ""
    typer.echo(f"{name} version {version} is now {to}{note}")


@app.command()
def audit(
    name: Annotated[str, typer.Argument(help="registered model name")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON records")] = False,
) -> None:
    """Print the audit trail of NAME, oldest first."""
    from mixflow.lifecycle import audit_log
    from mixflow.lifecycle.audit import describe_record

    records = audit_log(name, lifecycle_settings())
    if as_json:
        echo_json(records)
        return
    for r in records:
        typer.echo(f"{r['ts']}  {describe_record(r)}")


@models_app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List registered models with their aliases."""
    from mixflow.lifecycle import list_models

    models = list_models(lifecycle_settings())
    if as_json:
        echo_json([m.to_dict() for m in models])
        return
    for m in models:
        aliases = ", ".join(f"{a}=v{v}" for a, v in sorted(m.aliases.items())) or "no aliases"
        typer.echo(f"{m.name}  latest v{m.latest_version}  {aliases}")


@models_app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="registered model name")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Show every version of NAME: run, aliases and gate results."""
    from mixflow.lifecycle import model_versions

    versions = model_versions(name, lifecycle_settings())
    if as_json:
        echo_json({"name": name, "versions": [v.to_dict() for v in versions]})
        return
    for v in versions:
        aliases = f" [{', '.join(v.aliases)}]" if v.aliases else ""
        state = "archived" if v.archived else ("gates passed" if v.gates_passed else "gates FAILED")
        typer.echo(f"{name} v{v.version}{aliases}  run {v.run_id}  {state}")
        print_gates(v.gates)


__all__ = [
    "audit",
    "list_command",
    "models_app",
    "promote",
    "refresh",
    "register",
    "reproduce",
    "show_command",
]


@app.command()
def reproduce(
    run_id: Annotated[str, typer.Argument(help="MLflow run id of a logged fit")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Refit a logged run from its config and data snapshot; exit 0 if the summary matches, 1 if not."""
    from mixflow.lifecycle.reproduce import logged_chains
    from mixflow.lifecycle.reproduce import reproduce as reproduce_run

    # JAX set up as `mixflow fit` set it up: one device per chain, chains in parallel
    setup_jax(logged_chains(run_id, lifecycle_settings()))
    result = reproduce_run(run_id, lifecycle_settings())
    if as_json:
        echo_json(result.to_dict())
    elif result.matches:
        typer.echo(f"run {run_id}: reproduced, the summary matches")
    else:
        typer.echo(f"run {run_id}: NOT reproduced; {len(result.differences)} differences:")
        for d in result.differences[:20]:
            typer.echo(f"  {d}")
    if not result.matches:
        raise typer.Exit(code=1)


def _raise_on_sigterm(signum: int, frame: object) -> None:
    # an exception unwinds the refresh, so its open MLflow run is marked FAILED
    raise SystemExit(SIGTERM_EXIT)


def _print_refresh(result: RefreshResult) -> None:
    from mixflow.lifecycle.refresh import Decision

    d = result.decision
    verdict = {
        Decision.PROMOTE: "promoted to champion" if result.promoted else "NOT promoted",
        Decision.AWAIT_APPROVAL: "awaiting approval",
        Decision.REJECT: "rejected",
    }[d.decision]
    typer.echo(
        f"{result.model}: challenger version {result.challenger.version} (run "
        f"{result.challenger.run_id}) against champion version {result.champion_version}: "
        f"{verdict}"
    )
    for c in d.checks:
        typer.echo(f"  [{'ok' if c.passed else 'FAILED'}] {c.detail}")
    for note in result.notes:
        typer.echo(f"  note: {note}")
    typer.echo(f"wrote {result.out_dir}")


@app.command()
def refresh(
    name: Annotated[str, typer.Argument(help="registered model name (its champion is refitted)")],
    data: Annotated[
        Path, typer.Option("--data", help="extended data (CSV/Parquet): old weeks plus new ones")
    ],
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="YAML refresh policy (documented defaults if absent)"),
    ] = None,
    informed_priors: Annotated[
        bool,
        typer.Option(
            "--informed-priors", help="ROI priors from the champion's posterior (widened)"
        ),
    ] = False,
    by: Annotated[str | None, typer.Option("--by", help="who refreshes (default: OS user)")] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="folder for the challenger run (default: under MIXFLOW_HOME)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Refit NAME's champion on extended data, register a challenger, compare and decide.

    Exits 0 when the challenger was promoted to champion, 1 when it was registered but not
    promoted (awaiting approval, or rejected by a check), 2 on bad input or a failed refit
    (`error: ...` as the last line; nothing registered), 143 when terminated by SIGTERM (its
    MLflow run is marked FAILED)."""
    from mixflow.lifecycle.refresh import load_refresh_policy
    from mixflow.lifecycle.refresh import refresh as refresh_model
    from mixflow.report.model_card import model_card_html

    previous = signal.signal(signal.SIGTERM, _raise_on_sigterm)
    try:
        refresh_policy = load_refresh_policy(policy) if policy is not None else None
        setup_jax(1)
        result = refresh_model(
            name,
            data,
            lifecycle_settings(),
            policy=refresh_policy,
            informed_priors=informed_priors,
            actor=by,
            out_dir=out,
            card_page=model_card_html,
        )
    except MixflowError as err:
        # every failure is exit 2 here (1 means "registered, not promoted"): a RefreshFailed
        # carries the message to the command line's one error handler
        if err.exit_code == 2:
            raise
        raise RefreshFailed(str(err)) from err
    except Exception as err:  # a bug or a store failure: keep the traceback, still exit 2
        traceback.print_exc()
        typer.echo(f"error: refresh failed: {type(err).__name__}: {err}", err=True)
        raise typer.Exit(code=2) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    if as_json:
        echo_json(result.to_dict())
    else:
        _print_refresh(result)
    raise typer.Exit(code=result.exit_code)
