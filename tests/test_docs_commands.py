"""Every ``mixflow ...`` command shown in README.md and docs/*.md (```bash / ```console blocks)
runs on a fresh-clone layout: a temporary folder holding copies of ``examples/`` and ``data/``
only (no ``../shared``), with its own ``MIXFLOW_HOME``.

To keep it to minutes (about 4 on 2 shared cores), fits run by MAP (SVI ones stay SVI) and samplers and simulations get tiny settings
(:data:`FAST`, options each command documents in its ``--help``). Commands that need something
a fresh clone cannot have are listed in :data:`SKIPS` with the reason; a skip whose command is
no longer in the docs fails the fast test below, so the list cannot go stale.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MIXFLOW = Path(sys.executable).with_name("mixflow")

#: command (as written, after ``mixflow``) -> why it does not run here
SKIPS: dict[str, str] = {
    "portfolio fit portfolio.yaml --out /shared/runs/q1 --ray-address HEAD_IP:6379": (
        "needs a Ray cluster (HEAD_IP)"
    ),
    "reproduce RUN_ID": "RUN_ID is the MLflow run id a registration printed (placeholder)",
    "experiment impact DATA.csv": "synopsis (DATA.csv and [options] are placeholders)",
    "register runs/brand --name brand [--policy": "synopsis of docs/lifecycle.md ([options])",
    "models list [--json]": "synopsis of docs/lifecycle.md ([options])",
    "models show brand [--json]": "synopsis of docs/lifecycle.md ([options])",
    "promote brand 3 --to champion": "synopsis of docs/lifecycle.md ([options], version 3)",
    "audit brand [--json]": "synopsis of docs/lifecycle.md ([options])",
    "refresh brand --data extended.csv [--policy": "synopsis of docs/lifecycle.md ([options])",
    "monitor brand [--alias challenger]": "synopsis of docs/lifecycle.md ([options])",
    "monitor ": "needs weekly actuals after the training data (new_weeks.csv); no sample ships",
    "refresh demo-brand --data extended.csv": "needs an extended data file; no sample ships",
    "register runs/champ": "docs/lifecycle.md's walk-through run runs/champ (not made by docs)",
    "promote brand 1": "docs/lifecycle.md's walk-through (model 'brand' from runs/champ)",
    "models list": "docs/lifecycle.md's walk-through (model 'brand' from runs/champ)",
    "portfolio ": "runs a local Ray cluster of fits (minutes); covered by tests/portfolio",
}

#: options appended to keep the test fast (each is a documented option of that command)
FAST: dict[str, list[str]] = {
    "fit": ["--method", "map", "--no-progress"],
    "experiment design": [
        "--treated-sizes",
        "2",
        "--test-lengths",
        "14",
        "--effects",
        "0,0.1",
        "--windows",
        "2",
        "--candidates",
        "1",
        "--random-sets",
        "0",
        "--no-progress",
    ],
    "experiment impact": ["--draws", "100", "--warmup", "100"],
}

#: files the docs use but define in prose, not in a command
PLANS = {
    "plan.yaml": "name: q1-flat\nbudget: 2000000\nhorizon_weeks: 13\n",
    "other_plan.yaml": "name: q1-tv\nbudget: 2000000\nhorizon_weeks: 13\nshares: {tv: 1.0}\n",
}


def doc_commands(text: str) -> list[str]:
    """The ``mixflow`` command lines of the bash/console blocks of one markdown text (``\\``
    continuations joined, a ``$ `` prompt and ``.venv/bin/`` dropped)."""
    commands: list[str] = []
    fence: str | None = None
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("```"):
            fence = None if fence is not None else (line[3:].strip() or "text")
            continue
        if fence not in ("bash", "console", "sh", "shell"):
            continue
        line = line.removeprefix("$ ")
        if not pending and not re.match(r"^(\.venv/bin/)?mixflow\s", line):
            continue
        pending = f"{pending} {line}" if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        commands.append(pending.removeprefix(".venv/bin/").removeprefix("mixflow").strip())
        pending = ""
    return commands


def all_commands() -> list[tuple[str, str]]:
    return [(doc.name, c) for doc in DOCS for c in doc_commands(doc.read_text())]


def skip_reason(command: str) -> str | None:
    return next((why for prefix, why in SKIPS.items() if command.startswith(prefix)), None)


def test_doc_commands_are_found_and_every_skip_is_still_in_the_docs() -> None:
    commands = [c for _, c in all_commands()]
    assert "validate examples/robyn_weekly.yaml" in commands
    assert any(c.startswith("experiment analyze ") for c in commands)
    for prefix in SKIPS:
        assert any(c.startswith(prefix) for c in commands), f"stale skip: {prefix!r}"
    # a continuation line is part of its command, a comment is not
    (joined,) = doc_commands("```bash\n$ mixflow a \\\n    --b 1   # note\n```\n")
    assert shlex.split(joined, comments=True) == ["a", "--b", "1"]


def _without_method(args: list[str]) -> list[str]:
    """``args`` less a ``--method X`` pair (FAST sets the method)."""
    if "--method" not in args:
        return args
    i = args.index("--method")
    return args[:i] + args[i + 2 :]


def _fresh_clone(tmp: Path) -> Path:
    clone = tmp / "clone"
    for folder in ("examples", "data"):
        shutil.copytree(ROOT / folder, clone / folder)
    for name, text in PLANS.items():
        (clone / name).write_text(text)
    return clone


@pytest.mark.slow
def test_every_docs_command_runs_on_a_fresh_clone(tmp_path: Path) -> None:
    clone = _fresh_clone(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MIXFLOW_"))}
    env["MIXFLOW_HOME"] = str(tmp_path / "home")

    def run(args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(MIXFLOW), *args], cwd=clone, env=env, capture_output=True, text=True, timeout=600
        )

    # README's `make demo` (quick: fewer draws) makes runs/demo, which the docs then use
    demo = run(["demo", "--quick", "--out", "runs/demo"])
    assert demo.returncode == 0, demo.stderr[-2000:]
    failures: list[str] = []
    ran = 0
    for doc, command in all_commands():
        if skip_reason(command) is not None:
            continue
        args = shlex.split(command, comments=True)
        for prefix, extra in FAST.items():
            # an SVI fit stays SVI: `experiment next` needs draws, which MAP has not
            if command.startswith(prefix + " ") and "--method svi" not in command:
                args = [*_without_method(args), *extra]
        result = run(args)
        ran += 1
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip()[-500:]
            failures.append(f"{doc}: mixflow {command}\n  -> {result.returncode}: {tail}")
    assert not failures, "\n".join(failures)
    assert ran >= 20
