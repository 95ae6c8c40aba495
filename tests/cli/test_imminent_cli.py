"""``patrolcast near-repeat`` and ``patrolcast alert``: the study area, as ``forecast`` has it.

The synthetic store (tests/cli/synthetic_store.py) covers a 2 km square; the boundary file here
holds only its western half, so the events of the eastern half must be left out and counted.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from typer.testing import CliRunner

from patrolcast.cli.main import app
from patrolcast.io import Store
from tests.cli.synthetic_store import X0, Y0, synthetic_store, use_store

runner = CliRunner()
HALF = 1000.0  # the boundary's east edge, metres in from the square's west side


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    return use_store(monkeypatch, synthetic_store(tmp_path / "home", decoys=0))


@pytest.fixture()
def west_half(tmp_path: Path) -> Path:
    path = tmp_path / "west.gpkg"
    gpd.GeoDataFrame(
        {"name": ["west"]}, geometry=[shapely.box(X0 - 1, Y0 - 1, X0 + HALF, Y0 + 2001)],
        crs="EPSG:27700",
    ).to_file(path, driver="GPKG")
    return path


def _west_count(store: Store) -> tuple[int, int]:
    ev = store.events("synth")
    west = int(((ev.x - X0) <= HALF).sum())
    return west, len(ev) - west


def test_near_repeat_keeps_the_events_inside_the_boundary(store: Store, west_half: Path) -> None:
    result = runner.invoke(
        app, ["near-repeat", "-d", "synth", "--boundary", str(west_half), "--permutations", "19",
              "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout
    doc = json.loads(result.stdout)
    west, east = _west_count(store)
    assert east > 100
    assert doc["study_area"]["events_outside"] == east
    assert "west.gpkg" in doc["study_area"]["source"]
    assert doc["study_area"]["km2"] == pytest.approx(2.0 * 1.001, rel=0.01)
    assert doc["n_events"] <= west  # same place-and-time duplicates may be dropped


def test_near_repeat_hull_warns_and_keeps_everything(store: Store) -> None:
    result = runner.invoke(
        app, ["near-repeat", "-d", "synth", "--study-area", "hull", "--permutations", "19"]
    )
    assert result.exit_code == 0, result.stdout
    assert "0 events outside left out" in result.stdout
    assert "warning: study area is the convex hull" in result.stdout


def test_alert_refuses_an_incident_outside_the_study_area(store: Store, west_half: Path) -> None:
    result = runner.invoke(
        app, ["alert", "-d", "synth", "--boundary", str(west_half), "--x", str(X0 + 1500),
              "--y", str(Y0 + 1500), "--time", "2022-06-01T12:00Z", "--offence", "assault"],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "outside the study area" in str(result.exception) + result.stdout


@pytest.mark.slow
def test_alert_grid_and_history_stay_inside_the_boundary(store: Store, west_half: Path) -> None:
    result = runner.invoke(
        app, ["alert", "-d", "synth", "--boundary", str(west_half), "--x", str(X0 + 625),
              "--y", str(Y0 + 625), "--time", "2022-06-01T12:00Z", "--offence", "assault",
              "--permutations", "19", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout
    doc = json.loads(result.stdout)
    west, east = _west_count(store)
    assert doc["study_area"]["events_outside"] == east
    assert 0 < doc["model"]["n_events"] <= west  # fitted on the western half only
    assert doc["rule"]["name"] in ("model", "knox", "none")
    for cell in doc["cells"]:
        assert cell["x"] - X0 < HALF  # no cell of the eastern half


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kernel", "spline"], "--kernel must be one of gaussian, histogram"),
        (["--zone", "square"], "unknown zone shape 'square'"),
        (["--max-fit-age", "-1"], "0 or more days"),
        (["--time-scales", "3"], "time scales must be 1 or 2"),
        (["--time-scales", "2", "--kernel", "histogram"], "--time-scales 2 needs the gaussian"),
    ],
)
def test_alert_refuses_bad_model_options(
    store: Store, west_half: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(
        app, ["alert", "-d", "synth", "--boundary", str(west_half), "--x", str(X0 + 625),
              "--y", str(Y0 + 625), "--time", "2022-06-01T12:00", "--offence", "assault",
              "--permutations", "19", *args],
    )  # fmt: skip
    assert result.exit_code != 0
    assert message in str(result.exception)
