"""PSIS-LOO / WAIC of runs, and their comparison: the model the data were simulated from ranks
above one without its trend and seasonality."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mixflow.errors import RunDirError, SpecError
from mixflow.posterior import Posterior
from mixflow.posterior.comparison import compare_runs, require_log_likelihood, score_run
from mixflow.workflow import load_run


def test_loo_of_a_run_is_the_sum_of_its_pointwise_terms(true_form: Posterior) -> None:
    score = score_run(true_form)
    ll = true_form.predictive.log_likelihood.reshape(-1, true_form.predictive.fitted.sum())
    # LOO can only lose predictive density against the in-sample log pointwise density
    lppd = float(np.sum(np.log(np.mean(np.exp(ll.astype(np.float64)), axis=0))))
    assert score.elpd_loo < lppd
    assert score.elpd_loo == pytest.approx(lppd - score.p_loo, abs=1e-3)  # float32 terms
    assert score.n_observations == int(true_form.predictive.fitted.sum())
    # p_loo: roughly the model's free parameters (14 here), not the data size
    assert 3 < score.p_loo < 30
    # WAIC and LOO agree closely on a well-behaved model
    assert score.elpd_waic == pytest.approx(score.elpd_loo, abs=3 * score.se_loo)


def test_the_simulated_form_is_favoured_over_a_model_without_baseline_terms(
    true_form: Posterior, no_baseline_run: Path
) -> None:
    result = compare_runs({"true": true_form, "no_baseline": load_run(no_baseline_run)})
    assert [r.name for r in result.runs] == ["true", "no_baseline"]
    loser = result.runs[1]
    assert loser.elpd_diff > 2 * loser.dse
    assert result.best.weight > 0.9
    assert result.verdict().startswith("the data favour true")
    doc = result.to_dict()
    assert doc["best"] == "true" and len(doc["runs"]) == 2
    assert doc["runs"][1]["elpd_diff"] == pytest.approx(loser.elpd_diff)


def test_a_run_folder_without_log_likelihood_is_refused_by_name(true_form: Posterior) -> None:
    import dataclasses

    legacy = dataclasses.replace(true_form, predictive_draws=None)
    require_log_likelihood(true_form, "new")
    with pytest.raises(RunDirError, match="run 'old' has no log_likelihood group"):
        require_log_likelihood(legacy, "old")


def test_a_posterior_without_stored_groups_compares_on_computed_ones(true_form: Posterior) -> None:
    """A fresh fit (or an older folder read in Python) computes its log-likelihood with the
    fit's seed: the same numbers as the stored ones."""
    import dataclasses

    fresh = dataclasses.replace(true_form, predictive_draws=None)
    result = compare_runs({"stored": true_form, "computed": fresh})
    by_name = {r.name: r.score.elpd_loo for r in result.runs}
    assert by_name["computed"] == pytest.approx(by_name["stored"], abs=1e-3)


def test_runs_on_different_periods_do_not_compare(true_form: Posterior) -> None:
    cfg = true_form.config
    shorter = cfg.model_copy(update={"fit": cfg.fit.model_copy(update={"holdout_weeks": 4})})
    import dataclasses

    other = dataclasses.replace(true_form, config=shorter)
    with pytest.raises(SpecError, match="hold out different periods"):
        compare_runs({"a": true_form, "b": other})


def test_one_run_does_not_compare(true_form: Posterior) -> None:
    with pytest.raises(SpecError, match="at least two runs"):
        compare_runs({"a": true_form})
