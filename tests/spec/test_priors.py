"""Component priors in the config: per channel, validated, named in the errors."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mixflow.errors import SpecError
from mixflow.spec import parse_config
from mixflow.spec.options import Adstock
from mixflow.spec.priors import ADSTOCK_PARAMETERS, BetaPrior, LogNormalParamPrior

BASE: dict[str, Any] = {
    "data": {
        "path": "data.csv",
        "kpi_column": "sales",
        "media": [
            {"name": "tv", "spend_column": "tv_spend"},
            {"name": "radio", "spend_column": "radio_spend"},
        ],
    }
}


def with_model(**model: Any) -> dict[str, Any]:
    raw = copy.deepcopy(BASE)
    raw["model"] = model
    return raw


def test_adstock_prior_per_channel_is_read() -> None:
    priors = {"adstock": {"tv": {"alpha": {"distribution": "beta", "alpha": 2, "beta": 3}}}}
    cfg = parse_config(with_model(priors=priors))
    assert cfg.model.priors.adstock["tv"]["alpha"] == BetaPrior(alpha=2.0, beta=3.0)
    assert "radio" not in cfg.model.priors.adstock


def test_priors_round_trip_through_the_saved_config() -> None:
    priors = {"saturation": {"tv": {"slope": {"distribution": "lognormal", "mu": 0.2, "sigma": 1}}}}
    cfg = parse_config(with_model(priors=priors))
    again = parse_config(cfg.model_dump(mode="json"))
    assert again == cfg


def test_unknown_distribution_parameter_is_named_with_the_allowed_ones() -> None:
    priors = {"adstock": {"tv": {"alpha": {"distribution": "beta", "a": 2, "b": 3}}}}
    with pytest.raises(
        SpecError,
        match=r"unknown key 'model\.priors\.adstock\.tv\.alpha\.a'; allowed here: "
        r"distribution, alpha, beta",
    ):
        parse_config(with_model(priors=priors), "cfg.yaml")


def test_unknown_distribution_suggests_a_close_one() -> None:
    priors = {"adstock": {"tv": {"alpha": {"distribution": "betta", "alpha": 2, "beta": 3}}}}
    with pytest.raises(
        SpecError, match=r"unknown distribution 'betta' \(did you mean 'beta'\?\); allowed: beta"
    ):
        parse_config(with_model(priors=priors))


def test_unknown_component_parameter_lists_the_components_parameters() -> None:
    priors = {"adstock": {"tv": {"alpah": {"distribution": "beta", "alpha": 2, "beta": 3}}}}
    with pytest.raises(
        SpecError,
        match=r"model\.priors\.adstock\.tv: unknown parameter 'alpah' \(did you mean 'alpha'\?\); "
        r"geometric adstock has: alpha",
    ):
        parse_config(with_model(priors=priors))


def test_distribution_must_fit_the_parameters_support() -> None:
    priors = {"adstock": {"tv": {"alpha": {"distribution": "lognormal", "mu": 0, "sigma": 1}}}}
    with pytest.raises(
        SpecError, match=r"tv\.alpha: distribution 'lognormal' does not fit a share"
    ):
        parse_config(with_model(priors=priors))


def test_non_positive_scale_is_rejected_with_the_value() -> None:
    priors = {"saturation": {"tv": {"slope": {"distribution": "lognormal", "mu": 0, "sigma": 0}}}}
    with pytest.raises(SpecError, match=r"saturation\.tv\.slope\.sigma: .*\(got 0\)"):
        parse_config(with_model(priors=priors))


def test_prior_for_unknown_channel() -> None:
    priors = {"saturation": {"tvv": {"slope": {"distribution": "gamma", "alpha": 1, "beta": 1}}}}
    with pytest.raises(SpecError, match=r"saturation: unknown channel 'tvv' \(did you mean 'tv'"):
        parse_config(with_model(priors=priors))


def test_channels_of_one_parameter_share_a_family() -> None:
    priors = {"saturation": {"tv": {"slope": {"distribution": "gamma", "alpha": 1, "beta": 1}}}}
    with pytest.raises(SpecError, match=r"'slope' mix distributions: gamma \(tv\), lognormal"):
        parse_config(with_model(priors=priors))
    both = {
        ch: {"slope": {"distribution": "gamma", "alpha": a, "beta": 1}}
        for ch, a in (("tv", 1), ("radio", 2))
    }
    assert parse_config(with_model(priors={"saturation": both})).model.priors.saturation


def test_weibull_defaults_follow_max_lag() -> None:
    scale = ADSTOCK_PARAMETERS[Adstock.WEIBULL][1]
    assert scale.name == "scale"
    prior = scale.default(8)
    assert isinstance(prior, LogNormalParamPrior) and prior.sigma == 0.5
    assert prior.mu == pytest.approx(1.1527, abs=1e-4)  # log(8 / 3 + 0.5): median 3.17 weeks


def test_options_list_their_values_in_the_json_schema() -> None:
    from mixflow.spec.config import MixflowConfig

    schema = MixflowConfig.model_json_schema()
    assert schema["$defs"]["Adstock"]["enum"] == ["geometric", "weibull", "binomial"]
    assert schema["$defs"]["ChainMethod"]["enum"] == [
        "auto",
        "parallel",
        "vectorized",
        "sequential",
    ]
