"""``patrolcast quarantine list/export`` and ``patrolcast --version``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

import patrolcast
from patrolcast.cli.main import app

runner = CliRunner()

# victim_race is a personal column: blanked in quarantined raw text.
HEADER = "date,loc_cat,longitude,latitude,district,victim_race"
ROWS = [
    "2015-06-01 10:00,street,-87.6277,41.7922,2,WHITE",
    "2015-06-01 10:00,street,,,2,BLACK",  # no coordinates
    "bad,street,-87.62,41.79,2,ASIAN",  # bad date
    '2015-06-01 11:00,=HYPERLINK("http://x"),-87.62,41.79,2,WHITE',  # stored
    "=1+2,street,-87.62,41.79,2,WHITE",  # bad date, formula-leading raw text
    "@SUM(A1),street,-87.62,41.79,2,WHITE",  # bad date
]


def _ingest(tmp_path: Path) -> Path:
    path = tmp_path / "assaults.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n")
    home = tmp_path / "h"
    result = runner.invoke(app, ["ingest", str(path), "--home", str(home), "--mapping", "chicago"])
    assert result.exit_code == 0, result.output
    return home


def test_list_counts_by_reason_and_filters(tmp_path: Path) -> None:
    home = _ingest(tmp_path)
    result = runner.invoke(
        app, ["quarantine", "list", "-d", "assaults", "--home", str(home), "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["quarantined"] == 4
    assert payload["by_reason"] == {"bad date": 3, "no coordinates": 1}
    assert [r["line"] for r in payload["rows"]] == [3, 4, 6, 7]
    assert all("WHITE" not in r["raw"] and "BLACK" not in r["raw"] for r in payload["rows"])
    only = json.loads(
        runner.invoke(
            app, ["quarantine", "list", "-d", "assaults", "--reason", "no coordinates",
                  "--home", str(home), "--json"],
        ).output
    )  # fmt: skip
    assert only["quarantined"] == 1 and only["rows"][0]["line"] == 3
    text = runner.invoke(app, ["quarantine", "list", "-d", "assaults", "--home", str(home)])
    assert text.exit_code == 0 and "4 quarantined rows" in text.output
    assert "bad date" in text.output


def test_export_escapes_formulas_and_keeps_personal_fields_blank(tmp_path: Path) -> None:
    home = _ingest(tmp_path)
    folder = tmp_path / "out"
    result = runner.invoke(
        app, ["quarantine", "export", "-d", "assaults", "--out", str(folder), "--home", str(home)]
    )
    assert result.exit_code == 0, result.output
    out = folder / "quarantine_assaults.csv"  # --out is a folder; the name says what it holds
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["reason"] for r in rows] == ["no coordinates", "bad date", "bad date", "bad date"]
    raws = [r["raw"] for r in rows]
    assert raws[0] == "2015-06-01 10:00,street,,,2,"  # victim_race blanked
    assert raws[2] == "'=1+2,street,-87.62,41.79,2,"
    assert raws[3] == "'@SUM(A1),street,-87.62,41.79,2,"
    assert not any(c.startswith(("=", "+", "-", "@")) for r in rows for c in r.values())


def test_export_of_one_reason_names_its_file(tmp_path: Path) -> None:
    home = _ingest(tmp_path)
    result = runner.invoke(
        app, ["quarantine", "export", "-d", "assaults", "--reason", "bad date", "--json",
              "--out", str(tmp_path / "out"), "--home", str(home)],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["file"] == str(tmp_path / "out" / "quarantine_assaults_bad-date.csv")
    with open(payload["file"], newline="", encoding="utf-8") as fh:
        assert [r["reason"] for r in csv.DictReader(fh)] == ["bad date"] * 3


def test_unknown_dataset_is_a_clear_error(tmp_path: Path) -> None:
    home = _ingest(tmp_path)
    result = runner.invoke(app, ["quarantine", "list", "-d", "nope", "--home", str(home)])
    assert result.exit_code != 0
    assert "no dataset 'nope'" in str(result.exception)


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"patrolcast {patrolcast.__version__}"
