"""``patrolcast demo`` on a reduced real setting: NYPD shootings only, 3 origins, serial."""

from __future__ import annotations

import json
from pathlib import Path

import pyogrio
import pytest
from typer.testing import CliRunner

from patrolcast.cli.main import app
from tests.conftest import require

runner = CliRunner()


@pytest.mark.realdata
def test_demo_reduced_runs_end_to_end_and_skips_a_second_ingest(
    shared_data: Path, tmp_path: Path
) -> None:
    require(shared_data / "incidents_timestamped" / "nypd_shootings")
    args = ["demo", "--only", "nypd-shootings", "--origins", "3", "--executor", "serial",
            "--n-boot", "200", "--home", str(tmp_path / "var"), "--out", str(tmp_path / "out"),
            "--shared-data", str(shared_data), "--json"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    payload = json.loads(first.stdout)
    (ingested,) = payload["ingested"]
    assert ingested["dataset"] == "nypd-shootings" and not ingested["skipped"]
    assert ingested["rows_in"] == ingested["stored"] + ingested["quarantined"] > 20_000
    bt = payload["backtests"]["nypd-shootings"]
    assert len(bt["origins"]) == 3 and bt["horizon"] == "1M"
    assert set(bt["methods"]) == {"naive", "kde", "prospective", "naive-365", "naive-all"}
    for name in ("json", "md", "png"):
        assert Path(bt["files"][name]).exists()
    (forecast,) = payload["forecasts"]
    gpkg = Path(forecast["files"]["gpkg"])
    assert pyogrio.read_info(gpkg, layer="forecast")["features"] == forecast["n_units"]
    # the briefing pack names the data's source and licence (the demo passes its store)
    from pypdf import PdfReader

    pack = " ".join(p.extract_text() for p in PdfReader(forecast["files"]["pdf"]).pages)
    assert "licence not recorded" not in pack and "New York City Police Department" in pack
    # a month horizon is a month long, whatever day the data end on
    start, end = forecast["start"][:10], forecast["end"][:10]
    assert (int(end[5:7]) - int(start[5:7])) % 12 == 1 and end[8:] == start[8:]
    assert (tmp_path / "out" / "summary.md").read_text().count("| kde |") == 4

    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout)["ingested"][0]["skipped"] is True


def test_demo_refuses_unknown_dataset(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--only", "atlantis", "--home", str(tmp_path)])
    assert result.exit_code != 0
    assert "unknown demo dataset" in str(result.exception)
