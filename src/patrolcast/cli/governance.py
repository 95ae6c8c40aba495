"""Governance commands: clients of the patrolcast server, acting as the signed-in person.

Every command here calls one declared action on the server (``patrolcast.app.actions``) with
the personal token from ``patrolcast login``; nobody's identity is typed. Authorise, extend and
role changes first re-authenticate (password and one-time code, prompted, or two lines on stdin
with ``--password-stdin``). Times without an offset are Europe/London wall-clock time (the one
rule, :mod:`patrolcast.app.times`); boroughs are named or given by GSS code.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Any

import typer

from patrolcast.cli.client import ApiClient
from patrolcast.cli.options import BBOX, BBOX_CRS, BOROUGH_HELP, JSON, parse_bbox, time_help
from patrolcast.errors import InputError
from patrolcast.governance.clock import format_local, parse_time

user_app = typer.Typer(help="Accounts and their roles (administrators).", no_args_is_help=True)
deployments_app = typer.Typer(help="Read deployment proposals (audited).", no_args_is_help=True)
snapshot_app = typer.Typer(help="Forecast snapshots that proposals rely on.", no_args_is_help=True)
profile_app = typer.Typer(help="Policy profiles (shipped and installed).", no_args_is_help=True)

SERVER = typer.Option(None, "--server", help="Server URL (default: the last login's server).")
VERSION = typer.Option(None, "--expected-version", help="Refuse if the proposal moved on.")
PROPOSAL = typer.Argument(
    ..., help="Proposal id (see `patrolcast deployments list`).", show_default=False
)
USERNAME = typer.Argument(..., help="The account's username.", show_default=False)
STDIN = typer.Option(
    False, "--password-stdin", help="Read the password (and the one-time code) from stdin lines."
)


def _emit(payload: Any, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str) if as_json else text)


def _read_mapping(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(f"file {path} does not exist or is not a file")
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    try:
        data = tomllib.loads(raw) if path.suffix == ".toml" else json.loads(raw)
    except (ValueError, tomllib.TOMLDecodeError):
        raise InputError(
            f"{path} is not valid {'TOML' if path.suffix == '.toml' else 'JSON'}"
        ) from None
    if not isinstance(data, dict):
        raise InputError(f"{path} must hold an object")
    return data


_NDM_ALIASES = {
    "ethics": "code_of_ethics",
    "information": "information_and_intelligence",
    "intelligence": "information_and_intelligence",
    "threat": "threat_risk_and_strategy",
    "assessment": "threat_risk_and_strategy",
    "powers": "powers_and_policy",
    "options": "options_and_contingencies",
    "action": "action_and_review",
    "take_action_and_review_what_happened": "action_and_review",
    "gather_information_and_intelligence": "information_and_intelligence",
    "assess_threat_and_risk_and_develop_a_working_strategy": "threat_risk_and_strategy",
    "consider_powers_and_policy": "powers_and_policy",
    "identify_options_and_contingencies": "options_and_contingencies",
}


def _ndm(path: Path | None) -> dict[str, Any]:
    if path is None:
        raise InputError("--ndm FILE (JSON or TOML with the six NDM headings) is mandatory")
    raw = _read_mapping(path)
    return {_NDM_ALIASES.get(k, k): v for k, v in raw.items()}


def _iso(text: str | None, what: str) -> str | None:
    """A typed time as ISO 8601 UTC (no zone: Europe/London)."""
    from patrolcast.app.times import parse_local_time

    return None if text is None else parse_local_time(text, option=what).isoformat()


def _boroughs(values: list[str]) -> list[str]:
    """GSS codes of boroughs typed by name or code."""
    from patrolcast.app.places import borough_codes
    from patrolcast.config import load_settings

    return borough_codes(values, load_settings().boroughs_path)


def _role(text: str) -> str:
    """``borough_commander:Hackney`` -> ``borough_commander:E09000012``; other roles as typed."""
    role, sep, borough = text.partition(":")
    return f"{role}:{_boroughs([borough])[0]}" if sep and borough.strip() else text


def _transition(out: dict[str, Any], as_json: bool) -> None:
    _emit(
        out,
        as_json,
        f"proposal #{out['proposal_id']}: {out['from_state']} -> {out['to_state']} "
        f"({out['action']}, version {out['version']}, audit #{out['audit_seq']})",
    )


def _secret_lines(password_stdin: bool) -> tuple[str, str]:
    if password_stdin:
        lines = sys.stdin.read().splitlines()
        password = lines[0] if lines else ""
        code = lines[1].strip() if len(lines) > 1 else ""
    else:
        password = typer.prompt("Password", hide_input=True)
        code = typer.prompt("One-time code (blank if none)", default="", show_default=False)
    if not password:
        raise InputError("no password given")
    return password, code


def _reauth(client: ApiClient, password_stdin: bool) -> None:
    password, code = _secret_lines(password_stdin)
    client.request("POST", "/api/auth/reauth",
                   json_body={"password": password, "totp": code or None})


def _act(server: str | None, name: str, proposal: int, body: dict[str, Any], as_json: bool,
         *, reauth: bool = False, password_stdin: bool = False) -> None:
    client = ApiClient.signed_in(server)
    if reauth:
        _reauth(client, password_stdin)
    _transition(client.call(name, proposal, body), as_json)


def _register_audit_export() -> None:
    from patrolcast.cli.audit import audit_app

    @audit_app.command("export")
    def audit_export(
        out: Path = typer.Option(
            Path("."), "--out",
            help="Folder for audit-export-<UTC time>.json (created if absent; mode 0600).",
        ),
        server: str = SERVER,
        as_json: bool = JSON,
    ) -> None:
        """Export the whole log with a signed checkpoint covering the export's own entry
        (oversight auditors, administrators); check it with `audit verify --export FILE`."""
        import os
        from datetime import UTC, datetime

        from patrolcast.cli.options import out_folder

        folder = out_folder(out)
        if not os.access(folder, os.W_OK):
            raise InputError(f"--out: cannot write in {folder}")
        doc = ApiClient.signed_in(server).call("audit_export")
        path = folder / f"audit-export-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1)
        cp = doc.get("checkpoint", {})
        summary = {"file": str(path), "entries": len(doc.get("entries", [])), "checkpoint": cp}
        _emit(summary, as_json,
              f"{summary['entries']} entries to {path}; checkpoint #{cp.get('seq')} signed")


def register(app: typer.Typer) -> None:
    _register_audit_export()
    app.add_typer(user_app, name="user")
    app.add_typer(deployments_app, name="deployments")
    app.add_typer(snapshot_app, name="snapshot")
    app.add_typer(profile_app, name="profile")

    @app.command()
    def propose(
        offence: str = typer.Option(None, help="Incident trigger: offence (e.g. serious_assault)."),
        incident_at: str = typer.Option(
            None, help=time_help("Incident trigger: when it happened")
        ),
        place: str = typer.Option(None, help="Incident trigger: where (street, landmark)."),
        intel_item: int = typer.Option(None, help="Intelligence trigger: item id."),
        grade: str = typer.Option(None, help="Intelligence trigger: grade, e.g. 1B."),
        bbox: str = BBOX,
        area_wkt: str = typer.Option(None, help="Area polygon as WKT in the CRS of --bbox-crs."),
        bbox_crs: str = BBOX_CRS,
        borough: list[str] = typer.Option(
            [], help=f"A borough the area touches, {BOROUGH_HELP} (repeat; the server adds "
            "every borough the area touches)."),
        start: str = typer.Option(None, help=time_help("Requested start (default now)")),
        end: str = typer.Option(None, help=time_help("Requested end")),
        hours: float = typer.Option(None, help="Requested duration in elapsed hours."),
        ndm: Path = typer.Option(None, help="NDM rationale file (six headings)."),
        snapshot: int = typer.Option(None, help="Forecast snapshot id relied on."),
        profile: str = typer.Option("armed-foot-patrol", help="Policy profile name."),
        draft: bool = typer.Option(False, help="Keep as a draft (do not submit)."),
        server: str = SERVER,
        as_json: bool = JSON,
    ) -> None:
        """Propose a deployment (and submit it unless --draft), as the signed-in person."""
        if (bbox is None) == (area_wkt is None):
            raise InputError("give the area as --bbox xmin,ymin,xmax,ymax or --area-wkt")
        box = parse_bbox(bbox) if bbox is not None else None
        if intel_item is not None:
            trigger: dict[str, Any] = {"kind": "intelligence", "intelligence_item_id": intel_item,
                                       "grade": grade}
        else:
            trigger = {"kind": "incident", "offence": offence, "place": place,
                       "occurred_at": _iso(incident_at, "--incident-at")}
        area = {"bbox": box, "wkt": area_wkt, "crs": bbox_crs, "boroughs": _boroughs(borough)}
        body: dict[str, Any] = {
            "trigger": {k: v for k, v in trigger.items() if v is not None},
            "area": {k: v for k, v in area.items() if v is not None},
            "start": _iso(start, "--start"),
            "end": _iso(end, "--end"),
            "hours": hours,
            "ndm": _ndm(ndm),
            "snapshot_id": snapshot,
            "profile": profile,
            "draft": draft,
        }
        _transition(ApiClient.signed_in(server).call("propose", None, body), as_json)

    @app.command()
    def submit(proposal: int = PROPOSAL, server: str = SERVER, as_json: bool = JSON,
               expected_version: int = VERSION) -> None:
        """Submit a draft proposal (proposer only)."""
        _act(server, "submit", proposal, {"expected_version": expected_version}, as_json)

    @app.command()
    def assess(
        proposal: int = PROPOSAL,
        assessment: Path = typer.Option(None, help="The completed assessment (JSON/TOML)."),
        server: str = SERVER,
        as_json: bool = JSON,
        expected_version: int = VERSION,
    ) -> None:
        """Complete the community impact assessment (community lead): both steps or neither."""
        body = {"expected_version": expected_version,
                "assessment": _read_mapping(assessment) if assessment else None}
        _act(server, "assess", proposal, body, as_json)

    @app.command()
    def consult(
        proposal: int = PROPOSAL,
        borough: str = typer.Option(..., help=f"The borough you respond for: {BOROUGH_HELP}."),
        position: str = typer.Option(..., help="support or object"),
        reasons: str = typer.Option(..., help="Reasons (mandatory)."),
        server: str = SERVER,
        as_json: bool = JSON,
        expected_version: int = VERSION,
    ) -> None:
        """Record your response as the borough's commander."""
        body = {"borough": _boroughs([borough])[0], "position": position, "reasons": reasons,
                "expected_version": expected_version}
        _act(server, "consult", proposal, body, as_json)

    @app.command()
    def authorise(
        proposal: int = PROPOSAL,
        reasons: str = typer.Option(..., help="Reasons (mandatory)."),
        ndm: Path = typer.Option(None, help="NDM rationale file (six headings)."),
        start: str = typer.Option(None, help=time_help("Start (default now)")),
        end: str = typer.Option(None, help=time_help("End")),
        hours: float = typer.Option(None, help="Duration in elapsed hours."),
        tactical: str = typer.Option(None, help="Tactical firearms commander (username)."),
        strategic: str = typer.Option(None, help="Strategic firearms commander (username)."),
        public_notice: str = typer.Option(None, help="Text of the public notice."),
        objection_response: str = typer.Option(None, help="Answer to a borough's objection."),
        password_stdin: bool = STDIN,
        server: str = SERVER,
        as_json: bool = JSON,
        expected_version: int = VERSION,
    ) -> None:
        """Authorise a consulted proposal (re-authenticates first; never your own)."""
        body = {
            "reasons": reasons, "ndm": _ndm(ndm), "start": _iso(start, "--start"),
            "end": _iso(end, "--end"), "hours": hours, "tactical_commander": tactical,
            "strategic_commander": strategic, "public_notice": public_notice,
            "objection_response": objection_response, "expected_version": expected_version,
        }
        _act(server, "authorise", proposal, body, as_json, reauth=True,
             password_stdin=password_stdin)

    @app.command()
    def refuse(proposal: int = PROPOSAL,
               reasons: str = typer.Option(..., help="Reasons (mandatory)."),
               server: str = SERVER, as_json: bool = JSON,
               expected_version: int = VERSION) -> None:
        """Refuse a consulted proposal."""
        _act(server, "refuse", proposal,
             {"reasons": reasons, "expected_version": expected_version}, as_json)

    @app.command()
    def extend(
        proposal: int = PROPOSAL,
        reasons: str = typer.Option(..., help="Reasons (mandatory)."),
        hours: float = typer.Option(None, help="Extra elapsed hours."),
        until: str = typer.Option(None, help=time_help("New end time")),
        ndm: Path = typer.Option(None, help="NDM rationale file (the profile may require it)."),
        password_stdin: bool = STDIN,
        server: str = SERVER,
        as_json: bool = JSON,
        expected_version: int = VERSION,
    ) -> None:
        """Extend an authorisation: a new decision (re-authenticates first)."""
        body = {"reasons": reasons, "hours": hours, "until": _iso(until, "--until"),
                "ndm": _ndm(ndm) if ndm else None, "expected_version": expected_version}
        _act(server, "extend", proposal, body, as_json, reauth=True,
             password_stdin=password_stdin)

    @app.command()
    def cancel(proposal: int = PROPOSAL,
               reasons: str = typer.Option(..., help="Grounds that lapsed."),
               server: str = SERVER, as_json: bool = JSON,
               expected_version: int = VERSION) -> None:
        """Cancel an authorised or active deployment (grounds lapsed)."""
        _act(server, "cancel", proposal,
             {"reasons": reasons, "expected_version": expected_version}, as_json)

    @app.command()
    def debrief(proposal: int = PROPOSAL, summary: str = typer.Option(..., help="What happened."),
                sign_off: str = typer.Option(..., help="Sign-off statement (mandatory)."),
                server: str = SERVER, as_json: bool = JSON,
                expected_version: int = VERSION) -> None:
        """Debrief and sign off an expired or cancelled deployment."""
        _act(server, "debrief", proposal, {"summary": summary, "sign_off": sign_off,
                                           "expected_version": expected_version}, as_json)

    @app.command()
    def review(proposal: int = PROPOSAL, findings: str = typer.Option(..., help="Review findings."),
               server: str = SERVER, as_json: bool = JSON,
               expected_version: int = VERSION) -> None:
        """Independent review of a debriefed deployment."""
        _act(server, "review", proposal,
             {"findings": findings, "expected_version": expected_version}, as_json)


@user_app.command("add")
def user_add(
    username: str = USERNAME,
    role: list[str] = typer.Option(
        ..., help="Role, or borough_commander:BOROUGH (a name or GSS code) (repeat)."),
    rank: str = typer.Option(None, help="Rank (authorising officers, firearms commanders)."),
    name: str = typer.Option("", help="Display name."),
    server: str = SERVER,
    as_json: bool = JSON,
) -> None:
    """Add an account; prints the one-time enrolment code to hand to the person."""
    out = ApiClient.signed_in(server).call(
        "user_add", None, {"username": username, "roles": [_role(r) for r in role], "rank": rank,
                           "display_name": name})
    _emit(out, as_json,
          f"{out['username']}: {', '.join(out['roles'])}"
          + (f" ({out['rank']})" if out.get("rank") else "")
          + f"\nenrolment code (give it to {out['username']}; valid until "
          f"{format_local(parse_time(out['expires_at']))}): {out['enrolment_code']}")


@user_app.command("enrol")
def user_enrol(username: str = USERNAME, password_stdin: bool = STDIN, server: str = SERVER,
               as_json: bool = JSON) -> None:
    """Issue a new enrolment code (resets the password and one-time-code secret)."""
    client = ApiClient.signed_in(server)
    _reauth(client, password_stdin)
    out = client.call("user_enrol", username)
    _emit(out, as_json, f"enrolment code for {out['username']}: {out['enrolment_code']}")


@user_app.command("grant")
def user_grant(username: str = USERNAME, role: str = typer.Option(
                   ..., help="Role to grant (borough_commander:BOROUGH: a name or GSS code)."),
               password_stdin: bool = STDIN, server: str = SERVER,
               as_json: bool = JSON) -> None:
    """Grant a role (re-authenticates first)."""
    client = ApiClient.signed_in(server)
    _reauth(client, password_stdin)
    out = client.call("user_grant", username, {"role": _role(role)})
    _emit(out, as_json, f"{out['username']}: {', '.join(out['roles'])}")


@user_app.command("revoke")
def user_revoke(username: str = USERNAME, role: str = typer.Option(
                    ..., help="Role to remove (borough_commander:BOROUGH: a name or code)."),
                password_stdin: bool = STDIN, server: str = SERVER,
                as_json: bool = JSON) -> None:
    """Remove a role (re-authenticates first)."""
    client = ApiClient.signed_in(server)
    _reauth(client, password_stdin)
    out = client.call("user_revoke", username, {"role": _role(role)})
    _emit(out, as_json, f"{out['username']}: {', '.join(out['roles']) or '(no roles)'}")


@user_app.command("list")
def user_list(server: str = SERVER, as_json: bool = JSON) -> None:
    """Accounts and roles (administrators, oversight auditors)."""
    people = ApiClient.signed_in(server).call("user_list")
    lines = [
        f"{p['username']:<16} {','.join(p['roles'])}"
        + (f" [{','.join(p['boroughs'])}]" if p.get("boroughs") else "")
        + (f" ({p['rank']})" if p.get("rank") else "")
        for p in people
    ]
    _emit(people, as_json, "\n".join(lines) or "no users")


@snapshot_app.command("record")
def snapshot_record(
    from_file: Path = typer.Argument(
        ..., help="A *.snapshot.json written by `patrolcast forecast`.", show_default=False
    ),
    server: str = SERVER,
    as_json: bool = JSON,
) -> None:
    """Record a forecast snapshot that proposals can rely on (digest checked against its file)."""
    from patrolcast.cli.snapshot_file import read_snapshot_file

    body = read_snapshot_file(from_file)
    rec = ApiClient.signed_in(server).call("snapshot_record", None, body)
    _emit(rec, as_json, f"snapshot #{rec['id']} ({rec['method']}, {rec['digest'][:12]}...)")


def _view_text(v: dict[str, Any]) -> str:
    """One line per proposal; times in Europe/London with their offset."""
    when = ""
    if v.get("authorised_start"):
        when = (
            f" {format_local(parse_time(v['authorised_start']))} -> "
            f"{format_local(parse_time(v['authorised_end']))}"
        )
    return (
        f"#{v['id']:<5} {v['state']:<11} {v['profile']:<18} {','.join(v['boroughs'])}"
        f" {v['area_km2']:.3f} km2{when}"
    )


@deployments_app.command("list")
def deployments_list(
    state: str = typer.Option(None, help="Only this effective state."),
    server: str = SERVER,
    as_json: bool = JSON,
) -> None:
    """Proposals you may see, with their effective state now (an audited read)."""
    views = ApiClient.signed_in(server).call("list_proposals", None, {"state": state})
    _emit(views, as_json, "\n".join(_view_text(v) for v in views) or "no proposals")


@deployments_app.command("show")
def deployments_show(proposal: int = PROPOSAL, server: str = SERVER, as_json: bool = JSON) -> None:
    """One proposal, its consultations and decisions (an audited read)."""
    v = ApiClient.signed_in(server).call("show_proposal", proposal)
    lines = [_view_text(v), f"trigger: {v['trigger']}"]
    lines += [
        f"consulted {c['borough']}: {c['position']} ({c['commander']}): {c['reasons']}"
        for c in v.get("consultations", [])
    ]
    lines += [f"{d['kind']} by {d['by']} ({d['rank']}): {d['reasons']}"
              for d in v.get("decisions", [])]
    _emit(v, as_json, "\n".join(lines))


@profile_app.command("list")
def profile_list(server: str = SERVER, as_json: bool = JSON) -> None:
    """Policy profiles: shipped and installed versions."""
    profiles = ApiClient.signed_in(server).call("profile_list")
    _emit(profiles, as_json, "\n".join(
        f"{p['name']:<20} v{p['version']:<3} {p['authorise_rank']:<26} "
        f"{p['max_hours']:g} h (max {p['max_total_hours']:g} h)  {p['source']}"
        for p in profiles
    ))


@profile_app.command("show")
def profile_show(name: str = typer.Argument(..., help="Profile name, e.g. armed-foot-patrol."),
                 server: str = SERVER, as_json: bool = JSON) -> None:
    """A profile's newest version, by name."""
    p = ApiClient.signed_in(server).call("profile_show", name)
    _emit(p, as_json, "\n".join(f"{k}: {v}" for k, v in p.items()))


@profile_app.command("install")
def profile_install(path: Path = typer.Argument(..., help="The profile's TOML file."),
                    password_stdin: bool = STDIN, server: str = SERVER,
                    as_json: bool = JSON) -> None:
    """Install a new profile version from a TOML file (administrators; re-authenticates)."""
    if not path.is_file():
        raise InputError(f"file {path} does not exist or is not a file")
    text = path.read_text(encoding="utf-8")
    client = ApiClient.signed_in(server)
    _reauth(client, password_stdin)
    p = client.call("profile_install", None, {"toml": text})
    _emit(p, as_json, f"installed {p['name']} v{p['version']} ({p['sha256'][:12]}...)")
