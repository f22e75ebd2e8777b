"""The schemas of the files a user writes, and how their errors read.

Every file mixflow reads from a user (the model config, gate / monitor / refresh policies, design
and impact settings) is a pydantic model derived from :class:`StrictModel`: frozen, unknown keys
forbidden. Its validation errors all go through :func:`format_validation_error`, one line per
problem, naming the file, the field path, the value given, the allowed keys or values and a
did-you-mean::

    cfg.yaml: unknown key 'model.adstok' (did you mean 'adstock'?); allowed here: adstock, ...
    cfg.yaml: model.adstock: Input should be 'geometric', 'weibull' or 'binomial' (got 'geometrik') (did you mean 'geometric'?)
    monitor policy: psi_bins: must be an integer (got 2.5)

This module sits beside :mod:`mixflow.errors`, above every package, so ``data``, ``spec``,
``experiments`` and ``lifecycle`` share it without importing each other.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError

from mixflow.errors import SpecError, did_you_mean

M = TypeVar("M", bound=BaseModel)

#: friendlier words for pydantic's type errors (their own messages mention Python types)
_TYPE_MESSAGES: dict[str, str] = {
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "int_parsing": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
}


class StrictModel(BaseModel):
    """Base of every user-facing schema: frozen, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckedModel(StrictModel):
    """A schema that code also builds directly (a policy, the design settings): building one
    with bad values (``GatePolicy(rhat_max=0.5)``) raises :class:`SpecError` with the formatted
    message, as reading it from a file does; ``schema_source`` names it there.

    (A custom ``__init__`` makes pydantic call it for nested values too, so a nested checked
    model reports under its own ``schema_source``; the config's sections are plain
    :class:`StrictModel` and keep their dotted paths.)
    """

    schema_source: ClassVar[str] = "settings"

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as err:
            raise SpecError(format_validation_error(err, self.schema_source, type(self))) from None


# ------------------------------------------------------------------------------ the formatter
def _unwrap(ann: Any) -> list[Any]:
    """The arms of a union (or ``[ann]``), ``Annotated`` and ``None`` stripped."""
    origin = get_origin(ann)
    if origin is typing.Annotated:
        return _unwrap(get_args(ann)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [a for arm in get_args(ann) for a in _unwrap(arm) if a is not type(None)]
    return [ann]


def _tag_of(model: type[BaseModel]) -> str | None:
    """The literal value of a tagged-union member's ``distribution``/``kind`` style tag."""
    for info in model.model_fields.values():
        args = get_args(info.annotation) if get_origin(info.annotation) is Literal else ()
        if len(args) == 1 and isinstance(args[0], str):
            return args[0]
    return None


def _step(ann: Any, part: str | int) -> tuple[Any, bool]:
    """Follow one location part from annotation ``ann``: ``(next annotation, is_tag)``, where
    ``is_tag`` marks the tag a tagged union adds to the location."""
    arms = _unwrap(ann)
    models = [a for a in arms if isinstance(a, type) and issubclass(a, BaseModel)]
    if len(models) > 1:
        for arm in models:
            if _tag_of(arm) == part:
                return arm, True
    for arm in models:
        if isinstance(part, str) and part in arm.model_fields:
            return arm.model_fields[part].annotation, False
    for arm in arms:
        origin = get_origin(arm)
        if origin in (dict, Mapping, typing.Mapping) or (
            isinstance(origin, type) and issubclass(origin, Mapping)
        ):
            return get_args(arm)[1], False
        if origin in (list, tuple, set, frozenset) and isinstance(part, int):
            return get_args(arm)[0], False
    return None, False


def _walk(root: type[BaseModel] | None, loc: tuple[Any, ...]) -> tuple[Any, str]:
    """The annotation holding ``loc[-1]`` and the dotted path of ``loc`` without union tags."""
    ann: Any = root
    shown: list[str] = []
    for part in loc[:-1]:
        if ann is None:
            shown.append(str(part))
            continue
        ann, is_tag = _step(ann, part)
        if not is_tag:
            shown.append(str(part))
    if loc:
        shown.append(str(loc[-1]))
    return ann, ".".join(shown)


def allowed_keys(root: type[BaseModel] | None, loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed in the mapping that holds ``loc[-1]`` (a path in ``root``'s tree)."""
    ann, _ = _walk(root, loc)
    for arm in _unwrap(ann) if ann is not None else []:
        if isinstance(arm, type) and issubclass(arm, BaseModel):
            return list(arm.model_fields)
    return []


def _shown(value: Any) -> str:
    return "" if isinstance(value, dict | list) else f" (got {value!r})"


def _one_line(e: Mapping[str, Any], source: str, root: type[BaseModel] | None) -> str:
    loc = tuple(e.get("loc", ()))
    _, where = _walk(root, loc) if root is not None else (None, ".".join(map(str, loc)))
    kind = e.get("type")
    value = e.get("input")
    ctx = e.get("ctx") or {}
    if kind == "extra_forbidden":
        allowed = allowed_keys(root, loc)
        hint = did_you_mean(str(loc[-1]), allowed)
        scope = "allowed here" if len(loc) > 1 else "allowed"
        return f"{source}: unknown key '{where}'{hint}; {scope}: {', '.join(allowed)}"
    if kind == "missing":
        return f"{source}: missing required key '{where}'"
    if kind == "union_tag_invalid":
        tags = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        tag = str(ctx.get("tag", ""))
        return (
            f"{source}: {where}: unknown {ctx.get('discriminator', 'kind').strip(chr(39))} "
            f"'{tag}'{did_you_mean(tag, tags)}; allowed: {', '.join(tags)}"
        )
    prefix = f"{source}: {where}: " if where else f"{source}: "
    if kind in _TYPE_MESSAGES:
        return f"{prefix}{_TYPE_MESSAGES[str(kind)]}{_shown(value)}"
    msg = str(e.get("msg", "invalid value")).removeprefix("Value error, ")
    if kind in ("enum", "literal_error"):
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return f"{prefix}{msg}{_shown(value)}{did_you_mean(str(value), choices)}"
    if kind == "value_error" and not where:  # a model's own check names fields and values
        return f"{prefix}{msg}"
    return f"{prefix}{msg}{_shown(value)}"


def format_validation_error(
    err: ValidationError, source: str = "config", root: type[BaseModel] | None = None
) -> str:
    """One readable line per problem of ``err``; ``source`` names the file (or the kind of
    file), ``root`` is the schema validated (for the allowed keys of an unknown one)."""
    return "\n".join(_one_line(e, source, root) for e in err.errors())


def validate_mapping(model: type[M], raw: Any, source: str) -> M:
    """``model`` validated from a parsed YAML/JSON mapping; errors raise :class:`SpecError`."""
    if not isinstance(raw, Mapping):
        raise SpecError(f"{source}: expected a mapping of settings, got {type(raw).__name__}")
    try:
        return model.model_validate(dict(raw))
    except ValidationError as err:
        raise SpecError(format_validation_error(err, source, model)) from None


__all__ = [
    "CheckedModel",
    "StrictModel",
    "allowed_keys",
    "format_validation_error",
    "validate_mapping",
]
