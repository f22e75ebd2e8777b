"""End-to-end steps: validate a config, fit, analyse, write and load run directories."""

from mixflow.workflow.runs import (
    fit_dataset,
    fit_run,
    load_run,
    validate_config,
    with_overrides,
    write_run,
)

__all__ = ["fit_dataset", "fit_run", "load_run", "validate_config", "with_overrides", "write_run"]
