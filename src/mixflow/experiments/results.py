"""``result.json``, the file ``mixflow experiment analyze`` (a geo experiment) and ``mixflow
experiment impact`` (a causal impact) write: one typed, versioned document per kind, told apart
by ``kind``, its JSON Schema, and a reader that upgrades the files older versions wrote.

Version 1 (before the documents were typed) had neither ``schema_version`` nor ``kind``; a geo
result's ``att`` was then the per-date list and its average sat in ``att_mean``. Version 2 puts
the average in ``att`` and the series in ``att_by_date``; :func:`upgrade_result` turns the first
into the second, so folders written by older versions stay readable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from mixflow.errors import RunDirError
from mixflow.experiments.geo import GeoResultDocument
from mixflow.experiments.impact import ImpactResultDocument
from mixflow.experiments.methods import RESULT_SCHEMA_VERSION, GeoMethod
from mixflow.schema_errors import format_validation_error

ResultDocument = Annotated[GeoResultDocument | ImpactResultDocument, Field(discriminator="kind")]
"""Either experiment's ``result.json``."""

_KINDS: dict[str, type[GeoResultDocument] | type[ImpactResultDocument]] = {
    "geo": GeoResultDocument,
    "impact": ImpactResultDocument,
}
_ADAPTER: TypeAdapter[GeoResultDocument | ImpactResultDocument] = TypeAdapter(ResultDocument)


def upgrade_result(raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` in the newest version's shape: a version-1 document gets its ``kind`` (from its
    ``method``) and ``schema_version``, and a geo result's ``att`` list becomes
    ``att_by_date`` with the average (``att_mean``) in ``att``. Newer documents are returned
    unchanged."""
    if "schema_version" in raw:
        return raw
    out = dict(raw)
    geo = out.get("method") in {m.value for m in GeoMethod}
    out["kind"] = "geo" if geo else "impact"
    out["schema_version"] = RESULT_SCHEMA_VERSION
    if geo and isinstance(out.get("att"), list):
        out["att_by_date"] = out.pop("att")
        series = out["att_by_date"]
        average = out.pop("att_mean", None)
        if average is None and series:
            average = sum(series) / len(series)
        out["att"] = average
    return out


def parse_result(
    data: str | bytes | dict[str, Any], source: str = "result.json"
) -> GeoResultDocument | ImpactResultDocument:
    """The typed document of a ``result.json`` of any version; :class:`RunDirError` naming the
    first wrong field and its value, or a too-new ``schema_version``."""
    try:
        obj = json.loads(data) if isinstance(data, str | bytes) else data
    except json.JSONDecodeError as err:
        raise RunDirError(f"{source} is not valid JSON: {err}") from None
    if not isinstance(obj, dict):
        raise RunDirError(f"{source}: expected a JSON object, got {type(obj).__name__}")
    version = obj.get("schema_version", 1)
    if isinstance(version, int) and version > RESULT_SCHEMA_VERSION:
        raise RunDirError(
            f"{source}: schema_version {version} is newer than this mixflow reads "
            f"({RESULT_SCHEMA_VERSION}); upgrade mixflow"
        )
    upgraded = upgrade_result(obj)
    model = _KINDS.get(str(upgraded.get("kind")))
    if model is None:
        raise RunDirError(
            f"{source}: unknown kind {upgraded.get('kind')!r}; allowed: {', '.join(_KINDS)}"
        )
    try:
        return model.model_validate(upgraded)
    except ValidationError as err:
        raise RunDirError(format_validation_error(err, source, model).splitlines()[0]) from None


def load_result(path: Path) -> GeoResultDocument | ImpactResultDocument:
    """The ``result.json`` at ``path`` (a file, or the folder holding it)."""
    path = Path(path)
    if path.is_dir():
        path = path / "result.json"
    if not path.is_file():
        raise RunDirError(f"no result.json at {str(path)!r}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RunDirError(f"{path.name} is not readable: {err}") from None
    return parse_result(text, str(path))


def result_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``result.json`` (validation mode): one of the two documents."""
    return _ADAPTER.json_schema()


__all__ = [
    "ResultDocument",
    "load_result",
    "parse_result",
    "result_json_schema",
    "upgrade_result",
]
