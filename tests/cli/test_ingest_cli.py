"""``patrolcast ingest``: JSON accounting, clear one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from patrolcast.cli.main import app

runner = CliRunner()

HEADER = "date,loc_cat,longitude,latitude,district"


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "assaults.csv"
    path.write_text(
        "\n".join([HEADER, "2015-06-01 10:00,street,-87.6277,41.7922,2",
                   "2015-06-01 10:00,street,,,2", "bad,street,-87.62,41.79,2"]) + "\n"
    )  # fmt: skip
    return path


def test_json_accounting(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["ingest", str(_file(tmp_path)), "--home", str(tmp_path / "h"), "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert (payload["rows_in"], payload["stored"], payload["quarantined"]) == (3, 1, 2)
    assert payload["reasons"] == {"bad date": 1, "no coordinates": 1}
    assert payload["files"][0]["rows_in"] == 3
    assert payload["dataset"] == "assaults" and payload["crs"] == "EPSG:32616"
    again = json.loads(
        runner.invoke(
            app, ["ingest", str(_file(tmp_path)), "--home", str(tmp_path / "h"), "--json"]
        ).output
    )
    assert again["stored"] == 0 and again["files_skipped"] == 1


def test_text_summary(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", str(_file(tmp_path)), "--home", str(tmp_path / "h")])
    assert result.exit_code == 0
    assert "3 rows in = 1 stored + 2 quarantined" in result.output


def test_bad_input_one_line_nonzero(tmp_path: Path) -> None:
    import subprocess
    import sys

    cases = [
        [str(tmp_path / "missing.csv")],
        [str(_file(tmp_path)), "--mapping", "atlantis"],
        [str(_file(tmp_path)), "--kind", "stop-search"],
        [str(_file(tmp_path)), "--bbox", "1,2,3"],
    ]
    for args in cases:
        proc = subprocess.run(
            [sys.executable, "-m", "patrolcast.cli.main", "ingest", *args,
             "--home", str(tmp_path / "h")],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert proc.returncode == 2, (args, proc.stderr)
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
        assert "Traceback" not in proc.stderr
