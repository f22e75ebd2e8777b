"""Every ``mixflow ...`` command shown in README.md and docs/*.md (```bash / ```console blocks)
runs on a fresh-clone layout: a temporary folder holding copies of ``examples/`` and ``data/``
only (no ``../shared``), with its own ``MIXFLOW_HOME``.

The files the docs define in prose are made from the docs themselves: a bash heredoc
(``cat > plan.yaml <<'PLAN'``) or a ```yaml block whose first line names the file
(``# no_promo_plan.yaml: ...``); :data:`PLANS` holds the one the docs only describe. The
lifecycle commands (monitor, refresh) use the sample brand shipped in ``data/lifecycle``
(``make_sample.py`` there writes it; :func:`test_lifecycle_sample_is_what_its_script_writes`
checks the shipped files).

To keep it short, fits run by MAP (SVI ones stay SVI), samplers and simulations get tiny
settings (:data:`FAST`, options each command documents in its ``--help``), a command written
twice in the docs runs once, commands run in the test's process through Typer's runner (the
``mixflow`` script's app; ``mixflow demo`` alone runs as a subprocess, once), and they run in
four independent groups (:data:`GROUPS`), each its own test in its own xdist group (CI's
``--dist loadgroup`` runs them on both workers), on a copy of one shared ``demo --quick`` run.
Measured on the loaded shared machine (load ~14, ``-n 0``): 633 s before (one test, a
subprocess per command, no monitor/refresh), 397 s after with 9 more commands. Commands that need
something a fresh clone cannot have are listed in :data:`SKIPS` with the reason; a skip whose
command is no longer in the docs fails the fast test below, so the list cannot go stale.
"""

from __future__ import annotations

import fcntl
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
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
    "monitor brand@challenger": (
        "the sample's challenger is refit on the new weeks themselves (monitor needs weeks "
        "after the model's data), and this test's MAP refresh registers none"
    ),
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
    # the MAP fits stand in for the docs' NUTS fits: their point_estimate gate only warns
    "register": ["--policy", "map_gates.yaml"],
}

#: command prefix -> exit codes its docs give for a run that worked
EXIT_CODES: dict[str, set[int]] = {
    "monitor ": {0, 1, 3},  # ok, warn, alert (docs/lifecycle.md)
    "refresh ": {0, 1},  # promoted, or registered but not promoted (docs/lifecycle.md)
}

#: files the docs describe but do not write out
PLANS = {
    "other_plan.yaml": "name: q1-tv\nbudget: 2000000\nhorizon_weeks: 13\nshares: {tv: 1.0}\n",
    "map_gates.yaml": "advisory: [prior_shift, point_estimate]\n",
}

#: independent groups of commands (each needs only the demo run and its own earlier commands)
GROUPS = ("lifecycle", "experiments", "fits", "plans")
_LIFECYCLE = {"register", "promote", "models", "audit", "monitor", "refresh", "reproduce"}


def group_of(command: str) -> str:
    """The group a command runs in: registry commands (and the fits they use), experiments
    (and the SVI fit ``experiment next`` reads), other fits, plans on the demo run."""
    words = command.split()
    if words[0] in _LIFECYCLE or "--register" in words or command.startswith("optimize models:"):
        return "lifecycle"
    if command.startswith("fit examples/brand.yaml"):
        return "lifecycle"
    if words[0] == "experiment" or "--method svi" in command:
        return "experiments"
    if words[0] in ("simulate", "compare", "optimize") and "runs/demo/" in command:
        return "plans"
    return "fits"


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


_HEREDOC = re.compile(r"^cat > (\S+) <<'?(\w+)'?\n(.*?)^\2$", re.M | re.S)
_NAMED_YAML = re.compile(r"^```ya?ml\n# ([\w.-]+\.ya?ml)\b[^\n]*\n(.*?)^```", re.M | re.S)


def doc_files(text: str) -> dict[str, str]:
    """Files one markdown text writes out: bash heredocs, and yaml blocks whose first line is a
    comment naming the file."""
    files = {name: body for name, _, body in _HEREDOC.findall(text)}
    files.update(_NAMED_YAML.findall(text))
    return files


def all_commands() -> list[tuple[str, str]]:
    return [(doc.name, c) for doc in DOCS for c in doc_commands(doc.read_text())]


def skip_reason(command: str) -> str | None:
    return next((why for prefix, why in SKIPS.items() if command.startswith(prefix)), None)


def group_commands(group: str) -> list[tuple[str, str]]:
    """The commands of ``group`` that run, in doc order, each distinct command once."""
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for doc, command in all_commands():
        key = shlex.join(shlex.split(command, comments=True))
        if skip_reason(command) is None and group_of(command) == group and key not in seen:
            seen.add(key)
            out.append((doc, command))
    return out


def test_doc_commands_are_found_and_every_skip_is_still_in_the_docs() -> None:
    commands = [c for _, c in all_commands()]
    assert "validate examples/robyn_weekly.yaml" in commands
    assert any(c.startswith("experiment analyze ") for c in commands)
    for prefix in SKIPS:
        assert any(c.startswith(prefix) for c in commands), f"stale skip: {prefix!r}"
    # a continuation line is part of its command, a comment is not
    (joined,) = doc_commands("```bash\n$ mixflow a \\\n    --b 1   # note\n```\n")
    assert shlex.split(joined, comments=True) == ["a", "--b", "1"]
    # every command that runs is in one group; monitor and refresh run (issue 20)
    ran = [c for g in GROUPS for _, c in group_commands(g)]
    assert any(c.startswith("monitor ") for c in ran) and any(c.startswith("refresh ") for c in ran)
    assert len(ran) >= 30


def _clone_files() -> dict[str, str]:
    """The files the clone gets beside examples/ and data/: the docs' own, then :data:`PLANS`."""
    files = dict(PLANS)
    for doc in DOCS:
        files.update(doc_files(doc.read_text()))
    return files


def test_every_file_a_command_reads_is_in_the_clone() -> None:
    files = _clone_files()
    assert files["plan.yaml"].startswith("name: q1-flat\n")  # README's heredoc
    assert "cusum_k" in files["monitor.yaml"]  # docs/lifecycle.md's named yaml block
    text = "```yaml\n# a.yaml: note\nx: 1\n```\n```yaml\n# 1. not a file\ny: 2\n```\n"
    assert doc_files(text) == {"a.yaml": "x: 1\n"}
    for group in GROUPS:
        for doc, command in group_commands(group):
            for arg in shlex.split(command, comments=True):
                if arg.endswith((".yaml", ".yml", ".csv")) and not arg.startswith("runs/"):
                    assert arg in files or (ROOT / arg).is_file(), f"{doc}: {arg} ({command})"


def test_lifecycle_sample_is_what_its_script_writes(tmp_path: Path) -> None:
    """data/lifecycle's files are reproducible from its script (provenance)."""
    folder = ROOT / "data" / "lifecycle"
    subprocess.run([sys.executable, str(folder / "make_sample.py"), str(tmp_path)], check=True)
    for name in ("brand.csv", "new_weeks.csv", "extended.csv"):
        assert (tmp_path / name).read_text() == (folder / name).read_text(), name
    brand, new = ((folder / n).read_text().splitlines() for n in ("brand.csv", "new_weeks.csv"))
    assert len(brand) == 81 and len(new) == 13 and brand[0] == new[0]  # header + weeks


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MIXFLOW_"))}
    env["MIXFLOW_HOME"] = str(home)
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MIXFLOW), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="session")
def demo_clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh-clone folder with README's ``make demo`` run (quick: fewer draws) in
    ``runs/demo``, made once and shared by the xdist workers (a file lock beside their
    temporary folders)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    clone = shared / "docs-clone"
    with (shared / "docs-clone.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (clone / "runs" / "demo" / "run" / "summary.json").is_file():
            shutil.rmtree(clone, ignore_errors=True)
            for folder in ("examples", "data"):
                shutil.copytree(ROOT / folder, clone / folder)
            for name, text in _clone_files().items():
                (clone / name).write_text(text)
            demo = _run(
                ["demo", "--quick", "--out", "runs/demo"], clone, _env(shared / "demo-home")
            )
            assert demo.returncode == 0, demo.stderr[-2000:]
        fcntl.flock(lock, fcntl.LOCK_UN)
    yield clone


def _args(command: str) -> list[str]:
    args = shlex.split(command, comments=True)
    for prefix, extra in FAST.items():
        # an SVI fit stays SVI: `experiment next` needs draws, which MAP has not
        if command.startswith(prefix + " ") and "--method svi" not in command:
            if prefix == "register" and "--policy" in args:
                continue
            if "--method" in args and "--method" in extra:
                i = args.index("--method")
                args = args[:i] + args[i + 2 :]
            args = [*args, *extra]
    return args


def _invoke(
    args: list[str], clone: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    """Run one command in this process (Typer's runner; the CLI maps errors to exit codes
    inside the app, as the ``mixflow`` script does), in ``clone`` with its own home. One
    process per group saves each command's start (importing JAX, NumPyro, ArviZ, MLflow:
    5-8 s under load, most of a short command)."""
    from typer.testing import CliRunner

    from mixflow.cli.main import app

    monkeypatch.chdir(clone)
    for key in [k for k in os.environ if k.startswith(("MLFLOW_", "MIXFLOW_"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("MIXFLOW_HOME", str(home))
    result = CliRunner().invoke(app, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return 1, f"{result.output}\n{type(result.exception).__name__}: {result.exception}"
    return result.exit_code, result.output


@pytest.mark.slow
@pytest.mark.parametrize(
    "group", [pytest.param(g, marks=pytest.mark.xdist_group(f"docs-{g}")) for g in GROUPS]
)
def test_docs_commands_run_on_a_fresh_clone(
    group: str, demo_clone: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clone = tmp_path / "clone"
    shutil.copytree(demo_clone, clone, symlinks=True)
    failures: list[str] = []
    timings: list[tuple[float, str]] = []
    commands = group_commands(group)
    assert commands, f"no commands in group {group}"
    for doc, command in commands:
        started = time.perf_counter()
        code, output = _invoke(_args(command), clone, tmp_path / "home", monkeypatch)
        timings.append((time.perf_counter() - started, command))
        allowed = next((c for p, c in EXIT_CODES.items() if command.startswith(p)), {0})
        if code not in allowed:
            failures.append(f"{doc}: mixflow {command}\n  -> {code}: {output.strip()[-500:]}")
    for seconds, command in sorted(timings, reverse=True)[:8]:
        print(f"{seconds:6.1f} s  mixflow {command[:100]}")  # shown with -rP or -s
    assert not failures, "\n".join(failures)
