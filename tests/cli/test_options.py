"""The shared CLI conventions: one data home, --out folders, --bbox, progress, --quiet."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from patrolcast.cli.options import (
    HOME,
    QUIET,
    out_folder,
    parse_bbox,
    progress,
    reading_home,
    writing_home,
)
from patrolcast.errors import InputError


def test_reading_refuses_a_missing_home_and_creates_nothing(tmp_path: Path) -> None:
    absent = tmp_path / "elsewhere" / "home"
    with pytest.raises(InputError, match=f"no data home at {absent}"):
        reading_home(absent)
    assert not absent.exists() and not absent.parent.exists()


def test_writing_creates_the_home_and_says_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "h"
    settings = writing_home(home)
    assert home.is_dir() and settings.store_dir == home / "store"
    assert capsys.readouterr().err.strip() == f"data home: {home.resolve()}"
    writing_home(home, quiet=True)
    assert capsys.readouterr().err == ""
    assert reading_home(home).home == home


def test_environment_names_the_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATROLCAST_HOME", str(tmp_path))
    assert reading_home(None).sqlite_path == tmp_path / "patrolcast.db"


def test_out_is_always_a_folder(tmp_path: Path) -> None:
    assert out_folder(tmp_path / "a" / "b").is_dir()
    (tmp_path / "file.json").write_text("{}")
    with pytest.raises(InputError, match="--out takes a folder"):
        out_folder(tmp_path / "file.json")


@pytest.mark.parametrize(
    ("text", "message"),
    [("1,2,3", "four numbers"), ("a,b,c,d", "four numbers"), ("1,2,3,inf", "four numbers"),
     ("5,0,1,10", "xmin must be below xmax")],
)
def test_bbox_is_checked(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_bbox(text)


def test_bbox_reads_four_numbers() -> None:
    assert parse_bbox("530000,180000,531000,181000") == [530000, 180000, 531000, 181000]


def test_progress_counts_and_stays_out_of_stdout() -> None:
    app = typer.Typer()

    @app.command()
    def job(quiet: bool = QUIET, home: Path | None = HOME) -> None:
        with progress("work", total=3, quiet=quiet) as step:
            for _ in range(3):
                step.advance()
            step(3)
        typer.echo("result")

    result = CliRunner().invoke(app, ["--quiet"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "result"
    helped = CliRunner().invoke(app, ["--help"])
    assert "PATROLCAST_HOME" in helped.output and "--quiet" in helped.output
