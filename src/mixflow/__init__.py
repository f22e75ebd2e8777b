"""mixflow: Bayesian marketing mix modeling on JAX/NumPyro."""

from mixflow.errors import (
    ConvergenceError,
    DataError,
    MixflowError,
    SpecError,
)

__version__ = "0.1.0"

__all__ = ["ConvergenceError", "DataError", "MixflowError", "SpecError", "__version__"]
