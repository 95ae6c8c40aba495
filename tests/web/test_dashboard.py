"""The web dashboard in a real browser (Debian's chromium via Playwright) against the real
server on loopback: sign-in, the map, the five-person journey, refusals, the public page,
accessibility (axe-core) and zero requests off the server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.web.conftest import Dashboard, axe_violations

LONDON = ZoneInfo("Europe/London")


def _map_ready(page: object) -> None:
    page.wait_for_selector("#map[data-ready=true]")  # type: ignore[attr-defined]


def test_sign_in_and_map_loads_from_the_server_only(dashboard: Dashboard) -> None:
    before = len(dashboard.requests)
    ctx = dashboard.browser()
    try:
        page = ctx.pages[0] if ctx.pages else ctx.new_page()
        page.goto(f"{dashboard.base}/map")
        page.wait_for_url("**/login?next=**")
        assert axe_violations(page) == []
        # keyboard only: the username has the focus, the form goes in order, Enter submits
        page.wait_for_selector("#username:focus")
        page.keyboard.type("ana")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "password"
        page.keyboard.type(dashboard.world.password)
        page.keyboard.press("Enter")
        page.wait_for_url("**/map")
        _map_ready(page)
        box = page.locator("#map").bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        assert "City of London" in page.locator("#hover").inner_text()  # place names on hover
        page.evaluate("document.activeElement.blur()")
        page.keyboard.press("Tab")  # the skip link comes first and leads to the content
        assert page.evaluate("document.activeElement.className") == "skip"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        page.locator("#cell-pick").focus()  # a cell chosen from the keyboard
        page.keyboard.press("ArrowDown")
        page.wait_for_selector("#cell dl")
        assert "Expected count" in page.locator("#cell").inner_text()
        cells = page.locator("#map path.leaflet-interactive")
        assert cells.count() >= 50  # the forecast's cells are drawn
        assert "expected harm" in page.locator("#legend").inner_text()
        assert "top 5% of the area" in page.locator("#legend").inner_text()
        assert "(Europe/London)" in page.locator("#forecast-info").inner_text()
        assert page.locator("#who").inner_text().startswith("ana (analyst")
        assert axe_violations(page) == []
        dashboard.shot(page, "smoke-map-1280")
        page.set_viewport_size({"width": 820, "height": 1180})  # a tablet
        page.reload()
        _map_ready(page)
        box = page.locator("#map").bounding_box()
        assert box is not None and box["width"] > 700
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        dashboard.shot(page, "smoke-map-tablet")
    finally:
        ctx.close()
    seen = dashboard.requests[before:]
    assert any(u.endswith("/web/vendor/leaflet/leaflet.js") for u in seen)
    assert dashboard.external() == []


NDM = {
    "code_of_ethics": "Proportionate, lawful, fair; least intrusive option considered.",
    "information_and_intelligence": "Two stabbings within 300 m in 12 h; graded intelligence.",
    "threat_risk_and_strategy": "High risk of further serious violence tonight.",
    "powers_and_policy": "Armed foot patrol profile; APP armed policing.",
    "options_and_contingencies": "Unarmed patrol; no action; armed foot patrol for 6 h.",
    "action_and_review": "Patrol for 6 h, review half-way, debrief next day.",
}
CIA = {
    "description": "Armed foot patrol for six hours around the junction.",
    "geography": "Commercial streets, a bus interchange and two estates.",
    "likely_effect": "Visible armed officers may raise concern among residents.",
    "proportionality": "Short, small area, after two stabbings within a day.",
    "tension_indicators": "No current tension indicators reported.",
    "equality_eliminate_discrimination": "Place-based only; no stop-and-search targets.",
    "equality_advance_opportunity": "Briefing to local youth services.",
    "equality_good_relations": "Community leaders briefed in advance.",
    "consultation_group": "Independent Advisory Group for the borough.",
    "consultation_response": "Supportive, asked for clear public information.",
    "mitigations": "Neighbourhood officers accompany the patrol.",
    "communication_plan": "Public notice online and at the station.",
    "owner": "Neighbourhood inspector",
}


def _state(page: object) -> str:
    page.wait_for_selector("body[data-state]")  # type: ignore[attr-defined]
    return str(page.evaluate("document.body.dataset.state"))  # type: ignore[attr-defined]


def _wait_state(page: object, state: str) -> None:
    page.wait_for_selector(f"body[data-state={state}]")  # type: ignore[attr-defined]


@pytest.mark.slow  # about 60 s: with it the file passes 90 s (run with -m slow)
@pytest.mark.realdata
def test_five_person_journey_from_a_forecast_cell_to_an_active_deployment(
    dashboard: Dashboard,
) -> None:
    d = dashboard
    # 1. The analyst picks the top cell on the map and proposes a patrol from it.
    ctx = d.browser()
    page = d.sign_in(ctx, "ana")
    _map_ready(page)
    page.select_option("#cell-pick", index=1)
    page.wait_for_selector("#propose-here")
    cell = page.locator("#cell").inner_text()
    assert "Expected count" in cell and "Why it is raised" in cell
    assert "recent events" in cell  # the forecast's own terms
    assert "graded 2B" in cell  # the intelligence item touching the cell
    assert "City of London" in cell  # place names
    assert axe_violations(page) == []
    d.shot(page, "1-analyst-map-cell")
    page.click("#propose-here")
    page.wait_for_url("**/propose?**")
    page.wait_for_selector("#propose-from:not(:empty)")
    assert page.input_value("#xmin") != ""
    assert page.input_value("#snapshot_id") == str(d.world.snapshots[0])
    occurred = (d.clock.now() - timedelta(hours=2)).astimezone(LONDON)
    page.get_by_label("When it happened").fill(occurred.strftime("%Y-%m-%dT%H:%M"))
    for key, text in NDM.items():
        page.locator(f"#ndm-{key}").fill(text)
    assert axe_violations(page) == []
    d.shot(page, "2-analyst-propose-form")
    page.get_by_role("button", name="Propose and submit").click()
    page.wait_for_url("**/proposals/*")
    pid = int(page.url.rsplit("/", 1)[1])
    assert _state(page) == "submitted"
    d.shot(page, "3-analyst-submitted")
    ctx.close()

    # 2. The community lead finds it in the queue and completes the assessment; an empty
    #    field is refused first with the API's own message.
    ctx = d.browser()
    page = d.sign_in(ctx, "cat", "/queue")
    page.locator("#waiting").get_by_role("link", name=f"#{pid}").click()
    _wait_state(page, "submitted")
    page.wait_for_selector("#assess-form")
    for key, text in CIA.items():
        page.locator(f"#cia-{key}").fill(text)
    page.get_by_label("reduce harm").check()
    page.get_by_role("button", name="Complete the assessment").click()
    error = page.locator("#action-error")
    error.wait_for()
    assert "review date" in error.inner_text()
    review = (d.clock.now() + timedelta(days=14)).astimezone(LONDON).date().isoformat()
    page.get_by_label("Review date").fill(review)
    assert axe_violations(page) == []
    d.shot(page, "4-community-lead-assessment")
    page.get_by_role("button", name="Complete the assessment").click()
    _wait_state(page, "assessed")
    boroughs = str(page.evaluate("document.body.dataset.boroughs")).split()
    ctx.close()
    assert "E09000001" in boroughs

    # 3. Each borough commander whose borough the area touches supports it.
    commanders = {"E09000001": "bob", "E09000033": "wes"}
    for borough in boroughs:
        ctx = d.browser()
        page = d.sign_in(ctx, commanders[borough], f"/proposals/{pid}")
        _wait_state(page, "assessed")
        page.wait_for_selector("#consult-form")
        page.get_by_label("Reasons").fill("Support: proportionate to the risk.")
        assert axe_violations(page) == []
        d.shot(page, f"5-borough-commander-{commanders[borough]}")
        page.get_by_role("button", name="Record the response").click()
        page.wait_for_selector("#action-ok:not(:empty)")
        ctx.close()
    ctx = d.browser()
    page = d.sign_in(ctx, "acc", f"/proposals/{pid}")
    assert _state(page) == "consulted"

    # 4. The authorising officer re-authenticates (password + one-time code) and authorises.
    page.get_by_label("Reasons for the decision").fill("Grounds met; proportionate.")
    page.get_by_label("Tactical firearms commander").fill("tfc")
    page.get_by_label("Strategic firearms commander").fill("sfc")
    page.get_by_label("Public notice").fill("Notice: armed patrols in the area tonight.")
    page.get_by_label("Hours").fill("5")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Authorise…").click()
    dialog = page.locator("#reauth-dialog")
    dialog.wait_for()
    page.locator("#reauth-password").fill("not the password at all")
    page.locator("#reauth-totp").fill(d.code("acc") or "")
    page.get_by_role("button", name="Confirm and authorise").click()
    page.wait_for_selector("#reauth-error:not(:empty)")
    assert "not accepted" in page.locator("#reauth-error").inner_text() or \
        "password" in page.locator("#reauth-error").inner_text()
    page.locator("#reauth-password").fill(d.world.password)
    page.locator("#reauth-totp").fill(d.code("acc") or "")
    d.shot(page, "6-authorising-officer-reauth")
    page.get_by_role("button", name="Confirm and authorise").click()
    page.wait_for_selector("body[data-state=active], #action-error:not(:empty)")
    assert page.locator("#action-error").inner_text() == ""
    _wait_state(page, "active")
    d.shot(page, "7-authorised-active")

    # 5. The deployment is on the map as active, with the time left to the minute.
    page.goto(f"{d.base}/map")
    _map_ready(page)
    item = page.locator(f"#deployments li[data-id='{pid}']")
    text = item.inner_text()
    assert f"#{pid} active" in text and "min left" in text and "4 h" in text
    assert page.locator("#map path[stroke='#b00020']").count() >= 1
    d.shot(page, "8-map-active-deployment")
    ctx.close()

    # 6. The auditor sees the proposal's audit history and a verified log.
    ctx = d.browser()
    page = d.sign_in(ctx, "aud", "/audit")
    page.wait_for_selector("#verify-result")
    assert page.locator("#verify-result").inner_text().startswith("Verified")
    page.get_by_label("Action").fill("authorise")
    assert "authorise" in page.locator("#audit-table tbody").inner_text()
    assert axe_violations(page) == []
    d.shot(page, "9-auditor-audit-log")
    page.goto(f"{d.base}/proposals/{pid}")
    page.wait_for_selector("ol.history li")
    assert "acc · authorise · done" in page.locator("#history").inner_text()
    # The one-page briefing pack, downloaded through the page's link with the session cookie.
    with page.expect_download() as download:
        page.locator("#briefing-link").click()
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    ctx.close()
    assert d.external() == []


def test_wrong_role_and_signed_out_visitor_are_refused(dashboard: Dashboard) -> None:
    d = dashboard
    ctx = d.browser()
    try:
        page = d.sign_in(ctx, "ana", "/audit")
        page.wait_for_selector("#audit-error:not(:empty)")
        message = page.locator("#audit-error").inner_text()
        assert "refused" in message and "oversight_auditor" in message  # the API's words
        d.shot(page, "refused-analyst-audit")
    finally:
        ctx.close()
    ctx = d.browser()  # a community lead may not propose: the form shows the API's refusal
    try:
        page = d.sign_in(ctx, "cat", "/propose")
        page.wait_for_selector("#ndm-code_of_ethics")
        for key, value in zip(("xmin", "ymin", "xmax", "ymax"),
                              ("532250", "181000", "532500", "181250"), strict=True):
            page.locator(f"#{key}").fill(value)
        occurred = (d.clock.now() - timedelta(hours=1)).astimezone(LONDON)
        page.get_by_label("When it happened").fill(occurred.strftime("%Y-%m-%dT%H:%M"))
        page.get_by_label("Place").fill("Cheapside")
        for key, text in NDM.items():
            page.locator(f"#ndm-{key}").fill(text)
        page.get_by_role("button", name="Propose and submit").click()
        page.wait_for_selector("#propose-error:not(:empty)")
        assert "refused" in page.locator("#propose-error").inner_text()
        assert page.url.endswith("/propose")
        d.shot(page, "refused-community-lead-propose")
    finally:
        ctx.close()
    ctx = d.browser()
    try:
        page = ctx.new_page()
        for path in ("/map", "/queue", "/audit", "/proposals/1"):
            page.goto(f"{d.base}{path}")
            page.wait_for_url("**/login?next=**")
        response = page.request.get(f"{d.base}/web/data/forecasts")
        assert response.status == 401
        response = page.request.get(f"{d.base}/api/proposals")
        assert response.status == 401
        d.shot(page, "refused-signed-out")
    finally:
        ctx.close()
    assert d.external() == []


def test_public_transparency_page(dashboard: Dashboard) -> None:
    d = dashboard
    before = len(d.requests)
    ctx = d.browser()
    try:
        page = ctx.new_page()
        page.goto(f"{d.base}/transparency")
        assert page.get_by_role("heading", name="Targeted patrols: transparency").is_visible()
        body = page.locator("main").inner_text()
        assert "Report for" in body and "Headline" in body
        assert "Algorithmic Transparency Recording Standard" in body
        assert "(Europe/London)" in body
        links = page.locator("ul.downloads a")
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        assert "/api/audit/public-key" in hrefs
        assert any(str(h).endswith(".csv") for h in hrefs)
        assert any(str(h).endswith(".geojson") for h in hrefs)
        csv = page.request.get(f"{d.base}{[h for h in hrefs if str(h).endswith('.csv')][0]}")
        assert csv.status == 200 and "month" in csv.text()
        key = page.request.get(f"{d.base}/api/audit/public-key")
        assert key.status == 200 and "BEGIN PUBLIC KEY" in key.text()
        assert axe_violations(page) == []
        d.shot(page, "public-transparency")
        page.set_viewport_size({"width": 820, "height": 1180})
        d.shot(page, "public-transparency-tablet")
    finally:
        ctx.close()
    seen = d.requests[before:]
    assert seen and all(u.startswith(d.base + "/") for u in seen), seen
