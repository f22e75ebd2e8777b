"""The Python API: ``import mixflow`` exposes the documented entry points with docstrings, and
the worked example of docs/python-api.md runs, block by block, on the shipped sample data."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mixflow

REPO_ROOT = Path(__file__).resolve().parents[1]
DOC = REPO_ROOT / "docs" / "python-api.md"


def _code_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.M | re.S)


def test_every_public_name_resolves_and_has_a_docstring() -> None:
    import importlib
    import types

    # a subpackage, once imported, is an attribute of mixflow: no API name may be one
    for package in ("workflow", "analysis", "simulate", "optimize", "lifecycle", "report"):
        importlib.import_module(f"mixflow.{package}")
    modules = [n for n in mixflow.__all__ if isinstance(getattr(mixflow, n), types.ModuleType)]
    assert modules == []
    missing = [
        name
        for name in mixflow.__all__
        if name != "__version__" and not getattr(mixflow, name).__doc__
    ]
    assert missing == []
    assert set(mixflow.__all__) <= set(dir(mixflow))


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'fit_everything'"):
        _ = mixflow.fit_everything  # type: ignore[attr-defined]


def test_importing_mixflow_loads_no_jax() -> None:
    code = "import sys, mixflow; print('jax' in sys.modules, 'arviz' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_the_doc_names_every_entry_point_of_the_table() -> None:
    text = DOC.read_text()
    table = text[text.index("| Step |") : text.index("Each name also lives")]
    named = set(re.findall(r"`(\w+)`", table))
    public = {n for n in mixflow.__all__ if n != "__version__"}
    assert public <= named | {"MixflowError"}
    assert named <= public


@pytest.mark.slow
def test_the_worked_example_runs(tmp_path: Path) -> None:
    """Every ```python block of docs/python-api.md, in order, in one namespace, from a folder
    laid out like the repository root (examples/ and data/)."""
    blocks = _code_blocks(DOC.read_text())
    assert len(blocks) >= 8
    (tmp_path / "examples").symlink_to(REPO_ROOT / "examples")
    (tmp_path / "data").symlink_to(REPO_ROOT / "data")
    namespace: dict[str, object] = {}
    printed = io.StringIO()
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        for i, block in enumerate(blocks):
            with contextlib.redirect_stdout(printed):
                exec(compile(block, f"{DOC.name} block {i + 1}", "exec"), namespace)
    finally:
        os.chdir(cwd)
    out = printed.getvalue()
    # the blocks did what the page says they do
    assert (tmp_path / "runs/api-geometric/posterior.nc").is_file()
    assert (tmp_path / "runs/api-weibull/summary.json").is_file()
    assert (tmp_path / "runs/api-geometric/report.html").is_file()
    assert "156 weeks; channels: Channel0, Channel1, Channel2, Channel3" in out
    assert "refused:" in out
    comparison = namespace["comparison"]
    assert {r.name for r in comparison.runs} == {"geometric", "weibull"}  # type: ignore[attr-defined]
    assert len(namespace["geo"].roi) == 20 * 4  # type: ignore[attr-defined]
