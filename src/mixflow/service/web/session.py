"""The planner's browser session: a signed cookie naming the API key, and a CSRF token.

The cookie holds ``<key_id>.<expires>.<mac>`` where ``mac`` is HMAC-SHA256 under the server's
session secret of the key id, the expiry and the key's stored digest. The key itself never
leaves the sign-in request body; revoking the key (its row) ends every session made with it.
The CSRF token is a second HMAC of the cookie value: the page gets it in a ``<meta>`` tag and
sends it in the ``X-CSRF-Token`` header of every state-changing call. A cross-site page can
neither read it nor make the browser send the SameSite=Strict cookie.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
import time
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Final

from sqlalchemy.orm import Session

from mixflow.service.db.models import ApiKey

if TYPE_CHECKING:
    from fastapi import Request

    from mixflow.service.auth import Caller

SESSION_COOKIE: Final = "mixflow_session"
CSRF_HEADER: Final = "X-CSRF-Token"
SESSION_SECONDS: Final = 8 * 3600
SECRET_FILE: Final = "session_secret"
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


@cache
def _secret_at(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".session_secret.")
        try:
            os.write(fd, secrets.token_hex(32).encode())
            os.close(fd)
            os.chmod(tmp, 0o600)
            # link, not rename: a second process creating it at the same moment keeps the first
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    return path.read_bytes().strip()


def session_secret(home: Path) -> bytes:
    """The session signing secret of ``home`` (created once, shared by every API process)."""
    return _secret_at(Path(home).resolve() / SECRET_FILE)


def _mac(secret: bytes, message: str) -> str:
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


def make_session(secret: bytes, key_id: str, key_digest: str, now: float | None = None) -> str:
    """A cookie value for key ``key_id`` (its stored digest ``key_digest``), valid 8 hours."""
    expires = int((time.time() if now is None else now) + SESSION_SECONDS)
    return f"{key_id}.{expires}.{_mac(secret, f'{key_id}.{expires}.{key_digest}')}"


def session_key(secret: bytes, value: str, db: Session, now: float | None = None) -> ApiKey | None:
    """The active key a cookie value was made for, or None (forged, expired or revoked)."""
    parts = value.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    key_id, expires, mac = parts
    if int(expires) < (time.time() if now is None else now):
        return None
    row = db.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return None
    expected = _mac(secret, f"{key_id}.{expires}.{row.digest}")
    return row if hmac.compare_digest(expected, mac) else None


def csrf_token(secret: bytes, value: str) -> str:
    """The CSRF token bound to session cookie ``value``."""
    return _mac(secret, f"csrf:{value}")


def cookie_caller(request: Request, db: Session) -> Caller | None:
    """The caller of a request signed in by cookie, or None when it has no valid session.

    A state-changing request must carry the session's CSRF token (403 otherwise).
    """
    from mixflow.errors import ForbiddenError
    from mixflow.service.auth import Caller, Role

    value = request.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    secret = session_secret(request.app.state.settings.home)
    row = session_key(secret, value, db)
    if row is None:
        return None
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent, csrf_token(secret, value)):
            raise ForbiddenError(
                f"missing or wrong {CSRF_HEADER} header: reload the page and try again"
            )
    return Caller(key_id=row.id, workspace=row.workspace, role=Role[row.role], name=row.name)
