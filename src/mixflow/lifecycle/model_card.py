"""Model cards: what a registered model is, how it was checked, what it may be used for.

Built from a run's ``summary.json`` and the gate results, as Markdown and as self-contained
HTML, and written into the run directory before it is logged (so the card travels with the
version's artifacts).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from mixflow.analysis.schema import Interval, RunSummary
from mixflow.data.io import atomic_write_text
from mixflow.lifecycle.gates import GatePolicy, GateResult, prior_shifts

CARD_MD = "model_card.md"
CARD_HTML = "model_card.html"

# a small inline stylesheet: lifecycle sits before report/ in the data flow, so it does not
# borrow the report's
_CSS = (
    "body{font:15px/1.5 -apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#1d2330;margin:0}"
    "main{max-width:1000px;margin:0 auto;padding:24px}table{border-collapse:collapse;margin:8px 0}"
    "th,td{border-bottom:1px solid #dde1e7;padding:4px 10px;text-align:left}h2{margin-top:28px}"
)

INTENDED_USE = (
    "Estimating the incremental contribution and ROI of each paid media channel over the data "
    "window, and planning budgets of similar size and mix over the next quarter with the "
    "simulation and optimization tools. Not for: channels or spend levels far outside the "
    "historical range, forecasts more than a few months ahead, or causal claims about single "
    "weeks."
)


def _stat(s: Interval | None, digits: int = 2) -> str:
    if s is None:
        return "n/a"
    lo, hi = s.hdi_90
    return f"{s.median:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def limitations(summary: RunSummary, gates: Sequence[GateResult]) -> list[str]:
    """Known limitations read off the fit: failed gates, wide ROI intervals, small channels."""
    out = [f"Gate '{g.name}' failed: {g.detail}." for g in gates if g.applicable and not g.passed]
    out += [f"Gate '{g.name}' warns: {g.detail}." for g in gates if g.warning]
    for ch, v in summary.channels.items():
        lo, hi = v.roi.hdi_90
        if lo > 0 and hi / lo > 5:
            out.append(f"ROI of '{ch}' is weakly identified (90% HDI spans {hi / lo:.0f}x).")
        if v.spend_share < 0.05:
            out.append(f"'{ch}' has under 5% of spend: its estimate leans on the prior.")
    if summary.method != "nuts":
        out.append(f"Fitted with {summary.method}: intervals are approximate.")
    out.append("Media effects are assumed constant over the data window (no time-varying ROI).")
    return out


def _rows(summary: RunSummary) -> list[list[str]]:
    rows = []
    for ch, v in summary.channels.items():
        rows.append(
            [
                ch,
                f"{v.spend:,.0f}",
                f"{v.spend_share:.1%}",
                _share(v.spend_weeks_share),
                _stat(v.contribution_share),
                _stat(v.roi),
                _stat(v.mroi),
            ]
        )
    return rows


_CHANNEL_HEAD = [
    "channel",
    "spend",
    "spend share",
    "weeks with spend",
    "contribution share",
    "ROI (median [90% HDI])",
    "mROI",
]
_GATE_HEAD = ["gate", "status", "value", "threshold", "detail"]


def _prior_head(policy: GatePolicy) -> list[str]:
    return [
        "channel",
        f"prior ROI median [{policy.prior_interval:.0%} interval]",
        "posterior ROI median",
        "posterior/prior log-sd",
        "flag",
    ]


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _prior_rows(summary: RunSummary, policy: GatePolicy) -> list[list[str]]:
    """Prior against posterior of each channel's ROI (see :func:`prior_shifts`)."""
    rows = []
    for s in prior_shifts(summary, policy):
        flags = [
            *(["outside prior"] if s.outside else []),
            *(["not informed by data"] if s.uninformed else []),
        ]
        rows.append(
            [
                s.channel,
                f"{s.prior_median:.2f} [{s.prior_low:.2f}, {s.prior_high:.2f}]",
                f"{s.posterior_median:.2f}",
                "n/a" if s.sd_ratio is None else f"{s.sd_ratio:.2f}",
                ", ".join(flags) or "ok",
            ]
        )
    return rows


def _verdict(gates: Sequence[GateResult]) -> str:
    if not all(g.passed for g in gates):
        return "FAILED"
    warnings = sum(g.warning for g in gates)
    return f"all passed, {warnings} warning(s)" if warnings else "all passed"


def _gate_rows(gates: Sequence[GateResult]) -> list[list[str]]:
    return [
        [
            g.name,
            g.status.value,
            "" if g.value is None else f"{g.value:.4g}",
            str(g.threshold),
            g.detail,
        ]
        for g in gates
    ]


def _number(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _facts(summary: RunSummary, name: str, version: str | None) -> list[tuple[str, str]]:
    d, m, diag, fit = summary.data, summary.model, summary.diagnostics, summary.fit
    holdout = (
        f"; holdout ({fit.holdout_weeks} weeks) MAPE {fit.holdout_mape:.1%}"
        if fit.holdout_mape is not None
        else ""
    )
    facts = [
        ("model", name + (f" version {version}" if version else "")),
        ("data window", f"{d.start} .. {d.end} ({d.n_periods} periods, {d.n_geos} geo(s))"),
        ("data fingerprint", d.fingerprint),
        ("KPI", summary.kpi_type),
        (
            "model spec",
            f"adstock {m.adstock} (max lag {m.max_lag}), saturation {m.saturation}, "
            f"trend {m.trend}, {m.fourier_terms} Fourier terms, {m.likelihood} likelihood, "
            f"{m.prior_parameterization} priors",
        ),
        ("method", summary.method),
        (
            "diagnostics",
            f"R-hat max {_number(diag.rhat_max, '.3f')}, min bulk ESS "
            f"{_number(diag.ess_bulk_min, '.0f')}, {diag.divergences} divergences",
        ),
        ("fit", f"R² {_number(fit.r2, '.3f')}, MAPE {_number(fit.mape, '.1%')}{holdout}"),
    ]
    base = summary.baseline
    if base is not None:
        facts.append(
            (
                "baseline",
                f"negative in some week in {base.prob_negative_any_week:.1%} of posterior "
                f"draws, negative over the whole window in {base.prob_negative_total:.1%}",
            )
        )
    return facts


def card_markdown(
    summary: RunSummary,
    gates: Sequence[GateResult],
    name: str,
    version: str | None = None,
    policy: GatePolicy | None = None,
) -> str:
    def table(head: list[str], rows: list[list[str]]) -> str:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
        return "\n".join(lines)

    parts = [f"# Model card: {name}", ""]
    parts += [f"- **{k}**: {v}" for k, v in _facts(summary, name, version)]
    parts += [
        "",
        f"## Governance gates: {_verdict(gates)}",
        "",
        table(_GATE_HEAD, _gate_rows(gates)),
    ]
    parts += ["", "## Channels", "", table(_CHANNEL_HEAD, _rows(summary))]
    priors = _prior_rows(summary, policy or GatePolicy())
    if priors:
        parts += [
            "",
            "## ROI: prior against posterior",
            "",
            table(_prior_head(policy or GatePolicy()), priors),
        ]
    parts += ["", "## Intended use", "", INTENDED_USE, "", "## Known limitations", ""]
    parts += [f"- {item}" for item in limitations(summary, gates)]
    return "\n".join(parts) + "\n"


def card_html(
    summary: RunSummary,
    gates: Sequence[GateResult],
    name: str,
    version: str | None = None,
    policy: GatePolicy | None = None,
) -> str:
    def table(head: list[str], rows: list[list[str]]) -> str:
        th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
        )
        return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"

    facts = "".join(
        f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>"
        for k, v in _facts(summary, name, version)
    )
    lims = "".join(f"<li>{html.escape(x)}</li>" for x in limitations(summary, gates))
    priors = _prior_rows(summary, policy or GatePolicy())
    prior_html = (
        f"<h2>ROI: prior against posterior</h2>{table(_prior_head(policy or GatePolicy()), priors)}"
        if priors
        else ""
    )
    body = (
        f"<main><header><h1>Model card: {html.escape(name)}</h1></header><ul>{facts}</ul>"
        f"<h2>Governance gates: {html.escape(_verdict(gates))}</h2>{table(_GATE_HEAD, _gate_rows(gates))}"
        f"<h2>Channels</h2>{table(_CHANNEL_HEAD, _rows(summary))}{prior_html}"
        f"<h2>Intended use</h2><p>{html.escape(INTENDED_USE)}</p><h2>Known limitations</h2><ul>{lims}</ul></main>"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Model card: {html.escape(name)}</title><style>{_CSS}</style></head><body>{body}</body></html>"
    )


def write_model_card(
    run_dir: Path,
    summary: RunSummary,
    gates: Sequence[GateResult],
    name: str,
    version: str | None = None,
    policy: GatePolicy | None = None,
) -> tuple[Path, Path]:
    """Write ``model_card.md`` and ``model_card.html`` into ``run_dir`` (atomically)."""
    md, page = Path(run_dir) / CARD_MD, Path(run_dir) / CARD_HTML
    atomic_write_text(md, card_markdown(summary, gates, name, version, policy))
    atomic_write_text(page, card_html(summary, gates, name, version, policy))
    return md, page
