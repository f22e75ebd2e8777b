"""Analysis of a fitted posterior: contributions, ROI/mROI/CPA, response and adstock curves,
fit quality. Pure functions of (posterior, data)."""

from mixflow.analysis.draws import DrawQuantities, compute_draws
from mixflow.analysis.metrics import fit_metrics
from mixflow.analysis.stats import hdi, stat
from mixflow.analysis.summary import Analysis, analyze

__all__ = ["Analysis", "DrawQuantities", "analyze", "compute_draws", "fit_metrics", "hdi", "stat"]
