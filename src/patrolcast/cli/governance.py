"""Governance commands: users, snapshots, the deployment lifecycle, the audit log.

Thin adapters: parse options, call one service in :mod:`patrolcast.governance`, print (text or
``--json``). The acting user comes from the local identity: ``--as USER`` or
``PATROLCAST_USER``. Times without an offset are Europe/London wall-clock time (``--tz``); a time
in the spring gap is refused and one in the autumn fold needs an explicit offset.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer

from patrolcast.config import load_settings
from patrolcast.errors import InputError
from patrolcast.governance import audit, service
from patrolcast.governance.clock import LONDON, Clock, SystemClock, format_local, parse_time
from patrolcast.governance.db import Database, open_database
from patrolcast.governance.profiles import available_profiles, load_profile
from patrolcast.governance.roles import Rank, RoleSpec, add_person, list_people
from patrolcast.governance.snapshots import record_snapshot
from patrolcast.governance.states import State
from patrolcast.governance.values import (
    Area,
    AuthorisationDetails,
    CancellationDetails,
    ConsultationDetails,
    DebriefDetails,
    ExtensionDetails,
    NDMRationale,
    ProposalDetails,
    RefusalDetails,
    ReviewDetails,
    Trigger,
)

user_app = typer.Typer(help="Local users and their roles.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
deployments_app = typer.Typer(help="Read deployment proposals (audited).", no_args_is_help=True)
snapshot_app = typer.Typer(help="Forecast snapshots that proposals rely on.", no_args_is_help=True)
profile_app = typer.Typer(help="Policy profiles (files).", no_args_is_help=True)

AS = typer.Option(None, "--as", envvar="PATROLCAST_USER", help="Acting user (local identity).")
JSON = typer.Option(False, "--json", help="Print JSON.")
DB = typer.Option(None, "--db", help="Database URL (default: settings / var/patrolcast.db).")
TZ = typer.Option(LONDON, "--tz", help="Zone of times given without an offset.")
VERSION = typer.Option(None, "--expected-version", help="Refuse if the proposal moved on.")


def _db(url: str | None) -> Database:
    return open_database(url or load_settings().effective_database_url)


def _who(actor: str | None) -> str:
    if not actor:
        raise InputError("say who is acting: --as USER or PATROLCAST_USER")
    return actor


def _person(actor: str | None) -> str:
    """The acting person; the pipeline's own identity is not available from the command line."""
    who = _who(actor)
    if who == "system":
        raise InputError("'system' is the forecasting pipeline's identity: act as yourself")
    return who


def _emit(payload: dict[str, Any] | list[Any], as_json: bool, text: str) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str) if as_json else text)


def _read_mapping(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise InputError(f"file {path} does not exist")
    raw = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(raw) if path.suffix == ".toml" else json.loads(raw)
    except (ValueError, tomllib.TOMLDecodeError):
        raise InputError(
            f"{path} is not valid {'TOML' if path.suffix == '.toml' else 'JSON'}"
        ) from None
    if not isinstance(data, dict):
        raise InputError(f"{path} must hold an object")
    return data


def _ndm(path: Path | None) -> NDMRationale:
    if path is None:
        raise InputError("--ndm FILE (JSON or TOML with the six NDM headings) is mandatory")
    return NDMRationale.from_mapping(_read_mapping(path))


def _act(
    db_url: str | None,
    as_json: bool,
    action: Callable[..., Any],
    *,
    actor: str | None,
    proposal: int,
    expected_version: int | None,
    clock: Clock | None = None,
    **details: Any,
) -> None:
    """Apply one lifecycle action to one proposal as the acting user, then print the result."""
    clk = clock or SystemClock()
    _transition(
        db_url,
        as_json,
        lambda s: action(
            s,
            actor=_who(actor),
            clock=clk,
            proposal_id=proposal,
            expected_version=expected_version,
            **details,
        ),
    )


def _transition(db_url: str | None, as_json: bool, call: Callable[[Any], Any]) -> None:
    db = _db(db_url)
    try:
        with db.session() as s:
            result = call(s)
    finally:
        db.dispose()
    d = result.to_dict()
    _emit(
        d,
        as_json,
        f"proposal #{d['proposal_id']}: {d['from_state']} -> {d['to_state']} "
        f"({d['action']}, version {d['version']}, audit #{d['audit_seq']})",
    )


def _boroughs_path() -> Path:
    return load_settings().shared_data / "boundaries" / "london_boroughs.gpkg"


def _boroughs_of(wkt: str) -> tuple[str, ...]:
    """Borough codes the area touches, from the London boroughs GeoPackage."""
    import shapely

    from patrolcast.geo.boundaries import read_borough_boundaries

    path = _boroughs_path()
    if not path.exists():
        raise InputError(
            "give --borough for every borough the area touches "
            f"({path} is absent, so they cannot be computed)"
        )
    support = read_borough_boundaries(path)
    geom = shapely.from_wkt(wkt)
    return tuple(
        code
        for code, poly in zip(support.ids, support.geometry_array, strict=True)
        if poly.intersection(geom).area > 0
    )


def _area(bbox: str | None, wkt: str | None, boroughs: list[str]) -> Area:
    if (bbox is None) == (wkt is None):
        raise InputError("give the area as --bbox xmin,ymin,xmax,ymax or --area-wkt (EPSG:27700)")
    if bbox is not None:
        try:
            xmin, ymin, xmax, ymax = (float(v) for v in bbox.split(","))
        except ValueError:
            raise InputError("--bbox must be four numbers: xmin,ymin,xmax,ymax (metres)") from None
        text = Area.from_bbox(xmin, ymin, xmax, ymax, ("X",)).wkt
    else:
        text = wkt or ""
    # Every borough the area touches is consulted: given codes add to the computed ones and
    # can never leave one out (the proposer does not choose whose commander is asked).
    if boroughs and not _boroughs_path().exists():
        codes = tuple(boroughs)
    else:
        codes = tuple(sorted({*(b.strip().upper() for b in boroughs), *_boroughs_of(text)}))
    if not codes:
        raise InputError("the area touches no London borough: give --borough codes")
    return Area(wkt=text, boroughs=codes)


def _window(
    start: str | None, end: str | None, hours: float | None, tz: str, default_start: Any
) -> tuple[Any, Any]:
    begin = parse_time(start, zone=tz) if start else default_start
    if (end is None) == (hours is None):
        raise InputError("give either --end or --hours")
    finish = parse_time(end, zone=tz) if end else begin + timedelta(hours=float(hours or 0))
    return begin, finish


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(audit_app, name="audit")
    app.add_typer(deployments_app, name="deployments")
    app.add_typer(snapshot_app, name="snapshot")
    app.add_typer(profile_app, name="profile")

    @app.command()
    def propose(
        offence: str = typer.Option(None, help="Incident trigger: offence (e.g. serious_assault)."),
        incident_at: str = typer.Option(None, help="Incident trigger: when it happened."),
        place: str = typer.Option(None, help="Incident trigger: where (street, landmark)."),
        intel_item: int = typer.Option(None, help="Intelligence trigger: item id."),
        grade: str = typer.Option(None, help="Intelligence trigger: grade, e.g. 1B."),
        bbox: str = typer.Option(None, help="Area as xmin,ymin,xmax,ymax (EPSG:27700 metres)."),
        area_wkt: str = typer.Option(None, help="Area polygon as WKT (EPSG:27700)."),
        borough: list[str] = typer.Option([], help="Borough code the area touches (repeat)."),
        start: str = typer.Option(None, help="Requested start (default now)."),
        end: str = typer.Option(None, help="Requested end."),
        hours: float = typer.Option(None, help="Requested duration in elapsed hours."),
        ndm: Path = typer.Option(None, help="NDM rationale file (six headings)."),
        snapshot: int = typer.Option(None, help="Forecast snapshot id relied on."),
        profile: str = typer.Option(None, help="Policy profile (default from settings)."),
        draft: bool = typer.Option(False, help="Keep as a draft (do not submit)."),
        tz: str = TZ,
        actor: str = AS,
        as_json: bool = JSON,
        db: str = DB,
    ) -> None:
        """Propose a deployment (and submit it unless --draft)."""
        clock = SystemClock()
        if intel_item is not None:
            trigger = Trigger(kind="intelligence", intelligence_item_id=intel_item, grade=grade)
        else:
            trigger = Trigger(
                kind="incident",
                offence=offence,
                place=place,
                occurred_at=parse_time(incident_at, zone=tz) if incident_at else None,
            )
        begin, finish = _window(start, end, hours, tz, clock.now())
        details = ProposalDetails(
            trigger=trigger,
            area=_area(bbox, area_wkt, borough),
            start=begin,
            end=finish,
            ndm=_ndm(ndm),
            snapshot_id=snapshot,
            profile=profile or load_settings().policy_profile,
        )
        load_profile(details.profile)
        _transition(
            db,
            as_json,
            lambda s: service.propose(
                s, actor=_who(actor), clock=clock, details=details, submit_now=not draft
            ),
        )

    @app.command()
    def submit(
        proposal: int,
        actor: str = AS,
        as_json: bool = JSON,
        db: str = DB,
        expected_version: int = VERSION,
    ) -> None:
        """Submit a draft proposal (proposer only)."""
        _act(db, as_json, service.submit, actor=actor, proposal=proposal,
             expected_version=expected_version)

    @app.command()
    def assess(
        proposal: int,
        assessment: Path = typer.Option(None, help="Record this completed assessment first."),
        actor: str = AS,
        as_json: bool = JSON,
        db: str = DB,
        expected_version: int = VERSION,
    ) -> None:
        """Mark the community impact assessment done (community lead)."""
        clock = SystemClock()

        def call(s: Any) -> Any:
            if assessment is not None:
                # Through oversight's content check: required fields cannot be empty.
                from patrolcast.oversight.cia import AssessmentContent
                from patrolcast.oversight.cia_service import record_cia

                record_cia(
                    s,
                    actor=_who(actor),
                    clock=clock,
                    proposal_id=proposal,
                    content=AssessmentContent.from_dict(_read_mapping(assessment)),
                )
            return service.assess(
                s,
                actor=_who(actor),
                clock=clock,
                proposal_id=proposal,
                expected_version=expected_version,
            )

        _transition(db, as_json, call)

    @app.command()
    def consult(
        proposal: int,
        borough: str = typer.Option(..., help="The borough you respond for."),
        position: str = typer.Option(..., help="support or object"),
        reasons: str = typer.Option(..., help="Reasons (mandatory)."),
        actor: str = AS,
        as_json: bool = JSON,
        db: str = DB,
        expected_version: int = VERSION,
    ) -> None:
        """Record a borough commander's response."""
        d = ConsultationDetails(borough=borough, position=position, reasons=reasons)
        _act(db, as_json, service.consult, actor=actor, proposal=proposal,
             expected_version=expected_version, details=d)

    @app.command()
    def authorise(
        proposal: int,
        reasons: str = typer.Option(..., help="Reasons (mandatory)."),
        ndm: Path = typer.Option(None, help="NDM rationale file (six headings)."),
        start: str = typer.Option(None, help="Start (default now)."),
        end: str = typer.Option(None, help="End."),
        hours: float = typer.Option(None, help="Duration in elapsed hours."),
        tactical: str = typer.Option(None, help="Tactical firearms commander (username)."),
        strategic: str = typer.Option(None, help="Strategic firearms commander (username)."),
        public_notice: str = typer.Option(None, help="Text of the public notice."),
        objection_response: str = typer.Option(None, help="Answer to a borough's objection."),
        tz: str = TZ,
        actor: str = AS,
        as_json: bool = JSON,
        db: str = DB,
        expected_version: int = VERSION,
    ) -> None:
        """Authorise a consulted proposal (the profile's rank; never your own)."""
        clock = SystemClock()
        begin, finish = _window(start, end, hours, tz, clock.now())
        d = AuthorisationDetails(
            start=begin,
            end=finish,
            reasons=reasons,
            ndm=_ndm(ndm),
            tactical_commander=tactical,
            strategic_commander=strategic,
            public_notice=public_notice,
            objection_response=objection_response,
        )
        _act(db, as_json, service.authorise, actor=actor, proposal=proposal,
             expected_version=expected_version, clock=clock, details=d)

    @app.command()
    def refuse(
        proposal: int,
        reasons: str = typer.Option(..., help="Reasons (mandatory)."),
        actor: str = AS,
        as_json: bool = JSON,
        db: str = DB,
        expected_version: int = VERSION,
    ) -> None:
        """Refuse a consulted proposal."""
        _act(db, as_json, service.refuse, actor=actor, proposal=proposal,
             expected_version=expected_version, details=RefusalDetails(reasons))

    @app.command()
    def extend(
        proposal: int,
        reasons: str = typer.Option(..., help="Reasons (mandatory)."),
        hours: float = typer.Option(None, help="Extra elapsed hours."),
        until: str = typer.Option(None, help="New end time."),
        ndm: Path = typer.Option(
            None, help="NDM rationale file (six headings; the profile may require it)."
        ),
        tz: str = TZ,
        actor: str = AS,
        as_json: bool = JSON,
        db: str = DB,
        expected_version: int = VERSION,
    ) -> None:
        """Extend an authorisation: a new decision within the profile's maxima."""
        clock = SystemClock()

        def call(s: Any) -> Any:
            if (hours is None) == (until is None):
                raise InputError("give either --hours or --until")
            if until is not None:
                new_end = parse_time(until, zone=tz)
            else:
                view = service.read_proposal(
                    s, actor=_who(actor), clock=clock, proposal_id=proposal
                )
                if view.authorised_end is None:
                    raise InputError(f"proposal #{proposal} is not authorised")
                new_end = view.authorised_end + timedelta(hours=float(hours or 0))
            d = ExtensionDetails(new_end=new_end, reasons=reasons, ndm=_ndm(ndm) if ndm else None)
            return service.extend(
                s,
                actor=_who(actor),
                clock=clock,
                proposal_id=proposal,
                details=d,
                expected_version=expected_version,
            )

        _transition(db, as_json, call)

    @app.command()
    def cancel(
        proposal: int,
        reasons: str = typer.Option(..., help="Grounds that lapsed."),
        actor: str = AS,
        as_json: bool = JSON,
        db: str = DB,
        expected_version: int = VERSION,
    ) -> None:
        """Cancel an authorised or active deployment (grounds lapsed)."""
        _act(db, as_json, service.cancel, actor=actor, proposal=proposal,
             expected_version=expected_version, details=CancellationDetails(reasons))

    @app.command()
    def debrief(
        proposal: int,
        summary: str = typer.Option(..., help="What happened."),
        sign_off: str = typer.Option(..., help="Sign-off statement (mandatory)."),
        actor: str = AS,
        as_json: bool = JSON,
        db: str = DB,
        expected_version: int = VERSION,
    ) -> None:
        """Debrief and sign off an expired or cancelled deployment."""
        _act(db, as_json, service.debrief, actor=actor, proposal=proposal,
             expected_version=expected_version, details=DebriefDetails(summary, sign_off))

    @app.command()
    def review(
        proposal: int,
        findings: str = typer.Option(..., help="Review findings."),
        actor: str = AS,
        as_json: bool = JSON,
        db: str = DB,
        expected_version: int = VERSION,
    ) -> None:
        """Independent review of a debriefed deployment."""
        _act(db, as_json, service.review, actor=actor, proposal=proposal,
             expected_version=expected_version, details=ReviewDetails(findings))


@user_app.command("add")
def user_add(
    username: str,
    role: list[str] = typer.Option(..., help="Role, or borough_commander:CODE (repeat)."),
    rank: str = typer.Option(None, help="Rank (authorising officers, firearms commanders)."),
    name: str = typer.Option("", help="Display name."),
    actor: str = AS,
    as_json: bool = JSON,
    db: str = DB,
) -> None:
    """Add a user (the first one must be an administrator; then administrators only)."""
    specs = [RoleSpec.parse(r) for r in role]
    database = _db(db)
    try:
        with database.session() as s:
            person = add_person(
                s,
                actor=actor,
                username=username,
                roles=specs,
                rank=Rank.parse(rank) if rank else None,
                display_name=name,
                clock=SystemClock(),
            )
    finally:
        database.dispose()
    d = person.to_dict()
    _emit(
        d,
        as_json,
        f"{d['username']}: {', '.join(d['roles'])}"  # type: ignore[arg-type]
        + (f" ({d['rank']})" if d["rank"] else ""),
    )


@user_app.command("list")
def user_list(as_json: bool = JSON, db: str = DB) -> None:
    """List local users and roles."""
    database = _db(db)
    try:
        with database.session() as s:
            people = [p.to_dict() for p in list_people(s)]
    finally:
        database.dispose()
    lines = [
        f"{p['username']:<16} {','.join(p['roles'])}"  # type: ignore[arg-type]
        + (f" [{','.join(p['boroughs'])}]" if p["boroughs"] else "")  # type: ignore[arg-type]
        + (f" ({p['rank']})" if p["rank"] else "")
        for p in people
    ]
    _emit(people, as_json, "\n".join(lines) or "no users")


@snapshot_app.command("record")
def snapshot_record(
    from_file: Path | None = typer.Option(
        None, "--from-file", help="A *.snapshot.json written by `patrolcast forecast`."
    ),
    method: str = typer.Option("", help="Forecast method (unless --from-file)."),
    digest: str = typer.Option("", help="Digest of the forecast values (hex)."),
    created_at: str = typer.Option("", help="When the forecast was made."),
    params: str = typer.Option("{}", help="Parameters as JSON."),
    uri: str = typer.Option("", help="Where the forecast is kept."),
    tz: str = TZ,
    actor: str = AS,
    as_json: bool = JSON,
    db: str = DB,
) -> None:
    """Record a forecast snapshot that proposals can rely on."""
    if from_file is not None:
        try:
            snap = json.loads(from_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read snapshot file {from_file}: {exc}") from None
        if not isinstance(snap, dict) or not {"method", "digest", "created_at"} <= set(snap):
            raise InputError(f"{from_file} is not a forecast snapshot (method, digest, created_at)")
        method, digest = str(snap["method"]), str(snap["digest"])
        created_at, uri = str(snap["created_at"]), str(snap.get("uri", uri))
        extra = {k: snap[k] for k in ("window_start", "window_end") if k in snap}
        params = json.dumps({**snap.get("params", {}), **extra})
    if not (method and digest and created_at):
        raise InputError("give --from-file, or all of --method, --digest and --created-at")
    try:
        parsed = json.loads(params)
    except ValueError:
        raise InputError("--params must be a JSON object") from None
    if not isinstance(parsed, dict):
        raise InputError("--params must be a JSON object")
    database = _db(db)
    try:
        with database.session() as s:
            rec = record_snapshot(
                s,
                method=method,
                params=parsed,
                created_at=parse_time(created_at, zone=tz),
                digest=digest,
                uri=uri,
                actor=_person(actor),
                clock=SystemClock(),
            )
    finally:
        database.dispose()
    _emit(rec.to_dict(), as_json, f"snapshot #{rec.id} ({rec.method}, {rec.digest[:12]}...)")


def _view_text(v: dict[str, Any], tz: str) -> str:
    when = ""
    if v["authorised_start"]:
        from datetime import datetime

        when = (
            f" {format_local(datetime.fromisoformat(v['authorised_start']), zone=tz)} -> "
            f"{format_local(datetime.fromisoformat(v['authorised_end']), zone=tz)}"
        )
    return (
        f"#{v['id']:<5} {v['state']:<11} {v['profile']:<18} {','.join(v['boroughs'])}"
        f" {v['area_km2']:.3f} km2{when}"
    )


@deployments_app.command("list")
def deployments_list(
    state: str = typer.Option(None, help="Only this effective state."),
    tz: str = TZ,
    actor: str = AS,
    as_json: bool = JSON,
    db: str = DB,
) -> None:
    """List proposals with their effective state now (an audited read)."""
    wanted = State(state) if state else None
    database = _db(db)
    try:
        with database.session() as s:
            views = [
                v.to_dict()
                for v in service.list_proposals(
                    s, actor=_who(actor), clock=SystemClock(), state=wanted
                )
            ]
    finally:
        database.dispose()
    _emit(views, as_json, "\n".join(_view_text(v, tz) for v in views) or "no proposals")


@deployments_app.command("show")
def deployments_show(
    proposal: int, tz: str = TZ, actor: str = AS, as_json: bool = JSON, db: str = DB
) -> None:
    """Show one proposal, its consultations and decisions (an audited read)."""
    database = _db(db)
    try:
        with database.session() as s:
            v = service.read_proposal(
                s, actor=_who(actor), clock=SystemClock(), proposal_id=proposal
            ).to_dict()
    finally:
        database.dispose()
    lines = [_view_text(v, tz), f"trigger: {v['trigger']}"]
    lines += [
        f"consulted {c['borough']}: {c['position']} ({c['commander']}): {c['reasons']}"
        for c in v["consultations"]
    ]
    lines += [f"{d['kind']} by {d['by']} ({d['rank']}): {d['reasons']}" for d in v["decisions"]]
    _emit(v, as_json, "\n".join(lines))


@audit_app.command("verify")
def audit_verify(
    checkpoint: Path = typer.Option(None, help="Checkpoint file kept outside the database."),
    as_json: bool = JSON,
    db: str = DB,
) -> None:
    """Verify the hash chain (and a checkpoint); exit 1 if anything was tampered with."""
    cp = audit.Checkpoint.from_json(checkpoint.read_text()) if checkpoint else None
    if checkpoint is not None and not checkpoint.exists():
        raise InputError(f"checkpoint file {checkpoint} does not exist")
    database = _db(db)
    try:
        with database.session() as s:
            report = audit.verify(s, checkpoint=cp)
    finally:
        database.dispose()
    text = (
        f"audit chain OK: {report.entries} entries, head #{report.head_seq} {report.head_hash[:16]}"
        if report.ok
        else "audit chain BROKEN:\n" + "\n".join(f"  {p}" for p in report.problems)
    )
    _emit(report.to_dict(), as_json, text)
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("export")
def audit_export(
    out: Path = typer.Option(None, help="Write the entries (JSON) here."),
    checkpoint_out: Path = typer.Option(None, help="Write a checkpoint (seq + head hash) here."),
    since: int = typer.Option(0, help="Only entries after this seq."),
    actor: str = AS,
    as_json: bool = JSON,
    db: str = DB,
) -> None:
    """Export entries and/or a checkpoint to keep outside the database (audited)."""
    clock = SystemClock()
    database = _db(db)
    try:
        with database.session() as s:
            entries, cp = service.export_audit(s, actor=_who(actor), clock=clock, since=since)
    finally:
        database.dispose()
    if out is not None:
        out.write_text(json.dumps(entries, indent=1) + "\n", encoding="utf-8")
    if checkpoint_out is not None:
        checkpoint_out.write_text(cp.to_json(), encoding="utf-8")
    summary = {
        "entries": len(entries),
        "checkpoint": {"seq": cp.seq, "hash": cp.hash},
        "out": str(out) if out else None,
        "checkpoint_out": str(checkpoint_out) if checkpoint_out else None,
    }
    text = f"{len(entries)} entries; checkpoint seq {cp.seq} {cp.hash}"
    if out is None and checkpoint_out is None and as_json:
        summary["entries_data"] = entries
    _emit(summary, as_json, text)


@profile_app.command("list")
def profile_list(as_json: bool = JSON) -> None:
    """Shipped policy profiles."""
    profiles = [load_profile(n).to_dict() for n in available_profiles()]
    _emit(
        profiles,
        as_json,
        "\n".join(
            f"{p['name']:<20} {p['authorise_rank']:<26} "
            f"{p['max_hours']:g} h (max {p['max_total_hours']:g} h)"
            for p in profiles
        ),
    )


@profile_app.command("show")
def profile_show(name: str, as_json: bool = JSON) -> None:
    """One profile's rules (a name or a .toml path)."""
    p = load_profile(name).to_dict()
    _emit(p, as_json, "\n".join(f"{k}: {v}" for k, v in p.items()))
