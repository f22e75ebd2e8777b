"""``mixflow demo`` (README's main job) end to end, in its quick mode."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from mixflow.cli.demo import run_demo


@pytest.mark.slow
def test_quick_demo_writes_everything_it_prints(tmp_path: Path) -> None:
    text = run_demo(tmp_path, seed=7, quick=True)
    rows = re.findall(r"^(tv|search|social|display|radio)\s+([\d.]+)\s+([\d.]+)\s+\[", text, re.M)
    assert [r[0] for r in rows] == ["tv", "search", "social", "display", "radio"]
    covered = re.search(r"true ROI inside the 90% HDI for (\d) of 5 channels", text)
    assert covered is not None
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    # what it prints is the fit it wrote
    for ch, _true, estimate in rows:
        assert float(estimate) == pytest.approx(summary["channels"][ch]["roi"]["mean"], abs=0.006)
    weak = [ch for ch, v in summary["channels"].items() if v["roi_prior"]["weakly_identified"]]
    if weak:
        assert f"weakly identified (ROI close to its prior): {', '.join(weak)}" in text
    else:
        assert "weakly identified" not in text
    # the flighted channel's on/off contrast identifies it
    assert "tv" not in weak
    assert (tmp_path / "run" / "report.html").stat().st_size > 10_000
    calibrated = yaml.safe_load((tmp_path / "data" / "config_calibrated.yaml").read_text())
    assert calibrated["calibration"]["experiments"] == "lift_tests.csv"
    tests = (tmp_path / "data" / "lift_tests.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in tests[1:]] == ["search", "social", "display"]
    plan = json.loads((tmp_path / "optimize" / "plan.json").read_text())
    assert set(plan["allocation"]) == {r[0] for r in rows}
