"""A run with a time-varying media multiplier (model.time_varying_media): contributions.csv
holds it per period, summary.json says so, and the report charts it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mixflow.analysis.extras import MEDIA_MULTIPLIER_COLUMNS
from mixflow.analysis.schema import load_summary
from mixflow.report import render_report
from mixflow.workflow import fit_run

SECTION = "<h2>Time-varying media effect</h2>"


def _fit(folder: Path, small_brand_config, time_varying: bool) -> Path:  # type: ignore[no-untyped-def]
    fit = {"method": "map", "svi_steps": 600, "seed": 1, "progress_bar": False}
    path: Path = small_brand_config(folder, fit)
    cfg = yaml.safe_load(path.read_text())
    cfg["model"]["time_varying_media"] = time_varying
    path.write_text(yaml.safe_dump(cfg))
    fit_run(path, folder / "run")
    return folder / "run"


@pytest.mark.parametrize("time_varying", [True, False])
def test_the_multiplier_is_written_and_charted(
    tmp_path: Path,
    small_brand_config,
    time_varying: bool,  # type: ignore[no-untyped-def]
) -> None:
    run = _fit(tmp_path, small_brand_config, time_varying)
    summary = load_summary(run / "summary.json")
    assert summary.model.time_varying_media is time_varying
    frame = pd.read_csv(run / "contributions.csv")
    html = render_report(run).read_text(encoding="utf-8")
    if not time_varying:
        assert not set(MEDIA_MULTIPLIER_COLUMNS) & set(frame.columns)
        assert SECTION not in html
        return
    m, lo, hi = (frame[c].to_numpy(float) for c in MEDIA_MULTIPLIER_COLUMNS)
    assert len(m) == len(frame) and np.all(m > 0)
    # a point estimate (MAP): the band is the value itself; the fitted weeks' geometric mean is 1
    np.testing.assert_allclose(lo, hi)
    fitted = ~frame["is_holdout"].astype(bool).to_numpy() if "is_holdout" in frame else slice(None)
    assert abs(np.log(m[fitted]).mean()) < 1e-4
    section = html.split(SECTION, 1)[1].split("</section>", 1)[0]
    assert "<img" in section and "model.time_varying_media" in section
