"""A plan's treatments key: future values of non-media treatments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mixflow.data import load_dataset
from mixflow.errors import SpecError
from mixflow.simulate.builders import PLAN_KEYS, plan_from_dict
from mixflow.spec.config import load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "meridian_national_all_channels.yaml"


@pytest.fixture(scope="module")
def data():  # type: ignore[no-untyped-def]
    cfg, base = load_config(EXAMPLE)
    return load_dataset(cfg.data, base)


def test_treatments_set_their_control_and_hold_the_others(data) -> None:  # type: ignore[no-untyped-def]
    assert "treatments" in PLAN_KEYS
    plan = plan_from_dict(data, {"like_last_weeks": 4, "treatments": {"Promo": [1, 0, 1, 0.5]}})
    k = data.control_names.index("Promo")
    assert plan.controls is not None and plan.controls.shape == (1, 4, len(data.control_names))
    np.testing.assert_allclose(plan.controls[0, :, k], [1, 0, 1, 0.5])
    for i in range(len(data.control_names)):
        if i != k:  # held at the last observed value
            np.testing.assert_allclose(plan.controls[0, :, i], data.controls[0, -1, i])
    np.testing.assert_allclose(plan.spend, data.spend[:, -4:])
    # one number: every week
    flat = plan_from_dict(data, {"like_last_weeks": 3, "treatments": {"Promo": 0}})
    assert flat.controls is not None and (flat.controls[0, :, k] == 0).all()


@pytest.mark.parametrize(
    ("treatments", "message"),
    [
        ({"Promotion": 1}, r"unknown treatment 'Promotion' \(did you mean 'Promo'\?\)"),
        ({"Promo": [1, 0]}, r"plan treatments.Promo: 2 periods, expected 4"),
        ({"Promo": True}, r"plan treatments.Promo: expected a number"),
        ({"Promo": "high"}, r"plan treatments.Promo: expected a number"),
        ([1, 2], r"plan treatments: expected a mapping"),
    ],
)
def test_bad_treatments_name_the_key(data, treatments: object, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SpecError, match=message):
        plan_from_dict(data, {"like_last_weeks": 4, "treatments": treatments})
