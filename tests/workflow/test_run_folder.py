"""A run folder is one unit: written whole (temporary sibling, manifest, rename), locked against
a second writer, replaced whole by a refit, and refused by readers when incomplete or altered."""

from __future__ import annotations

import json
import os
import stat
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mixflow.data.folders import (
    MANIFEST_FILE,
    LegacyRunFolderWarning,
    RunFolderBusyError,
    folder_lock,
    read_manifest,
    sha256_file,
    verify_folder,
    write_manifest,
    writing_folder,
)
from mixflow.errors import MixflowError, RunDirError
from mixflow.workflow import fit_run, load_run

ConfigWriter = Callable[[Path, dict[str, Any]], Path]
MAP_FIT = {"method": "map", "svi_steps": 200, "progress_bar": False, "holdout_weeks": 0}


@pytest.fixture(scope="module")
def map_config(tmp_path_factory: pytest.TempPathFactory, small_brand_config: ConfigWriter) -> Path:
    return small_brand_config(tmp_path_factory.mktemp("cfg"), MAP_FIT)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory, map_config: Path) -> Path:
    out = tmp_path_factory.mktemp("fitted") / "run"
    fit_run(map_config, out)
    return out


@pytest.fixture
def run(fitted: Path, tmp_path: Path) -> Path:
    """A private copy of the fitted run folder (tests damage it)."""
    import shutil

    return Path(shutil.copytree(fitted, tmp_path / "run"))


def test_fit_writes_a_manifest_of_every_file_and_no_leftovers(fitted: Path) -> None:
    files = read_manifest(fitted)
    assert files is not None
    on_disk = {p.name for p in fitted.iterdir()} - {MANIFEST_FILE}
    assert set(files) == on_disk
    assert {"summary.json", "posterior.nc", "dataset.parquet", "contributions.csv"} <= on_disk
    for name, entry in files.items():
        assert entry["size"] == (fitted / name).stat().st_size
        assert entry["sha256"] == sha256_file(fitted / name)
    # no temporary sibling and no lock file beside the folder
    assert [p.name for p in fitted.parent.iterdir()] == ["run"]
    assert verify_folder(fitted) is True


def test_every_file_follows_the_umask(tmp_path: Path, map_config: Path) -> None:
    old = os.umask(0o027)
    try:
        fit_run(map_config, tmp_path / "run")
    finally:
        os.umask(old)
    for path in [tmp_path / "run", *(tmp_path / "run").iterdir()]:
        expected = 0o750 if path.is_dir() else 0o640
        assert stat.S_IMODE(path.stat().st_mode) == expected, path.name


def test_a_refit_replaces_the_whole_folder(run: Path, map_config: Path) -> None:
    (run / "calibration.json").write_text('{"tests": []}')  # a stale file of an earlier run
    fit_run(map_config, run)
    assert not (run / "calibration.json").exists()
    assert verify_folder(run) is True
    assert [p.name for p in run.parent.iterdir()] == ["run"]


def test_out_naming_a_file_is_refused_before_any_work(
    tmp_path: Path, map_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mixflow.workflow.runs as runs

    def no_fit(*args: object) -> None:
        raise AssertionError("the fit ran although --out was refused")

    monkeypatch.setattr(runs, "fit_dataset", no_fit)
    target = tmp_path / "file.txt"
    target.write_text("keep me")
    with pytest.raises(RunDirError, match="is an existing file"):
        fit_run(map_config, target)
    assert target.read_text() == "keep me"


def test_out_naming_a_folder_of_other_files_is_refused(tmp_path: Path, map_config: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match="not a mixflow run folder"):
        fit_run(map_config, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    out = tmp_path / "run"
    busy = pytest.raises(RunFolderBusyError, match="being written by another mixflow process")
    with folder_lock(out), busy, writing_folder(out):
        pass
    with writing_folder(out) as tmp:  # released: the next writer gets it
        (tmp / "summary.json").write_text("{}")
    assert verify_folder(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_failure_while_writing_leaves_the_old_folder_and_no_temp_files(run: Path) -> None:
    before = sha256_file(run / "summary.json")
    with pytest.raises(RuntimeError), writing_folder(run) as tmp:
        (tmp / "summary.json").write_text("{}")
        raise RuntimeError("disk full")
    assert sha256_file(run / "summary.json") == before
    assert verify_folder(run)
    assert [p.name for p in run.parent.iterdir()] == ["run"]


def test_leftovers_of_a_killed_writer_are_removed_by_the_next(tmp_path: Path) -> None:
    out = tmp_path / "run"
    (tmp_path / ".run.tmp-dead").mkdir()
    (tmp_path / ".run.tmp-dead" / "posterior.nc").write_bytes(b"half")
    with writing_folder(out) as tmp:
        (tmp / "summary.json").write_text("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _edit_summary(path: Path) -> None:
    summary = json.loads(path.read_text())
    summary["diagnostics"]["ok"] = True
    summary["diagnostics"]["flags"] = []
    path.write_text(json.dumps(summary))


DAMAGE: dict[str, tuple[str, Callable[[Path], None], str]] = {
    "truncated posterior.nc": ("posterior.nc", _truncate, "posterior.nc .* truncated"),
    "truncated summary.json": ("summary.json", _truncate, "summary.json .* truncated"),
    "truncated dataset.parquet": ("dataset.parquet", _truncate, "dataset.parquet .* truncated"),
    "edited summary.json": ("summary.json", _edit_summary, "summary.json .* altered"),
    "missing posterior.nc": ("posterior.nc", Path.unlink, "incomplete: posterior.nc is missing"),
    "damaged manifest": (MANIFEST_FILE, _truncate, "manifest.json .* damaged"),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_readers_refuse_a_damaged_folder_naming_the_file(run: Path, case: str) -> None:
    from mixflow.lifecycle.tracking import read_run_dir as read_for_register
    from mixflow.report.rundir import read_run_dir as read_for_report

    name, damage, message = DAMAGE[case]
    damage(run / name)
    for reader in (load_run, read_for_register, read_for_report):
        with pytest.raises(RunDirError, match=message):
            reader(run)


@pytest.mark.parametrize("name", ["posterior.nc", "summary.json", "dataset.parquet"])
def test_a_legacy_folder_loads_with_a_warning_and_damage_is_still_named(
    run: Path, name: str
) -> None:
    (run / MANIFEST_FILE).unlink()
    with pytest.warns(LegacyRunFolderWarning, match="no manifest.json: written by an older"):
        load_run(run)
    _truncate(run / name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LegacyRunFolderWarning)
        with pytest.raises(MixflowError, match=name.replace(".", r"\.")):
            from mixflow.lifecycle.tracking import read_run_dir

            load_run(run) if name != "summary.json" else read_run_dir(run)


def test_gates_judge_the_posterior_not_an_edited_summary(tmp_path: Path, map_config: Path) -> None:
    """Editing summary.json's diagnostics and rewriting the manifest to match still fails: the
    register path recomputes R-hat, ESS and divergences from posterior.nc."""
    import yaml

    from mixflow.lifecycle.tracking import read_run_dir

    cfg = tmp_path / "config.yaml"

    doc = yaml.safe_load(map_config.read_text())
    doc["fit"] = {"chains": 2, "warmup": 30, "draws": 30, "seed": 1, "progress_bar": False}
    doc["data"]["path"] = str((map_config.parent / doc["data"]["path"]).resolve())
    cfg.write_text(yaml.safe_dump(doc))
    out = tmp_path / "run"
    fit_run(cfg, out)
    summary = json.loads((out / "summary.json").read_text())
    summary["diagnostics"].update(rhat_max=1.0, ess_bulk_min=5000.0, divergences=0, flags=[])
    (out / "summary.json").write_text(json.dumps(summary))
    write_manifest(out)  # a careful forger updates the hashes too
    with pytest.raises(RunDirError, match=r"diagnostics differ from posterior\.nc.*rhat_max"):
        read_run_dir(out)
