"""Placeholder: filled in by the experiment_impact work (registers commands on the experiment app)."""
