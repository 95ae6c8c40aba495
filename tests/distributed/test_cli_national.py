"""``patrolcast national``: replica, ingest and backtest through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patrolcast.cli.main import app

SHARED = Path("/work/shared/data")
for candidate in (Path(__file__).resolve().parents[3] / "shared" / "data", SHARED):
    if (candidate / "boundaries").is_dir():
        SHARED = candidate
        break
pytestmark = [
    pytest.mark.slow,
    pytest.mark.realdata,
    pytest.mark.skipif(not (SHARED / "boundaries").is_dir(), reason="needs ../shared/data"),
]


def test_replica_ingest_backtest_on_a_local_cluster(tmp_path: Path) -> None:
    runner = CliRunner()
    rep, home = tmp_path / "replica", tmp_path / "home"
    made = runner.invoke(app, [
        "national", "replica", "--out", str(rep), "--shared-data", str(SHARED), "--months", "3",
        "--records-per-month", "20000", "--forces", "cleveland,city-of-london", "--json",
    ])  # fmt: skip
    assert made.exit_code == 0, made.output
    rows = json.loads(made.output)["total"]
    assert len(list(rep.glob("*/*-street.csv"))) == 6
    ingested = runner.invoke(app, ["national", "ingest", str(rep), "--home", str(home), "--json"])
    assert ingested.exit_code == 0, ingested.output
    account = json.loads(ingested.output)
    assert account["rows_in"] == rows == account["stored"] + account["quarantined"]
    assert (home / "national").is_dir()  # the partitioned store lives in the data home
    done = runner.invoke(app, [
        "national", "backtest", "--home", str(home), "--origins", "2", "--workers", "1",
        "--methods", "naive", "--out", str(tmp_path / "results"), "--json",
    ])  # fmt: skip
    assert done.exit_code == 0, done.output
    out = json.loads(done.output.strip().splitlines()[-1])
    assert {f["force"] for f in out["forces"]} == {"cleveland", "city-of-london"}
    assert out["dask"]["tasks"] == 4 and out["dask"]["errors"] == []
    assert out["file"] == str(tmp_path / "results" / "national_backtest_street_1M.parquet")
    assert Path(out["file"]).is_file()
