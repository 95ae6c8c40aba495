"""``patrolcast forecast``: --json output and the four output files."""

from __future__ import annotations

import json
from pathlib import Path

import pyogrio
import pytest
from typer.testing import CliRunner

from patrolcast.cli.main import app
from tests.cli.fake_store import FakeStore

runner = CliRunner()


@pytest.fixture()
def fake_store(monkeypatch: pytest.MonkeyPatch) -> FakeStore:
    store = FakeStore()
    monkeypatch.setattr("patrolcast.evaluate.jobs.open_store", lambda home=None: store)
    return store


def test_forecast_json_and_files(tmp_path: Path, fake_store: FakeStore) -> None:
    result = runner.invoke(
        app,
        ["forecast", "--dataset", "synth", "--method", "kde", "--start", "2022-06-01",
         "--horizon", "7d", "--cell-size", "250", "--out", str(tmp_path), "--json",
         "--study-area", "hull"],
    )
    assert result.exit_code == 0, result.stdout
    payload = json.loads(result.stdout)
    assert payload["start"].startswith("2022-06-01T00:00")
    assert payload["end"].startswith("2022-06-08T00:00")
    files = {k: Path(v) for k, v in payload["files"].items()}
    assert set(files) == {"gpkg", "geojson", "csv", "png", "snapshot"}
    n = payload["n_units"]
    assert pyogrio.read_info(files["gpkg"])["features"] == n
    assert "4326" in pyogrio.read_info(files["geojson"])["crs"]
    assert len(files["csv"].read_text().splitlines()) == n + 1
    # The top cell is one of the two synthetic hot cells (centres 625 m and 1375 m in).
    top = payload["top_units"][0]
    assert (round(top["easting"] - 529_000), round(top["northing"] - 179_000)) in {
        (625, 625), (1375, 1375)
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "June"], "not a date"),
        (["--method", "kde,naive"], "one method"),
        (["--cell-size", "-5"], "cell-size"),
        (["--start", "2000-01-01"], "nothing to learn from"),
    ],
)
def test_bad_input(tmp_path: Path, fake_store: FakeStore, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["forecast", "--dataset", "synth", "--out", str(tmp_path),
                                 "--study-area", "hull", *args])
    assert result.exit_code != 0
    assert message in str(result.exception)
