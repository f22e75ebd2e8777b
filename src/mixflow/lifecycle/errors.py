"""Errors of the model lifecycle (registry, promotion, audit).

``RegistryError`` lives here for now; it will move into :mod:`mixflow.errors`.
"""

from __future__ import annotations

from mixflow.errors import MixflowError


class RegistryError(MixflowError):
    """A registry operation was refused or failed: unknown model or version, a failed
    governance gate, a run directory that cannot be registered. The message says which."""

    exit_code = 2


__all__ = ["RegistryError"]
