"""The web dashboard in a real browser (Debian's chromium via Playwright) against the real
server on loopback: sign-in, the map, the five-person journey, refusals, the public page,
accessibility (axe-core) and zero requests off the server."""

from __future__ import annotations

from datetime import timedelta
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
        page = dashboard.sign_in(ctx, "ana")
        _map_ready(page)
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
        assert page.locator("#map").bounding_box()["width"] > 700  # type: ignore[index]
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        dashboard.shot(page, "smoke-map-tablet")
    finally:
        ctx.close()
    seen = dashboard.requests[before:]
    assert any(u.endswith("/web/vendor/leaflet/leaflet.js") for u in seen)
    assert dashboard.external() == []
