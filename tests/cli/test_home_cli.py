"""One data home for the store and the governance database: a command that writes creates it
and says where it is; a command that only reads refuses a home that does not exist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patrolcast.cli.main import app
from patrolcast.governance.identity import credentials

runner = CliRunner()
PASSWORD = "correct horse battery staple"


@pytest.mark.parametrize(
    "command",
    [
        ["serve"],
        ["audit", "verify"],
        ["quarantine", "list", "-d", "assaults"],
        ["backtest", "-d", "assaults"],
        ["fairness", "disproportion", "-d", "searches"],
    ],
)
def test_reading_commands_refuse_a_missing_home(tmp_path: Path, command: list[str]) -> None:
    absent = tmp_path / "another-folder" / "home"
    result = runner.invoke(app, [*command, "--home", str(absent)])
    assert result.exit_code != 0
    said = result.output + str(result.exception)  # audit verify prints its own one line
    assert f"no data home at {absent}" in said
    assert not absent.parent.exists()  # nothing created, not even the parent


def test_bootstrap_creates_the_home_and_serve_finds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials.configure_hasher(time_cost=1, memory_cost=8192, parallelism=1)
    monkeypatch.delenv("PATROLCAST_DATABASE_URL", raising=False)
    home = tmp_path / "data"
    monkeypatch.setenv("PATROLCAST_HOME", str(home))
    boot = runner.invoke(app, ["admin", "bootstrap", "--username", "admin", "--password-stdin"],
                         input=PASSWORD + "\n")
    assert boot.exit_code == 0, (boot.output, boot.exception)
    assert f"data home: {home.resolve()}" in boot.stderr
    assert (home / "patrolcast.db").is_file() and (home / "keys").is_dir()
    # the same home read by audit verify (no --db): the new database verifies
    verified = runner.invoke(app, ["audit", "verify", "--keys-dir", str(home / "keys"),
                                   "--json"])
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.stdout)["ok"] is True


def test_json_output_stays_clean_of_notes(tmp_path: Path) -> None:
    credentials.configure_hasher(time_cost=1, memory_cost=8192, parallelism=1)
    home = tmp_path / "data"
    boot = runner.invoke(app, ["admin", "bootstrap", "--username", "admin", "--password-stdin",
                               "--home", str(home), "--json"], input=PASSWORD + "\n")
    assert boot.exit_code == 0, (boot.output, boot.exception)
    assert boot.stderr == ""
    assert json.loads(boot.stdout)["home"] == str(home)
