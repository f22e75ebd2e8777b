"""``mixflow keys create|list|revoke``, ``mixflow db upgrade`` and ``mixflow serve``: the
service's commands. Assembled by :mod:`mixflow.cli.main`; settings come from ``MIXFLOW_*``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

app = typer.Typer()
keys_app = typer.Typer(help="API keys of the service.", no_args_is_help=True)
db_app = typer.Typer(help="The service's database.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")


def _sessions(migrate: bool = True):  # type: ignore[no-untyped-def]
    """Sessions on the settings' database, migrated first (keys work before the first serve;
    workers, started beside a migrated API, do not migrate)."""
    from mixflow.service.db.migrate import upgrade
    from mixflow.service.db.session import make_engine, make_session_factory
    from mixflow.service.settings import ServiceSettings

    settings = ServiceSettings()
    if migrate:
        upgrade(settings)
    return make_session_factory(make_engine(settings))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the packaged migrations to MIXFLOW_DATABASE_URL (default: SQLite in MIXFLOW_HOME)."""
    from mixflow.service.db.migrate import upgrade
    from mixflow.service.settings import ServiceSettings

    upgrade(ServiceSettings())
    typer.echo("database at head")


@keys_app.command("create")
def keys_create(
    workspace: Annotated[str, typer.Option(help="workspace the key acts in")],
    role: Annotated[str, typer.Option(help="viewer, analyst or admin")] = "viewer",
    name: Annotated[str, typer.Option(help="label of the key")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="print as JSON")] = False,
) -> None:
    """Create a key and print it once (only its digest is stored)."""
    from mixflow.service.auth import create_key, parse_role

    with _sessions()() as session:
        key = create_key(session, name=name, workspace=workspace, role=parse_role(role))
    if as_json:
        typer.echo(
            json.dumps({"id": key.key_id, "key": key.secret, "workspace": workspace, "role": role})
        )
    else:
        typer.echo(key.secret)


@keys_app.command("list")
def keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="print as JSON")] = False,
) -> None:
    """List keys (ids, names, workspaces, roles; never the keys)."""
    from mixflow.service.auth import list_keys

    with _sessions()() as session:
        rows = [
            {
                "id": k.id,
                "name": k.name,
                "workspace": k.workspace,
                "role": k.role,
                "created_at": k.created_at.isoformat(),
                "revoked": k.revoked_at is not None,
            }
            for k in list_keys(session)
        ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for r in rows:
        state = "revoked" if r["revoked"] else "active"
        typer.echo(f"{r['id']}  {r['workspace']}  {r['role']}  {state}  {r['name']}")


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="id of the key")]) -> None:
    """Revoke a key: it stops authenticating at once."""
    from mixflow.service.auth import revoke_key

    with _sessions()() as session:
        revoke_key(session, key_id)
    typer.echo(f"revoked {key_id}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to bind")] = 8000,
    workers: Annotated[int, typer.Option(help="job workers started and stopped with the API")] = 1,
    access_log: Annotated[
        bool, typer.Option(help="log one line per request (a proxy in front often does)")
    ] = True,
) -> None:
    """Serve the API with uvicorn (migrations are applied first) and ``--workers`` job
    workers (``mixflow worker`` processes), stopped when the server stops."""
    import subprocess
    import sys

    import uvicorn

    from mixflow.service.app import create_app
    from mixflow.service.db.migrate import upgrade
    from mixflow.service.settings import ServiceSettings

    settings = ServiceSettings()
    upgrade(settings)
    procs = [subprocess.Popen([sys.executable, "-m", "mixflow", "worker"]) for _ in range(workers)]
    try:
        uvicorn.run(
            create_app(settings), host=host, port=port, log_level="info", access_log=access_log
        )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@app.command()
def worker(
    lease_s: Annotated[float, typer.Option(help="lease of a claimed job, seconds")] = 30.0,
    once: Annotated[bool, typer.Option(help="run at most one job and exit")] = False,
) -> None:
    """Run queued jobs (fits) until stopped; start one per core you can spare."""
    from datetime import timedelta

    from mixflow.service.jobs.worker import Worker
    from mixflow.service.settings import ServiceSettings

    settings = ServiceSettings()
    w = Worker(
        sessions=_sessions(migrate=False),
        home=settings.home,
        lease=timedelta(seconds=lease_s),
        heartbeat_s=min(1.0, lease_s / 3),
    )
    if once:
        w.run_once()
    else:
        w.run_forever()
