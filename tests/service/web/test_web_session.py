"""The planner's session: cookie attributes, CSRF on state-changing calls, revocation, pages."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from mixflow.service.auth import revoke_key
from mixflow.service.web import session as web_session
from mixflow.service.web.router import chart_data


def _sign_in(client: TestClient, key: str) -> str:
    r = client.post("/web/session", json={"api_key": key})
    assert r.status_code == 204, r.text
    return r.headers["set-cookie"]


def _csrf(client: TestClient, path: str = "/models") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    match = re.search(r'<meta name="csrf-token" content="([0-9a-f]+)">', page.text)
    assert match, "the page carries its CSRF token"
    return match.group(1)


def test_sign_in_sets_a_strict_httponly_cookie_without_the_key(
    client: TestClient, keys: dict[str, str]
) -> None:
    header = _sign_in(client, keys["viewer"])
    assert "HttpOnly" in header and "SameSite=strict" in header and "Path=/" in header
    assert keys["viewer"] not in header
    secret_part = keys["viewer"].rsplit("_", 1)[1]
    assert secret_part not in header
    me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["role"] == "viewer"


def test_wrong_key_is_401_problem_and_sets_no_cookie(client: TestClient) -> None:
    r = client.post("/web/session", json={"api_key": "mf_0123456789abcdef_nope"})
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"] == "the API key is unknown or revoked"
    assert "set-cookie" not in r.headers
    assert client.get("/api/v1/me").status_code == 401


def test_state_changing_call_needs_the_sessions_csrf_token(
    client: TestClient, keys: dict[str, str]
) -> None:
    _sign_in(client, keys["analyst"])
    token = _csrf(client)
    no_token = client.post("/api/v1/plans", json={})
    assert no_token.status_code == 403 and "X-CSRF-Token" in no_token.json()["detail"]
    wrong = client.post("/api/v1/plans", json={}, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    # with the token the request reaches validation (the body is empty: 422, not 403)
    ok = client.post("/api/v1/plans", json={}, headers={"X-CSRF-Token": token})
    assert ok.status_code == 422, ok.text


def test_forged_or_expired_cookie_is_not_a_session(
    client: TestClient, keys: dict[str, str]
) -> None:
    _sign_in(client, keys["admin"])
    value = client.cookies[web_session.SESSION_COOKIE]
    key_id, expires, mac = value.split(".")
    forged = f"{key_id}.{int(expires) + 3600}.{mac}"  # a longer life is not signed
    client.cookies.set(web_session.SESSION_COOKIE, forged)
    assert client.get("/api/v1/me").status_code == 401
    settings = client.app.state.settings  # type: ignore[attr-defined]
    secret = web_session.session_secret(settings.home)
    with client.app.state.sessions() as db:  # type: ignore[attr-defined]
        row = db.get(web_session.ApiKey, key_id)
        assert row is not None
        old = web_session.make_session(secret, key_id, row.digest, now=0.0)
        assert web_session.session_key(secret, old, db) is None
        fresh = web_session.make_session(secret, key_id, row.digest)
        assert web_session.session_key(secret, fresh, db) is not None


def test_revoking_the_key_ends_its_sessions(client: TestClient, keys: dict[str, str]) -> None:
    _sign_in(client, keys["viewer"])
    assert client.get("/api/v1/me").status_code == 200
    key_id = client.cookies[web_session.SESSION_COOKIE].split(".")[0]
    with client.app.state.sessions() as db:  # type: ignore[attr-defined]
        revoke_key(db, key_id)
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/models", follow_redirects=False).headers["location"] == "/signin"


def test_sign_out_needs_csrf_and_clears_the_cookie(
    client: TestClient, keys: dict[str, str]
) -> None:
    _sign_in(client, keys["viewer"])
    assert client.delete("/web/session").status_code == 403
    r = client.delete("/web/session", headers={"X-CSRF-Token": _csrf(client)})
    assert r.status_code == 204
    assert web_session.SESSION_COOKIE not in client.cookies
    assert client.get("/api/v1/me").status_code == 401


def test_pages_redirect_to_sign_in_and_render_by_role(
    client: TestClient, keys: dict[str, str]
) -> None:
    for path in ("/", "/models", "/models/x", "/models/x/planner", "/scenarios", "/fits"):
        r = client.get(path, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/signin"), path
    signin = client.get("/signin")
    assert 'for="api-key">API key<' in signin.text and ">Sign in</button>" in signin.text
    assert "script-src 'self'" in signin.headers["content-security-policy"]
    _sign_in(client, keys["viewer"])
    overview = client.get("/models/x")
    assert 'id="promote-form"' not in overview.text and 'href="/fits"' not in overview.text
    assert 'id="fit-form"' not in client.get("/fits").text
    assert 'id="save-form"' not in client.get("/models/x/planner").text
    client.cookies.clear()
    _sign_in(client, keys["admin"])
    assert 'id="promote-form"' in client.get("/models/x").text
    assert 'id="fit-form"' in client.get("/fits").text
    assert 'id="save-form"' in client.get("/models/x/planner").text


def test_model_names_are_escaped_in_pages(client: TestClient, keys: dict[str, str]) -> None:
    _sign_in(client, keys["viewer"])
    page = client.get("/models/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    assert page.status_code == 200
    assert "<img src=x onerror=alert(1)>" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text


def test_static_files_are_served(client: TestClient) -> None:
    js = client.get("/web/static/planner.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert client.get("/web/static/planner.css").status_code == 200


def test_web_routes_are_not_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p == "/" or p.startswith(("/web", "/models", "/signin"))]


def test_chart_data_reads_contributions_and_curves(tmp_path: Path) -> None:
    (tmp_path / "contributions.csv").write_text(
        "date,baseline,tv,search\n2024-01-01,10,1,2\n2024-01-08,11,3,4\n"
    )
    (tmp_path / "response_curves.csv").write_text(
        "channel,multiplier,spend,incremental_value_mean,incremental_value_hdi_lo,"
        "incremental_value_hdi_hi\n"
        "tv,0.0,0,0,0,0\ntv,1.0,100,50,40,60\ntv,2.0,200,80,60,95\n"
        "search,1.0,30,20,10,25\nsearch,0.0,0,0,0,0\n"
    )
    out = chart_data(tmp_path)
    assert out["contributions"]["dates"] == ["2024-01-01", "2024-01-08"]
    assert out["contributions"]["series"] == {
        "baseline": [10.0, 11.0],
        "tv": [1.0, 3.0],
        "search": [2.0, 4.0],
    }
    tv = out["curves"]["tv"]
    assert (tv["spend"], tv["lo"], tv["hi"]) == ([0, 100, 200], [0, 40, 60], [0, 60, 95])
    assert (tv["current_spend"], tv["current_value"]) == (100.0, 50.0)
    assert out["curves"]["search"]["spend"] == [0.0, 30.0]  # sorted by spend
