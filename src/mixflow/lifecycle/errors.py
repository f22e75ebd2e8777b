"""Errors of the model lifecycle (registry, promotion, audit).

``RegistryError`` lives in :mod:`mixflow.errors` with the rest of the hierarchy; it is
re-exported here for the lifecycle's own modules and older imports.
"""

from __future__ import annotations

from mixflow.errors import RegistryError

__all__ = ["RegistryError"]
