"""Models routes: list/show (versions, aliases, gates), typed summary, HTML report, alias moves
(409 on a failed gate, override, serialized under concurrency) with audit rows, archive, 404
across workspaces, X-Request-ID."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_registry import install_registry

from mixflow.analysis.schema import load_summary
from mixflow.lifecycle import audit_log
from mixflow.service.settings import ServiceSettings
from mixflow.service.store import lifecycle_settings


@pytest.fixture
def models(
    client: TestClient, registry_template: Path, no_tracking_server: None
) -> ServiceSettings:
    """acme's model 'revenue': version 1 passes its gates, version 2 fails min_weeks."""
    settings: ServiceSettings = client.app.state.settings  # type: ignore[attr-defined]
    install_registry(registry_template, settings.home)
    return settings


def _h(key: str, **extra: str) -> dict[str, str]:
    return {"X-API-Key": key, **extra}


def test_list_and_show_models_of_the_workspace(
    client: TestClient, keys: dict[str, str], models: ServiceSettings
) -> None:
    listed = client.get("/api/v1/models", headers=_h(keys["viewer"])).json()
    assert [(m["name"], m["registered_name"]) for m in listed] == [("revenue", "acme.revenue")]
    assert client.get("/api/v1/models", headers=_h(keys["other"])).json() == []
    shown = client.get("/api/v1/models/revenue", headers=_h(keys["viewer"])).json()
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    assert [v["gates_passed"] for v in shown["versions"]] == [True, False]
    failed = [g for g in shown["versions"][1]["gates"] if g["status"] == "failed"]
    assert [g["name"] for g in failed] == ["min_weeks"]
    assert shown["aliases"] == {} and shown["latest_version"] == 2


def test_summary_is_the_typed_run_summary_and_report_is_html(
    client: TestClient, keys: dict[str, str], models: ServiceSettings, map_run_dir: Path
) -> None:
    r = client.get("/api/v1/models/revenue/versions/1/summary", headers=_h(keys["viewer"]))
    assert r.status_code == 200
    expected = load_summary(map_run_dir / "summary.json").model_dump(mode="json")
    assert r.json() == json.loads(json.dumps(expected))
    report = client.get("/api/v1/models/revenue/versions/2/report", headers=_h(keys["viewer"]))
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert report.text == (map_run_dir / "report.html").read_text()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/models/revenue",
        "/api/v1/models/revenue/versions/1/summary",
        "/api/v1/models/revenue/versions/1/report",
        "/api/v1/models/revenue/versions/9/summary",
        "/api/v1/models/nothing",
    ],
)
def test_other_workspace_and_missing_are_404(
    client: TestClient, keys: dict[str, str], models: ServiceSettings, path: str
) -> None:
    other = "other" if "revenue/" in path or path.endswith("revenue") else "viewer"
    if "/9/" in path:
        other = "viewer"
    r = client.get(path, headers=_h(keys[other]))
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_promotion_refused_on_a_failed_gate_then_overridden(
    client: TestClient, keys: dict[str, str], models: ServiceSettings
) -> None:
    url = "/api/v1/models/revenue/aliases/champion"
    body = {"version": 2, "reason": "better fit"}
    assert client.put(url, json=body, headers=_h(keys["analyst"])).status_code == 403
    refused = client.put(url, json=body, headers=_h(keys["admin"]))
    assert refused.status_code == 409
    assert "failed gates: min_weeks" in refused.json()["detail"]
    ok = client.put(
        url, json={**body, "override": "approved by finance"}, headers=_h(keys["admin"])
    )
    assert ok.status_code == 200, ok.text
    assert (ok.json()["version"], ok.json()["previous"], ok.json()["overridden"]) == (2, None, True)
    shown = client.get("/api/v1/models/revenue", headers=_h(keys["viewer"])).json()
    assert shown["aliases"] == {"champion": 2}
    events = client.get("/api/v1/audit", headers=_h(keys["admin"])).json()
    assert [e["action"] for e in events] == ["alias.champion"]  # the refused call changed nothing
    assert events[0]["detail"]["override"] == "approved by finance"
    (record,) = [
        r
        for r in audit_log("acme.revenue", lifecycle_settings(models))
        if r["action"] == "override"
    ]
    assert record["request_id"] == events[0]["request_id"]


def test_concurrent_promotions_leave_one_holder_and_ordered_audit(
    client: TestClient, keys: dict[str, str], models: ServiceSettings
) -> None:
    url = "/api/v1/models/revenue/aliases/champion"
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def move(version: int) -> None:
        barrier.wait()
        r = client.put(
            url,
            json={"version": version, "reason": f"to {version}", "override": "test"},
            headers=_h(keys["admin"]),
        )
        answers.append(r.status_code)

    threads = [threading.Thread(target=move, args=(v,)) for v in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert answers == [200, 200]
    events = client.get("/api/v1/audit", headers=_h(keys["admin"])).json()[::-1]  # oldest first
    assert len(events) == 2
    first, second = (e["detail"] for e in events)
    assert first["previous"] is None and second["previous"] == first["version"]
    holder = client.get("/api/v1/models/revenue", headers=_h(keys["viewer"])).json()["aliases"]
    assert holder == {"champion": second["version"]}
    trail = [r for r in audit_log("acme.revenue", lifecycle_settings(models)) if r.get("alias")]
    assert [r["after"] for r in trail] == [str(first["version"]), str(second["version"])]


def test_other_workspace_cannot_promote_or_archive(
    client: TestClient, keys: dict[str, str], models: ServiceSettings
) -> None:
    body = {"version": 1, "reason": "x"}
    r = client.put("/api/v1/models/revenue/aliases/champion", json=body, headers=_h(keys["other"]))
    assert r.status_code == 404
    assert (
        client.delete("/api/v1/models/revenue/versions/1", headers=_h(keys["other"])).status_code
        == 404
    )
    assert client.get("/api/v1/audit", headers=_h(keys["other"])).json() == []


def test_archive_removes_aliases_and_blocks_promotion(
    client: TestClient, keys: dict[str, str], models: ServiceSettings
) -> None:
    url = "/api/v1/models/revenue/aliases/challenger"
    assert (
        client.put(url, json={"version": 1, "reason": "x"}, headers=_h(keys["admin"])).status_code
        == 200
    )
    r = client.delete("/api/v1/models/revenue/versions/1", headers=_h(keys["admin"]))
    assert r.status_code == 200 and r.json()["archived"] and r.json()["aliases"] == []
    again = client.put(url, json={"version": 1, "reason": "x"}, headers=_h(keys["admin"]))
    assert again.status_code == 409 and "archived" in again.json()["detail"]
    actions = [e["action"] for e in client.get("/api/v1/audit", headers=_h(keys["admin"])).json()]
    assert actions == ["version.archive", "alias.challenger"]


def test_request_id_is_honoured_or_made_and_audited(
    client: TestClient, keys: dict[str, str], models: ServiceSettings
) -> None:
    mine = client.get("/api/v1/me", headers=_h(keys["viewer"], **{"X-Request-ID": "abc-123"}))
    assert mine.headers["x-request-id"] == "abc-123"
    made = client.get("/api/v1/me", headers=_h(keys["viewer"], **{"X-Request-ID": "bad id!"}))
    assert len(made.headers["x-request-id"]) == 32 and made.headers["x-request-id"] != "bad id!"
    assert client.get("/api/v1/nothing").headers["x-request-id"]  # problems carry it too
    r = client.put(
        "/api/v1/models/revenue/aliases/champion",
        json={"version": 1, "reason": "x"},
        headers=_h(keys["admin"], **{"X-Request-ID": "promote-1"}),
    )
    assert r.headers["x-request-id"] == "promote-1"
    (event,) = client.get("/api/v1/audit", headers=_h(keys["admin"])).json()
    assert (event["request_id"], event["actor"], event["role"], event["workspace"]) == (
        "promote-1",
        "admin",
        "admin",
        "acme",
    )


def test_alias_body_is_validated(
    client: TestClient, keys: dict[str, str], models: ServiceSettings
) -> None:
    url = "/api/v1/models/revenue/aliases/champion"
    for body in ({"version": 0, "reason": "x"}, {"version": 1, "reason": ""}, {"version": 1}):
        r = client.put(url, json=body, headers=_h(keys["admin"]))
        assert r.status_code == 422 and r.json()["errors"], body
    bad_alias = client.put(
        "/api/v1/models/revenue/aliases/king",
        json={"version": 1, "reason": "x"},
        headers=_h(keys["admin"]),
    )
    assert bad_alias.status_code == 422
