"""Frozen, validated value objects describing a model and a fit."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from mixflow.data.lift_tests import LiftTest, lift_test_from_record, load_lift_tests
from mixflow.errors import SpecError
from mixflow.spec.config import CalibrationConfig, LiftTestConfig, MixflowConfig


class Adstock(StrEnum):
    GEOMETRIC = "geometric"
    WEIBULL = "weibull"
    BINOMIAL = "binomial"


class Saturation(StrEnum):
    HILL = "hill"
    LOGISTIC = "logistic"


class Trend(StrEnum):
    NONE = "none"
    LINEAR = "linear"
    PIECEWISE = "piecewise"


class Likelihood(StrEnum):
    NORMAL = "normal"
    STUDENT_T = "student_t"


class PriorParameterization(StrEnum):
    ROI = "roi"
    COEFFICIENT = "coefficient"


class CalibrationMethod(StrEnum):
    """How lift tests enter the model."""

    LIKELIHOOD = "likelihood"
    ROI_PRIOR = "roi_prior"


class FitMethod(StrEnum):
    NUTS = "nuts"
    MAP = "map"
    SVI = "svi"


@dataclass(frozen=True)
class LogNormalPrior:
    """LogNormal prior stated by its median (original units) and log-scale sigma."""

    median: float
    sigma: float

    def __post_init__(self) -> None:
        if not self.median > 0:
            raise SpecError(f"lognormal prior: median must be > 0, got {self.median}")
        if not self.sigma > 0:
            raise SpecError(f"lognormal prior: sigma must be > 0, got {self.sigma}")


@dataclass(frozen=True)
class PriorSpec:
    """Priors on media effects.

    ``roi`` maps channel -> ROI prior; channels not listed get the data-derived default: a
    lognormal whose median makes all media together explain ``media_share`` of the KPI value
    (each channel in proportion to its spend), with log-sd ``roi_sigma``.
    """

    parameterization: PriorParameterization = PriorParameterization.ROI
    roi: tuple[tuple[str, LogNormalPrior], ...] = ()
    coefficient_sigma: tuple[tuple[str, float], ...] = ()
    media_share: float = 0.25
    roi_sigma: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.media_share < 1:
            raise SpecError(f"priors.media_share must be in (0, 1), got {self.media_share}")


@dataclass(frozen=True)
class ModelSpec:
    adstock: Adstock = Adstock.GEOMETRIC
    max_lag: int = 8
    saturation: Saturation = Saturation.HILL
    seasonality_period: float = 52.18
    fourier_terms: int = 3
    trend: Trend = Trend.LINEAR
    trend_knots: int = 4
    likelihood: Likelihood = Likelihood.NORMAL
    priors: PriorSpec = field(default_factory=PriorSpec)

    def __post_init__(self) -> None:
        if self.max_lag < 0:
            raise SpecError(f"model.max_lag must be >= 0, got {self.max_lag}")
        if self.fourier_terms < 0:
            raise SpecError(
                f"model.seasonality.fourier_terms must be >= 0, got {self.fourier_terms}"
            )


@dataclass(frozen=True)
class FitConfig:
    method: FitMethod = FitMethod.NUTS
    chains: int = 4
    warmup: int = 1000
    draws: int = 1000
    seed: int = 1
    holdout_weeks: int = 0
    target_accept: float = 0.9
    max_tree_depth: int = 10
    chain_method: str = "auto"
    svi_steps: int = 3000
    progress_bar: bool = True
    init_mass: str = "laplace"

    def __post_init__(self) -> None:
        if self.chains < 1 or self.draws < 1 or self.warmup < 0:
            raise SpecError("fit: chains and draws must be >= 1 and warmup >= 0")
        if self.chain_method not in ("auto", "parallel", "vectorized", "sequential"):
            raise SpecError(
                f"fit.chain_method must be one of auto, parallel, vectorized, sequential; got {self.chain_method!r}"
            )
        if self.init_mass not in ("laplace", "identity"):
            raise SpecError(f"fit.init_mass must be laplace or identity; got {self.init_mass!r}")


def model_spec_from_config(cfg: MixflowConfig) -> ModelSpec:
    m = cfg.model
    channels = {media.name for media in cfg.data.media}
    for section, names in (("roi", m.priors.roi), ("coefficient", m.priors.coefficient)):
        for name in names:
            if name not in channels:
                from mixflow.errors import did_you_mean

                raise SpecError(
                    f"model.priors.{section}: unknown channel '{name}'{did_you_mean(name, channels)}; "
                    f"channels are: {', '.join(sorted(channels))}"
                )
    priors = PriorSpec(
        parameterization=PriorParameterization(m.priors.parameterization),
        roi=tuple((k, LogNormalPrior(v.median, v.sigma)) for k, v in m.priors.roi.items()),
        coefficient_sigma=tuple((k, v.sigma) for k, v in m.priors.coefficient.items()),
        media_share=m.priors.media_share,
        roi_sigma=m.priors.roi_sigma,
    )
    return ModelSpec(
        adstock=Adstock(m.adstock),
        max_lag=m.max_lag,
        saturation=Saturation(m.saturation),
        seasonality_period=m.seasonality.period,
        fourier_terms=m.seasonality.fourier_terms,
        trend=Trend(m.trend),
        trend_knots=m.trend_knots,
        likelihood=Likelihood(m.likelihood),
        priors=priors,
    )


def fit_config_from_config(cfg: MixflowConfig) -> FitConfig:
    f = cfg.fit
    return FitConfig(
        method=FitMethod(f.method),
        chains=f.chains,
        warmup=f.warmup,
        draws=f.draws,
        seed=f.seed,
        holdout_weeks=f.holdout_weeks,
        target_accept=f.target_accept,
        max_tree_depth=f.max_tree_depth,
        chain_method=f.chain_method,
        svi_steps=f.svi_steps,
        progress_bar=f.progress_bar,
        init_mass=f.init_mass,
    )


@dataclass(frozen=True)
class CalibrationSpec:
    """Lift tests and how they calibrate the model (see :mod:`mixflow.data.lift_tests`)."""

    tests: tuple[LiftTest, ...]
    method: CalibrationMethod = CalibrationMethod.LIKELIHOOD

    def __post_init__(self) -> None:
        if not self.tests:
            raise SpecError("calibration: no lift tests (give calibration.experiments or tests)")


def inline_calibration(cfg: MixflowConfig, base_dir: Path) -> MixflowConfig:
    """``cfg`` with its experiments table read and written into ``calibration.tests``, so the
    config alone (as saved with a run) carries every lift test."""
    cal = cfg.calibration
    if cal is None or cal.experiments is None:
        return cfg
    path = Path(cal.experiments)
    tests = load_lift_tests(path if path.is_absolute() else base_dir / path)
    inlined = [LiftTestConfig(**t.to_record(), source=t.label) for t in tests]
    new_cal = CalibrationConfig(experiments=None, method=cal.method, tests=[*cal.tests, *inlined])
    return cfg.model_copy(update={"calibration": new_cal})


def calibration_from_config(cfg: MixflowConfig) -> CalibrationSpec | None:
    """The calibration of an inlined config (see :func:`inline_calibration`), if any."""
    cal = cfg.calibration
    if cal is None:
        return None
    if cal.experiments is not None:
        raise SpecError(
            "calibration.experiments must be read first (inline_calibration); this is a bug"
        )
    tests = tuple(
        lift_test_from_record(t.model_dump(), t.source or f"calibration.tests[{i}]")
        for i, t in enumerate(cal.tests)
    )
    channels = {m.name for m in cfg.data.media}
    for test in tests:
        if test.channel not in channels:
            from mixflow.errors import did_you_mean

            raise SpecError(
                f"{test.label}: unknown channel '{test.channel}'"
                f"{did_you_mean(test.channel, channels)}; channels are: "
                f"{', '.join(sorted(channels))}"
            )
    return CalibrationSpec(tests=tests, method=CalibrationMethod(cal.method))
