"""A DEMO database for the web dashboard: demo accounts, the demo's forecasts, one graded
intelligence item and a published transparency page.

Only for trying the dashboard out. The database is created fresh in its own folder (refused
if one is already there), always SQLite in that folder (``PATROLCAST_DATABASE_URL`` is
ignored, so a demo can never land in a real database), and marked as a demo twice: a
``DEMO-DATABASE`` file beside it (the dashboard shows a banner) and a ``demo_seed`` entry at the
start of its audit log. The demo accounts share one password, written with their one-time-code
secrets to ``demo-accounts.txt`` (mode 0600) in that folder; no other database ever has a
default password.

Everything goes through the same front door as the server (:func:`patrolcast.app.actions.
perform`): accounts are added by the demo administrator and activated with their enrolment
codes, snapshots are recorded by the demo analyst, intelligence by the demo intelligence
officer, the transparency report is built from the demo auditor's audited read.

Forecasts are the ``*.snapshot.json`` files ``patrolcast demo`` wrote (``out/demo/forecasts``);
when there are none, a small illustrative forecast over the City of London is written instead
(labelled as made up: a smooth surface, not data).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from patrolcast.app import auth_cases
from patrolcast.app.actions import perform
from patrolcast.app.context import AppContext, Principal
from patrolcast.app.inputs import (
    ActivateInput,
    IntelAddInput,
    ProposalListInput,
    SnapshotInput,
    TokenInput,
    UserAddInput,
)
from patrolcast.config import load_settings
from patrolcast.errors import InputError
from patrolcast.governance import audit
from patrolcast.governance.clock import Clock, as_utc
from patrolcast.governance.db import run_transaction

__all__ = ["DEMO_MARKER", "DEMO_PEOPLE", "DemoWorld", "seed_demo", "write_illustrative_forecast"]

DEMO_MARKER = "DEMO-DATABASE"
DEMO_PASSWORD = "demo only: never in service"  # noqa: S105 - the demo's own, printed
#: username -> (roles, rank, display name)
DEMO_PEOPLE: dict[str, tuple[list[str], str | None, str]] = {
    "ana": (["analyst"], None, "Demo analyst"),
    "ian": (["intelligence_officer"], None, "Demo intelligence officer"),
    "cat": (["community_lead"], None, "Demo community lead"),
    "bob": (["borough_commander:E09000001"], "chief_superintendent",
            "Demo borough commander, City of London"),
    "wes": (["borough_commander:E09000033"], "chief_superintendent",
            "Demo borough commander, Westminster"),
    "acc": (["authorising_officer"], "assistant_chief_constable", "Demo ACC"),
    "tfc": (["tactical_firearms_commander"], "inspector", "Demo tactical firearms commander"),
    "sfc": (["strategic_firearms_commander"], "chief_superintendent",
            "Demo strategic firearms commander"),
    "aud": (["oversight_auditor"], None, "Demo oversight auditor"),
}


@dataclass
class DemoWorld:
    """What was seeded: where, the shared password, TOTP secrets, snapshot ids."""

    home: Path
    password: str
    totp: dict[str, str] = field(default_factory=dict)
    snapshots: list[int] = field(default_factory=list)
    published: list[Path] = field(default_factory=list)

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.home / 'patrolcast.db'}"


def _code(secret: str, clock: Clock) -> str:
    import pyotp

    return str(pyotp.TOTP(secret).at(clock.now()))


def _sign_in(ctx: AppContext, username: str, password: str, totp: str | None) -> Principal:
    out = auth_cases.token(ctx, TokenInput(username=username, password=password, totp=totp,
                                           label="demo-seed", hours=1))
    return auth_cases.principal_for(ctx, str(out["token"]), csrf=None, changes=True,
                                    via_cookie=False)


def write_illustrative_forecast(folder: Path, *, made_at: datetime) -> Path:
    """A made-up 250 m grid forecast over the City of London (a smooth surface around two
    centres), written like :func:`patrolcast.evaluate.jobs.forecast_job` writes one: GeoJSON
    (WGS84), explanation terms and the snapshot description. Returns the snapshot JSON."""
    import hashlib

    import shapely
    from pyproj import Transformer

    to = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)

    def to_wgs84_geojson(geom: Any) -> dict[str, Any]:
        moved = shapely.transform(
            geom, lambda xy: np.column_stack(to.transform(xy[:, 0], xy[:, 1])))
        return dict(json.loads(shapely.to_geojson(shapely.set_precision(moved, 1e-7))))

    size = 250.0
    xs = np.arange(531000.0, 534000.0, size)
    ys = np.arange(180500.0, 182000.0, size)
    units, boxes, recent, base = [], [], [], []
    for y in ys:
        for x in xs:
            cx, cy = x + size / 2, y + size / 2
            near = 2.4 * np.exp(-((cx - 532375) ** 2 + (cy - 181125) ** 2) / (2 * 420.0**2))
            near += 1.1 * np.exp(-((cx - 533400) ** 2 + (cy - 181600) ** 2) / (2 * 300.0**2))
            units.append(f"E{int(x)}N{int(y)}")
            boxes.append(shapely.box(x, y, x + size, y + size))
            recent.append(round(float(near), 6))
            base.append(0.05)
    count = np.array(recent) + np.array(base)
    harm = count * 180.0
    order = np.argsort(-harm, kind="stable")
    rank = np.empty(len(units), dtype=int)
    rank[order] = np.arange(1, len(units) + 1)
    start = made_at.replace(hour=0, minute=0, second=0, microsecond=0)
    stem = f"forecast_demo-city_illustrative_{start.date()}"
    folder.mkdir(parents=True, exist_ok=True)
    features = [
        {"type": "Feature", "geometry": to_wgs84_geojson(b),
         "properties": {"unit_id": u, "expected_count": float(c), "expected_harm": float(h),
                        "rank": int(r)}}
        for u, b, c, h, r in zip(units, boxes, count, harm, rank, strict=True)
    ]
    text = json.dumps({"type": "FeatureCollection", "features": features})
    (folder / f"{stem}.geojson").write_text(text, encoding="utf-8")
    lines = ["unit_id,expected_count,recent_events,baseline"]
    lines += [f"{units[i]},{count[i]:.6g},{recent[i]:.6g},{base[i]:.6g}" for i in order]
    (folder / f"{stem}.explain.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    snapshot = {
        "method": "illustrative",
        "params": {"dataset": "demo-city (illustrative, made up)", "level": "grid",
                   "cell_size": size},
        "created_at": made_at.isoformat(),
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(days=7)).isoformat(),
        "digest": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "uri": str((folder / f"{stem}.gpkg").resolve()),
        "ranked_by": "harm",
        "study_area": {"source": "the cells of the illustrative grid",
                       "km2": round(len(units) * size * size / 1e6, 3)},
        "warnings": ["illustrative: a made-up surface for the demo, not a forecast of data"],
    }
    path = folder / f"{stem}.snapshot.json"
    path.write_text(json.dumps(snapshot, indent=1), encoding="utf-8")
    return path


def _record_forecasts(ctx: AppContext, analyst: Principal, paths: list[Path]) -> list[int]:
    ids = []
    for path in paths:
        snap = json.loads(path.read_text(encoding="utf-8"))
        rec = perform(ctx, analyst, "snapshot_record", None, SnapshotInput(
            method=str(snap["method"]), digest=str(snap["digest"]),
            created_at=str(snap["created_at"]), params=dict(snap.get("params") or {}),
            uri=str(snap.get("uri", ""))))
        ids.append(int(rec["id"]))
    return ids


def _publish(ctx: AppContext, auditor: Principal, home: Path) -> list[Path]:
    """The current month's transparency report from the auditor's audited read."""
    from patrolcast.governance.service import ProposalView
    from patrolcast.oversight.atrs import algorithm_record
    from patrolcast.oversight.grading import load_weights
    from patrolcast.oversight.records import deployment_records
    from patrolcast.oversight.transparency import (
        build_report,
        month_of,
        write_csv,
        write_geojson,
        write_html,
        write_json,
    )

    views = [ProposalView.from_dict(d)
             for d in perform(ctx, auditor, "list_proposals", None, ProposalListInput())]
    now = as_utc(ctx.clock.now())
    month = month_of(now)
    names: dict[str, str] = {}
    support = None
    if ctx.boroughs_path is not None:
        from patrolcast.geo.boundaries import read_borough_boundaries

        support = read_borough_boundaries(ctx.boroughs_path)
        names = dict(zip(support.ids, support.names, strict=True))
    pem = ctx.signer.public_key_pem() if ctx.signer is not None else None
    report = build_report(deployment_records(views), month, generated_at=now,
                          borough_names=names,
                          atrs=algorithm_record(grading_weights=load_weights().as_dict()),
                          audit_public_key_pem=pem)
    out = home / "transparency"
    return [
        write_html(report, out / f"transparency-{month}.html"),
        write_csv(report, out / f"transparency-{month}.csv"),
        write_geojson(report, out / f"transparency-{month}.geojson", support),
        write_json(report, out / f"transparency-{month}.json"),
    ]


def _intel(ctx: AppContext, officer: Principal) -> None:
    now = as_utc(ctx.clock.now())
    perform(ctx, officer, "intel_add", None, IntelAddInput(
        grading="2B P", start=now.isoformat(), end=(now + timedelta(hours=24)).isoformat(),
        retain_until=(now + timedelta(days=30)).isoformat(), owner="demo intelligence unit",
        x=532450.0, y=181150.0, radius=200.0,
        summary="Illustrative: reports of a planned fight near the junction (made up)."))


def seed_demo(
    home: Path,
    *,
    forecasts_dir: Path | None = Path("out/demo/forecasts"),
    shared_data: Path | None = None,
    clock: Clock | None = None,
    password: str = DEMO_PASSWORD,
    publish: bool = True,
) -> DemoWorld:
    """Create the demo database in ``home`` (fresh) and seed it; see the module notes."""
    from patrolcast.app.runtime import open_context
    from patrolcast.governance.identity.sign_in import bootstrap_administrator

    home = Path(home)
    if (home / "patrolcast.db").exists():
        raise InputError(f"{home / 'patrolcast.db'} exists: a demo database is made fresh "
                         "in a folder of its own")
    home.mkdir(parents=True, exist_ok=True)
    (home / DEMO_MARKER).write_text(
        "This folder holds a DEMO patrolcast database: demo accounts with a shared password.\n"
        "Never use it for real decisions.\n", encoding="utf-8")
    settings = load_settings(home=home, database_url=f"sqlite:///{home / 'patrolcast.db'}",
                             shared_data=shared_data)
    ctx = open_context(settings, create=True)
    if clock is not None:
        ctx.clock = clock
    clock = ctx.clock if clock is None else clock
    world = DemoWorld(home=home, password=password)
    try:
        with ctx.db.session() as s:
            prov = bootstrap_administrator(s, ctx.key, clock, username="admin", password=password,
                                           display_name="Demo administrator")
            run_transaction(s, lambda: audit.append(
                s, actor="admin", action="demo_seed", target_type="database", target_id="-",
                outcome="done", detail={"demo": True, "note": "demo accounts, shared password"},
                now=as_utc(clock.now())))
        world.totp["admin"] = prov.secret
        admin = _sign_in(ctx, "admin", password, _code(prov.secret, clock))
        for name, (roles, rank, display) in DEMO_PEOPLE.items():
            added = perform(ctx, admin, "user_add", None, UserAddInput(
                username=name, roles=roles, rank=rank, display_name=display))
            act = auth_cases.activate_account(ctx, ActivateInput(
                username=name, code=str(added["enrolment_code"]), password=password))
            if act.get("totp_secret"):
                world.totp[name] = str(act["totp_secret"])
        analyst = _sign_in(ctx, "ana", password, None)
        found = sorted(forecasts_dir.glob("*.snapshot.json")) if forecasts_dir else []
        if not found:
            found = [write_illustrative_forecast(home / "forecasts", made_at=clock.now())]
        world.snapshots = _record_forecasts(ctx, analyst, found)
        _intel(ctx, _sign_in(ctx, "ian", password, None))
        if publish:
            world.published = _publish(ctx, _sign_in(ctx, "aud", password, None), home)
    finally:
        ctx.db.dispose()
    _write_accounts(world)
    return world


def _write_accounts(world: DemoWorld) -> Path:
    lines = ["DEMO accounts (never for real use). Password for all: " + world.password, ""]
    for name in ["admin", *DEMO_PEOPLE]:
        roles = "administrator" if name == "admin" else ", ".join(DEMO_PEOPLE[name][0])
        secret = world.totp.get(name)
        lines.append(f"{name:5} {roles}" + (f"  (one-time-code secret: {secret})" if secret
                                             else ""))
    path = world.home / "demo-accounts.txt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def main(argv: list[str] | None = None) -> None:
    """``python -m patrolcast.app.demo_world HOME``: seed and print how to sign in."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    home = Path(args[0] if args else "var/demo")
    world = seed_demo(home)
    print(f"DEMO database seeded in {home} (accounts and one-time-code secrets in "
          f"{home / 'demo-accounts.txt'})")
    print(f"  start:   .venv/bin/patrolcast serve --home {home}")
    print("  open:    http://127.0.0.1:8787/  and sign in as ana, cat, bob, acc or aud")
    print(f"  password for every demo account: {world.password}")
    print("  acc and admin also need a one-time code: see demo-accounts.txt "
          "(e.g. .venv/bin/python -c \"import pyotp; print(pyotp.TOTP('SECRET').now())\")")


if __name__ == "__main__":
    main()
