"""Serious-assault alert: raised cells decay as the model says; the CLI gives JSON and GeoJSON."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from typer.testing import CliRunner

from patrolcast.cli.main import app
from patrolcast.errors import InputError
from patrolcast.events import EventSet, from_days
from patrolcast.forecast.alert import gaussian_cell_mass, mark_of_offence, serious_assault_alert
from patrolcast.forecast.etas import ETASForecaster
from patrolcast.forecast.near_repeat import knox_test
from patrolcast.forecast.simulate import ETASModel, simulate_etas
from patrolcast.geo.support import Grid

CRS = "EPSG:27700"
AREA = shapely.box(525000, 175000, 533000, 183000)  # 8 km square in central London
START = 18_000.0  # days since epoch
DAYS = 365.0
runner = CliRunner()


@pytest.fixture(scope="module")
def events() -> EventSet:
    model = ETASModel(
        mu=6.0,
        theta=(0.4, 0.8),
        mark_probs=(0.8, 0.2),
        omega=0.25,
        sigma=80.0,
        hotspots=8,
        hotspot_sd=1000.0,
    )
    return simulate_etas(model, AREA, days=DAYS, seed=5, crs=CRS, start=START).events


@pytest.fixture(scope="module")
def fitted(events: EventSet) -> ETASForecaster:
    return ETASForecaster(history_days=None, marked=True).fit(events, cutoff=START + DAYS)


def test_gaussian_cell_mass_sums_to_one_over_a_big_grid() -> None:
    c = np.arange(-2000, 2000, 100.0) + 50
    cx, cy = np.meshgrid(c, c)
    m = gaussian_cell_mass(
        cx.ravel(), cy.ravel(), np.full(cx.size, 50.0), np.array(13.0), np.array(-40.0), 120.0
    )
    assert m.sum() == pytest.approx(1.0, rel=1e-9)


def test_alert_cells_decay_and_explain(fitted: ETASForecaster, events: EventSet) -> None:
    grid = Grid.covering(*shapely.bounds(AREA), cell_size=250.0, crs=CRS)
    x, y, t = 529130.0, 179060.0, START + DAYS + 0.25
    knox = knox_test(events.t, events.x, events.y, permutations=19)
    fatal = serious_assault_alert(fitted, grid, x=x, y=y, t=t, mark=1, days=14, knox=knox)
    minor = serious_assault_alert(fitted, grid, x=x, y=y, t=t, mark=0, days=14, knox=knox)
    assert fatal.cells, "a shooting must raise at least its own cell"
    top = fatal.cells[0]
    assert top.unit_index == int(grid.assign([x], [y])[0]) or top.distance_m < 250
    # daily added expectation decays at the fitted rate omega
    ratio = top.added_by_day[1] / top.added_by_day[0]
    assert ratio == pytest.approx(math.exp(-fitted.omega_), rel=1e-6)
    # totals: theta * cell share * (1 - e^{-14 omega}); a fatal shooting triggers more
    share = gaussian_cell_mass(
        np.array(top.x), np.array(top.y), np.array(125.0), np.array(x), np.array(y), fitted.sigma_
    )
    expected = fitted.theta_for(1) * float(share) * (1 - math.exp(-14 * fitted.omega_))
    assert top.added_total == pytest.approx(expected, rel=1e-9)
    assert fatal.cells[0].added_total > minor.cells[0].added_total
    assert top.terms["background"] == pytest.approx(top.background_per_day * 14)
    assert top.relative_risk_by_day[0] > top.relative_risk_by_day[-1] >= 1.0
    assert top.near_repeat and top.near_repeat[0]["space_band"].startswith("0-100")
    doc = json.loads(json.dumps(fatal.to_dict()))
    assert doc["n_cells"] == len(fatal.cells)
    gj = fatal.to_geojson()
    lon, lat = gj["features"][0]["geometry"]["coordinates"][0][0]
    assert -0.3 < lon < 0.1 and 51.4 < lat < 51.6


def test_alert_refuses_bad_input(fitted: ETASForecaster) -> None:
    grid = Grid.covering(*shapely.bounds(AREA), cell_size=250.0, crs=CRS)
    with pytest.raises(InputError, match="outside"):
        serious_assault_alert(fitted, grid, x=0.0, y=0.0, t=START + DAYS)
    with pytest.raises(InputError, match="cut-off"):
        serious_assault_alert(fitted, grid, x=529000.0, y=179000.0, t=START)
    with pytest.raises(InputError):
        mark_of_offence("  ")
    assert mark_of_offence("Fatal shooting") == 1 and mark_of_offence("shooting") == 0


class _Store:
    def __init__(self, events: EventSet) -> None:
        self._events = events

    def events(self, dataset: str, **_: Any) -> EventSet:
        if dataset != "sim":
            raise InputError(f"no dataset {dataset!r}")
        return self._events


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, events: EventSet) -> _Store:
    s = _Store(events)
    monkeypatch.setattr("patrolcast.evaluate.jobs.open_store", lambda home=None: s)
    return s


def test_cli_alert_json_and_geojson(tmp_path: Path, store: _Store) -> None:
    when = from_days(START + DAYS - 30).isoformat()
    out = tmp_path / "alert.geojson"
    result = runner.invoke(
        app,
        [
            "alert",
            "--dataset",
            "sim",
            "--x",
            "529130",
            "--y",
            "179060",
            "--time",
            when,
            "--offence",
            "fatal shooting",
            "--days",
            "7",
            "--json",
            "--geojson",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["days"] == 7 and doc["cells"] and len(doc["cells"][0]["added_by_day"]) == 7
    assert json.loads(out.read_text())["type"] == "FeatureCollection"


def test_cli_near_repeat_json(tmp_path: Path, store: _Store) -> None:
    png = tmp_path / "k.png"
    result = runner.invoke(
        app,
        ["near-repeat", "--dataset", "sim", "--permutations", "19", "--json", "--png", str(png)],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["cells"][0]["ratio"] > 1.5  # simulated triggering is a near repeat
    assert png.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--time", "2019-06-01T10:00"], "no zone"),
        (["--time", "yesterday"], "bad time"),
        (["--x", "1"], "both --x and --y"),
        (["--x", "1", "--y", "2", "--lon", "0", "--lat", "51"], "not both"),
    ],
)
def test_cli_alert_bad_input(store: _Store, args: list[str], message: str) -> None:
    base = {"--time": from_days(START + 100).isoformat(), "--offence": "shooting"}
    argv = ["alert", "--dataset", "sim"]
    for k, v in base.items():
        if k not in args:
            argv += [k, v]
    result = runner.invoke(app, argv + args)
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError)
    assert message in str(result.exception)
