"""Reading policy files (gates, monitor, refresh): YAML mappings whose keys are the fields of a
frozen dataclass. Unknown keys and values of the wrong type raise :class:`SpecError` naming the
key, the value and what is allowed."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from mixflow.errors import SpecError, did_you_mean

T = TypeVar("T")


def read_mapping(path: Path, what: str) -> dict[str, Any]:
    """The top-level mapping of YAML file ``path`` (empty file: ``{}``)."""
    from mixflow.data.io import read_settings_text, yaml_problem

    text = read_settings_text(Path(path), what)  # a FIFO or /dev/zero is refused, not read
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise SpecError(f"{what} {path}: cannot read: {yaml_problem(err)}") from None
    if not isinstance(data, Mapping):
        raise SpecError(f"{what} {path}: expected a mapping of settings, got {type(data).__name__}")
    return {str(k): v for k, v in data.items()}


def check_keys(data: Mapping[str, Any], allowed: list[str], what: str) -> None:
    """Raise :class:`SpecError` for the first key of ``data`` not in ``allowed``."""
    for key in data:
        if key not in allowed:
            raise SpecError(
                f"{what}: unknown key {key!r}{did_you_mean(str(key), allowed)}; "
                f"allowed: {', '.join(allowed)}"
            )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_scalar_types(cls: type, data: Mapping[str, Any], what: str) -> None:
    """Check the values of ``data`` whose dataclass field in ``cls`` is a plain ``float``,
    ``int`` or ``bool`` (other fields are left to the class's own validation)."""
    hints = typing.get_type_hints(cls)
    for key, value in data.items():
        kind = hints.get(key)
        if kind is float and not _is_number(value):
            raise SpecError(f"{what}: {key} must be a number, got {value!r}")
        if kind is int and (not isinstance(value, int) or isinstance(value, bool)):
            raise SpecError(f"{what}: {key} must be an integer, got {value!r}")
        if kind is bool and not isinstance(value, bool):
            raise SpecError(f"{what}: {key} must be true or false, got {value!r}")


def dataclass_from_mapping(cls: type[T], data: Mapping[str, Any], what: str) -> T:
    """``cls(**data)`` after checking keys and scalar types (see :func:`check_scalar_types`)."""
    check_keys(data, [f.name for f in dataclasses.fields(cls)], what)  # type: ignore[arg-type]
    check_scalar_types(cls, data, what)
    return cls(**data)


__all__ = ["check_keys", "check_scalar_types", "dataclass_from_mapping", "read_mapping"]
