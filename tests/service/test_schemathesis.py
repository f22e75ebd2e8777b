"""Schemathesis against the OpenAPI document with a valid analyst key: no 5xx (bounded)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from mixflow.lifecycle import list_models
from mixflow.service.app import create_app
from mixflow.service.auth import Role, create_key
from mixflow.service.db.migrate import upgrade
from mixflow.service.settings import ServiceSettings
from mixflow.service.store import lifecycle_settings

# schemathesis builds its tests from the schema at collection, so the app exists at import
_HOME = Path(tempfile.mkdtemp(prefix="mixflow-schemathesis-"))
atexit.register(shutil.rmtree, _HOME, True)
_SETTINGS = ServiceSettings(home=_HOME, database_url="")
upgrade(_SETTINGS)
_APP = create_app(_SETTINGS)
with _APP.state.sessions() as _s:
    _KEY = create_key(_s, name="st", workspace="acme", role=Role.analyst).secret
# create the embedded MLflow store now: its first use takes seconds, past a request's timeout
list_models(lifecycle_settings(_SETTINGS))

schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    response = case.call(headers={"X-API-Key": _KEY})
    assert response.status_code < 500, (case.method, case.path, response.text)
