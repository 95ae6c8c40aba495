"""The governance CLI as a client of a real server (uvicorn on loopback), one person per
machine (each with their own token file); one-line errors; no typed identity."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
import uvicorn
from typer.testing import CliRunner

from patrolcast.api.server import create_app
from patrolcast.app.runtime import open_context
from patrolcast.cli.main import app
from patrolcast.config import load_settings
from patrolcast.errors import InputError, PatrolcastError
from patrolcast.governance.identity import credentials
from tests.conftest import require

PASSWORD = "correct horse battery staple"
NDM = {
    "code_of_ethics": "Proportionate.",
    "information_and_intelligence": "Stabbing two hours ago.",
    "threat_risk_and_strategy": "Retaliation likely tonight.",
    "powers_and_policy": "Armed foot patrol profile.",
    "options_and_contingencies": "Unarmed patrol considered.",
    "action_and_review": "Review at 21:00.",
}
CIA = {
    "description": "Armed foot patrol after a stabbing near the station",
    "geography": "Streets between the two junctions",
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Team:
    """People, each on their own machine (token file), talking to one real server."""

    def __init__(self, tmp: Path, url: str) -> None:
        self.tmp, self.url = tmp, url
        self.runner = CliRunner()
        self.secrets: dict[str, str] = {}
        self.used: dict[str, int] = {}

    def env(self, who: str) -> dict[str, str]:
        return {"XDG_CONFIG_HOME": str(self.tmp / "machines" / who),
                "PATROLCAST_SERVER_URL": ""}

    def code(self, who: str) -> str:
        """The next unused one-time code (never the same step twice)."""
        secret = self.secrets.get(who)
        if secret is None:
            return ""
        step = max(int(time.time()) // 30, self.used.get(who, 0) + 1)
        self.used[who] = step
        return str(pyotp.TOTP(secret).at(step * 30))

    def run(self, who: str, *args: str, stdin: str | None = None, ok: bool = True) -> Any:
        argv = [*args, "--json"]
        if args[0] not in ("admin",):
            argv += ["--server", self.url]
        result = self.runner.invoke(app, argv, input=stdin, env=self.env(who))
        if ok:
            assert result.exit_code == 0, (argv, result.output, result.exception)
            return json.loads(result.output)
        assert result.exit_code != 0
        assert isinstance(result.exception, PatrolcastError), (result.output, result.exception)
        return str(result.exception)

    def secret_lines(self, who: str) -> str:
        return f"{PASSWORD}\n{self.code(who)}\n"

    def login(self, who: str) -> None:
        self.run(who, "login", "--username", who, "--password-stdin",
                 stdin=self.secret_lines(who))


@pytest.fixture()
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Team]:
    credentials.configure_hasher(time_cost=1, memory_cost=8192, parallelism=1)
    monkeypatch.setenv("PATROLCAST_HOME", str(tmp_path / "server"))
    monkeypatch.delenv("PATROLCAST_SERVER_URL", raising=False)
    runner = CliRunner()
    boot = runner.invoke(app, ["admin", "bootstrap", "--username", "admin", "--password-stdin",
                               "--json"], input=PASSWORD + "\n")
    assert boot.exit_code == 0, (boot.output, boot.exception)
    secret = json.loads(boot.output)["totp_secret"]
    ctx = open_context(load_settings())
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started
    t = Team(tmp_path, f"http://127.0.0.1:{port}")
    t.secrets["admin"] = secret
    (tmp_path / "ndm.json").write_text(json.dumps(NDM))
    (tmp_path / "cia.json").write_text(json.dumps(CIA))
    yield t
    server.should_exit = True
    thread.join(timeout=10)
    ctx.db.dispose()


def _enrol(team: Team, who: str, *roles: str, rank: str | None = None) -> None:
    args = ["user", "add", who, *[a for r in roles for a in ("--role", r)]]
    if rank:
        args += ["--rank", rank]
    out = team.run("admin", *args)
    activated = team.run(who, "account", "activate", "--username", who, "--code",
                         out["enrolment_code"], "--password-stdin", stdin=PASSWORD + "\n")
    if activated.get("totp_secret"):
        team.secrets[who] = activated["totp_secret"]
    team.login(who)


def _snapshot_file(tmp: Path) -> Path:
    forecast = tmp / "forecast.gpkg"
    forecast.write_bytes(b"forecast values")
    snap = tmp / "forecast.snapshot.json"
    snap.write_text(json.dumps({
        "method": "kde", "params": {"bandwidth": 200}, "digest": "sha256:" + "ab" * 32,
        "created_at": datetime.now(UTC).isoformat(), "uri": str(forecast),
    }))
    return snap


@pytest.mark.realdata  # the server adds the boroughs an area touches from the borough file
def test_cli_walks_the_whole_lifecycle_one_person_per_machine(
    team: Team, shared_data: Path
) -> None:
    require(shared_data / "boundaries" / "london_boroughs.gpkg")
    team.login("admin")
    _enrol(team, "ana", "analyst")
    _enrol(team, "cat", "community_lead")
    _enrol(team, "bob1", "borough_commander:E09000001", rank="chief_superintendent")
    _enrol(team, "bob2", "borough_commander:E09000033", rank="chief_superintendent")
    _enrol(team, "acc1", "authorising_officer", rank="acc")
    _enrol(team, "tfc", "tactical_firearms_commander", rank="inspector")
    _enrol(team, "sfc", "strategic_firearms_commander", rank="chief_superintendent")
    _enrol(team, "aud", "oversight_auditor")
    for who in ("ana", "cat", "acc1", "aud"):
        path = team.tmp / "machines" / who / "patrolcast" / "credentials.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert team.run("ana", "whoami")["username"] == "ana"
    snap = team.run("ana", "snapshot", "record", str(_snapshot_file(team.tmp)))
    incident = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    r = team.run(
        "ana", "propose", "--offence", "serious_assault", "--incident-at", incident,
        "--place", "Station Road", "--bbox", "530000,180000,530500,180500",
        "--borough", "E09000001", "--hours", "6",
        "--ndm", str(team.tmp / "ndm.json"), "--snapshot", str(snap["id"]),
    )
    pid = str(r["proposal_id"])
    assert r["to_state"] == "submitted"
    assert team.run("cat", "assess", pid, "--assessment",
                    str(team.tmp / "cia.json"))["to_state"] == "assessed"
    # The server adds every borough the area touches (E09000022 and E09000033 here) to the
    # one the proposer named: each commander must respond.
    assert team.run("ana", "deployments", "show", pid)["boroughs"] == [
        "E09000001", "E09000022", "E09000033"]
    team.run("bob1", "consult", pid, "--borough", "E09000001", "--position", "support",
             "--reasons", "Agreed.")
    _enrol(team, "bob3", "borough_commander:E09000022", rank="chief_superintendent")
    team.run("bob3", "consult", pid, "--borough", "E09000022", "--position", "support",
             "--reasons", "Agreed.")
    assert team.run("bob2", "consult", pid, "--borough", "E09000033", "--position", "support",
                    "--reasons", "Agreed.")["to_state"] == "consulted"
    # Another person's machine cannot act as acc1: bob1's token is bob1's.
    err = team.run("bob1", "authorise", pid, "--reasons", "Met.", "--ndm",
                   str(team.tmp / "ndm.json"), "--hours", "6", "--tactical", "tfc",
                   "--strategic", "sfc", "--public-notice", "Notice.", "--password-stdin",
                   stdin=team.secret_lines("bob1"), ok=False)
    assert "refused" in err
    out = team.run("acc1", "authorise", pid, "--reasons", "Met.", "--ndm",
                   str(team.tmp / "ndm.json"), "--hours", "5", "--tactical", "tfc",
                   "--strategic", "sfc", "--public-notice", "Notice.", "--password-stdin",
                   stdin=team.secret_lines("acc1"))
    assert out["to_state"] in ("authorised", "active")
    shown = team.run("aud", "deployments", "show", pid)
    assert [d["by"] for d in shown["decisions"]] == ["acc1"]
    # The auditor exports the record; the export verifies on its own with the server's key.
    export = Path(team.run("aud", "audit", "export", "--out", str(team.tmp / "exports"))["file"])
    assert export.parent == team.tmp / "exports" and export.name.startswith("audit-export-")
    assert stat.S_IMODE(export.stat().st_mode) == 0o600
    keys = team.tmp / "server" / "keys"
    checked = CliRunner().invoke(app, ["audit", "verify", "--export", str(export),
                                       "--keys-dir", str(keys), "--json"])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.output)["ok"] is True
    doc = json.loads(export.read_text())
    doc["entries"][3]["actor"] = "someone-else"
    export.write_text(json.dumps(doc))
    tampered = CliRunner().invoke(app, ["audit", "verify", "--export", str(export),
                                        "--keys-dir", str(keys)])
    assert tampered.exit_code == 1
    assert team.run("ana", "logout")["signed_out"] is True
    err = team.run("ana", "deployments", "list", ok=False)
    assert "not signed in" in err


def test_wrong_password_at_reauth_is_refused(team: Team) -> None:
    team.login("admin")
    err = team.run("admin", "user", "grant", "admin", "--role", "analyst", "--password-stdin",
                   stdin="not the password\n000000\n", ok=False)
    assert "sign-in refused" in err


def test_as_is_gone_and_errors_are_one_line_with_exit_2(tmp_path: Path) -> None:
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path), PATROLCAST_USER="acc1")
    env.pop("PATROLCAST_DEBUG", None)
    env.pop("PATROLCAST_SERVER_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "patrolcast.cli.main", "refuse", "1", "--reasons", "x",
         "--server", "http://127.0.0.1:9"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: not signed in"), lines
    proc = subprocess.run(
        [sys.executable, "-m", "patrolcast.cli.main", "refuse", "1", "--reasons", "x",
         "--as", "acc1"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 2 and "--as" in proc.stderr


def test_a_token_file_others_can_read_is_refused(team: Team) -> None:
    team.login("admin")
    path = team.tmp / "machines" / "admin" / "patrolcast" / "credentials.json"
    path.chmod(0o644)
    assert "readable by other users" in team.run("admin", "whoami", ok=False)


def test_the_server_refuses_a_database_that_does_not_exist(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "typo")
    with pytest.raises(InputError, match="no database"):
        open_context(settings)
    assert not (tmp_path / "typo" / "patrolcast.db").exists()


def test_bootstrap_is_refused_on_a_database_with_users(team: Team) -> None:
    result = CliRunner().invoke(app, ["admin", "bootstrap", "--username", "eve",
                                      "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code != 0
    assert "only for an empty database" in str(result.exception)


@pytest.mark.realdata
def test_boroughs_computed_from_the_london_geopackage(shared_data: Path, tmp_path: Path) -> None:
    from patrolcast.app.context import AppContext
    from patrolcast.app.governance_cases import _area
    from patrolcast.app.inputs import AreaInput
    from patrolcast.governance.identity.keys import ServerKey
    from tests.conftest import require

    path = require(shared_data / "boundaries" / "london_boroughs.gpkg")
    ctx = AppContext(db=None, key=ServerKey.for_tests(), boroughs_path=path)  # type: ignore[arg-type]
    # a 400 m square in Brixton (Lambeth), and one straddling the Lambeth/Southwark boundary
    assert _area(ctx, AreaInput(bbox=[530900, 175500, 531300, 175900])).boroughs == (
        "E09000022",
    )
    straddling = _area(ctx, AreaInput(bbox=[532000, 177000, 533500, 178000])).boroughs
    assert "E09000022" in straddling and "E09000028" in straddling
    # Naming one borough cannot leave out another the area touches.
    both = _area(ctx, AreaInput(bbox=[531500, 179500, 531900, 179900], boroughs=["E09000022"]))
    assert both.boroughs == ("E09000022", "E09000028")


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    settings = load_settings(
        home=tmp_path, database_url="postgresql+psycopg://u:hunter2pw@127.0.0.1:9/x"
    )
    with pytest.raises(InputError) as caught:
        open_context(settings)
    assert "\n" not in str(caught.value) and "hunter2pw" not in str(caught.value)
