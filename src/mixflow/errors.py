"""One exception hierarchy for mixflow.

Every error raised on purpose by mixflow derives from :class:`MixflowError`. Messages name the
offending field, column, row or value and say what was expected; the CLI maps these classes to
exit codes (:mod:`mixflow.cli.main`) and the service maps them to HTTP problems
(:mod:`mixflow.service.problems`), each in one place.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class MixflowError(Exception):
    """Base class of every error mixflow raises on purpose."""

    exit_code: int = 1


class DataError(MixflowError):
    """The input data breaks the data contract (missing column, bad value, gaps ...)."""

    exit_code = 2


class SpecError(MixflowError):
    """The configuration or model specification is invalid."""

    exit_code = 2


class ConvergenceError(MixflowError):
    """Inference did not produce a usable posterior."""

    exit_code = 1


class RunDirError(MixflowError):
    """A run directory is missing files or was written by an incompatible version."""

    exit_code = 2


class InfeasiblePlanError(MixflowError):
    """A budget problem has no solution: constraints that contradict each other, or a target
    that no allowed spend reaches. The message names the constraint."""

    exit_code = 2


class RegistryError(MixflowError):
    """A registry operation was refused or failed: unknown model or version, a failed
    governance gate, a run directory that cannot be registered. The message says which."""

    exit_code = 2


class InvalidInputError(MixflowError):
    """A request or command argument is invalid (the message names the field)."""

    exit_code = 2


class UnauthenticatedError(MixflowError):
    """No credentials, or credentials that are unknown or revoked."""

    exit_code = 2


class ForbiddenError(MixflowError):
    """The caller is known but its role may not do this."""

    exit_code = 2


class NotFoundError(MixflowError):
    """The thing asked for does not exist, or belongs to another workspace (never told apart,
    so that existence does not leak)."""

    exit_code = 2


class ConflictError(MixflowError):
    """The request conflicts with the current state: a governance gate fails, an alias moved."""

    exit_code = 2


class QuotaError(MixflowError):
    """A workspace passed one of its limits (queued jobs)."""

    exit_code = 2


class UnavailableError(MixflowError):
    """A dependency (the database, the model store) does not answer right now."""

    exit_code = 1


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest candidate, or ``""`` if none is close."""
    pool = [str(c) for c in candidates]
    matches = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if not matches:
        lowered = {c.lower(): c for c in pool}
        if name.lower() in lowered:
            matches = [lowered[name.lower()]]
    return f" (did you mean '{matches[0]}'?)" if matches else ""
