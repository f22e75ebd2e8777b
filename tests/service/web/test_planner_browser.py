"""The planner in Chromium against a real ``mixflow serve``: every screen, for the right roles.

One fitted model (module fixture) serves every test; each test opens its own browser context
(its own cookies) and fails on any console error or uncaught page error.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from conftest import Planner, shot

pytestmark = pytest.mark.xdist_group("planner-browser")
# the first what-if question of a version loads its posterior: seconds on a loaded machine
expect.set_options(timeout=60_000)

#: Chromium reports a failed fetch (a 4xx the page expects and shows) as a console error
EXPECTED_NETWORK = re.compile(r"Failed to load resource: the server responded with a status of 4")


class Console:
    """Console errors and uncaught exceptions of a page."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def unexpected(self, allow_4xx: bool = False) -> list[str]:
        return [e for e in self.errors if not (allow_4xx and EXPECTED_NETWORK.search(e))]


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def make(width: int = 1280, height: int = 800) -> tuple[Page, Console]:
        ctx = browser.new_context(
            viewport={"width": width, "height": height}, accept_downloads=True
        )
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(30_000)
        return page, Console(page)

    yield make
    for ctx in contexts:
        ctx.close()


def sign_in(page: Page, planner: Planner, role: str) -> None:
    page.goto(planner.url + "/signin")
    page.get_by_label("API key").fill(planner.keys[role])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/models")


def no_error_shown(page: Page) -> None:
    box = page.locator("#error")
    assert box.is_hidden(), f"the page shows an error: {box.inner_text()}"


def outcome_ready(page: Page) -> dict[str, Any]:
    box = page.get_by_test_id("expected-outcome")
    try:
        expect(box).to_have_attribute("data-state", "ready")
    except AssertionError:
        no_error_shown(page)
        raise
    return {
        "plan": json.loads(box.get_attribute("data-plan") or "{}"),
        "revenue_mean": float(box.get_attribute("data-revenue-mean") or "nan"),
        "kpi_mean": float(box.get_attribute("data-kpi-mean") or "nan"),
        "text": box.inner_text(),
    }


def fmt0(x: float) -> str:
    return f"{x:,.0f}"


def test_sign_in_by_keyboard_wrong_key_and_sign_out(new_page: Any, planner: Planner) -> None:
    page, console = new_page()
    page.goto(planner.url + "/")
    page.wait_for_url("**/signin")
    page.get_by_label("API key").fill("mf_0123456789abcdef_not-a-key")
    page.keyboard.press("Enter")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Sign-in failed: the API key is unknown or revoked.")
    assert page.url.endswith("/signin") and "mf_" not in page.url
    shot(page, "01-sign-in-wrong-key")
    # keyboard only: the key field, then Enter
    page.get_by_label("API key").focus()
    page.keyboard.type(planner.keys["viewer"])
    page.keyboard.press("Enter")
    page.wait_for_url("**/models")
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["mixflow_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert planner.keys["viewer"] not in json.dumps(page.context.cookies())
    assert page.evaluate("document.cookie") == ""  # HttpOnly: not readable by scripts
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin")
    page.goto(planner.url + "/models")
    page.wait_for_url("**/signin")
    assert console.unexpected(allow_4xx=True) == []


def test_models_table(new_page: Any, planner: Planner) -> None:
    page, console = new_page()
    sign_in(page, planner, "viewer")
    table = page.get_by_test_id("models")
    row = table.locator("tbody tr").filter(has=page.get_by_role("link", name=planner.model))
    expect(row).to_have_count(1)
    cells = row.locator("td")
    summary = planner.api(
        "viewer", "GET", f"/api/v1/models/{planner.model}/versions/1/summary"
    ).json()
    detail = planner.api("viewer", "GET", f"/api/v1/models/{planner.model}").json()
    v1 = next(v for v in detail["versions"] if v["version"] == 1)
    expect(cells.nth(0)).to_have_text("v1")
    expect(cells.nth(2)).to_have_text(f"{summary['data']['start']} to {summary['data']['end']}")
    expect(cells.nth(3)).to_have_text("pass" if v1["gates_passed"] else "fail")
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d", cells.nth(1).inner_text())
    shot(page, "02-models")
    page.get_by_role("link", name=planner.model).click()
    page.wait_for_url(f"**/models/{planner.model}")
    assert console.unexpected() == []


def test_overview_charts_diagnostics_and_report(new_page: Any, planner: Planner) -> None:
    page, console = new_page()
    sign_in(page, planner, "viewer")
    page.goto(f"{planner.url}/models/{planner.model}")
    n = len(planner.channels)
    for chart in ("#roi-chart", "#mroi-chart"):
        try:
            expect(page.locator(f"{chart} svg circle.point")).to_have_count(n)
        except AssertionError:
            no_error_shown(page)
            raise
        labels = page.locator(f"{chart} svg text.label").all_text_contents()
        assert labels == list(planner.channels)
    summary = planner.api(
        "viewer", "GET", f"/api/v1/models/{planner.model}/versions/1/summary"
    ).json()
    tv_roi = page.locator("#roi-chart svg title").first.text_content() or ""
    roi = summary["channels"][planner.channels[0]]["roi"]
    assert f"{roi['mean']:,.2f}" in tv_roi and f"{roi['hdi_90'][0]:,.2f}" in tv_roi
    # contribution over time: baseline + one line per channel
    expect(page.locator("#contrib-chart svg polyline")).to_have_count(n + 1)
    # a response curve per channel, each with its band and today's spend marked
    expect(page.locator("#curves figure")).to_have_count(n)
    expect(page.locator("#curves svg polygon.band")).to_have_count(n)
    expect(page.locator("#curves svg circle.mark")).to_have_count(n)
    expect(page.get_by_test_id("diagnostics")).to_contain_text("Sampler status")
    link = page.get_by_role("link", name="Full HTML report")
    href = link.get_attribute("href")
    assert href == f"/api/v1/models/{planner.model}/versions/1/report"
    # a viewer may not promote: the form is not there
    expect(page.locator("#promote-form")).to_have_count(0)
    shot(page, "03-overview")
    with page.expect_popup() if link.get_attribute("target") else page.expect_navigation():
        link.click()
    assert page.url.endswith(href)
    expect(page.locator("body")).to_contain_text(summary["name"])
    assert console.unexpected() == []


def test_planner_edit_matches_the_simulate_api(new_page: Any, planner: Planner) -> None:
    page, console = new_page()
    sign_in(page, planner, "viewer")
    page.goto(f"{planner.url}/models/{planner.model}")
    page.get_by_role("link", name="Planner", exact=True).click()
    page.wait_for_url("**/planner")
    first = outcome_ready(page)
    # prefilled with the recent split: the simulate API's spend for the last 13 weeks
    recent = planner.api(
        "viewer",
        "POST",
        f"/api/v1/models/{planner.model}/simulate",
        json={"ref": 1, "plan": {"name": "recent", "like_last_weeks": 13}},
    ).json()
    assert page.get_by_label("Weeks").input_value() == "13"
    total = 0.0
    for ch in planner.channels:
        value = float(page.get_by_label(ch, exact=True).input_value())
        assert value == pytest.approx(recent["per_channel"][ch]["spend"], abs=0.5)
        total += value
    assert float(page.get_by_label("Budget").input_value()) == pytest.approx(total, abs=1)
    # edit one channel: the outcome updates without a reload
    page.evaluate("window.__same_page = true")
    channel = planner.channels[0]
    new_value = round(float(page.get_by_label(channel, exact=True).input_value()) * 1.5)
    page.get_by_label(channel, exact=True).fill(str(new_value))
    box = page.get_by_test_id("expected-outcome")
    expect(box).to_have_attribute("data-plan", re.compile(rf'"{channel}":{new_value}[,}}]'))
    after = outcome_ready(page)
    assert page.evaluate("window.__same_page") is True
    assert after["plan"]["spend"][channel] == new_value
    assert after["revenue_mean"] != first["revenue_mean"]
    api = planner.api(
        "viewer",
        "POST",
        f"/api/v1/models/{planner.model}/simulate",
        json={"ref": 1, "plan": after["plan"]},
    )
    assert api.status_code == 200, api.text
    expected = api.json()["expected"]
    assert after["revenue_mean"] == pytest.approx(expected["incremental_revenue"]["mean"], rel=1e-9)
    assert after["kpi_mean"] == pytest.approx(expected["incremental_kpi"]["mean"], rel=1e-9)
    rev = expected["incremental_revenue"]
    assert (
        f"{fmt0(rev['mean'])} (90%: {fmt0(rev['hdi_90'][0])} to {fmt0(rev['hdi_90'][1])})"
        in (after["text"])
    )
    # the per-channel breakdown is the API's too
    row = page.get_by_test_id("breakdown").locator("tbody tr").filter(has_text=channel)
    per = api.json()["per_channel"][channel]["incremental_revenue"]
    expect(row).to_contain_text(fmt0(per["mean"]))
    shot(page, "04-planner")
    # a bad value is shown on the page, not sent
    page.get_by_label("Weeks").fill("0")
    expect(page.get_by_role("alert")).to_contain_text("Weeks must be a whole number")
    assert console.unexpected() == []


def test_optimize_fills_the_split_within_bounds(new_page: Any, planner: Planner) -> None:
    page, console = new_page()
    sign_in(page, planner, "viewer")
    page.goto(f"{planner.url}/models/{planner.model}/planner")
    outcome_ready(page)
    current = {
        ch: float(page.get_by_label(ch, exact=True).input_value()) for ch in planner.channels
    }
    budget = float(page.get_by_label("Budget").input_value())
    for ch in planner.channels:
        page.get_by_label(f"{ch} minimum, times current").fill("0.7")
        page.get_by_label(f"{ch} maximum, times current").fill("1.4")
    page.get_by_role("button", name="Optimize").click()
    table = page.get_by_test_id("allocation")
    expect(table).to_be_visible(timeout=120_000)
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(len(planner.channels))
    optimized = {}
    for i in range(len(planner.channels)):
        r = rows.nth(i)
        ch = r.get_attribute("data-channel") or ""
        value = float(r.get_attribute("data-optimized") or "nan")
        optimized[ch] = value
        assert float(r.get_attribute("data-current") or "nan") == pytest.approx(current[ch])
        tol = 1e-6 * budget
        assert 0.7 * current[ch] - tol <= value <= 1.4 * current[ch] + tol, (ch, value)
        # the inputs now hold the optimized split
        assert float(page.get_by_label(ch, exact=True).input_value()) == pytest.approx(value)
    assert set(optimized) == set(planner.channels)
    assert sum(optimized.values()) == pytest.approx(sum(current.values()), rel=1e-6)
    assert float(page.get_by_label("Budget").input_value()) == pytest.approx(budget, abs=1)
    prob = page.get_by_test_id("prob-beats")
    expect(prob).to_contain_text(re.compile(r"P\(optimized beats current\) = [01]\.\d\d"))
    p = float(prob.get_attribute("data-value") or "nan")
    assert 0.0 <= p <= 1.0
    outcome = outcome_ready(page)
    assert outcome["plan"]["spend"] == pytest.approx(optimized)
    shot(page, "05-optimize")
    assert console.unexpected() == []


def test_scenarios_save_list_compare_export(new_page: Any, planner: Planner) -> None:
    page, console = new_page()
    sign_in(page, planner, "analyst")
    page.goto(f"{planner.url}/models/{planner.model}/planner")
    outcome_ready(page)
    page.get_by_label("Scenario name").fill("Recent split")
    page.get_by_role("button", name="Save scenario").click()
    expect(page.locator("#save-result")).to_contain_text("Recent split")
    channel = planner.channels[1]
    value = round(float(page.get_by_label(channel, exact=True).input_value()) * 2)
    page.get_by_label(channel, exact=True).fill(str(value))
    expect(page.get_by_test_id("expected-outcome")).to_have_attribute(
        "data-plan", re.compile(rf'"{channel}":{value}[,}}]')
    )
    outcome_ready(page)
    page.get_by_label("Scenario name").fill(f"Double {channel}")
    page.get_by_role("button", name="Save scenario").click()
    expect(page.locator("#save-result")).to_contain_text(f"Double {channel}")
    page.goto(planner.url + "/scenarios")
    table = page.get_by_test_id("scenarios")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).to_contain_text("Recent split")
    page.get_by_label("Scenario A").select_option(label="Recent split")
    page.get_by_label("Scenario B").select_option(label=f"Double {channel}")
    page.get_by_role("button", name="Compare").click()
    shown = page.get_by_test_id("prob-a-beats-b")
    expect(shown).to_contain_text(re.compile(r"P\(A beats B\) = [01]\.\d\d"))
    plans = {p["name"]: p for p in planner.api("viewer", "GET", "/api/v1/plans").json()["items"]}
    a, b = plans["Recent split"]["plan"], plans[f"Double {channel}"]["plan"]
    api = planner.api(
        "viewer",
        "POST",
        f"/api/v1/models/{planner.model}/compare",
        json={"ref": 1, "plans": [{**a, "name": "A"}, {**b, "name": "B"}]},
    ).json()
    assert float(shown.get_attribute("data-value") or "nan") == pytest.approx(
        api["prob_first_beats_second"]
    )
    shot(page, "06-scenarios-compare")
    with page.expect_download() as info:
        page.get_by_role("button", name=f"Export Double {channel} as CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    assert [r["channel"] for r in rows] == list(planner.channels)
    assert float(next(r for r in rows if r["channel"] == channel)["spend"]) == value
    assert {r["scenario"] for r in rows} == {f"Double {channel}"}
    assert console.unexpected() == []


def test_viewer_sees_no_fit_promote_or_save_controls(new_page: Any, planner: Planner) -> None:
    page, console = new_page()
    sign_in(page, planner, "viewer")
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Fits")
    ).to_have_count(0)
    page.goto(f"{planner.url}/models/{planner.model}")
    expect(page.locator("#roi-chart svg")).to_have_count(1)
    expect(page.get_by_role("button", name="Promote to champion")).to_have_count(0)
    page.goto(f"{planner.url}/models/{planner.model}/planner")
    outcome_ready(page)
    expect(page.get_by_role("button", name="Save scenario")).to_have_count(0)
    page.goto(planner.url + "/fits")
    expect(page.locator("#fit-form")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("needs the analyst role")
    shot(page, "07-viewer-fits")
    # the server refuses anyway, with the session's own CSRF token
    status = page.evaluate(
        """async (model) => {
          const csrf = document.querySelector('meta[name="csrf-token"]').content;
          const r = await fetch(`/api/v1/models/${model}/aliases/champion`, {method: "PUT",
            headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
            body: JSON.stringify({version: 2, reason: "sneaky"})});
          return r.status;
        }""",
        planner.model,
    )
    assert status == 403
    assert console.unexpected(allow_4xx=True) == []


def test_fit_upload_progress_and_result(new_page: Any, planner: Planner) -> None:
    page, console = new_page()
    sign_in(page, planner, "analyst")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Fits").click()
    page.wait_for_url("**/fits")
    page.get_by_label("Model name").fill("uploaded")
    page.get_by_label("Config (YAML)").set_input_files(str(planner.inputs / "config.yaml"))
    page.get_by_label(re.compile("^Data")).set_input_files(str(planner.inputs / "data.csv"))
    page.get_by_role("button", name="Start fit").click()
    job = page.locator("#job")
    expect(job).to_be_visible()
    expect(page.get_by_label("Progress")).to_be_visible()
    expect(job).to_have_attribute("data-state", "succeeded", timeout=240_000)
    assert float(page.get_by_label("Progress").evaluate("p => p.value")) == 1.0
    result = page.get_by_test_id("fit-result")
    expect(result.get_by_role("link", name="uploaded v1")).to_be_visible()
    shot(page, "08-fit-result")
    assert planner.api("viewer", "GET", "/api/v1/models/uploaded").status_code == 200
    # a bad upload is shown readably: the config names a column the data lacks
    bad = planner.inputs / "bad.yaml"
    bad.write_text(
        (planner.inputs / "config.yaml").read_text().replace("kpi_column: ", "kpi_column: x")
    )
    page.get_by_label("Config (YAML)").set_input_files(str(bad))
    page.get_by_role("button", name="Start fit").click()
    expect(page.get_by_role("alert")).to_contain_text("(422)")
    assert console.unexpected(allow_4xx=True) == []


def test_admin_promotes_with_a_reason(new_page: Any, planner: Planner) -> None:
    page, console = new_page()
    sign_in(page, planner, "admin")
    page.goto(f"{planner.url}/models/{planner.model}")
    page.get_by_label("Version").select_option("2")
    page.get_by_label("Reason").fill("refit on the same data")
    page.get_by_label("Override failing gates").check()
    page.get_by_role("button", name="Promote to champion").click()
    expect(page.locator("#promote-result")).to_have_text("Version 2 is now the champion.")
    shot(page, "09-promote")
    detail = planner.api("viewer", "GET", f"/api/v1/models/{planner.model}").json()
    assert detail["aliases"]["champion"] == 2
    assert console.unexpected() == []


def test_narrow_window_has_no_horizontal_scroll(new_page: Any, planner: Planner) -> None:
    page, console = new_page(width=390, height=800)
    sign_in(page, planner, "analyst")
    for path, name in (
        (f"/models/{planner.model}/planner", "10-planner-narrow"),
        (f"/models/{planner.model}", "11-overview-narrow"),
    ):
        page.goto(planner.url + path)
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
        shot(page, name)
    assert console.unexpected() == []


def test_demo_launcher_registers_the_champion_and_prints_a_working_key(
    planner: Planner, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from mixflow.service.app import create_app
    from mixflow.service.settings import ServiceSettings
    from mixflow.service.web.demo import MODEL, WORKSPACE, prepare

    home = tmp_path / "home"
    first = prepare(planner.run_dir, home)
    second = prepare(planner.run_dir, home)  # a second start reuses the registration
    assert first != second
    with TestClient(create_app(ServiceSettings(home=home, database_url=""))) as client:
        for key in (first, second):
            me = client.get("/api/v1/me", headers={"X-API-Key": key}).json()
            assert (me["workspace"], me["role"]) == (WORKSPACE, "admin")
        detail = client.get(f"/api/v1/models/{MODEL}", headers={"X-API-Key": first}).json()
    assert detail["aliases"] == {"champion": 1}
    assert [v["version"] for v in detail["versions"]] == [1]
