"""The specs of a model, a fit and a calibration.

:class:`ModelSpec`, :class:`PriorSpec` and :class:`FitConfig` are the config's own validated
(frozen) sections, defined in :mod:`mixflow.spec.config`; this module adds the calibration spec,
whose lift tests are read from the experiments table (:mod:`mixflow.data.lift_tests`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mixflow.data.lift_tests import LiftTest, lift_test_from_record, load_lift_tests
from mixflow.errors import SpecError, did_you_mean
from mixflow.spec.config import (
    CalibrationConfig,
    FitConfig,
    LiftTestConfig,
    LogNormalPrior,
    MixflowConfig,
    ModelSpec,
    PriorSpec,
)
from mixflow.spec.options import (
    Adstock,
    CalibrationMethod,
    ChainMethod,
    FitMethod,
    GeoSaturation,
    InitMass,
    Likelihood,
    PriorParameterization,
    Saturation,
    Trend,
)


def model_spec_from_config(cfg: MixflowConfig) -> ModelSpec:
    """The model spec of a config: its validated ``model`` section."""
    return cfg.model


def fit_config_from_config(cfg: MixflowConfig) -> FitConfig:
    """The fit settings of a config: its validated ``fit`` section."""
    return cfg.fit


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
            raise SpecError(
                f"{test.label}: unknown channel '{test.channel}'"
                f"{did_you_mean(test.channel, channels)}; channels are: "
                f"{', '.join(sorted(channels))}"
            )
    return CalibrationSpec(tests=tests, method=CalibrationMethod(cal.method))


__all__ = [
    "Adstock",
    "CalibrationMethod",
    "CalibrationSpec",
    "ChainMethod",
    "FitConfig",
    "FitMethod",
    "GeoSaturation",
    "InitMass",
    "Likelihood",
    "LogNormalPrior",
    "ModelSpec",
    "PriorParameterization",
    "PriorSpec",
    "Saturation",
    "Trend",
    "calibration_from_config",
    "fit_config_from_config",
    "inline_calibration",
    "model_spec_from_config",
]
