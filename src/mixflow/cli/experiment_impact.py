"""``mixflow experiment impact DATA.csv ...``: single-series causal impact (a Bayesian structural
time series, see :mod:`mixflow.experiments.impact`); writes ``result.json`` and ``report.html``.
Registered on the ``experiment`` command group when this module loads; bad input prints one
``error: ...`` line and exits 2.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mixflow.cli.experiment import experiment_app
from mixflow.cli.main import _fail
from mixflow.errors import DataError, MixflowError

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from mixflow.experiments.impact import Estimate, ImpactResult


@experiment_app.command("impact")
def impact(
    data: Annotated[Path, typer.Argument(help="wide table (CSV/Parquet): one row per time")],
    post_start: Annotated[
        str, typer.Option(help="first time of the post-period (date or date-time)")
    ],
    out: Annotated[Path, typer.Option(help="folder for result.json and report.html")],
    date_column: Annotated[str, typer.Option(help="time column")] = "date",
    response_column: Annotated[str, typer.Option(help="the treated series")] = "y",
    covariates: Annotated[
        str | None,
        typer.Option(help="comma-separated control series (default: every other column)"),
    ] = None,
    post_end: Annotated[
        str | None, typer.Option(help="last time of the post-period (default: the last row)")
    ] = None,
    pre_start: Annotated[
        str | None, typer.Option(help="first time of the pre-period (default: the first row)")
    ] = None,
    draws: Annotated[int, typer.Option(help="posterior draws per chain")] = 1000,
    warmup: Annotated[int, typer.Option(help="warm-up iterations per chain")] = 1000,
    chains: Annotated[int, typer.Option(help="MCMC chains")] = 2,
    seed: Annotated[int, typer.Option(help="seed of the sampler and the simulation")] = 0,
    prior_level_sd: Annotated[
        float, typer.Option(help="prior sd of the level's step, in pre-period sds of y")
    ] = 0.01,
) -> None:
    """Estimate the effect of an intervention on one series from control series (average and
    cumulative effect, relative effect, intervals, tail-area p-value)."""
    from mixflow.cli.runtime import setup_jax

    setup_jax(chains)
    from mixflow.data.io import atomic_write_text
    from mixflow.data.loaders import read_table
    from mixflow.experiments.impact import ImpactConfig, analyze_impact_table

    try:
        if not data.is_file():
            raise DataError(f"data file not found: {data}")
        config = ImpactConfig(
            draws=draws,
            warmup=warmup,
            chains=chains,
            seed=seed,
            prior_level_sd=prior_level_sd,
        )
        names = None
        if covariates is not None:
            names = [name.strip() for name in covariates.split(",") if name.strip()]
        result = analyze_impact_table(
            read_table(data),
            date_column=date_column,
            response_column=response_column,
            covariates=names,
            post_start=post_start,
            post_end=post_end,
            pre_start=pre_start,
            config=config,
        )
    except MixflowError as err:
        _fail(err)
        return
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "result.json", json.dumps(result.to_dict(), indent=2) + "\n")
    atomic_write_text(out / "report.html", build_impact_report(result))
    avg, rel = result.effect_average, result.relative_effect_pct
    typer.echo(
        f"average effect {_num(avg.mean)} per step [95%: {_num(avg.ci_95[0])}, "
        f"{_num(avg.ci_95[1])}], cumulative {_num(result.effect_cumulative.mean)}, relative "
        f"{rel.mean:.1f}% [{rel.ci_95[0]:.1f}%, {rel.ci_95[1]:.1f}%], p={result.p_value:.4f}; "
        f"wrote {out}"
    )
    if not result.diagnostics.ok:
        typer.echo("warning: sampler diagnostics: " + "; ".join(result.diagnostics.flags))


def _num(value: float) -> str:
    """Four significant figures (whole numbers with thousands separators from 1,000)."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _interval(bounds: tuple[float, float], pct: bool = False) -> str:
    unit = "%" if pct else ""
    return f"[{_num(bounds[0])}{unit}, {_num(bounds[1])}{unit}]"


def _with_sd(est: Estimate, pct: bool = False) -> str:
    unit = "%" if pct else ""
    return f"{_num(est.mean)}{unit} ({_num(est.sd)}{unit})"


def _summary_table(result: ImpactResult) -> str:
    rel = result.relative_effect_pct
    rows = [
        ("Actual", _num(result.actual_average), _num(result.actual_cumulative)),
        (
            "Prediction (sd)",
            _with_sd(result.predicted_average),
            _with_sd(result.predicted_cumulative),
        ),
        (
            "95% interval",
            _interval(result.predicted_average.ci_95),
            _interval(result.predicted_cumulative.ci_95),
        ),
        (
            "Absolute effect (sd)",
            _with_sd(result.effect_average),
            _with_sd(result.effect_cumulative),
        ),
        (
            "90% interval",
            _interval(result.effect_average.ci_90),
            _interval(result.effect_cumulative.ci_90),
        ),
        (
            "95% interval",
            _interval(result.effect_average.ci_95),
            _interval(result.effect_cumulative.ci_95),
        ),
        ("Relative effect (sd)", _with_sd(rel, pct=True), _with_sd(rel, pct=True)),
        ("90% interval", _interval(rel.ci_90, pct=True), _interval(rel.ci_90, pct=True)),
        ("95% interval", _interval(rel.ci_95, pct=True), _interval(rel.ci_95, pct=True)),
    ]
    body = "\n".join(
        f'<tr><th>{html.escape(a)}</th><td class="num">{html.escape(b)}</td>'
        f'<td class="num">{html.escape(c)}</td></tr>'
        for a, b, c in rows
    )
    return f"<table><tr><th></th><th>Average</th><th>Cumulative</th></tr>{body}</table>"


def _facts_table(facts: list[tuple[str, str]]) -> str:
    rows = "\n".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in facts
    )
    return f"<table>{rows}</table>"


def build_impact_report(result: ImpactResult) -> str:
    """A self-contained HTML page: the summary, the classic three panels, the model's fit."""
    from mixflow.report.charts import png_bytes
    from mixflow.report.html import _CSS, _img, _section

    diag = result.diagnostics
    facts = [
        ("Response", result.response),
        ("Covariates", ", ".join(result.covariates) or "(none)"),
        ("Pre-period", f"{result.pre_period[0]} .. {result.pre_period[1]} ({result.n_pre})"),
        ("Post-period", f"{result.post_period[0]} .. {result.post_period[1]} ({result.n_post})"),
        ("Posterior tail-area probability p", f"{result.p_value:.4f}"),
        ("Posterior probability of a causal effect", f"{100 * result.prob_causal_effect:.2f}%"),
    ]
    coefs = [
        (name, f"{_with_sd(est)}  95% {_interval(est.ci_95)}")
        for name, est in result.coefficients.items()
    ]
    model = [
        ("Regression prior", result.regression_prior.value),
        ("Observation sd", _with_sd(result.observation_sd)),
        ("Level sd per step", _with_sd(result.level_sd)),
        *coefs,
    ]
    rhat = f"{diag.rhat_max:.3f}" if diag.rhat_max is not None else "n/a"
    ess = f"{diag.ess_bulk_min:.0f}" if diag.ess_bulk_min is not None else "n/a"
    health = "ok" if diag.ok else "; ".join(diag.flags)
    sampler = [
        ("NUTS", f"{diag.chains} chains x {diag.draws} draws, {diag.fit_seconds:.1f} s"),
        ("R-hat max / bulk ESS min", f"{rhat} / {ess}"),
        ("Divergences", str(diag.divergences)),
        ("Health", health),
    ]
    note = (
        '<p class="note">Local level + static regression on the pre-period standardized series, '
        "fitted on the pre-period only; the counterfactual assumes the covariates were not "
        "affected by the intervention and that their relation to the response held after it. "
        "Bands are 95% intervals; pre-period predictions are one-step-ahead.</p>"
    )
    body = "\n".join(
        [
            "<header><h1>Causal impact</h1></header>",
            _section("Summary", _facts_table(facts), _summary_table(result), note),
            _section(
                "Observed, counterfactual and effect",
                _img(png_bytes(impact_chart(result)), "observed vs counterfactual and effects"),
            ),
            _section("Model", _facts_table(model)),
            _section("Sampler", _facts_table(sampler)),
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Causal impact</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def _time_axis(result: ImpactResult) -> np.ndarray:
    """Times as ``datetime64`` when the labels parse as dates, else positions."""
    import numpy as np
    import pandas as pd

    try:
        return np.asarray(pd.to_datetime(list(result.times)).to_numpy())
    except (ValueError, TypeError):
        return np.arange(len(result.times))


def _panel(
    ax: Axes, t: np.ndarray, mean: np.ndarray, lo: np.ndarray, hi: np.ndarray, label: str
) -> None:
    ax.fill_between(t, lo, hi, color="#1f77b4", alpha=0.2, linewidth=0)
    ax.plot(t, mean, color="#1f77b4", ls="--", label=label)
    ax.grid(True, axis="y", alpha=0.3)


def impact_chart(result: ImpactResult) -> Figure:
    """Three panels over time: observed vs counterfactual (95 % band), the point-wise effect
    and the cumulative effect; the post-period starts at the vertical line."""
    from matplotlib.figure import Figure

    s = result.series
    t = _time_axis(result)
    fig = Figure(figsize=(9.0, 8.4), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    _panel(axes[0], t, s.predicted_mean, s.predicted_lower, s.predicted_upper, "counterfactual")
    axes[0].plot(t, s.observed, color="#222222", label="observed")
    axes[0].set_ylabel(result.response)
    axes[0].legend(loc="upper left")
    _panel(axes[1], t, s.effect_mean, s.effect_lower, s.effect_upper, "point-wise effect")
    axes[1].set_ylabel("point-wise effect")
    _panel(axes[2], t, s.cumulative_mean, s.cumulative_lower, s.cumulative_upper, "cumulative")
    axes[2].set_ylabel("cumulative effect")
    for ax in axes[1:]:
        ax.axhline(0.0, color="#b8b8b8", linewidth=1)
    for ax in axes:
        ax.axvline(t[result.n_pre], color="#ff9f1c", ls=":", linewidth=1.5)
    if t.dtype.kind == "M":
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

        locator = AutoDateLocator()
        axes[2].xaxis.set_major_locator(locator)
        axes[2].xaxis.set_major_formatter(ConciseDateFormatter(locator))
    return fig
