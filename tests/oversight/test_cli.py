"""The oversight CLI: --json output, clear one-line errors, the transparency report end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from patrolcast.cli.main import app

runner = CliRunner()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PATROLCAST_DEBUG", "PATROLCAST_USER", "PATROLCAST_SERVER_URL")}
    return subprocess.run(
        [sys.executable, "-m", "patrolcast.cli.main", *args],
        capture_output=True, text=True, env=env, check=False,
    )


def test_intel_check_json() -> None:
    ok = runner.invoke(app, ["intel", "check", "Fights near the station after 22:00", "--json"])
    assert ok.exit_code == 0 and json.loads(ok.output)["ok"] is True
    bad = runner.invoke(app, ["intel", "check", "Mr Smith, 07700 900123", "--json"])
    assert bad.exit_code == 3
    kinds = {f["kind"] for f in json.loads(bad.output)["findings"]}
    assert kinds == {"name after a title", "phone number"}
    assert "Smith" not in bad.output


def test_feedback_json() -> None:
    result = runner.invoke(app, ["fairness", "feedback", "--runs", "50", "--days", "120",
                                 "--discovered", "0,1", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows[0]["discovered"] == 0.0 and rows[1]["locked_in_runs"] == 1.0
    assert rows[0]["mean_tv_distance"] < rows[1]["mean_tv_distance"]


def test_transparency_scenario_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = runner.invoke(app, ["report", "transparency", "--month", "2025-06", "--scenario",
                                 "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["headline"]["proposals"] == 30
    names = {Path(f).name for f in payload["files"]}
    assert names == {"transparency-2025-06.html", "transparency-2025-06.pdf",
                     "transparency-2025-06.csv",
                     "transparency-2025-06.geojson", "transparency-2025-06.json"}
    assert "<3" in (out / "transparency-2025-06.csv").read_text(encoding="utf-8")
    # The PDF is the same document as the HTML, printed: its licence line and headline count.
    from pypdf import PdfReader

    text = " ".join(
        page.extract_text() for page in PdfReader(out / "transparency-2025-06.pdf").pages
    )
    assert "Open Government Licence" in " ".join(text.split())
    # The scenario's unsuppressed database is never written beside the public files.
    assert sorted(p.name for p in out.iterdir()) == sorted(names)


def test_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    bad_month = _cli("report", "transparency", "--month", "June", "--scenario",
                     "--out", str(tmp_path / "x"))
    assert bad_month.returncode == 2
    assert bad_month.stderr.strip().count("\n") == 0 and "YYYY-MM" in bad_month.stderr
    assert not (tmp_path / "x").exists()
    bad_rates = _cli("fairness", "feedback", "--rates", "1,abc")
    assert bad_rates.returncode == 2 and "comma-separated" in bad_rates.stderr
    no_user = _cli("intel", "list", "--server", "http://127.0.0.1:9")
    assert no_user.returncode == 2 and "not signed in" in no_user.stderr
