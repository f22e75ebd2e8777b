"""API keys (stored as HMAC-SHA256 digests), roles and the caller's workspace, as dependencies.

A key is 32 random bytes (``mf_<id>_<secret>``), so a salt-less keyed digest is enough: there
is nothing to brute-force. Comparison of digests is constant-time.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mixflow.errors import (
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    UnauthenticatedError,
)
from mixflow.service.db.models import ApiKey

_PEPPER = b"mixflow-api-key-v1"
_WORKSPACE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class Role(enum.IntEnum):
    """Roles, each allowed what the one below it is: viewer < analyst < admin."""

    viewer = 1
    analyst = 2
    admin = 3


@dataclass(frozen=True)
class Caller:
    """Who calls: the key's id, its workspace, role and name."""

    key_id: str
    workspace: str
    role: Role
    name: str = ""

    @property
    def actor(self) -> str:
        """Who, as the audit log names it: the key's name, else its id."""
        return self.name or f"key {self.key_id}"


@dataclass(frozen=True)
class CreatedKey:
    """A new key: ``secret`` is shown once and never stored."""

    key_id: str
    secret: str
    workspace: str
    role: Role


def digest(secret: str) -> str:
    """The stored HMAC-SHA256 digest of a key (hex)."""
    return hmac.new(_PEPPER, secret.encode(), hashlib.sha256).hexdigest()


def check_workspace(workspace: str) -> str:
    """Return ``workspace`` if it is a valid name, else raise naming the rule."""
    if not _WORKSPACE.match(workspace):
        raise InvalidInputError(
            f"workspace {workspace!r} is invalid: expected 1-63 characters a-z, 0-9, '_' or '-', "
            "starting with a letter or digit"
        )
    return workspace


def parse_role(name: str) -> Role:
    """The role named ``name``, or an error listing the roles."""
    try:
        return Role[name]
    except KeyError:
        allowed = ", ".join(r.name for r in Role)
        raise InvalidInputError(f"role {name!r} is unknown: expected one of {allowed}") from None


def create_key(session: Session, *, name: str, workspace: str, role: Role) -> CreatedKey:
    """Create and store a key; the returned secret is the only copy."""
    key_id = secrets.token_hex(8)
    secret = f"mf_{key_id}_{secrets.token_urlsafe(32)}"
    session.add(
        ApiKey(
            id=key_id,
            digest=digest(secret),
            name=name,
            workspace=check_workspace(workspace),
            role=role.name,
            created_at=datetime.now(UTC),
        )
    )
    session.commit()
    return CreatedKey(key_id=key_id, secret=secret, workspace=workspace, role=role)


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, oldest first (digests included; callers show only ids and names)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at)))


def revoke_key(session: Session, key_id: str) -> None:
    """Revoke key ``key_id`` (it stops authenticating at once)."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFoundError(f"API key {key_id!r} not found")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        session.commit()


def authenticate(session: Session, secret: str) -> Caller | None:
    """The caller holding ``secret``, or None for an unknown or revoked key."""
    match = re.match(r"^mf_([0-9a-f]{16})_", secret)
    if match is None:
        return None
    row = session.get(ApiKey, match.group(1))
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.digest, digest(secret)):
        return None
    return Caller(key_id=row.id, workspace=row.workspace, role=Role[row.role], name=row.name)


_api_key = APIKeyHeader(name="X-API-Key", auto_error=False)
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer KEY")


def get_session(request: Request) -> Session:
    """A session from the app's factory (closed by the caller's dependency scope)."""
    factory: sessionmaker[Session] = request.app.state.sessions
    return factory()


def require(role: Role) -> Callable[..., Caller]:
    """A dependency returning the caller, who must hold at least ``role`` (401 / 403)."""

    def dependency(
        request: Request,
        key: str | None = Depends(_api_key),
        bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> Caller:
        key = key or (bearer.credentials if bearer is not None else None)
        with get_session(request) as session:
            if key:
                caller = authenticate(session, key)
            else:  # the planner's browser session: a signed HttpOnly cookie + CSRF header
                from mixflow.service.web.session import cookie_caller

                caller = cookie_caller(request, session)
                if caller is None:
                    raise UnauthenticatedError(
                        "missing API key: send 'Authorization: Bearer KEY' or an X-API-Key header"
                    )
        if caller is None:
            raise UnauthenticatedError("the API key is unknown or revoked")
        if caller.role < role:
            raise ForbiddenError(f"this needs the {role.name} role; the key has {caller.role.name}")
        return caller

    return dependency
