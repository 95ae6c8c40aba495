"""The governance CLI: every action, --json output, one-line errors, the local identity."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patrolcast.cli.main import app
from patrolcast.errors import PatrolcastError

NDM = {
    "code_of_ethics": "Proportionate.",
    "information_and_intelligence": "Stabbing two hours ago.",
    "threat_risk_and_strategy": "Retaliation likely tonight.",
    "powers_and_policy": "Armed foot patrol profile.",
    "options_and_contingencies": "Unarmed patrol considered.",
    "action_and_review": "Review at 21:00.",
}

CIA = {
    "description": "Armed foot patrol after a stabbing on Acre Lane",
    "geography": "Acre Lane between the two junctions",
    "likely_effect": "Visible armed officers may raise fear among young residents",
    "proportionality": "A serious assault an hour ago; limited to 6 hours",
    "tension_indicators": "Low tension; no protest planned",
    "objectives": ["reduce harm"],
    "equality_eliminate_discrimination": "Stop and search by the patrol monitored daily",
    "equality_advance_opportunity": "Youth centre kept open",
    "equality_good_relations": "Community lead attends the briefing",
    "consultation_group": "Borough Independent Advisory Group",
    "consultation_response": "Supportive if short and explained",
    "mitigations": "Unarmed officers lead engagement",
    "communication_plan": "Notice before and a summary after",
    "owner": "Borough community engagement lead",
    "review_date": "2099-01-01",
}


@pytest.fixture()
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.delenv("PATROLCAST_USER", raising=False)
    (tmp_path / "ndm.json").write_text(json.dumps(NDM))

    def run(*args: str, user: str | None = None, ok: bool = True) -> dict:  # type: ignore[type-arg]
        argv = [*args, "--db", url, "--json"] + (["--as", user] if user else [])
        result = runner.invoke(app, argv)
        if ok:
            assert result.exit_code == 0, (argv, result.output, result.exception)
            return json.loads(result.output)  # type: ignore[no-any-return]
        assert result.exit_code != 0
        assert isinstance(result.exception, PatrolcastError), result.exception
        return {"error": str(result.exception)}

    run.tmp = tmp_path  # type: ignore[attr-defined]
    run.url = url  # type: ignore[attr-defined]
    return run


def test_cli_walks_the_whole_lifecycle(cli) -> None:  # type: ignore[no-untyped-def]
    tmp: Path = cli.tmp
    cli("user", "add", "admin", "--role", "administrator")
    for name, roles, rank in [
        ("ana", ["analyst"], None),
        ("cat", ["community_lead"], None),
        ("bob", ["borough_commander:E09000022"], "chief superintendent"),
        ("acc", ["authorising_officer"], "acc"),
        ("acc2", ["authorising_officer"], "commander"),
        ("tfc", ["tactical_firearms_commander"], "inspector"),
        ("sfc", ["strategic_firearms_commander"], "chief_superintendent"),
        ("aud", ["oversight_auditor"], None),
    ]:
        args = ["user", "add", name] + [x for r in roles for x in ("--role", r)]
        cli(*args, *(["--rank", rank] if rank else []), user="admin")
    assert len(cli("user", "list")) == 9
    snap = cli(
        "snapshot",
        "record",
        "--method",
        "kde",
        "--digest",
        "ab" * 32,
        "--created-at",
        "2026-06-01T10:00Z",
        user="ana",
    )
    incident = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    r = cli(
        "propose",
        "--offence",
        "serious_assault",
        "--incident-at",
        incident,
        "--place",
        "Acre Lane",
        "--bbox",
        "530000,175000,530400,175400",
        "--borough",
        "E09000022",
        "--hours",
        "6",
        "--ndm",
        str(tmp / "ndm.json"),
        "--snapshot",
        str(snap["id"]),
        user="ana",
    )
    pid = str(r["proposal_id"])
    assert r["to_state"] == "submitted"
    # An assessment with its required fields empty cannot complete the step (oversight's check).
    (tmp / "thin.json").write_text('{"description": "low tension"}')
    refused = cli("assess", pid, "--assessment", str(tmp / "thin.json"), user="cat", ok=False)
    assert "cannot be completed" in refused["error"]
    (tmp / "cia.json").write_text(json.dumps(CIA))
    assert (
        cli("assess", pid, "--assessment", str(tmp / "cia.json"), user="cat")["to_state"]
        == "assessed"
    )
    assert (
        cli(
            "consult",
            pid,
            "--borough",
            "E09000022",
            "--position",
            "support",
            "--reasons",
            "agreed",
            user="bob",
        )["to_state"]
        == "consulted"
    )
    err = cli(
        "authorise",
        pid,
        "--reasons",
        "r",
        "--ndm",
        str(tmp / "ndm.json"),
        "--hours",
        "4",
        "--tactical",
        "tfc",
        "--strategic",
        "sfc",
        "--public-notice",
        "n",
        user="aud",
        ok=False,
    )
    assert "read-only" in err["error"]
    r = cli(
        "authorise",
        pid,
        "--reasons",
        "grounds met",
        "--ndm",
        str(tmp / "ndm.json"),
        "--hours",
        "4",
        "--tactical",
        "tfc",
        "--strategic",
        "sfc",
        "--public-notice",
        "Patrols tonight",
        user="acc",
    )
    assert r["to_state"] == "authorised"
    no_ndm = cli("extend", pid, "--hours", "2", "--reasons", "x", user="acc2", ok=False)
    assert "ndm-rationale" in no_ndm["error"]
    extended = cli(
        "extend", pid, "--hours", "2", "--reasons", "another stabbing",
        "--ndm", str(tmp / "ndm.json"), user="acc2",
    )
    assert extended["to_state"] == "active"
    shown = cli("deployments", "show", pid, user="aud")
    assert shown["state"] == "active" and shown["extensions_used"] == 1
    assert cli("cancel", pid, "--reasons", "arrest made", user="tfc")["to_state"] == "cancelled"
    assert (
        cli("debrief", pid, "--summary", "quiet", "--sign-off", "tfc", user="tfc")["to_state"]
        == "debriefed"
    )
    assert cli("review", pid, "--findings", "proportionate", user="sfc")["to_state"] == "reviewed"
    exported = cli("audit", "export", "--checkpoint-out", str(tmp / "cp.json"), user="aud")
    assert exported["checkpoint"]["seq"] >= 20
    report = cli("audit", "verify", "--checkpoint", str(tmp / "cp.json"))
    assert report["ok"] and report["entries"] == exported["checkpoint"]["seq"]  # covers itself
    listing = CliRunner().invoke(app, ["profile", "list", "--json"])
    assert [p["name"] for p in json.loads(listing.output)] == [
        "armed-foot-patrol",
        "busss-strict",
        "s60-statutory",
    ]


def test_cli_errors_are_one_line_with_exit_2(tmp_path: Path) -> None:
    env = dict(os.environ, PATROLCAST_HOME=str(tmp_path), PATROLCAST_USER="nobody")
    env.pop("PATROLCAST_DEBUG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "patrolcast.cli.main", "refuse", "1", "--reasons", "x"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: refused (unknown-user)")


def test_cli_requires_identity(cli) -> None:  # type: ignore[no-untyped-def]
    cli("user", "add", "admin", "--role", "administrator")
    err = cli("cancel", "1", "--reasons", "x", ok=False)
    assert "--as USER" in err["error"]
    err = cli(
        "propose",
        "--offence",
        "serious_assault",
        "--incident-at",
        "2026-03-29T01:30",
        "--place",
        "x",
        "--bbox",
        "0,0,10,10",
        "--borough",
        "E1",
        "--hours",
        "1",
        "--ndm",
        str(cli.tmp / "ndm.json"),
        user="admin",
        ok=False,
    )
    assert "does not exist" in err["error"]


@pytest.mark.realdata
def test_boroughs_computed_from_the_london_geopackage(shared_data: Path) -> None:
    from tests.conftest import require

    require(shared_data / "boundaries" / "london_boroughs.gpkg")
    from patrolcast.cli.governance import _area

    # a 400 m square in Brixton (Lambeth), and one straddling the Lambeth/Southwark boundary
    assert _area("530900,175500,531300,175900", None, []).boroughs == ("E09000022",)
    straddling = _area("532000,177000,533500,178000", None, []).boroughs
    assert "E09000022" in straddling and "E09000028" in straddling


def test_cli_consults_every_borough_the_area_touches(cli, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    """Naming one --borough cannot leave out another borough the area touches (its commander
    would never be consulted)."""
    if not (shared_data / "boundaries" / "london_boroughs.gpkg").exists():
        pytest.skip("london_boroughs.gpkg is absent from the shared data")
    cli("user", "add", "admin", "--role", "administrator")
    cli("user", "add", "ana", "--role", "analyst", user="admin")
    incident = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    r = cli(
        "propose", "--offence", "serious_assault", "--incident-at", incident, "--place", "x",
        "--bbox", "531500,179500,531900,179900", "--borough", "E09000022", "--hours", "2",
        "--ndm", str(cli.tmp / "ndm.json"), "--draft", user="ana",
    )
    shown = cli("deployments", "show", str(r["proposal_id"]), user="ana")
    assert shown["boroughs"] == ["E09000022", "E09000028"]
