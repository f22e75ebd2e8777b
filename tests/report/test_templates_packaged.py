"""The page templates ship with the package: found as package resources, and copied into the
build tree a wheel is made from (so `pip install mixflow` from a wheel renders reports)."""

from __future__ import annotations

import os
import warnings
from importlib.resources import files
from pathlib import Path

import pytest

from mixflow.report.templating import TEMPLATE_FOLDER, TEMPLATE_PACKAGE, environment

REPO_ROOT = Path(__file__).resolve().parents[2]


def _template_names() -> set[str]:
    return {str(name) for name in environment().list_templates()}


def test_templates_are_package_resources() -> None:
    folder = files(TEMPLATE_PACKAGE) / TEMPLATE_FOLDER
    shipped = {entry.name for entry in folder.iterdir() if entry.name.endswith(".j2")}
    assert {"base.html.j2", "run.html.j2", "plan.html.j2", "monitor.html.j2"} <= shipped
    assert {"geo.html.j2", "impact.html.j2", "design.html.j2"} <= shipped
    assert shipped == _template_names()


def test_build_tree_of_a_wheel_holds_every_template(tmp_path: Path) -> None:
    """setuptools' ``build_py`` (what ``bdist_wheel`` packs) with the project's pyproject."""
    pyproject = REPO_ROOT / "pyproject.toml"
    if not pyproject.is_file():
        pytest.skip("not a source checkout")
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    cwd = Path.cwd()
    os.chdir(REPO_ROOT)  # package folders in pyproject are relative to the project root
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # [tool.setuptools] is "beta" in older setuptools
            dist = apply_configuration(Distribution({"script_name": "setup.py"}), pyproject)
            build_py = dist.get_command_obj("build_py")
            build_py.build_lib = str(tmp_path)  # type: ignore[attr-defined]
            build_py.compile = False  # type: ignore[attr-defined]
            build_py.ensure_finalized()
            build_py.run()
    finally:
        os.chdir(cwd)
    built = tmp_path / "mixflow" / "report" / "templates"
    assert {path.name for path in built.glob("*.j2")} == _template_names()
