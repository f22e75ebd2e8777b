"""Model cards: what a registered model is, how it was checked, what it may be used for.

Built from a run's summary and the gate results as a :class:`ModelCard` (its content, plain
strings), written into the run directory as Markdown before it is logged (so the card travels
with the version's artifacts). The HTML page is rendered by the report layer
(:func:`mixflow.report.model_card.model_card_html`, a Jinja2 template): ``lifecycle`` sits
before ``report`` in the data flow, so the callers that may import the report (the CLI, the
service) pass that renderer in as a :data:`CardPage`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mixflow.analysis.schema import Interval, RunSummary
from mixflow.data.io import atomic_write_text
from mixflow.lifecycle.gates import GatePolicy, GateResult, prior_shifts

CARD_MD = "model_card.md"
CARD_HTML = "model_card.html"

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
    return f"{s.mean:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


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
    "ROI (mean [90% HDI])",
    "mROI",
]
_GATE_HEAD = ["gate", "status", "value", "threshold", "detail"]


def _prior_head(policy: GatePolicy) -> list[str]:
    return [
        "channel",
        f"prior ROI median [{policy.prior_interval:.0%} interval]",
        "posterior ROI mean",
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
            *(["weakly identified"] if s.uninformed else []),
        ]
        rows.append(
            [
                s.channel,
                f"{s.prior_median:.2f} [{s.prior_low:.2f}, {s.prior_high:.2f}]",
                f"{s.posterior_mean:.2f}",
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
            f"{m.prior_parameterization} priors"
            + (f", {m.geo_saturation} geo saturation" if m.geo_saturation else ""),
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


@dataclass(frozen=True)
class CardTable:
    """A table of the card: header cells and rows of text cells."""

    head: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class ModelCard:
    """What a model card says, as text: the Markdown file and the HTML page show the same.
    ``priors`` is ``None`` when the model has no ROI priors."""

    name: str
    facts: tuple[tuple[str, str], ...]
    verdict: str
    gates: CardTable
    channels: CardTable
    priors: CardTable | None
    intended_use: str
    limitations: tuple[str, ...]


#: renders a card as a self-contained HTML page (the report layer's
#: :func:`~mixflow.report.model_card.model_card_html`)
CardPage = Callable[[ModelCard], str]


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> CardTable:
    return CardTable(tuple(head), tuple(tuple(r) for r in rows))


def model_card(
    summary: RunSummary,
    gates: Sequence[GateResult],
    name: str,
    version: str | None = None,
    policy: GatePolicy | None = None,
) -> ModelCard:
    """The card of a registered version (pure)."""
    policy = policy or GatePolicy()
    priors = _prior_rows(summary, policy)
    return ModelCard(
        name=name,
        facts=tuple(_facts(summary, name, version)),
        verdict=_verdict(gates),
        gates=_table(_GATE_HEAD, _gate_rows(gates)),
        channels=_table(_CHANNEL_HEAD, _rows(summary)),
        priors=_table(_prior_head(policy), priors) if priors else None,
        intended_use=INTENDED_USE,
        limitations=tuple(limitations(summary, gates)),
    )


def card_markdown(
    summary: RunSummary,
    gates: Sequence[GateResult],
    name: str,
    version: str | None = None,
    policy: GatePolicy | None = None,
) -> str:
    """The card as Markdown."""
    return markdown(model_card(summary, gates, name, version, policy))


def markdown(card: ModelCard) -> str:
    """``card`` as Markdown (``|`` in cells escaped)."""

    def table(t: CardTable) -> str:
        lines = ["| " + " | ".join(t.head) + " |", "|" + "---|" * len(t.head)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in t.rows]
        return "\n".join(lines)

    parts = [f"# Model card: {card.name}", ""]
    parts += [f"- **{k}**: {v}" for k, v in card.facts]
    parts += ["", f"## Governance gates: {card.verdict}", "", table(card.gates)]
    parts += ["", "## Channels", "", table(card.channels)]
    if card.priors is not None:
        parts += ["", "## ROI: prior against posterior", "", table(card.priors)]
    parts += ["", "## Intended use", "", card.intended_use, "", "## Known limitations", ""]
    parts += [f"- {item}" for item in card.limitations]
    return "\n".join(parts) + "\n"


def write_model_card(
    run_dir: Path,
    summary: RunSummary,
    gates: Sequence[GateResult],
    name: str,
    version: str | None = None,
    policy: GatePolicy | None = None,
    page: CardPage | None = None,
) -> tuple[Path, Path | None]:
    """Write ``model_card.md`` and, when a renderer ``page`` is given, ``model_card.html`` into
    ``run_dir`` (atomically); their paths (``None`` for the page not written)."""
    card = model_card(summary, gates, name, version, policy)
    md = Path(run_dir) / CARD_MD
    atomic_write_text(md, markdown(card))
    if page is None:
        return md, None
    html_path = Path(run_dir) / CARD_HTML
    atomic_write_text(html_path, page(card))
    return md, html_path
