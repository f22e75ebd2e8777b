"""Inference (NUTS, MAP, SVI) and diagnostics."""

from mixflow.inference.diagnostics import Diagnostics, compute_diagnostics
from mixflow.inference.fit import FitOutput, fit_design, resolve_chain_method

__all__ = ["Diagnostics", "FitOutput", "compute_diagnostics", "fit_design", "resolve_chain_method"]
