"""The report's tables: channels, fit quality, diagnostics, priors, calibration, model.

Builders return :class:`Table` values of plain text cells; the ``table`` macro of
``templates/macros.html.j2`` is the one place that turns them into markup (escaped).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mixflow.report.fmt import (
    MISSING,
    fmt_amount,
    fmt_general,
    fmt_int,
    fmt_interval,
    fmt_pct,
    fmt_ratio,
)
from mixflow.report.rundir import RunFiles


@dataclass(frozen=True)
class Table:
    """A table of text cells: ``label_columns`` leading text columns, then right-aligned numbers."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str | None = None
    label_columns: int = 1


def channel_table(run: RunFiles) -> Table:
    """Spend, shares, contribution, ROI, mROI and (for conversion KPIs) CPA per channel."""
    channels: Mapping[str, Mapping[str, Any]] = run.summary["channels"]
    show_cpa = any(channel.get("cpa") for channel in channels.values())
    headers = [
        "Channel",
        "Spend",
        "Spend share",
        f"Contribution ({run.kpi_type})",
        "Contribution share",
        "ROI",
        "mROI",
    ]
    if show_cpa:
        headers.append("CPA")
    rows = []
    for name, channel in channels.items():
        row = [
            name,
            fmt_amount(channel["spend"]),
            fmt_pct(channel["spend_share"]),
            fmt_interval(channel["contribution"], fmt_amount),
            fmt_interval(channel["contribution_share"], fmt_pct),
            fmt_interval(channel["roi"]),
            fmt_interval(channel["mroi"]),
        ]
        if show_cpa:
            row.append(fmt_interval(channel.get("cpa"), fmt_amount))
        rows.append(tuple(row))
    note = (
        "Posterior mean [90% HDI]. ROI: incremental value per unit of spend over the data "
        "window; mROI: value of the next unit of spend at historical levels"
        + ("; CPA: spend per incremental conversion." if show_cpa else ".")
    )
    return Table(tuple(headers), tuple(rows), note)


def fit_table(run: RunFiles) -> Table:
    """R², MAPE and NRMSE in sample and on the holdout periods."""
    fit: Mapping[str, Any] = run.summary["fit"]
    weeks = fit.get("holdout_weeks") or 0
    holdout = f"Holdout ({fmt_int(weeks)} periods)" if weeks else "Holdout (none)"
    metrics = (
        ("R²", "r2", lambda v: fmt_ratio(v, 3)),
        ("MAPE", "mape", fmt_pct),
        ("NRMSE", "nrmse", lambda v: fmt_ratio(v, 3)),
    )
    rows = tuple(
        (label, fmt(fit.get(key)), fmt(fit.get(f"holdout_{key}")) if weeks else MISSING)
        for label, key, fmt in metrics
    )
    return Table(("Metric", "In sample", holdout), rows)


def diagnostics_table(run: RunFiles) -> Table:
    """Sampler health figures; R-hat and ESS show as a dash for MAP and SVI fits."""
    diag: Mapping[str, Any] = run.summary["diagnostics"]
    divergences = fmt_int(diag.get("divergences"))
    if diag.get("divergence_rate") is not None:
        divergences += f" ({fmt_pct(diag['divergence_rate'], 2)})"
    rows: list[tuple[str, str]] = [
        ("Method", str(diag.get("method") or run.summary["method"]).upper()),
        ("Chains", fmt_int(diag.get("chains"))),
        ("Draws per chain", fmt_int(diag.get("draws"))),
        ("Max R-hat", fmt_ratio(diag.get("rhat_max"), 3)),
        ("Min bulk ESS", fmt_int(diag.get("ess_bulk_min"))),
        ("Min tail ESS", fmt_int(diag.get("ess_tail_min"))),
        ("Divergences", divergences),
        ("Steps per draw", fmt_ratio(diag.get("steps_per_draw"), 1)),
        ("Fit time (seconds)", fmt_ratio(diag.get("fit_seconds"), 1)),
    ]
    if diag.get("worst_parameter"):
        rows.append(("Worst parameter", str(diag["worst_parameter"])))
    return Table(("Diagnostic", "Value"), tuple(rows))


def prior_posterior_table(frame: pd.DataFrame, channels: Mapping[str, Any] | None = None) -> Table:
    """Prior and posterior median [90% HDI] for each channel and quantity, and how much the
    data narrowed the ROI prior (``channels``: summary.json's per-channel entries)."""
    channels = channels or {}

    def spread(record: Mapping[Any, Any]) -> str:
        prior = (channels.get(str(record["channel"])) or {}).get("roi_prior") or {}
        ratio = prior.get("sd_ratio")
        if record["quantity"] != "roi" or ratio is None:
            return MISSING
        weak = " (weakly identified)" if prior.get("weakly_identified") else ""
        return fmt_ratio(ratio, 2) + weak

    rows = tuple(
        (
            str(record["channel"]),
            str(record["quantity"]),
            _median_interval(record, "prior"),
            _median_interval(record, "posterior"),
            spread(record),
        )
        for record in frame.to_dict("records")
    )
    headers = (
        "Channel",
        "Quantity",
        "Prior median [90% HDI]",
        "Posterior median [90% HDI]",
        "Posterior / prior spread",
    )
    return Table(headers, rows, label_columns=2)


def calibration_table(run: RunFiles) -> Table:
    """Each lift test: window, spend change, measured lift and the model's implied lift."""
    rows = tuple(
        (
            str(test["channel"]),
            f"{test['start']} to {test['end']}",
            str(test.get("geos") or "all"),
            fmt_amount(test.get("spend_change")),
            f"{fmt_amount(test['incremental_kpi'])} ± {fmt_amount(test['standard_error'])}",
            fmt_interval(test["model_lift"], fmt_amount),
            fmt_ratio(test.get("z")),
        )
        for test in run.calibration
    )
    headers = (
        "Channel",
        "Window",
        "Geos",
        "Spend change",
        "Measured lift ± se",
        "Model lift [90% HDI]",
        "z",
    )
    note = (
        "z = (model mean - measured) / sqrt(se² + model sd²); |z| above 1.6 means the model and "
        "the experiment disagree more than their uncertainties allow."
    )
    return Table(headers, rows, note=note, label_columns=3)


def model_table(run: RunFiles) -> Table:
    """The model specification and the data identity, as key/value rows."""
    summary = run.summary
    model: Mapping[str, Any] = summary.get("model") or {}
    data: Mapping[str, Any] = summary["data"]
    rows = [(_humanize(key), _plain(value)) for key, value in model.items()]
    geos = data.get("geos")
    if isinstance(geos, Sequence) and not isinstance(geos, str):
        rows.append(("Geos", ", ".join(str(g) for g in geos)))
    rows.append(("Data fingerprint", _plain(data.get("fingerprint"))))
    rows.append(("mixflow version", _plain(summary.get("mixflow_version"))))
    return Table(("Setting", "Value"), tuple(rows), label_columns=2)


def _median_interval(record: Mapping[Any, Any], which: str) -> str:
    point = fmt_general(record[f"{which}_median"])
    lo, hi = fmt_general(record[f"{which}_hdi_lo"]), fmt_general(record[f"{which}_hdi_hi"])
    if point == MISSING or MISSING in (lo, hi):
        return point
    return f"{point} [{lo}, {hi}]"


def _humanize(key: str) -> str:
    return str(key).replace("_", " ").capitalize()


def _plain(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return fmt_general(value) if isinstance(value, float) else f"{value:,d}"
    return str(value)
