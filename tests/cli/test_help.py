"""Every command states what it takes: every option has help, every time option states the one
rule, --dataset has -d, long jobs take --quiet, and no command keeps --db or --tz."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.core import TyperArgument, TyperOption

from patrolcast.app.times import TIME_RULE
from patrolcast.cli.main import app

# The command modules that follow cli/options.py (others adopt it in their own time).
CONVENTIONAL = {
    f"patrolcast.cli.{m}"
    for m in ("accounts", "audit", "evaluation", "governance", "national", "outcomes",
              "oversight", "quarantine")
}
LONG = {"backtest", "audit verify", "report transparency", "fairness-audit", "outcomes evaluate",
        "outcomes quarterly", "outcomes dosage", "national replica", "national ingest",
        "national backtest", "intel picture", "cia evidence", "fairness feedback"}
TIME_OPTIONS = {"start", "end", "until", "incident_at", "at", "active_at", "retain_until"}


def _commands() -> Iterator[tuple[str, Any]]:
    def walk(command: Any, path: list[str]) -> Iterator[tuple[str, Any]]:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                yield from walk(sub, [*path, name])
        elif command.callback.__module__ in CONVENTIONAL:
            yield " ".join(path), command

    yield from walk(typer.main.get_command(app), [])


COMMANDS = dict(_commands())


def test_the_conventional_commands_are_found() -> None:
    assert {"propose", "backtest", "audit verify", "quarantine export"} <= set(COMMANDS)
    assert set(COMMANDS) >= LONG


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_options_follow_the_conventions(name: str) -> None:
    command = COMMANDS[name]
    assert command.help, f"{name}: no help"
    for param in command.params:
        opts = getattr(param, "opts", [])
        assert param.help, f"{name} {param.name}: no help"
        if isinstance(param, TyperOption):
            assert "--db" not in opts and "--tz" not in opts, f"{name}: {opts}"
            if "--dataset" in opts:
                assert "-d" in opts, f"{name}: --dataset without -d"
            if param.name in TIME_OPTIONS and "YYYY-MM)" not in param.help:  # months: labels
                rule = "a time without a zone is"
                assert rule in param.help and "stored in UTC" in param.help, f"{name} {opts}"
            if "--out" in opts:
                assert param.help.startswith("Folder"), f"{name}: --out must be a folder"
        else:
            assert isinstance(param, TyperArgument)
    names = {p.name for p in command.params}
    if name in LONG:
        assert "quiet" in names, f"{name} can take long: --quiet and a progress display"


def test_dataset_times_state_the_dataset_zone() -> None:
    picture = {p.name: p.help for p in COMMANDS["intel picture"].params}
    assert TIME_RULE in picture["start"]
    backtest = {p.name: p.help for p in COMMANDS["backtest"].params}
    assert TIME_RULE in backtest["end"]
