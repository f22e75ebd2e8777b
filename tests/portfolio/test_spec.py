"""The portfolio file: defaults merged under each entry, bad entries named (file and field) and
refused with exit 2 before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from portfolio_support import write_brand, write_portfolio
from typer.testing import CliRunner

from mixflow.cli.main import app
from mixflow.errors import SpecError
from mixflow.portfolio import load_portfolio


@pytest.fixture
def brand_dir(tmp_path: Path) -> Path:
    write_brand(tmp_path / "a", seed=1)
    return tmp_path


def test_defaults_apply_and_entries_override(brand_dir: Path) -> None:
    path = write_portfolio(
        brand_dir / "p.yaml",
        [
            {"name": "a1", "config": "a/config.yaml"},
            {
                "name": "a2",
                "config": "a/config.yaml",
                "fit": {"draws": 30},
                "priors": {"roi": {"tv": {"median": 2.0, "sigma": 0.5}}},
            },
        ],
        defaults={"fit": {"method": "svi", "draws": 20, "seed": 4}, "priors": {"roi_sigma": 0.7}},
    )
    p = load_portfolio(path)
    a1, a2 = (m.parsed() for m in p.models)
    assert (a1.fit.method.value, a1.fit.draws, a1.fit.seed) == ("svi", 20, 4)
    assert (a2.fit.method.value, a2.fit.draws, a2.fit.seed) == ("svi", 30, 4)
    # priors merge key by key: the default roi_sigma stays beside the entry's ROI prior
    assert a1.model.priors.roi_sigma == a2.model.priors.roi_sigma == 0.7
    assert a2.model.priors.roi["tv"].median == 2.0 and not a1.model.priors.roi
    assert p.models[0].config_fingerprint != p.models[1].config_fingerprint


def test_fingerprint_ignores_the_progress_bar_only(brand_dir: Path) -> None:
    base = [{"name": "a", "config": "a/config.yaml"}]
    fp = [
        load_portfolio(write_portfolio(brand_dir / f"p{i}.yaml", base, {"fit": fit}))
        .models[0]
        .config_fingerprint
        for i, fit in enumerate([{"progress_bar": True}, {"progress_bar": False}, {"seed": 9}])
    ]
    assert fp[0] == fp[1] != fp[2]


@pytest.mark.parametrize(
    ("models", "defaults", "expected"),
    [
        (
            [{"name": "a", "confg": "a/config.yaml"}],
            None,
            r"p\.yaml: unknown key 'models\.0\.confg' \(did you mean 'config'\?\)",
        ),
        (
            [{"name": "a", "config": "a/config.yaml"}, {"name": "a", "config": "a/config.yaml"}],
            None,
            r"p\.yaml: models\.1\.name: 'a' is already the name of models\.0",
        ),
        (
            [{"name": "a", "config": "a/config.yaml"}, {"name": "b", "config": "nope.yaml"}],
            None,
            r"p\.yaml: models\.1 \(b\): config: file not found: .*nope\.yaml",
        ),
        (
            [{"name": "a", "config": "a/config.yaml", "fit": {"draws": -5}}],
            None,
            r"p\.yaml: models\.0 \(a\): .*config\.yaml: fit\.draws: .*greater than or equal to 10",
        ),
        (
            [{"name": "a", "config": "a/config.yaml"}],
            {"fit": {"methd": "map"}},
            r"p\.yaml: models\.0 \(a\): .*unknown key 'fit\.methd' \(did you mean 'method'\?\)",
        ),
        (
            [{"name": "bad name!", "config": "a/config.yaml"}],
            None,
            r"p\.yaml: models\.0\.name: model name 'bad name!' is invalid",
        ),
        (
            [{"name": "a", "config": "a/config.yaml", "value_per_kpi": 0}],
            None,
            r"p\.yaml: models\.0\.value_per_kpi: .*greater than 0",
        ),
        (
            [{"name": "a", "config": "a/config.yaml", "policy": {"rhat_maxx": 1.1}}],
            None,
            r"p\.yaml: models\.0 \(a\): policy: .*unknown key 'rhat_maxx'",
        ),
    ],
    ids=[
        "unknown-key",
        "duplicate-name",
        "missing-config",
        "bad-fit-override",
        "bad-default",
        "bad-name",
        "bad-value",
        "bad-policy",
    ],
)
def test_bad_entry_is_named_and_exits_2_before_anything_starts(
    brand_dir: Path,
    models: list[dict[str, object]],
    defaults: dict[str, object] | None,
    expected: str,
) -> None:
    path = write_portfolio(brand_dir / "p.yaml", models, defaults)
    with pytest.raises(SpecError, match=expected):
        load_portfolio(path)
    out = brand_dir / "out"
    result = CliRunner().invoke(app, ["portfolio", "fit", str(path), "--out", str(out)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()  # one line per problem, each naming the file
    assert lines[0].startswith("error: ") and all("p.yaml" in line for line in lines)
    assert not out.exists()  # refused before the output folder (or Ray) was touched


def test_portfolio_without_models_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"name": "x", "models": []}))
    with pytest.raises(SpecError, match=r"p\.yaml: models: .*at least 1"):
        load_portfolio(path)
