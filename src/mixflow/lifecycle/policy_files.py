"""Reading policy files (gates, refresh): the top-level YAML mapping of a regular file. Its
keys and values are checked by the policy's pydantic schema (:mod:`mixflow.schema_errors`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from mixflow.errors import SpecError


def read_mapping(path: Path, what: str) -> dict[str, Any]:
    """The top-level mapping of YAML file ``path`` (empty file: ``{}``); a FIFO or device is
    refused, not read, and a YAML error is named without echoing the file's text."""
    from mixflow.data.io import read_settings_text, yaml_problem

    text = read_settings_text(Path(path), what)  # a FIFO or /dev/zero is refused, not read
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise SpecError(f"{what} {path}: cannot read: {yaml_problem(err)}") from None
    if not isinstance(data, Mapping):
        raise SpecError(f"{what} {path}: expected a mapping of settings, got {type(data).__name__}")
    return {str(k): v for k, v in data.items()}


__all__ = ["read_mapping"]
