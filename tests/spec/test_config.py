"""The YAML config schema: the example configs load, and bad configs give readable errors."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from mixflow.data import load_dataset
from mixflow.errors import SpecError
from mixflow.spec import load_config, model_spec_from_config, parse_config
from mixflow.spec.model_spec import Adstock, fit_config_from_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: the model configs among the examples (portfolio.yaml lists models: tests/portfolio reads it)
EXAMPLE_CONFIGS = sorted(p.name for p in EXAMPLES.glob("*.yaml") if p.name != "portfolio.yaml")

BASE: dict[str, Any] = {
    "data": {
        "path": "data.csv",
        "kpi_column": "sales",
        "media": [{"name": "tv", "spend_column": "tv_spend"}],
    }
}


def config_with(**sections: Any) -> dict[str, Any]:
    raw = copy.deepcopy(BASE)
    raw.update(sections)
    return raw


#: (geos, periods, channels) of each example's dataset
EXPECTED_SHAPES = {
    "brand.yaml": (1, 80, 2),
    "meridian_geo.yaml": (20, 156, 4),
    "meridian_geo_all_channels.yaml": (40, 156, 5),
    "meridian_geo_rf.yaml": (20, 156, 4),
    "meridian_national.yaml": (1, 156, 4),
    "meridian_national_rf.yaml": (1, 156, 4),
    "meridian_national_all_channels.yaml": (1, 156, 5),
    "meridian_national_time_varying.yaml": (1, 156, 4),
    "robyn_weekly.yaml": (1, 208, 5),
}


def test_every_example_is_listed() -> None:
    assert set(EXAMPLE_CONFIGS) == set(EXPECTED_SHAPES)


@pytest.mark.parametrize(("name", "shape"), sorted(EXPECTED_SHAPES.items()))
def test_example_config_loads_with_its_data(name: str, shape: tuple[int, int, int]) -> None:
    cfg, base_dir = load_config(EXAMPLES / name)
    assert base_dir == EXAMPLES.resolve()
    model_spec_from_config(cfg)
    assert fit_config_from_config(cfg).chains == 4
    assert load_dataset(cfg.data, base_dir).spend.shape == shape


def test_minimal_config_gets_defaults() -> None:
    cfg = parse_config(config_with())
    assert cfg.data.date_column == "date" and cfg.data.kpi_type == "revenue"
    assert model_spec_from_config(cfg).adstock is Adstock.GEOMETRIC


def test_unknown_key_suggests_close_key() -> None:
    with pytest.raises(
        SpecError, match=r"unknown key 'model\.adstok' \(did you mean 'adstock'\?\)"
    ):
        parse_config(config_with(model={"adstok": "geometric"}), "cfg.yaml")


def test_unknown_key_inside_media_list() -> None:
    raw = config_with()
    raw["data"]["media"][0]["spend_colum"] = "x"
    with pytest.raises(
        SpecError, match=r"did you mean 'spend_column'\?\); allowed here: name, spend_column"
    ):
        parse_config(raw)


def test_bad_enum_value_lists_allowed_values() -> None:
    msg = r"cfg\.yaml: model\.adstock: Input should be 'geometric', 'weibull' or 'binomial' \(got 'geometrik'\)"
    with pytest.raises(SpecError, match=msg):
        parse_config(config_with(model={"adstock": "geometrik"}), "cfg.yaml")


def test_init_mass_defaults_to_laplace_and_rejects_other_values() -> None:
    assert fit_config_from_config(parse_config(config_with())).init_mass == "laplace"
    identity = parse_config(config_with(fit={"init_mass": "identity"}))
    assert fit_config_from_config(identity).init_mass == "identity"
    msg = r"fit\.init_mass: Input should be 'laplace' or 'identity' \(got 'hessian'\)"
    with pytest.raises(SpecError, match=msg):
        parse_config(config_with(fit={"init_mass": "hessian"}), "cfg.yaml")


def test_missing_kpi_column() -> None:
    raw = config_with()
    del raw["data"]["kpi_column"]
    with pytest.raises(SpecError, match=r"missing required key 'data\.kpi_column'"):
        parse_config(raw)


def test_out_of_range_number() -> None:
    with pytest.raises(
        SpecError, match=r"fit\.chains: Input should be greater than or equal to 1 \(got 0\)"
    ):
        parse_config(config_with(fit={"chains": 0}))


def test_prior_for_unknown_channel() -> None:
    priors = {"roi": {"tvv": {"median": 1.0, "sigma": 0.5}}}
    msg = r"model\.priors\.roi: unknown channel 'tvv' \(did you mean 'tv'\?\); channels are: tv"
    with pytest.raises(SpecError, match=msg):  # checked when the config is read
        parse_config(config_with(model={"priors": priors}))


def test_revenue_per_kpi_needs_conversions() -> None:
    raw = config_with()
    raw["data"]["revenue_per_kpi_column"] = "rpk"
    with pytest.raises(
        SpecError, match=r"revenue_per_kpi_column is only allowed with kpi_type: conversions"
    ):
        parse_config(raw)


def test_population_needs_geo_column() -> None:
    raw = config_with()
    raw["data"]["population_column"] = "pop"
    with pytest.raises(SpecError, match=r"population_column needs geo_column"):
        parse_config(raw)


def test_media_names_must_be_unique() -> None:
    raw = config_with()
    raw["data"]["media"].append({"name": "tv", "spend_column": "tv2"})
    with pytest.raises(SpecError, match=r"media names must be unique, repeated: \['tv'\]"):
        parse_config(raw)


def test_not_a_mapping() -> None:
    with pytest.raises(SpecError, match=r"expected a mapping with keys data, model, fit; got list"):
        parse_config([1, 2])


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"config file not found: .*none\.yaml"):
        load_config(tmp_path / "none.yaml")


def test_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("data: [unclosed\n")
    with pytest.raises(SpecError, match=r"bad\.yaml: not valid YAML"):
        load_config(path)


def test_example_portfolio_names_the_example_configs() -> None:
    """examples/portfolio.yaml (README's portfolio commands) loads, and each of its models
    is one of the example model configs above, merged with the portfolio's defaults."""
    from mixflow.portfolio.spec import load_portfolio

    portfolio = load_portfolio(EXAMPLES / "portfolio.yaml")
    names = [m.name for m in portfolio.models]
    assert names == ["robyn-weekly", "meridian-national"]
    assert all(m.config["fit"]["chains"] == 2 for m in portfolio.models)
    assert [m.config_path.name for m in portfolio.models] == [
        "robyn_weekly.yaml",
        "meridian_national.yaml",
    ]
