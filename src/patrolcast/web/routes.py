"""The dashboard's pages, its map data and its assets: thin routes over the same use cases.

Pages are HTML shells; their scripts read and write through the API (``/api/...``), so every
form shows the API's own refusal messages. The map's data routes (``/web/data/...``) read the
files the server already has (:mod:`patrolcast.web.geodata`) and call the declared actions
(:func:`patrolcast.app.actions.perform`) for anything a role decides: active deployments,
intelligence, the audit log. A page asked for without a session redirects to the sign-in page;
the transparency page is public. Nothing is loaded from outside the server: Leaflet is served
from ``node_modules`` (installed by ``scripts/web_setup.sh``), and a tile layer is drawn only
when the force sets ``PATROLCAST_TILE_URL`` (a tile server of its own).
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from patrolcast.app import auth_cases
from patrolcast.app.actions import perform
from patrolcast.app.context import AppContext, Principal
from patrolcast.app.inputs import IntelListInput, ProposalListInput
from patrolcast.errors import AuthenticationError, InputError, PermissionDenied
from patrolcast.governance.clock import LONDON, as_utc
from patrolcast.web import geodata

__all__ = ["mount_web"]

_HERE = Path(__file__).resolve().parent
_TEMPLATES = _HERE / "templates"
_REPO = _HERE.parents[2]
COOKIE = "pc_session"
_WITH_MAP = {"map", "proposal"}  # pages that load Leaflet
_PUBLISHED = re.compile(r"transparency-\d{4}-\d{2}\.(html|csv|geojson|json)")


def node_modules() -> Path:
    """Where ``npm ci`` put the browser libraries (``PATROLCAST_WEB_ASSETS`` overrides)."""
    env = os.environ.get("PATROLCAST_WEB_ASSETS")
    return Path(env) if env else _REPO / "node_modules"


def published_dir(ctx: AppContext) -> Path:
    """The folder of published transparency reports: ``PATROLCAST_TRANSPARENCY_DIR``, else
    ``transparency/`` beside a SQLite database, else ``<home>/transparency``."""
    env = os.environ.get("PATROLCAST_TRANSPARENCY_DIR")
    if env:
        return Path(env)
    url = str(ctx.db.engine.url)
    if url.startswith("sqlite") and "///" in url:
        return Path(url.split("///", 1)[1]).parent / "transparency"
    from patrolcast.config import load_settings

    return load_settings().home / "transparency"


def alerts_dir(ctx: AppContext) -> Path:
    """Near-repeat alerts (``patrolcast alert --geojson``): ``PATROLCAST_ALERTS_DIR``, else
    ``alerts/`` beside a SQLite database, else ``<home>/alerts``."""
    env = os.environ.get("PATROLCAST_ALERTS_DIR")
    if env:
        return Path(env)
    return published_dir(ctx).parent / "alerts"


def _alerts(ctx: AppContext) -> dict[str, Any]:
    """The newest alert file's raised cells (an empty collection when there is none)."""
    folder = alerts_dir(ctx)
    files = sorted(folder.glob("*.geojson"), key=lambda p: p.stat().st_mtime) if (
        folder.is_dir()) else []
    if not files:
        return {"type": "FeatureCollection", "features": [], "source": None}
    try:
        doc = json.loads(files[-1].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InputError(f"the alert file {files[-1].name} is not GeoJSON") from None
    features = [f for f in doc.get("features", []) if isinstance(f, dict)]
    return {"type": "FeatureCollection", "features": features, "source": files[-1].name}


def is_demo(ctx: AppContext) -> bool:
    """A demo database carries a marker file beside it (:mod:`patrolcast.app.demo_world`)."""
    url = str(ctx.db.engine.url)
    if url.startswith("sqlite") and "///" in url:
        return (Path(url.split("///", 1)[1]).parent / "DEMO-DATABASE").exists()
    return False


def _page(title: str, body: str, *, script: str | None, public: bool = False,
          demo: bool = False) -> HTMLResponse:
    layout = Template((_TEMPLATES / "layout.html").read_text(encoding="utf-8"))
    fragment = (_TEMPLATES / body).read_text(encoding="utf-8")
    scripts = ""
    if script in _WITH_MAP:
        scripts = '<script src="/web/vendor/leaflet/leaflet.js"></script>\n'
    if script:
        scripts += f'<script type="module" src="/web/static/{script}.js"></script>'
    html = layout.safe_substitute(
        title=title, body=fragment, scripts=scripts,
        leaflet_css=('<link rel="stylesheet" href="/web/vendor/leaflet/leaflet.css">'
                     if script in _WITH_MAP else ""),
        public="true" if public else "false",
        demo=('<p class="demo-banner" role="note">DEMO database: made-up accounts and '
              'illustrative data, never for operational use.</p>' if demo else ""),
    )
    return HTMLResponse(html)


def _principal(ctx: AppContext, request: Request) -> Principal:
    return auth_cases.principal_for(ctx, request.cookies.get(COOKIE), csrf=None,
                                    changes=False, via_cookie=True)


def _signed_in(ctx: AppContext, request: Request) -> bool:
    try:
        _principal(ctx, request)
    except AuthenticationError:
        return False
    return True


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def _latest_forecasts(ctx: AppContext) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from patrolcast.governance.models import ForecastSnapshot

    with ctx.db.session() as s:
        rows = list(s.execute(select(ForecastSnapshot).order_by(ForecastSnapshot.id)).scalars())
    newest: dict[str, dict[str, Any]] = {}
    for row in rows:
        meta = geodata.forecast_meta(row)
        if meta is None:
            continue
        key = meta["dataset"]
        if key not in newest or (meta["created_at"], meta["snapshot_id"]) >= (
            newest[key]["created_at"], newest[key]["snapshot_id"]
        ):
            newest[key] = meta
    return sorted(newest.values(), key=lambda m: str(m["dataset"]))


def _snapshot(ctx: AppContext, sid: int) -> Any:
    from patrolcast.governance.snapshots import get_snapshot

    with ctx.db.session() as s:
        return get_snapshot(s, sid)


def _minutes_left(end: str | None, now: datetime) -> int | None:
    if end is None:
        return None
    return max(0, int((as_utc(datetime.fromisoformat(end)) - now).total_seconds() // 60))


def _deployments(ctx: AppContext, who: Principal) -> dict[str, Any]:
    import shapely

    now = as_utc(ctx.clock.now())
    features = []
    for state in ("active", "authorised"):
        views = perform(ctx, who, "list_proposals", None, ProposalListInput(state=state))
        for v in views:
            geom = shapely.from_wkt(v["area_wkt"])
            features.append({
                "type": "Feature",
                "geometry": geodata.to_wgs84_geojson(geom),
                "properties": {
                    "id": v["id"], "state": v["state"], "boroughs": v["boroughs"],
                    "start": v["authorised_start"], "end": v["authorised_end"],
                    "minutes_left": _minutes_left(v["authorised_end"], now),
                },
            })
    return {"type": "FeatureCollection", "features": features, "now": now.isoformat()}


def _intel_features(ctx: AppContext, who: Principal) -> list[tuple[dict[str, Any], Any]]:
    from patrolcast.oversight.intel_store import item_from_summary

    items = perform(ctx, who, "intel_list", None,
                    IntelListInput(active_at=as_utc(ctx.clock.now()).isoformat()))
    out = []
    for d in items:
        geom = item_from_summary(d).place.geometry()
        if geom is not None:
            out.append((d, geom))
    return out


def _intel(ctx: AppContext, who: Principal) -> dict[str, Any]:
    features = [
        {"type": "Feature", "geometry": geodata.to_wgs84_geojson(geom),
         "properties": {"id": d["id"], "grading": d["grading"], "weight": d["weight"],
                        "start": d["start"], "end": d["end"], "summary": d["summary"]}}
        for d, geom in _intel_features(ctx, who)
    ]
    return {"type": "FeatureCollection", "features": features}


def _cell(ctx: AppContext, who: Principal, sid: int, uid: str) -> dict[str, Any]:
    import shapely

    record = _snapshot(ctx, sid)
    layer = geodata.forecast_layer(record.uri)
    unit = layer.units.get(uid)
    if unit is None:
        raise InputError(f"no unit {uid!r} in forecast snapshot #{sid}")
    xmin, ymin, xmax, ymax = unit["bbox"]
    box = shapely.box(xmin, ymin, xmax, ymax)
    folder = ctx.boroughs_path.parent if ctx.boroughs_path else None
    out: dict[str, Any] = {
        **unit,
        "snapshot_id": sid,
        "method": record.method,
        "terms": layer.terms.get(uid, {}),
        "places": geodata.place_names(folder, (xmin + xmax) / 2, (ymin + ymax) / 2),
    }
    try:
        out["intelligence"] = [
            {"id": d["id"], "grading": d["grading"], "start": d["start"], "end": d["end"],
             "summary": d["summary"]}
            for d, geom in _intel_features(ctx, who) if geom.intersects(box)
        ]
    except PermissionDenied as exc:  # a role that may not read intelligence: say so
        out["intelligence"] = None
        out["intelligence_note"] = str(exc)
    return out


def _audit(ctx: AppContext, who: Principal) -> dict[str, Any]:
    from patrolcast.governance import audit

    exported = perform(ctx, who, "audit_export")
    pem = ctx.signer.public_key_pem() if ctx.signer is not None else None
    with ctx.db.session() as s:
        report = audit.verify(s, public_key_pem=pem)
    return {**exported, "verify": report.to_dict()}


def _history(ctx: AppContext, who: Principal, pid: int) -> list[dict[str, Any]]:
    exported = perform(ctx, who, "audit_export")
    return [e for e in exported["entries"]
            if str(e.get("target_id")) == str(pid) and e.get("target_type") == "proposal"]


def _json(payload: Any) -> JSONResponse:
    return JSONResponse(jsonable_encoder(payload), headers={"Cache-Control": "no-store"})


def _install_data(app: FastAPI, ctx: AppContext) -> None:
    folder = ctx.boroughs_path.parent if ctx.boroughs_path else None

    @app.get("/web/data/config", include_in_schema=False)
    def config(request: Request) -> JSONResponse:
        who = _principal(ctx, request)
        return _json({"tile_url": os.environ.get("PATROLCAST_TILE_URL", ""),
                      "zone": LONDON, "now": as_utc(ctx.clock.now()).isoformat(),
                      "me": who.actor.to_dict(), "demo": is_demo(ctx)})

    @app.get("/web/data/forecasts", include_in_schema=False)
    def forecasts(request: Request) -> JSONResponse:
        _principal(ctx, request)
        return _json(_latest_forecasts(ctx))

    @app.get("/web/data/forecasts/{sid}.geojson", include_in_schema=False)
    def forecast(request: Request, sid: int) -> Response:
        _principal(ctx, request)
        text = geodata.forecast_layer(_snapshot(ctx, sid).uri).text
        return Response(text, media_type="application/geo+json")

    @app.get("/web/data/forecasts/{sid}/cells/{uid}", include_in_schema=False)
    def cell(request: Request, sid: int, uid: str) -> JSONResponse:
        return _json(_cell(ctx, _principal(ctx, request), sid, uid))

    @app.get("/web/data/snapshots/{sid}", include_in_schema=False)
    def snapshot(request: Request, sid: int) -> JSONResponse:
        _principal(ctx, request)
        record = _snapshot(ctx, sid)
        return _json({**record.to_dict(), "map": geodata.forecast_meta(record)})

    @app.get("/web/data/boundaries/{layer}.geojson", include_in_schema=False)
    def boundary(request: Request, layer: str) -> Response:
        _principal(ctx, request)
        return Response(geodata.boundary_geojson(folder, layer),
                        media_type="application/geo+json",
                        headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/web/data/deployments.geojson", include_in_schema=False)
    def deployments(request: Request) -> JSONResponse:
        return _json(_deployments(ctx, _principal(ctx, request)))

    @app.get("/web/data/alerts.geojson", include_in_schema=False)
    def alerts(request: Request) -> JSONResponse:
        _principal(ctx, request)
        return _json(_alerts(ctx))

    @app.get("/web/data/intel.geojson", include_in_schema=False)
    def intel(request: Request) -> JSONResponse:
        return _json(_intel(ctx, _principal(ctx, request)))

    @app.get("/web/data/audit", include_in_schema=False)
    def audit_log(request: Request) -> JSONResponse:
        return _json(_audit(ctx, _principal(ctx, request)))

    @app.get("/web/data/proposals/{pid}/history", include_in_schema=False)
    def history(request: Request, pid: int) -> JSONResponse:
        return _json(_history(ctx, _principal(ctx, request), pid))

    @app.get("/web/data/proposals/{pid}/area.geojson", include_in_schema=False)
    def area(request: Request, pid: int) -> JSONResponse:
        import shapely

        view = perform(ctx, _principal(ctx, request), "show_proposal", pid)
        return _json({"type": "Feature", "properties": {"id": pid},
                      "geometry": geodata.to_wgs84_geojson(shapely.from_wkt(view["area_wkt"]))})


def _install_pages(app: FastAPI, ctx: AppContext) -> None:
    demo = is_demo(ctx)
    pages = {
        "/map": ("Map: the intelligence picture", "map.html", "map"),
        "/queue": ("Proposals waiting for you", "queue.html", "queue"),
        "/propose": ("Propose a patrol", "propose.html", "propose"),
        "/audit": ("Audit log", "audit.html", "audit"),
    }

    def make(title: str, body: str, script: str) -> Any:
        def page(request: Request) -> Response:
            if not _signed_in(ctx, request):
                return _to_login(request)
            return _page(title, body, script=script, demo=demo)

        return page

    for path, (title, body, script) in pages.items():
        app.add_api_route(path, make(title, body, script), methods=["GET"],
                          include_in_schema=False, response_model=None)

    @app.get("/", include_in_schema=False, response_model=None)
    def home(request: Request) -> Response:
        return RedirectResponse("/map" if _signed_in(ctx, request) else "/login", 303)

    @app.get("/login", include_in_schema=False)
    def login_page() -> HTMLResponse:
        return _page("Sign in", "login.html", script="login", public=True, demo=demo)

    @app.get("/proposals/{pid}", include_in_schema=False, response_model=None)
    def proposal_page(request: Request, pid: int) -> Response:
        if not _signed_in(ctx, request):
            return _to_login(request)
        return _page(f"Proposal #{pid}", "proposal.html", script="proposal", demo=demo)


def _install_public(app: FastAPI, ctx: AppContext) -> None:
    from patrolcast.web.public import transparency_page

    @app.get("/transparency", include_in_schema=False)
    def transparency(month: str | None = None) -> HTMLResponse:
        layout = Template((_TEMPLATES / "layout.html").read_text(encoding="utf-8"))
        body = transparency_page(published_dir(ctx), month)
        return HTMLResponse(layout.safe_substitute(
            title="Targeted patrols: transparency", body=body, leaflet_css="",
            scripts='<script type="module" src="/web/static/public.js"></script>',
            public="true", demo=""))

    @app.get("/transparency/files/{name}", include_in_schema=False)
    def download(name: str) -> FileResponse:
        if not _PUBLISHED.fullmatch(name):
            raise InputError("no such published file")
        path = published_dir(ctx) / name
        if not path.exists():
            raise InputError("no such published file")
        media = {"html": "text/html", "csv": "text/csv", "json": "application/json",
                 "geojson": "application/geo+json"}[name.rsplit(".", 1)[1]]
        return FileResponse(path, media_type=media, filename=name)


def _warm(ctx: AppContext) -> None:
    """Prepare the newest forecasts and the default context layers before anyone asks."""
    folder = ctx.boroughs_path.parent if ctx.boroughs_path else None
    try:
        for meta in _latest_forecasts(ctx):
            geodata.forecast_layer(_snapshot(ctx, int(meta["snapshot_id"])).uri)
        if folder is not None:
            for layer in ("boroughs", "roads"):
                geodata.boundary_geojson(folder, layer)
    except Exception:  # noqa: BLE001 - a cache warm-up; the request path reports errors
        return


def mount_web(app: FastAPI, ctx: AppContext) -> None:
    """Add the dashboard's pages, data routes and assets to the server's application."""
    import threading

    url = str(ctx.db.engine.url)
    if not (url in ("sqlite://", "sqlite:///:memory:") or ":memory:" in url):
        # an in-memory database is one connection: never shared with a second thread
        threading.Thread(target=_warm, args=(ctx,), name="web-warm-up", daemon=True).start()
    _install_data(app, ctx)
    _install_pages(app, ctx)
    _install_public(app, ctx)
    app.mount("/web/static", StaticFiles(directory=_HERE / "static"), name="web-static")
    leaflet = node_modules() / "leaflet" / "dist"
    if leaflet.is_dir():
        app.mount("/web/vendor/leaflet", StaticFiles(directory=leaflet), name="web-leaflet")
    else:
        @app.get("/web/vendor/leaflet/{rest:path}", include_in_schema=False)
        def missing(rest: str) -> Response:
            return Response(json.dumps({"error": "the map library is not installed: run "
                                        "scripts/web_setup.sh (npm ci)"}),
                            status_code=404, media_type="application/json")
