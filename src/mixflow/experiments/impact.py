"""Single-series causal impact: a Bayesian structural time series fitted on the pre-period and
projected over the post-period as the counterfactual of one treated series (Brodersen et al.
2015, the model behind Google's CausalImpact), for tests without a geo split.

Model, on the pre-period standardized series (``y`` and every covariate centred and scaled by
their pre-period mean and standard deviation)::

    y_t  = mu_t + x_t . beta + eps_t,      eps_t ~ N(0, sigma_obs^2)
    mu_t = mu_{t-1} + eta_t,               eta_t ~ N(0, sigma_level^2),   mu_1 ~ N(0, 1)

- ``sigma_level^2 ~ InverseGamma(16, 16 s^2)`` with ``s = prior_level_sd`` (0.01 by default):
  CausalImpact's prior, 32 pseudo-observations of a level that moves by 1 % of the pre-period
  standard deviation per step; raise it for series whose level drifts.
- ``sigma_obs ~ HalfNormal(1)``.
- ``beta`` (per standardized covariate): with more covariates ``p`` than ``expected_model_size``
  ``p0`` (3 by default, as CausalImpact), a regularized horseshoe (Piironen & Vehtari 2017,
  non-centred; global scale ``HalfCauchy(p0 / (p - p0) / sqrt(n_pre))``, slab scale 2 with 4
  degrees of freedom) in place of CausalImpact's spike-and-slab, which NUTS cannot sample; with
  ``p <= p0`` there is nothing to select (CausalImpact then keeps every covariate too) and
  ``beta ~ N(0, 2^2)``.

The level is marginalized with a Kalman filter in ``jax.lax.scan``, so NUTS only samples the two
variances and the regression coefficients. For each posterior draw the counterfactual is then
drawn by filtering the pre-period again, drawing the level at the first post-period step from
its one-step-ahead distribution, walking it forward and adding the regression and observation
noise; pre-period "predictions" are one-step-ahead predictive draws (for the charts).

Figures: the point-wise effect is ``y_t - y_hat_t``; the average and cumulative effects are its
mean and sum over the post-period, with equal-tailed 90 % / 95 % intervals over draws; the
relative effect is ``sum(effect) / sum(y_hat)`` in percent; ``p_value`` is the posterior
tail-area probability of the observed post-period sum under the counterfactual,
``min(#(sum y_hat >= sum y), #(sum y_hat <= sum y)) + 1`` over ``n_draws + 1`` (as CausalImpact).

Shapes: ``n_times`` analysed rows, the first ``n_pre`` of them the pre-period, the other
``n_post`` the post-period; covariates ``x`` are ``(n_times, n_covariates)``. Every figure is
in the response's units.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Final, Literal

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from numpyro.infer import MCMC, NUTS, init_to_median
from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from mixflow.analysis.schema import DiagnosticsSummary
from mixflow.errors import DataError, did_you_mean
from mixflow.experiments.methods import RESULT_SCHEMA_VERSION
from mixflow.inference import Diagnostics, compute_diagnostics
from mixflow.model.bsts import bsts_model, draw_paths, horseshoe_global_scale
from mixflow.schema_errors import CheckedModel

MIN_PRE_POINTS: Final = 3
"""The pre-period needs at least this many points plus one per covariate."""
_SAMPLED_SITES: Final = ("sigma_obs", "sigma_level", "beta")
METHOD: Final = "bsts: local level + static regression, NUTS"
#: a finite number (``nan``/``inf`` refused)
_Number = Annotated[float, Field(allow_inf_nan=False)]


class RegressionPrior(StrEnum):
    """The prior the regression coefficients got (it follows from the number of covariates)."""

    none = "none"
    normal = "normal"
    horseshoe = "horseshoe"


class ImpactConfig(CheckedModel):
    """Sampler and prior settings (a pydantic model: a bad value raises
    :class:`~mixflow.errors.SpecError` naming the field, the value and what is expected).
    ``prior_level_sd`` is in pre-period standard deviations of the response per time step;
    ``expected_model_size`` is the number of covariates expected to matter (the horseshoe's
    sparsity)."""

    schema_source: ClassVar[str] = "impact settings"

    draws: StrictInt = 1000
    warmup: StrictInt = 1000
    chains: StrictInt = 2
    seed: StrictInt = 0
    prior_level_sd: _Number = 0.01
    expected_model_size: _Number = 3.0
    target_accept: _Number = 0.9

    @field_validator("draws", "warmup", "chains")
    @classmethod
    def _positive_count(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be a positive integer")
        return value

    @field_validator("prior_level_sd", "expected_model_size")
    @classmethod
    def _positive(cls, value: float) -> float:
        if not value > 0:
            raise ValueError("must be > 0")
        return value

    @field_validator("target_accept")
    @classmethod
    def _probability(cls, value: float) -> float:
        if not 0 < value < 1:
            raise ValueError("must lie in (0, 1)")
        return value

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class _Document(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Estimate(_Document):
    """Posterior summary of one quantity: mean, standard deviation and equal-tailed intervals."""

    mean: float
    sd: float
    ci_90: tuple[float, float]
    ci_95: tuple[float, float]

    @classmethod
    def of(cls, draws: np.ndarray) -> Estimate:
        """Summarize ``draws`` of shape ``(n_draws,)``."""
        q = np.quantile(draws, [0.025, 0.05, 0.95, 0.975])
        return cls(
            mean=float(np.mean(draws)),
            sd=float(np.std(draws, ddof=1)) if draws.size > 1 else 0.0,
            ci_90=(float(q[1]), float(q[2])),
            ci_95=(float(q[0]), float(q[3])),
        )

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class PeriodFigures(_Document):
    """The post-period's observed figure, the counterfactual's and their difference (an
    average per step or the cumulative sum)."""

    actual: float
    predicted: Estimate
    effect: Estimate


class SeriesDocument(_Document):
    """Per-time bands of :class:`ImpactSeries`, each as long as ``time``."""

    time: list[str]
    observed: list[float]
    predicted_mean: list[float]
    predicted_lower: list[float]
    predicted_upper: list[float]
    effect_mean: list[float]
    effect_lower: list[float]
    effect_upper: list[float]
    cumulative_mean: list[float]
    cumulative_lower: list[float]
    cumulative_upper: list[float]


class ImpactResultDocument(_Document):
    """``result.json`` of ``mixflow experiment impact``: the typed, versioned document (its
    JSON Schema is ``mixflow schema result``'s impact arm). Figures are in the response's
    units, ``relative_effect_pct`` in percent; ``average`` is per post-period step."""

    schema_version: Literal[2] = RESULT_SCHEMA_VERSION
    kind: Literal["impact"] = "impact"
    method: str = METHOD
    response: str
    covariates: list[str]
    regression_prior: RegressionPrior
    pre_period: tuple[str, str]
    post_period: tuple[str, str]
    n_pre: int
    n_post: int
    average: PeriodFigures
    cumulative: PeriodFigures
    relative_effect_pct: Estimate
    p_value: float
    prob_causal_effect: float
    coefficients: dict[str, Estimate]
    observation_sd: Estimate
    level_sd: Estimate
    diagnostics: DiagnosticsSummary
    config: ImpactConfig
    series: SeriesDocument

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON object written to ``result.json``."""
        return self.model_dump(mode="json")


@dataclass(frozen=True, eq=False)
class ImpactSeries:
    """Per-time bands for the charts, each ``(n_times,)``: ``*_lower``/``*_upper`` bound the 90 %
    interval. Pre-period predictions are one-step-ahead; the cumulative effect is 0 there."""

    observed: np.ndarray
    predicted_mean: np.ndarray
    predicted_lower: np.ndarray
    predicted_upper: np.ndarray
    effect_mean: np.ndarray
    effect_lower: np.ndarray
    effect_upper: np.ndarray
    cumulative_mean: np.ndarray
    cumulative_lower: np.ndarray
    cumulative_upper: np.ndarray

    def to_dict(self) -> dict[str, list[float]]:
        return {f.name: [float(v) for v in getattr(self, f.name)] for f in fields(self)}


@dataclass(frozen=True, eq=False)
class ImpactResult:
    """The analysed intervention. ``times`` labels the ``n_times`` analysed rows (ISO text);
    ``relative_effect_pct`` is in percent; ``coefficients`` are per unit of each covariate, in
    response units; ``observation_sd`` and ``level_sd`` (per step) are in response units."""

    response: str
    covariates: tuple[str, ...]
    regression_prior: RegressionPrior
    times: tuple[str, ...]
    n_pre: int
    actual_average: float
    actual_cumulative: float
    predicted_average: Estimate
    predicted_cumulative: Estimate
    effect_average: Estimate
    effect_cumulative: Estimate
    relative_effect_pct: Estimate
    p_value: float
    coefficients: dict[str, Estimate]
    observation_sd: Estimate
    level_sd: Estimate
    diagnostics: Diagnostics
    config: ImpactConfig
    series: ImpactSeries = field(repr=False)

    @property
    def n_post(self) -> int:
        return len(self.times) - self.n_pre

    @property
    def prob_causal_effect(self) -> float:
        """Posterior probability of a causal effect, ``1 - p_value``."""
        return 1.0 - self.p_value

    @property
    def pre_period(self) -> tuple[str, str]:
        return self.times[0], self.times[self.n_pre - 1]

    @property
    def post_period(self) -> tuple[str, str]:
        return self.times[self.n_pre], self.times[-1]

    def to_document(self) -> ImpactResultDocument:
        """The typed ``result.json``."""
        return ImpactResultDocument(
            response=self.response,
            covariates=list(self.covariates),
            regression_prior=self.regression_prior,
            pre_period=self.pre_period,
            post_period=self.post_period,
            n_pre=self.n_pre,
            n_post=self.n_post,
            average=PeriodFigures(
                actual=self.actual_average,
                predicted=self.predicted_average,
                effect=self.effect_average,
            ),
            cumulative=PeriodFigures(
                actual=self.actual_cumulative,
                predicted=self.predicted_cumulative,
                effect=self.effect_cumulative,
            ),
            relative_effect_pct=self.relative_effect_pct,
            p_value=self.p_value,
            prob_causal_effect=self.prob_causal_effect,
            coefficients=dict(self.coefficients),
            observation_sd=self.observation_sd,
            level_sd=self.level_sd,
            diagnostics=DiagnosticsSummary.model_validate(self.diagnostics.to_dict()),
            config=self.config,
            series=SeriesDocument(time=list(self.times), **self.series.to_dict()),
        )

    def to_dict(self) -> dict[str, Any]:
        """``result.json``'s JSON object (see :class:`ImpactResultDocument`)."""
        return self.to_document().to_json_dict()


# --------------------------------------------------------------------------- analysis


def _standardize(values: np.ndarray, n_pre: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre and scale each column by its pre-period mean and sd; return (scaled, mean, sd)."""
    mean = values[:n_pre].mean(axis=0)
    sd = values[:n_pre].std(axis=0, ddof=1)
    return (values - mean) / sd, mean, sd


def _check_arrays(
    y: np.ndarray, x: np.ndarray, n_pre: int, response: str, covariates: Sequence[str]
) -> None:
    if y.ndim != 1:
        raise DataError(f"response '{response}' must be one series (n_times,), got shape {y.shape}")
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise DataError(
            f"covariates must have shape (n_times={y.shape[0]}, n_covariates), got {x.shape}"
        )
    if len(covariates) != x.shape[1]:
        raise DataError(f"{x.shape[1]} covariate column(s) but {len(covariates)} name(s)")
    n_min = MIN_PRE_POINTS + x.shape[1]
    if n_pre < n_min:
        raise DataError(
            f"the pre-period has {n_pre} point(s); need at least {n_min} "
            f"({MIN_PRE_POINTS} plus one per covariate)"
        )
    if n_pre >= y.shape[0]:
        raise DataError(f"the post-period is empty: all {y.shape[0]} points are pre-period")
    for name, column in [(response, y), *zip(covariates, x.T, strict=True)]:
        bad = ~np.isfinite(column)
        if bad.any():
            raise DataError(
                f"column '{name}' has {int(bad.sum())} missing or infinite value(s), first at "
                f"position {int(np.flatnonzero(bad)[0])}"
            )
        if np.ptp(column[:n_pre]) == 0:
            raise DataError(f"column '{name}' is constant over the pre-period")


def _sample(
    y_pre: np.ndarray, x_pre: np.ndarray, config: ImpactConfig
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], float]:
    """NUTS draws ``{site: (chains, draws, ...)}``, sampler fields and the seconds it took."""
    global_scale = horseshoe_global_scale(x_pre.shape[1], len(y_pre), config.expected_model_size)
    model = functools.partial(
        bsts_model, prior_level_sd=config.prior_level_sd, global_scale=global_scale
    )
    kernel = NUTS(
        model,
        # a dense mass matrix follows correlated coefficients under the normal prior; under the
        # horseshoe it adapts to the funnel's wide end and diverges in its neck (measured)
        dense_mass=global_scale is None,
        target_accept_prob=config.target_accept,
        init_strategy=init_to_median(),
    )
    mcmc = MCMC(
        kernel,
        num_warmup=config.warmup,
        num_samples=config.draws,
        num_chains=config.chains,
        # vectorized chains take the data as arguments of one compiled loop, so every series of
        # the same length reuses it (parallel chains bake the data into the program)
        chain_method="vectorized",
        progress_bar=False,
        jit_model_args=True,
    )
    start = time.perf_counter()
    mcmc.run(
        jax.random.PRNGKey(config.seed),
        jnp.asarray(y_pre),
        jnp.asarray(x_pre),
        extra_fields=("diverging", "num_steps"),
    )
    # the run is dispatched asynchronously: reading the draws waits for it
    samples = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
    extra = {k: np.asarray(v) for k, v in mcmc.get_extra_fields(group_by_chain=True).items()}
    return samples, extra, time.perf_counter() - start


def analyze_impact(
    y: np.ndarray,
    x: np.ndarray,
    n_pre: int,
    *,
    config: ImpactConfig | None = None,
    times: Sequence[str] | None = None,
    response: str = "y",
    covariates: Sequence[str] | None = None,
) -> ImpactResult:
    """Estimate the effect of an intervention on ``y`` ``(n_times,)`` after its first ``n_pre``
    points, using covariates ``x`` ``(n_times, n_covariates)`` (possibly 0 columns) that the
    intervention did not affect. ``times`` labels the rows (default: their positions)."""
    config = config or ImpactConfig()
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    if covariates is None:
        covariates = [f"x{i + 1}" for i in range(x.shape[-1])]
    names = tuple(covariates)
    _check_arrays(y, x, n_pre, response, names)
    labels = tuple(times) if times is not None else tuple(str(i) for i in range(len(y)))
    if len(labels) != len(y):
        raise DataError(f"{len(labels)} time labels for {len(y)} points")
    ys, y_mean, y_sd = _standardize(y[:, None], n_pre)
    xs, _, x_sd = _standardize(x, n_pre)
    grouped, extra, seconds = _sample(ys[:n_pre, 0], xs[:n_pre], config)
    monitored: dict[str, np.ndarray] = {k: grouped[k] for k in _SAMPLED_SITES if k in grouped}
    diagnostics = compute_diagnostics(
        monitored, extra["diverging"], extra["num_steps"], seconds, "nuts"
    )
    flat = {k: v.reshape(-1, *v.shape[2:]) for k, v in grouped.items()}
    beta = flat.get("beta", np.zeros((flat["sigma_obs"].shape[0], 0)))
    paths = _counterfactual_paths(flat, beta, ys[:, 0], xs, n_pre, config.seed)
    predicted = y_mean[0] + y_sd[0] * paths  # (n_draws, n_times), response units
    effects = _effects(y, predicted, n_pre)
    return ImpactResult(
        response=response,
        covariates=names,
        regression_prior=_regression_prior(len(names), config.expected_model_size),
        times=labels,
        n_pre=n_pre,
        coefficients={
            name: Estimate.of(beta[:, j] * y_sd[0] / x_sd[j]) for j, name in enumerate(names)
        },
        observation_sd=Estimate.of(flat["sigma_obs"] * y_sd[0]),
        level_sd=Estimate.of(flat["sigma_level"] * y_sd[0]),
        diagnostics=diagnostics,
        config=config,
        **{f.name: getattr(effects, f.name) for f in fields(effects)},
    )


def _regression_prior(n_covariates: int, expected_model_size: float) -> RegressionPrior:
    if n_covariates == 0:
        return RegressionPrior.none
    if n_covariates <= expected_model_size:
        return RegressionPrior.normal
    return RegressionPrior.horseshoe


def _counterfactual_paths(
    flat: dict[str, np.ndarray],
    beta: np.ndarray,
    ys: np.ndarray,
    xs: np.ndarray,
    n_pre: int,
    seed: int,
) -> np.ndarray:
    """Standardized paths ``(n_draws, n_times)``, one per posterior draw (see module doc)."""
    key = jax.random.fold_in(jax.random.PRNGKey(seed), 1)  # not the sampler's stream
    paths = draw_paths(
        jax.random.split(key, beta.shape[0]),
        jnp.asarray(flat["sigma_obs"]),
        jnp.asarray(flat["sigma_level"]),
        jnp.asarray(beta),
        jnp.asarray(ys[:n_pre]),
        jnp.asarray(xs[:n_pre]),
        jnp.asarray(xs[n_pre:]),
    )
    return np.asarray(paths, dtype=float)


@dataclass(frozen=True, eq=False)
class _Effects:
    """The effect fields of :class:`ImpactResult`."""

    actual_average: float
    actual_cumulative: float
    predicted_average: Estimate
    predicted_cumulative: Estimate
    effect_average: Estimate
    effect_cumulative: Estimate
    relative_effect_pct: Estimate
    p_value: float
    series: ImpactSeries


def _bands(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo, hi = np.quantile(draws, [0.05, 0.95], axis=0)  # 90 %, as everywhere
    return draws.mean(axis=0), lo, hi


def _effects(y: np.ndarray, predicted: np.ndarray, n_pre: int) -> _Effects:
    """Effects of ``y`` ``(n_times,)`` against counterfactual draws ``(n_draws, n_times)``."""
    effect = y[None, :] - predicted
    post_pred = predicted[:, n_pre:].sum(axis=1)
    actual_sum = float(y[n_pre:].sum())
    n_post = len(y) - n_pre
    cumulative = np.concatenate(
        [np.zeros_like(effect[:, :n_pre]), np.cumsum(effect[:, n_pre:], axis=1)], axis=1
    )
    above = int(np.sum(post_pred >= actual_sum))
    below = int(np.sum(post_pred <= actual_sum))
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = 100.0 * (actual_sum - post_pred) / post_pred
    return _Effects(
        actual_average=actual_sum / n_post,
        actual_cumulative=actual_sum,
        predicted_average=Estimate.of(post_pred / n_post),
        predicted_cumulative=Estimate.of(post_pred),
        effect_average=Estimate.of((actual_sum - post_pred) / n_post),
        effect_cumulative=Estimate.of(actual_sum - post_pred),
        relative_effect_pct=Estimate.of(relative),
        p_value=(min(above, below) + 1) / (len(post_pred) + 1),
        series=ImpactSeries(y.copy(), *_bands(predicted), *_bands(effect), *_bands(cumulative)),
    )


# --------------------------------------------------------------------------- tables


def _time_labels(times: pd.Series) -> tuple[str, ...]:
    """ISO dates when every time is midnight, else ISO date-times (``2016-02-20 22:51:30``)."""
    if bool((times == times.dt.normalize()).all()):
        return tuple(ts.date().isoformat() for ts in times)
    return tuple(str(ts) for ts in times)


def _parse_time(value: str | pd.Timestamp, what: str, tz: Any) -> pd.Timestamp:
    """``value`` as a timestamp in the data's time zone ``tz`` (None: naive)."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as err:
        raise DataError(f"{what} must be a date or date-time, got {value!r}") from err
    if pd.isna(stamp):
        raise DataError(f"{what} must be a date or date-time, got {value!r}")
    if tz is not None and stamp.tzinfo is None:
        return stamp.tz_localize(tz)
    if tz is None and stamp.tzinfo is not None:
        raise DataError(f"{what} {value!r} has a time zone but the data's times have none")
    return stamp


def _select_columns(
    table: pd.DataFrame, date_column: str, response_column: str, covariates: Sequence[str]
) -> pd.DataFrame:
    """The needed columns, dates parsed and rows in time order, one per time."""
    columns = [str(c) for c in table.columns]
    needed = [date_column, response_column, *covariates]
    for column in needed:
        if column not in columns:
            raise DataError(
                f"column '{column}' not found{did_you_mean(column, columns)}; "
                f"columns: {', '.join(columns)}"
            )
    if len(set(needed)) != len(needed):
        raise DataError(f"a column is used twice among date, response and covariates: {needed}")
    frame = table[needed].copy()
    try:
        frame[date_column] = pd.to_datetime(frame[date_column])
    except (ValueError, TypeError) as err:
        raise DataError(f"column '{date_column}' has values that are not dates: {err}") from err
    if frame[date_column].isna().any():
        raise DataError(f"column '{date_column}' has missing dates")
    for column in [response_column, *covariates]:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise DataError(f"column '{column}' must be numeric, got {frame[column].dtype}")
    frame = frame.sort_values(date_column, kind="stable").reset_index(drop=True)
    duplicated = frame[date_column].duplicated()
    if duplicated.any():
        raise DataError(
            f"column '{date_column}' repeats {frame[date_column][duplicated].iloc[0]}; "
            "need one row per time"
        )
    return frame


def analyze_impact_table(
    table: pd.DataFrame,
    *,
    date_column: str,
    response_column: str,
    post_start: str | pd.Timestamp,
    covariates: Sequence[str] | None = None,
    post_end: str | pd.Timestamp | None = None,
    pre_start: str | pd.Timestamp | None = None,
    config: ImpactConfig | None = None,
) -> ImpactResult:
    """Validate a wide table (one row per time) and analyse it with :func:`analyze_impact`.

    The pre-period is every row from ``pre_start`` (default: the first) up to, not including,
    ``post_start``; the post-period runs from ``post_start`` to ``post_end`` inclusive (default:
    the last row). ``covariates`` defaults to every column except the date and the response.
    Rows are taken as consecutive time steps, in time order. Raises :class:`DataError` naming
    the column or value that breaks the contract.
    """
    if covariates is None:
        covariates = [str(c) for c in table.columns if c not in (date_column, response_column)]
    frame = _select_columns(table, date_column, response_column, covariates)
    times = frame[date_column]
    tz = times.dt.tz
    first, last = times.iloc[0], times.iloc[-1]
    start = _parse_time(post_start, "post_start", tz)
    end = _parse_time(post_end, "post_end", tz) if post_end is not None else last
    begin = _parse_time(pre_start, "pre_start", tz) if pre_start is not None else first
    if not first < start <= last:
        raise DataError(
            f"post_start {start} must lie after the first time ({first}) and not after the "
            f"last ({last}) in column '{date_column}'"
        )
    if end < start:
        raise DataError(f"post_end {end} is before post_start {start}")
    if begin >= start:
        raise DataError(f"pre_start {begin} must be before post_start {start}")
    frame = frame[((times >= begin) & (times <= end)).to_numpy()].reset_index(drop=True)
    for column in [response_column, *covariates]:
        missing = frame[column].isna().to_numpy()
        if missing.any():
            raise DataError(
                f"column '{column}' has {int(missing.sum())} missing value(s) in the analysed "
                f"period, first at {frame[date_column][missing].iloc[0]}"
            )
    return analyze_impact(
        frame[response_column].to_numpy(float),
        frame[list(covariates)].to_numpy(float).reshape(len(frame), len(covariates)),
        int((frame[date_column] < start).sum()),
        config=config,
        times=_time_labels(frame[date_column]),
        response=response_column,
        covariates=covariates,
    )
