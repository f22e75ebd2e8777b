"""Job handlers for the worker tests (importable by the spawned child process)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mixflow.errors import DataError


def echo(payload: dict[str, Any], folder: Path) -> dict[str, Any]:
    (folder / "done").write_text("yes")
    return {"echo": payload["value"]}


def bad_input(payload: dict[str, Any], folder: Path) -> dict[str, Any]:
    raise DataError("column 'spend_tv' has 3 negative values")


def crash(payload: dict[str, Any], folder: Path) -> dict[str, Any]:
    raise RuntimeError("secret internals")


def sleep(payload: dict[str, Any], folder: Path) -> dict[str, Any]:
    time.sleep(float(payload["seconds"]))
    return {}


HANDLERS = {"echo": echo, "bad_input": bad_input, "crash": crash, "sleep": sleep}


def mark(payload: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Append this run to the file ``payload['log']`` (so a test counts how often a job ran)."""
    with open(payload["log"], "a") as log:
        log.write(f"{folder.name}\n")
    time.sleep(0.5)
    return {}


HANDLERS = {**HANDLERS, "mark": mark}
