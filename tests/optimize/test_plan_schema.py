"""The typed ``plan.json``: a real optimize's document is unchanged by validation (flat and
weekly patterns), a wrong or extra field is refused, and the committed JSON Schema matches."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from mixflow.data.loaders import dataset_from_frame
from mixflow.datasets import DEFAULT_CHANNELS, BrandSimulation, simulate_brand
from mixflow.optimize import (
    BudgetOptimizer,
    BudgetProblem,
    OptimizationResult,
    OutcomeStats,
    SpendPattern,
)
from mixflow.optimize.schema import PlanDocument, PlanOutcomes, plan_json_schema
from mixflow.simulate import Simulator
from mixflow.spec import parse_config
from mixflow.workflow import fit_dataset

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def opt() -> BudgetOptimizer:
    sim = BrandSimulation(n_weeks=60, n_geos=1, channels=DEFAULT_CHANNELS[:2], n_events=1)
    brand = simulate_brand(sim, np.random.default_rng(7))
    cfg = dict(brand.config)
    cfg["fit"] = {"method": "svi", "svi_steps": 200, "draws": 50, "seed": 3, "progress_bar": False}
    config = parse_config(cfg)
    posterior = fit_dataset(config, dataset_from_frame(brand.frame, config.data))
    return BudgetOptimizer(Simulator(posterior, max_draws=50))


@pytest.fixture(scope="module", params=[SpendPattern.FLAT, SpendPattern.HISTORICAL])
def result(request: pytest.FixtureRequest, opt: BudgetOptimizer) -> OptimizationResult:
    return opt.optimize(BudgetProblem(8, pattern=request.param), seed=0)


def test_validation_leaves_the_written_document_unchanged(result: OptimizationResult) -> None:
    built = result._document()
    written = result.to_dict()
    assert list(written) == list(built)
    assert written == built
    # the bytes plan.json gets are those of the dict built before validation
    assert json.dumps(written, indent=2) == json.dumps(built, indent=2)
    has_weeks = result.problem.pattern is not SpendPattern.FLAT
    assert ("allocation_by_period" in written) is has_weeks


def test_plan_document_is_frozen_and_typed(result: OptimizationResult) -> None:
    doc = PlanDocument.model_validate(result.to_dict())
    assert doc.objective is result.problem.objective
    assert doc.allocation == result.allocation
    with pytest.raises(ValidationError, match="frozen"):
        doc.budget = 1.0  # type: ignore[misc]


def test_wrong_or_extra_field_is_refused(result: OptimizationResult) -> None:
    bad = result.to_dict() | {"at_bounds": {"tv": "above"}}
    with pytest.raises(ValidationError, match=r"at_bounds\.tv"):
        PlanDocument.model_validate(bad)
    with pytest.raises(ValidationError, match="extra"):
        PlanDocument.model_validate(result.to_dict() | {"note": "x"})
    missing = {k: v for k, v in result.to_dict().items() if k != "marginal_roi"}
    with pytest.raises(ValidationError, match="marginal_roi"):
        PlanDocument.model_validate(missing)


def test_committed_json_schema_matches_the_code() -> None:
    committed = json.loads((REPO / "docs" / "schemas" / "plan.json").read_text())
    assert committed == plan_json_schema()


def test_roi_of_a_plan_that_spends_nothing_is_null_in_the_document() -> None:
    draws = np.linspace(0.0, 1.0, 20)
    outcomes = OutcomeStats.from_draws(draws, draws, 0.0).to_dict()
    typed = PlanOutcomes.model_validate(outcomes)
    assert typed.roi.mean is None and typed.roi.hdi_90 == (None, None)
    assert typed.model_dump(mode="json") == outcomes
