"""``patrolcast forecast``: --json output and the four output files."""

from __future__ import annotations

import json
from pathlib import Path

import pyogrio
import pytest
from typer.testing import CliRunner

from patrolcast.cli.main import app
from patrolcast.io import Store
from tests.cli.synthetic_store import DECOY_CELL, HOT_CELLS, X0, Y0, synthetic_store, use_store

runner = CliRunner()


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A real store with the synthetic dataset ``synth`` (see tests/cli/synthetic_store.py)."""
    return use_store(monkeypatch, synthetic_store(tmp_path / "home"))


def test_forecast_json_and_files(tmp_path: Path, store: Store) -> None:
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
    assert set(files) == {"gpkg", "geojson", "csv", "png", "pdf", "snapshot"}
    n = payload["n_units"]
    assert pyogrio.read_info(files["gpkg"], layer="forecast")["features"] == n
    assert "4326" in pyogrio.read_info(files["geojson"])["crs"]
    assert len(files["csv"].read_text().splitlines()) == n + 1
    # The top cell is one of the two synthetic hot cells (centres 625 m and 1375 m in).
    top = payload["top_units"][0]
    assert (round(top["easting"] - X0), round(top["northing"] - Y0)) in HOT_CELLS
    # the default offence groups (violence) are applied: the burglary decoys are not history
    violence = store.events("synth", groups=["serious_violence", "violence"],
                            end="2022-06-01T00:00:00+01:00")
    assert payload["events_in_history"] == len(violence) < len(
        store.events("synth", end="2022-06-01T00:00:00+01:00")
    )


def test_forecast_offence_groups_reach_the_store(tmp_path: Path, store: Store) -> None:
    """``--groups burglary`` forecasts burglary: the decoy cell ranks first. (A stand-in store
    that ignored ``groups`` let a lost offence filter pass unnoticed.)"""
    result = runner.invoke(
        app,
        ["forecast", "--dataset", "synth", "--method", "kde", "--start", "2022-06-01",
         "--horizon", "7d", "--cell-size", "250", "--out", str(tmp_path), "--json",
         "--study-area", "hull", "--groups", "burglary"],
    )
    assert result.exit_code == 0, result.stdout
    payload = json.loads(result.stdout)
    top = payload["top_units"][0]
    assert (round(top["easting"] - X0), round(top["northing"] - Y0)) == DECOY_CELL
    burglary = store.events("synth", groups=["burglary"], end="2022-06-01T00:00:00+01:00")
    assert payload["events_in_history"] == len(burglary) > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "June"], "not a date"),
        (["--method", "kde,naive"], "one method"),
        (["--cell-size", "-5"], "cell-size"),
        (["--start", "2000-01-01"], "nothing to learn from"),
    ],
)
def test_bad_input(tmp_path: Path, store: Store, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["forecast", "--dataset", "synth", "--out", str(tmp_path),
                                 "--study-area", "hull", *args])
    assert result.exit_code != 0
    assert message in str(result.exception)
