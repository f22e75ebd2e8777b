"""Placeholder: filled in by the experiment_design work (registers commands on the experiment app)."""
