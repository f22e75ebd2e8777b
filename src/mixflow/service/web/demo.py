"""Open the planner on the demo model: ``python -m mixflow.service.web.demo``.

After ``make demo`` (which fits ``runs/demo/run``), this registers that run as model ``demo``
in workspace ``demo`` of a service home (default ``runs/demo/service``; once, a second start
reuses it), makes it the champion, creates an admin key, prints the URL and the key, and runs
``mixflow serve`` there until Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
from pathlib import Path

WORKSPACE = "demo"
MODEL = "demo"


def prepare(run_dir: Path, home: Path) -> str:
    """Register ``run_dir`` as the champion of ``demo`` in ``home`` (unless it is already
    there) and return a new admin key of workspace ``demo``."""
    from mixflow.errors import MixflowError
    from mixflow.lifecycle.registry import Alias, promote, register
    from mixflow.service.auth import Role, create_key
    from mixflow.service.db.migrate import upgrade
    from mixflow.service.db.session import make_engine, make_session_factory
    from mixflow.service.settings import ServiceSettings
    from mixflow.service.store import lifecycle_settings, registered_name, resolve_model

    if not (run_dir / "summary.json").is_file():
        raise SystemExit(f"error: {run_dir} holds no fitted run: run `make demo` first")
    settings = ServiceSettings(home=home, database_url="")
    upgrade(settings)
    try:
        resolve_model(settings, WORKSPACE, MODEL, "champion")
    except MixflowError:
        lifecycle = lifecycle_settings(settings)
        name = registered_name(WORKSPACE, MODEL)
        info = register(run_dir, name, lifecycle, actor="demo")
        promote(
            name,
            info.version,
            Alias.CHAMPION,
            "demo",
            "the demo model",
            lifecycle,
            override_reason="demo: promoted whatever its gates say",
        )
    engine = make_engine(settings)
    with make_session_factory(engine)() as db:
        key = create_key(db, name="planner demo", workspace=WORKSPACE, role=Role.admin)
    engine.dispose()
    return key.secret


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("runs/demo/run"), help="fitted run")
    parser.add_argument("--home", type=Path, default=Path("runs/demo/service"), help="MIXFLOW_HOME")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    home = args.home.resolve()
    key = prepare(args.run.resolve(), home)
    print(f"planner: http://127.0.0.1:{args.port}/  (model '{MODEL}', workspace '{WORKSPACE}')")
    print(f"sign in with this API key (admin, shown once): {key}", flush=True)
    env = {**os.environ, "MIXFLOW_HOME": str(home), "MIXFLOW_DATABASE_URL": ""}
    cmd = [sys.executable, "-m", "mixflow", "serve", "--port", str(args.port)]
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops serve and its worker
        subprocess.run(cmd, env=env, check=False)


if __name__ == "__main__":
    main()
