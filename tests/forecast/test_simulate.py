"""ETAS simulation: reproducible, inside the study area, with the model's cluster structure."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from patrolcast.errors import InputError
from patrolcast.forecast.simulate import ETASModel, london_area, simulate_etas
from tests.conftest import require

AREA = shapely.box(520000, 170000, 530000, 180000)


def test_seeded_and_inside_area() -> None:
    model = ETASModel(mu=5.0, theta=(0.4,), omega=0.2, sigma=80.0)
    a = simulate_etas(model, AREA, days=100, seed=3)
    b = simulate_etas(model, AREA, days=100, seed=3)
    np.testing.assert_array_equal(a.events.t, b.events.t)
    assert np.all(shapely.contains_xy(AREA, a.events.x, a.events.y))
    assert np.all(np.diff(a.events.t) >= 0) and a.events.t.max() < 100


def test_cluster_structure_matches_model() -> None:
    model = ETASModel(mu=20.0, theta=(0.5,), omega=0.2, sigma=80.0, hotspots=5)
    sim = simulate_etas(model, AREA, days=365, seed=1)
    kids = sim.parent >= 0
    # parents come before children; delays exponential with mean 1/omega; offsets Gaussian
    assert np.all(sim.parent[kids] < np.flatnonzero(kids))
    delay = sim.events.t[kids] - sim.events.t[sim.parent[kids]]
    assert delay.mean() == pytest.approx(1 / model.omega, rel=0.1)
    dx = sim.events.x[kids] - sim.events.x[sim.parent[kids]]
    assert dx.std() == pytest.approx(model.sigma, rel=0.1)
    # triggered share close to the branching ratio (few offspring lost at edges and at the end)
    assert sim.triggered_share == pytest.approx(model.branching_ratio, abs=0.05)


def test_bad_models_refused() -> None:
    with pytest.raises(ValueError):
        ETASModel(theta=(1.2,))
    with pytest.raises(ValueError):
        ETASModel(theta=(0.2, 0.3), mark_probs=(1.0,))
    with pytest.raises(InputError):
        simulate_etas(ETASModel(), AREA, days=0, seed=0)


def test_on_a_real_london_borough(shared_data) -> None:  # type: ignore[no-untyped-def]
    gpkg = require(shared_data / "boundaries" / "london_boroughs.gpkg")
    area = london_area(gpkg, ["Lambeth"])
    sim = simulate_etas(ETASModel(mu=3.0), area, days=60, seed=0)
    assert len(sim.events) > 100
    assert np.all(shapely.contains_xy(area, sim.events.x, sim.events.y))
    with pytest.raises(InputError):
        london_area(gpkg, ["Atlantis"])


def test_cli_simulate_writes_csv(shared_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    import pandas as pd
    from typer.testing import CliRunner

    from patrolcast.cli.main import app

    require(shared_data / "boundaries" / "london_boroughs.gpkg")
    result = CliRunner().invoke(
        app, ["simulate", "--out", str(tmp_path / "sim"), "--days", "60", "--mu", "2",
              "--boroughs", "Lambeth", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    out = tmp_path / "sim" / "simulated_etas.csv"
    assert doc["out"] == str(out)
    frame = pd.read_csv(out)
    assert len(frame) == doc["events"] > 50
    bad = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path), "--theta", "1.5"])
    assert isinstance(bad.exception, InputError)
