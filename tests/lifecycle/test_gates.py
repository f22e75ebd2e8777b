"""Governance gates: each gate passes, fails or is not applicable, with a message that says why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mixflow.analysis.schema import RunSummary, load_summary
from mixflow.errors import SpecError
from mixflow.lifecycle import GatePolicy, GateResult, GateStatus, load_policy, run_gates

#: a complete summary written by an earlier mixflow; the tests override what the gates read
LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_run" / "summary.json"


def _summary(**changes: Any) -> RunSummary:
    """A NUTS summary that passes every default gate; ``changes`` are merged into sections
    (a mapping merges, any other value replaces)."""
    base: dict[str, Any] = {
        "method": "nuts",
        "data": {"n_periods": 104},
        "diagnostics": {
            "rhat_max": 1.004,
            "ess_bulk_min": 850.0,
            "divergences": 1,
            "divergence_rate": 0.001,
        },
        "fit": {"holdout_weeks": 8, "holdout_mape": 0.08, "holdout_r2": 0.6},
        "model": {"prior_parameterization": "roi"},
        "baseline": {
            "n_draws": 1000,
            "n_weeks": 104,
            "prob_negative_any_week": 0.01,
            "prob_negative_total": 0.0,
            "negative_weeks_histogram": [[0, 990], [2, 10]],
        },
        "channels": {
            "tv": {
                "roi": {"mean": 2.1},
                "roi_prior": {"median": 1.5, "sigma": 1.0},
                "roi_log_sd": 0.3,
                "spend_weeks_share": 0.4,
            },
            "search": {
                "roi": {"mean": 4.0},
                "roi_prior": {"median": 2.0, "sigma": 1.0},
                "roi_log_sd": 0.2,
                "spend_weeks_share": 1.0,
            },
        },
    }
    return load_summary(LEGACY).updated(base).updated(changes)


def _gate(results: list[GateResult], name: str) -> GateResult:
    return next(r for r in results if r.name == name)


def test_healthy_nuts_fit_passes_every_gate() -> None:
    results = run_gates(_summary(), GatePolicy())
    assert [r.name for r in results] == [
        "point_estimate",
        "rhat",
        "ess_bulk",
        "divergences",
        "holdout_mape",
        "holdout_r2",
        "roi_bounds",
        "min_weeks",
        "baseline_negative",
        "spend_coverage",
        "prior_shift",
    ]
    assert all(r.status is GateStatus.PASSED for r in results), [r.detail for r in results]


def test_rhat_gate_fails_above_threshold() -> None:
    gate = _gate(run_gates(_summary(diagnostics={"rhat_max": 1.05}), GatePolicy()), "rhat")
    assert gate.status is GateStatus.FAILED
    assert gate.value == pytest.approx(1.05)
    assert gate.detail == "R-hat max 1.0500 > 1.01"


def test_rhat_gate_not_applicable_to_map_fit() -> None:
    summary = _summary(method="map", diagnostics={"rhat_max": None, "ess_bulk_min": None})
    gate = _gate(run_gates(summary, GatePolicy()), "rhat")
    assert gate.status is GateStatus.NOT_APPLICABLE
    assert gate.passed  # not applicable never blocks a promotion
    assert gate.detail == "not applicable: no R-hat (map fit)"


def test_ess_gate_fails_below_threshold() -> None:
    gate = _gate(run_gates(_summary(diagnostics={"ess_bulk_min": 120.0}), GatePolicy()), "ess_bulk")
    assert gate.status is GateStatus.FAILED
    assert gate.detail == "bulk ESS min 120 < 400"


def test_ess_gate_not_applicable_to_svi_fit() -> None:
    summary = _summary(method="svi", diagnostics={"rhat_max": None, "ess_bulk_min": None})
    gate = _gate(run_gates(summary, GatePolicy()), "ess_bulk")
    assert gate.status is GateStatus.NOT_APPLICABLE
    assert "svi" in gate.detail


def test_divergence_gate_fails_above_rate() -> None:
    summary = _summary(diagnostics={"divergences": 12, "divergence_rate": 0.012})
    gate = _gate(run_gates(summary, GatePolicy()), "divergences")
    assert gate.status is GateStatus.FAILED
    assert gate.detail == "12 divergent transitions, rate 0.0120 > 0.005"


def test_divergence_gate_not_applicable_without_sampler() -> None:
    gate = _gate(run_gates(_summary(method="map"), GatePolicy()), "divergences")
    assert gate.status is GateStatus.NOT_APPLICABLE


def test_holdout_gate_fails_above_mape() -> None:
    gate = _gate(run_gates(_summary(fit={"holdout_mape": 0.31}), GatePolicy()), "holdout_mape")
    assert gate.status is GateStatus.FAILED
    assert gate.detail == "holdout MAPE 31.0% over 8 weeks > 20.0%"


def test_holdout_gate_not_applicable_without_holdout() -> None:
    summary = _summary(fit={"holdout_weeks": 0, "holdout_mape": None})
    gate = _gate(run_gates(summary, GatePolicy()), "holdout_mape")
    assert gate.status is GateStatus.NOT_APPLICABLE
    assert gate.detail == "not applicable: no holdout weeks"


def test_roi_gate_names_the_channel_out_of_bounds() -> None:
    policy = GatePolicy(roi_bounds={"search": (0.0, 3.0)})
    gate = _gate(run_gates(_summary(), policy), "roi_bounds")
    assert gate.status is GateStatus.FAILED
    assert gate.detail == "mean ROI search 4.00 not in [0, 3]"


def test_roi_gate_fails_negative_roi_under_default_bounds() -> None:
    summary = _summary(channels={"tv": {"roi": {"mean": -0.5}}})
    gate = _gate(run_gates(summary, GatePolicy()), "roi_bounds")
    assert not gate.passed
    assert "tv -0.50 not in [0, 50]" in gate.detail


def test_min_weeks_gate() -> None:
    passed = _gate(run_gates(_summary(), GatePolicy()), "min_weeks")
    failed = _gate(run_gates(_summary(data={"n_periods": 40}), GatePolicy()), "min_weeks")
    assert passed.passed and passed.detail == "104 weeks of data >= 52"
    assert not failed.passed and failed.detail == "40 weeks of data < 52"


def test_policy_loads_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("rhat_max: 1.05\nmin_weeks: 26\nroi_bounds:\n  tv: [0.5, 10]\n")
    policy = load_policy(path)
    assert policy.rhat_max == 1.05
    assert policy.min_weeks == 26
    assert policy.bounds_for("tv") == (0.5, 10)
    assert policy.bounds_for("search") == (0.0, 50.0)
    assert policy.ess_bulk_min == 400.0  # documented default kept


def test_policy_rejects_unknown_key_with_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("rhat_mx: 1.05\n")
    with pytest.raises(SpecError, match="unknown key 'rhat_mx' \\(did you mean 'rhat_max'\\?\\)"):
        load_policy(path)


def test_policy_rejects_inverted_roi_bounds() -> None:
    with pytest.raises(SpecError, match=r"roi_bounds\.tv must be \[low, high\]"):
        GatePolicy(roi_bounds={"tv": (5.0, 1.0)})


def test_model_card_lists_gates_channels_and_limitations() -> None:
    from mixflow.lifecycle.model_card import card_markdown, limitations, model_card
    from mixflow.report.model_card import model_card_html

    base = _summary(
        kpi_type="revenue",
        data={
            "start": "2022-01-03",
            "end": "2024-12-30",
            "n_periods": 156,
            "n_geos": 1,
            "fingerprint": "ab",
        },
        model={
            "adstock": "geometric",
            "max_lag": 8,
            "saturation": "hill",
            "trend": "linear",
            "fourier_terms": 2,
            "likelihood": "normal",
            "prior_parameterization": "roi",
        },
        diagnostics={"rhat_max": 1.002, "ess_bulk_min": 900.0, "divergences": 60},
        fit={"r2": 0.9, "mape": 0.03, "holdout_weeks": 0, "holdout_mape": None},
    )
    channel = base.channels["tv"].model_dump(mode="json")
    # the two channels replace the base's
    summary = RunSummary.model_validate(
        base.to_json()
        | {
            "channels": {
                "tv": channel
                | {
                    "spend": 1e6,
                    "spend_share": 0.9,
                    "roi": {"mean": 1.2, "median": 1.2, "hdi_90": [1.0, 1.4]},
                },
                "<b>x</b>": channel
                | {
                    "spend": 1e4,
                    "spend_share": 0.01,
                    "roi": {"mean": 2.0, "median": 2.0, "hdi_90": [0.2, 6.0]},
                },
            }
        }
    )
    gates = [GateResult("divergences", False, 0.015, 0.005, "60 divergent transitions")]
    md = card_markdown(summary, gates, "brand")
    assert "Governance gates: FAILED" in md
    assert "| divergences | failed |" in md
    items = limitations(summary, gates)
    assert any("weakly identified" in i and "<b>x</b>" in i for i in items)
    assert any("under 5% of spend" in i for i in items)
    assert not any("'tv' is weakly" in i for i in items)
    page = model_card_html(model_card(summary, gates, "brand"))
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page


# ------------------------------------------------------------------------------ newer gates
def _baseline(histogram: list[list[int]], n_draws: int = 100, n_weeks: int = 50) -> dict[str, Any]:
    return {
        "baseline": {
            "n_draws": n_draws,
            "n_weeks": n_weeks,
            "negative_weeks_histogram": histogram,
        }
    }


def test_baseline_gate_counts_draws_negative_in_any_week() -> None:
    # 25 of 100 draws have a negative baseline in at least one week: 25% > 20%
    summary = _summary(**_baseline([[0, 75], [1, 20], [30, 5]]))
    gate = _gate(run_gates(summary, GatePolicy()), "baseline_negative")
    assert gate.status is GateStatus.FAILED
    assert gate.value == pytest.approx(0.25)
    assert gate.detail == "baseline negative in any week in 25.0% of draws > 20%"


def test_baseline_gate_tolerates_a_share_of_negative_weeks() -> None:
    # more than 10% of 50 weeks is more than 5 weeks: only the 5 draws with 30 weeks count
    summary = _summary(**_baseline([[0, 75], [1, 20], [30, 5]]))
    policy = GatePolicy(baseline_negative_weeks_max=0.1)
    gate = _gate(run_gates(summary, policy), "baseline_negative")
    assert gate.passed and gate.value == pytest.approx(0.05)
    assert gate.detail == "baseline negative in more than 10% of weeks in 5.0% of draws <= 20%"


def test_baseline_gate_not_applicable_to_an_older_summary() -> None:
    summary = _summary(baseline=None)
    gate = _gate(run_gates(summary, GatePolicy()), "baseline_negative")
    assert gate.status is GateStatus.NOT_APPLICABLE


def test_spend_coverage_gate_names_the_rarely_spending_channel() -> None:
    summary = _summary(channels={"tv": {"spend_weeks_share": 0.06}})
    gate = _gate(run_gates(summary, GatePolicy()), "spend_coverage")
    assert gate.status is GateStatus.FAILED
    assert gate.value == pytest.approx(0.06)
    assert gate.detail == "tv spends in 6% of weeks < 10%"
    relaxed = _gate(run_gates(summary, GatePolicy(spend_coverage_min=0.05)), "spend_coverage")
    assert relaxed.passed


def test_prior_shift_flags_a_posterior_outside_the_prior_as_a_warning() -> None:
    # prior median 1.5, sigma 1: the central 95% is 1.5 * exp(+-1.96) = [0.21, 10.65]
    summary = _summary(channels={"tv": {"roi": {"mean": 12.0}}})
    gate = _gate(run_gates(summary, GatePolicy()), "prior_shift")
    assert gate.status is GateStatus.WARNING
    assert gate.passed  # advisory by default: it does not block
    assert gate.value == 1.0
    assert gate.detail == ("tv: posterior mean 12.00 outside the prior's 95% [0.21, 10.65]")


def test_prior_shift_flags_uninformed_channels_and_blocks_when_not_advisory() -> None:
    # 0.6 of the prior's sigma 1.0: weakly identified by the one standard (>= 0.5)
    summary = _summary(channels={"search": {"roi_log_sd": 0.6}})
    gate = _gate(run_gates(summary, GatePolicy(advisory=())), "prior_shift")
    assert gate.status is GateStatus.FAILED
    assert gate.detail == (
        "search: weakly identified, the data left its ROI close to the prior "
        "(posterior/prior log-sd 0.60 >= 0.5)"
    )


def test_prior_shift_and_the_fit_output_share_one_identification_standard() -> None:
    """The channels the gate flags as weakly identified are exactly the ones the summary (and
    so ``mixflow fit`` and the report) calls weakly identified, on either side of 0.5."""
    from mixflow.analysis.schema import WEAK_IDENTIFICATION_SD_RATIO

    ratios = {"tv": WEAK_IDENTIFICATION_SD_RATIO - 0.01, "search": WEAK_IDENTIFICATION_SD_RATIO}
    summary = _summary(
        channels={
            ch: {"roi_log_sd": r, "roi_prior": {"sd_ratio": r, "weakly_identified": True}}
            for ch, r in ratios.items()
        }
    )
    gate = _gate(run_gates(summary, GatePolicy(advisory=())), "prior_shift")
    assert summary.weakly_identified() == ["search"]
    assert gate.detail.startswith("search: weakly identified") and "tv" not in gate.detail


def test_map_fit_fails_the_point_estimate_gate_of_the_default_policy() -> None:
    summary = _summary(method="map", diagnostics={"rhat_max": None, "ess_bulk_min": None})
    default = _gate(run_gates(summary, GatePolicy()), "point_estimate")
    assert default.status is GateStatus.FAILED and not default.passed
    assert "point estimate" in default.detail
    assert _gate(run_gates(_summary(), GatePolicy()), "point_estimate").passed
    # a policy may still list it as advisory: the MAP fit is then marked with a warning
    lenient = _gate(run_gates(summary, GatePolicy(advisory=("point_estimate",))), "point_estimate")
    assert lenient.status is GateStatus.WARNING and lenient.passed


def test_holdout_r2_gate_fails_a_negative_holdout_fit() -> None:
    gate = _gate(run_gates(_summary(fit={"holdout_r2": -0.069}), GatePolicy()), "holdout_r2")
    assert gate.status is GateStatus.FAILED
    assert gate.detail == "holdout R² -0.069 over 8 weeks < 0"
    stricter = GatePolicy(holdout_r2_min=0.7)
    assert _gate(run_gates(_summary(), stricter), "holdout_r2").status is GateStatus.FAILED
    none = _summary(fit={"holdout_weeks": 0, "holdout_r2": None})
    assert not _gate(run_gates(none, GatePolicy()), "holdout_r2").applicable
    # over fewer than 8 held-out weeks R² is not judged (a 4-week holdout at MAPE 3.7% had -1.46)
    short = _gate(
        run_gates(_summary(fit={"holdout_weeks": 4, "holdout_r2": -1.46}), GatePolicy()),
        "holdout_r2",
    )
    assert not short.applicable and short.detail == "not applicable: 4 holdout weeks < 8"
    assert (
        _gate(
            run_gates(
                _summary(fit={"holdout_weeks": 4, "holdout_r2": -1.46}),
                GatePolicy(holdout_r2_min_weeks=4),
            ),
            "holdout_r2",
        ).status
        is GateStatus.FAILED
    )


def test_prior_shift_does_not_judge_the_spread_of_a_map_fit() -> None:
    summary = _summary(method="map", channels={"search": {"roi_log_sd": 5.0}})
    gate = _gate(run_gates(summary, GatePolicy(advisory=())), "prior_shift")
    assert gate.status is GateStatus.PASSED
    assert "spread not judged: MAP" in gate.detail


def test_prior_shift_not_applicable_with_coefficient_priors() -> None:
    summary = _summary(model={"prior_parameterization": "coefficient"})
    gate = _gate(run_gates(summary, GatePolicy()), "prior_shift")
    assert gate.status is GateStatus.NOT_APPLICABLE


def test_gate_results_round_trip_with_warning() -> None:
    summary = _summary(channels={"tv": {"roi": {"mean": 12.0}}})
    gate = _gate(run_gates(summary, GatePolicy()), "prior_shift")
    again = GateResult.from_dict(gate.to_dict())
    assert again == gate and again.status is GateStatus.WARNING
    # tags written before warnings existed read as no warning
    old = {k: v for k, v in gate.to_dict().items() if k != "warning"}
    assert GateResult.from_dict(old).warning is False


def test_policy_file_sets_new_gates_and_advisory(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("spend_coverage_min: 0.3\nadvisory: [spend_coverage, prior_shift]\n")
    policy = load_policy(path)
    assert policy.spend_coverage_min == 0.3
    assert policy.advisory == ("spend_coverage", "prior_shift")
    summary = _summary(channels={"tv": {"spend_weeks_share": 0.2}})
    gate = _gate(run_gates(summary, policy), "spend_coverage")
    assert gate.status is GateStatus.WARNING


def test_policy_rejects_unknown_advisory_gate() -> None:
    with pytest.raises(
        SpecError, match="advisory names unknown gate 'prior_shfit' \\(did you mean"
    ):
        GatePolicy(advisory=("prior_shfit",))


def test_policy_file_rejects_wrong_type(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("spend_coverage_min: lots\n")
    with pytest.raises(
        SpecError, match=r"gate policy: spend_coverage_min: must be a number \(got 'lots'\)"
    ):
        load_policy(path)


def test_model_card_shows_prior_against_posterior_and_warnings() -> None:
    from mixflow.lifecycle.model_card import card_markdown

    channel = {"spend": 1e5, "spend_share": 0.5, "roi": {"hdi_90": [1.0, 5.0]}}
    summary = _summary(
        kpi_type="revenue",
        data={"start": "2022-01-03", "end": "2023-12-25", "n_periods": 104, "n_geos": 1},
        model={
            "adstock": "geometric",
            "max_lag": 8,
            "saturation": "hill",
            "trend": "linear",
            "fourier_terms": 2,
            "likelihood": "normal",
            "prior_parameterization": "roi",
        },
        fit={"r2": 0.9, "mape": 0.03, "holdout_weeks": 8, "holdout_mape": 0.05},
        baseline={"prob_negative_total": 0.0},
        channels={"tv": channel, "search": channel},
    ).updated({"channels": {"tv": {"roi": {"mean": 12.0}}}})
    gates = run_gates(summary, GatePolicy())
    md = card_markdown(summary, gates, "brand")
    assert "## Governance gates: all passed, 1 warning(s)" in md
    assert "| prior_shift | warning |" in md
    assert "| channel | prior ROI median [95% interval] | posterior ROI mean |" in md
    assert "| tv | 1.50 [0.21, 10.65] | 12.00 | 0.30 | outside prior |" in md
    assert "| search | 2.00 [0.28, 14.20] | 4.00 | 0.20 | ok |" in md
    assert "Gate 'prior_shift' warns: tv: posterior mean 12.00" in md
    assert "negative in some week in 1.0% of posterior draws" in md
