"""The dashboard's routes without a browser: the demo database and its marks, pages refused
to visitors, the public page escaped, downloads confined to published files, and no asset
that names another host."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

WEB = Path(__file__).resolve().parents[2] / "src" / "patrolcast" / "web"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from patrolcast.app.demo_world import seed_demo
    from patrolcast.governance.identity import credentials

    credentials.configure_hasher(time_cost=1, memory_cost=8192, parallelism=1)
    home = tmp_path_factory.mktemp("demo-pages")
    return seed_demo(home, forecasts_dir=None)


@pytest.fixture()
def client(demo: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from patrolcast.api.server import create_app
    from patrolcast.app.runtime import open_context
    from patrolcast.config import load_settings

    monkeypatch.setenv("PATROLCAST_DATABASE_URL", "sqlite:////nonexistent/never.db")
    settings = load_settings(home=demo.home, database_url=demo.database_url)
    ctx = open_context(settings)
    try:
        yield TestClient(create_app(ctx), follow_redirects=False)
    finally:
        ctx.db.dispose()


def test_the_demo_database_is_marked_and_its_secrets_kept_private(demo: Any, client: Any) -> None:
    from sqlalchemy import create_engine, text

    assert (demo.home / "DEMO-DATABASE").exists()
    accounts = demo.home / "demo-accounts.txt"
    assert stat.S_IMODE(accounts.stat().st_mode) == 0o600
    assert demo.password in accounts.read_text() and "acc" in demo.totp
    engine = create_engine(demo.database_url)
    with engine.connect() as conn:
        actions = [r[0] for r in conn.execute(text("select action from audit_log order by seq"))]
    engine.dispose()
    assert "demo_seed" in actions[:3]  # marked at the start of its audit log
    login = client.get("/login")
    assert "DEMO database" in login.text


def test_a_second_demo_in_the_same_folder_is_refused(demo: Any) -> None:
    from patrolcast.app.demo_world import seed_demo
    from patrolcast.errors import InputError

    with pytest.raises(InputError, match="made fresh"):
        seed_demo(demo.home, forecasts_dir=None)


@pytest.mark.parametrize("path", ["/map", "/queue", "/propose", "/audit", "/proposals/1"])
def test_pages_redirect_a_visitor_to_sign_in(client: Any, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("path", ["/web/data/forecasts", "/web/data/config",
                                  "/web/data/boundaries/boroughs.geojson",
                                  "/web/data/deployments.geojson", "/web/data/intel.geojson",
                                  "/web/data/audit", "/web/data/forecasts/1.geojson"])
def test_data_routes_refuse_a_visitor(client: Any, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 401 and r.json()["code"] == "not-authenticated"


def test_signed_in_data_and_role_refusals(client: Any, demo: Any) -> None:
    r = client.post("/api/auth/login", json={"username": "ana", "password": demo.password})
    assert r.status_code == 200
    metas = client.get("/web/data/forecasts").json()
    assert [m["snapshot_id"] for m in metas] == demo.snapshots
    doc = client.get(f"/web/data/forecasts/{demo.snapshots[0]}.geojson").json()
    top = [f for f in doc["features"] if f["properties"]["top5"]]
    assert 0 < len(top) <= 0.06 * len(doc["features"]) + 1
    best = min(doc["features"], key=lambda f: f["properties"]["rank"])["properties"]
    cell = client.get(f"/web/data/forecasts/{demo.snapshots[0]}/cells/{best['unit_id']}").json()
    assert cell["terms"]["recent_events"] > 0 and cell["intelligence"]  # terms, intel touching
    assert client.get("/web/data/alerts.geojson").json()["features"] == []
    alerts = demo.home / "alerts"
    alerts.mkdir(exist_ok=True)
    ring = [[-0.09, 51.513], [-0.088, 51.513], [-0.088, 51.514], [-0.09, 51.514], [-0.09, 51.513]]
    (alerts / "alert-city.geojson").write_text(json.dumps({"type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {"rule_reason": "fixed rule"},
                      "geometry": {"type": "Polygon", "coordinates": [ring]}}]}))
    shown = client.get("/web/data/alerts.geojson").json()
    assert shown["source"] == "alert-city.geojson" and len(shown["features"]) == 1
    refused = client.get("/web/data/audit")
    assert refused.status_code == 403 and "oversight_auditor" in refused.json()["error"]


def test_the_public_page_escapes_and_serves_only_published_files(client: Any,
                                                                 demo: Any) -> None:
    folder = demo.home / "transparency"
    month = sorted(folder.glob("transparency-*.json"))[0]
    doc = json.loads(month.read_text())
    doc["notes"].append("<script>alert(1)</script>")
    hostile = folder / "transparency-1999-01.json"
    hostile.write_text(json.dumps(doc))
    try:
        page = client.get("/transparency?month=1999-01")
        assert page.status_code == 200
        assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)" in page.text
        assert "/api/audit/public-key" in page.text
    finally:
        hostile.unlink()
    ok = client.get(f"/transparency/files/{month.name}")
    assert ok.status_code == 200
    for bad in ("..%2Fpatrolcast.db", "demo-accounts.txt", "transparency-2026-01.json"):
        assert client.get(f"/transparency/files/{bad}").status_code in (400, 404)


def test_no_asset_names_another_host() -> None:
    files = [*WEB.glob("static/*"), *WEB.glob("templates/*")]
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", text), path.name
