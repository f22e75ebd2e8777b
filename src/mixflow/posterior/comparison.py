"""Out-of-sample predictive accuracy of fitted runs: PSIS-LOO and WAIC through ArviZ, and the
comparison of runs fitted to the same data (say, geometric against Weibull adstock).

Each run's pointwise log-likelihood comes from its ``posterior.nc`` (the ``log_likelihood``
group, in KPI units over the fitted periods; see :mod:`mixflow.posterior.groups`). Runs compare
only when they were fitted to the same dataset and the same periods: otherwise their
log-likelihoods are of different observations and their difference means nothing.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mixflow.errors import RunDirError, SpecError
from mixflow.posterior.groups import KPI_VARIABLE
from mixflow.posterior.posterior import Posterior
from mixflow.spec.model_spec import FitMethod

#: Pareto k above this makes a PSIS estimate unreliable however many draws there are; with
#: ``S`` draws ArviZ's threshold is lower, ``min(1 - 1/log10(S), 0.7)`` (Vehtari et al. 2024),
#: and that is the one each score uses
PARETO_K_THRESHOLD = 0.7


@dataclass(frozen=True)
class PredictiveScore:
    """One run's expected log pointwise predictive density (KPI units, fitted periods).

    Attributes:
        elpd_loo, se_loo: PSIS-LOO estimate and its standard error.
        p_loo: effective number of parameters by LOO.
        elpd_waic, se_waic: WAIC estimate and its standard error.
        n_observations: pointwise terms (geo x fitted period).
        n_draws: posterior draws the log-likelihood holds.
        pareto_k_threshold: the Pareto k above which an observation's PSIS estimate is
            unreliable for this many draws (ArviZ's ``good_k``).
        n_high_pareto_k: observations with Pareto k above it.
        max_pareto_k: the largest Pareto k.
    """

    elpd_loo: float
    se_loo: float
    p_loo: float
    elpd_waic: float
    se_waic: float
    n_observations: int
    n_draws: int
    pareto_k_threshold: float
    n_high_pareto_k: int
    max_pareto_k: float

    @property
    def loo_reliable(self) -> bool:
        return self.n_high_pareto_k == 0


@dataclass(frozen=True)
class RankedRun:
    """One row of a comparison: a run's rank (0 = best), its scores and its difference from
    the best (``elpd_diff >= 0``, ``dse`` its standard error), and its stacking weight."""

    name: str
    rank: int
    score: PredictiveScore
    elpd_diff: float
    dse: float
    weight: float


@dataclass(frozen=True)
class RunComparison:
    """Runs ranked by PSIS-LOO (best first)."""

    runs: tuple[RankedRun, ...]

    @property
    def best(self) -> RankedRun:
        return self.runs[0]

    def verdict(self) -> str:
        """One sentence on what the data favour: the best run, and whether its lead over the
        runner-up exceeds twice the standard error of the difference."""
        best, second = self.runs[0], self.runs[1]
        lead, dse = second.elpd_diff, second.dse
        if lead > 2.0 * dse:
            text = (
                f"the data favour {best.name}: elpd_loo ahead of {second.name} by "
                f"{lead:.1f} (se {dse:.1f}, more than 2 se)"
            )
        else:
            text = (
                f"no clear winner: {best.name} leads {second.name} by {lead:.1f} elpd "
                f"(se {dse:.1f}, within 2 se); the data do not separate them"
            )
        unreliable = [r.name for r in self.runs if not r.score.loo_reliable]
        if unreliable:
            text += (
                f"; high Pareto k in {', '.join(unreliable)}: their LOO estimates are unreliable "
                "(more draws, or a model that fits the flagged weeks, would help)"
            )
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"best", "verdict", "runs": [...]}`` (finite numbers only)."""
        rows = []
        for r in self.runs:
            row = {"name": r.name, "rank": r.rank, **asdict(r.score)}
            row.update(elpd_diff=r.elpd_diff, dse=r.dse, weight=r.weight)
            row["loo_reliable"] = r.score.loo_reliable
            rows.append({k: _finite(v) for k, v in row.items()})
        return {"best": self.best.name, "verdict": self.verdict(), "runs": rows}


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _loo_data(posterior: Posterior, name: str) -> Any:
    """InferenceData with the posterior at the stored log-likelihood's draws (ArviZ takes the
    relative efficiency of PSIS from that posterior) and the log-likelihood."""
    import arviz as az

    if posterior.method is FitMethod.MAP:
        raise SpecError(
            f"run {name!r} is a MAP fit (a point estimate): LOO needs posterior draws; "
            "fit it with method nuts (or svi)"
        )
    draws = posterior.predictive  # as stored, or computed for a fresh fit
    index = draws.draw_index
    kept = {k: np.asarray(v)[:, index] for k, v in posterior.samples.items()}
    loglik = draws.log_likelihood.reshape(*draws.log_likelihood.shape[:2], -1)
    return az.from_dict(
        posterior=kept,
        log_likelihood={KPI_VARIABLE: loglik},
        coords={"draw": index, "observation": np.arange(loglik.shape[-1])},
        dims={KPI_VARIABLE: ["observation"]},
    )


def require_log_likelihood(posterior: Posterior, name: str) -> None:
    """Refuse (:class:`RunDirError`) a run loaded from a folder whose ``posterior.nc`` has no
    log-likelihood (written before mixflow stored it): what ``compare-runs`` compares is what
    each fit wrote."""
    if posterior.predictive_draws is None:
        raise RunDirError(
            f"run {name!r} has no log_likelihood group in posterior.nc (written by an older "
            "mixflow); fit it again to compare it"
        )


def score_run(posterior: Posterior, name: str = "run") -> PredictiveScore:
    """PSIS-LOO and WAIC of one run (see :class:`PredictiveScore`)."""
    return _score(_loo_data(posterior, name))


def _score(idata: Any) -> PredictiveScore:
    import arviz as az

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        loo = az.loo(idata, pointwise=True)
        waic = az.waic(idata)
    k = np.asarray(loo.pareto_k.values)
    threshold = float(loo.get("good_k", PARETO_K_THRESHOLD))
    return PredictiveScore(
        elpd_loo=float(loo.elpd_loo),
        se_loo=float(loo.se),
        p_loo=float(loo.p_loo),
        elpd_waic=float(waic.elpd_waic),
        se_waic=float(waic.se),
        n_observations=int(loo.n_data_points),
        n_draws=int(loo.n_samples),
        pareto_k_threshold=threshold,
        n_high_pareto_k=int(np.sum(k > threshold)),
        max_pareto_k=float(np.max(k)),
    )


def compare_runs(posteriors: Mapping[str, Posterior]) -> RunComparison:
    """Rank two or more runs by PSIS-LOO (ArviZ ``compare``, stacking weights).

    Raises :class:`SpecError` when fewer than two runs are given, a run is a MAP fit, or the
    runs were fitted to different data or periods. A posterior without stored predictive
    groups (a fresh fit, an older run folder) has them computed (see
    :attr:`Posterior.predictive`)."""
    import arviz as az

    if len(posteriors) < 2:
        raise SpecError(f"compare needs at least two runs (got {len(posteriors)})")
    names = list(posteriors)
    _check_same_observations(posteriors)
    data = {name: _loo_data(posteriors[name], name) for name in names}
    scores = {name: _score(idata) for name, idata in data.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = az.compare(data, ic="loo", method="stacking")
    ranked = tuple(
        RankedRun(
            name=str(name),
            rank=int(row["rank"]),
            score=scores[str(name)],
            elpd_diff=float(row["elpd_diff"]),
            dse=float(row["dse"]),
            weight=float(row["weight"]),
        )
        for name, row in table.iterrows()
    )
    return RunComparison(tuple(sorted(ranked, key=lambda r: r.rank)))


def _check_same_observations(posteriors: Mapping[str, Posterior]) -> None:
    first_name, first = next(iter(posteriors.items()))
    fingerprint = first.dataset.fingerprint()
    for name, post in posteriors.items():
        if post.dataset.fingerprint() != fingerprint:
            raise SpecError(
                f"runs {first_name!r} and {name!r} were fitted to different data: their "
                "log-likelihoods are of different observations and do not compare"
            )
        if post.holdout_weeks != first.holdout_weeks:
            raise SpecError(
                f"runs {first_name!r} and {name!r} hold out different periods "
                f"(fit.holdout_weeks {first.holdout_weeks} and {post.holdout_weeks}): "
                "they do not compare"
            )
