"""``mixflow compare-runs RUN_A RUN_B [...]``: which fitted model the data favour, by PSIS-LOO
(ArviZ). Assembled by :mod:`mixflow.cli.main`; ``mixflow compare`` is the one for plans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mixflow.cli.runtime import resolve_run_dir, setup_jax

if TYPE_CHECKING:
    from mixflow.posterior.comparison import RunComparison

app = typer.Typer()


def _names(runs: list[str]) -> list[str]:
    """Each run's folder name, or the argument as given where two folder names coincide."""
    short = [Path(r.rstrip("/")).name or r for r in runs]
    return short if len(set(short)) == len(short) else list(runs)


def print_comparison(result: RunComparison) -> None:
    """The ranking, one row per run, then the verdict."""
    width = max(len(r.name) for r in result.runs) + 2
    typer.echo(
        f"{'run':<{width}}{'rank':>5}{'elpd_loo':>12}{'se':>8}{'elpd_diff':>11}{'dse':>8}"
        f"{'p_loo':>8}{'weight':>8}  high pareto k"
    )
    for r in result.runs:
        s = r.score
        typer.echo(
            f"{r.name:<{width}}{r.rank:>5}{s.elpd_loo:>12.1f}{s.se_loo:>8.1f}{r.elpd_diff:>11.1f}"
            f"{r.dse:>8.1f}{s.p_loo:>8.1f}{r.weight:>8.2f}  "
            f"{s.n_high_pareto_k} of {s.n_observations} (k > {s.pareto_k_threshold:.2f})"
        )
    typer.echo(f"verdict: {result.verdict()}")


@app.command("compare-runs")
def compare_runs(
    runs: Annotated[
        list[str],
        typer.Argument(
            metavar="RUN",
            help="two or more run directories (or models:/NAME@ALIAS) fitted to the same data",
        ),
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="also write the comparison as JSON here")
    ] = None,
) -> None:
    """Rank fitted runs by out-of-sample predictive accuracy (PSIS-LOO through ArviZ: elpd_loo,
    se, difference from the best with its se, stacking weight, Pareto k warnings) and say which
    the data favour, e.g. runs with geometric against Weibull adstock."""
    setup_jax(1)
    from mixflow.data.io import atomic_write_text
    from mixflow.posterior.comparison import compare_runs as rank_runs
    from mixflow.posterior.comparison import require_log_likelihood
    from mixflow.workflow import load_run

    if len(set(runs)) < len(runs):
        from mixflow.errors import SpecError

        raise SpecError("compare-runs: a run is named twice; give each run once")
    names = _names(runs)
    posteriors = {
        name: load_run(resolve_run_dir(run)) for name, run in zip(names, runs, strict=True)
    }
    for name, posterior in posteriors.items():
        require_log_likelihood(posterior, name)
    result = rank_runs(posteriors)
    print_comparison(result)
    if out is not None:
        text = json.dumps(result.to_dict(), indent=2, allow_nan=False)
        atomic_write_text(out, text + "\n")
        typer.echo(f"wrote {out}")
