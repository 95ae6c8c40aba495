"""A forecast's snapshot file is what a proposal relies on: digest in, digest recorded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from patrolcast.cli.main import app
from patrolcast.events import EventSet
from patrolcast.forecast.registry import make_forecaster
from patrolcast.geo.support import Grid
from tests.cli.fake_store import FakeStore

runner = CliRunner()


@pytest.fixture()
def fake_store(monkeypatch: pytest.MonkeyPatch) -> FakeStore:
    store = FakeStore()
    monkeypatch.setattr("patrolcast.evaluate.jobs.open_store", lambda home=None: store)
    return store


def test_digest_changes_with_any_value() -> None:
    rng = np.random.default_rng(0)
    ev = EventSet.from_arrays(rng.uniform(0, 50, 200), rng.uniform(0, 2000, 200),
                              rng.uniform(0, 2000, 200), crs="EPSG:27700")
    grid = Grid.covering(0, 0, 2000, 2000, cell_size=250, crs="EPSG:27700")
    f = make_forecaster("kde", horizon_days=7).fit(ev, cutoff=50).predict(grid, 50, 57)
    again = make_forecaster("kde", horizon_days=7).fit(ev, cutoff=50).predict(grid, 50, 57)
    assert f.digest() == again.digest()
    assert f.digest().startswith("sha256:") and len(f.digest()) == 7 + 64
    bumped = f.expected_count.copy()
    bumped[3] = np.nextafter(bumped[3], np.inf)  # one ulp in one cell
    from dataclasses import replace

    assert replace(f, expected_count=bumped).digest() != f.digest()
    assert replace(f, end=58.0).digest() != f.digest()


def test_forecast_snapshot_is_recorded_for_proposals(tmp_path: Path, fake_store: FakeStore,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    out = runner.invoke(app, ["forecast", "--dataset", "synth", "--start", "2022-06-01",
                              "--horizon", "7d", "--out", str(tmp_path), "--json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    snap_file = Path(payload["files"]["snapshot"])
    snap = json.loads(snap_file.read_text())
    assert snap["digest"] == payload["snapshot"]["digest"]
    assert snap["window_start"].startswith("2022-06-01")
    assert Path(snap["uri"]).exists()

    db = f"sqlite:///{tmp_path / 'gov.db'}"
    monkeypatch.delenv("PATROLCAST_USER", raising=False)
    for argv in (["user", "add", "admin", "--role", "administrator"],
                 ["user", "add", "ana", "--role", "analyst", "--as", "admin"]):
        add = runner.invoke(app, [*argv, "--db", db, "--json"])
        assert add.exit_code == 0, add.output
    rec = runner.invoke(app, ["snapshot", "record", "--from-file", str(snap_file), "--as", "ana",
                              "--db", db, "--json"])
    assert rec.exit_code == 0, rec.output
    recorded = json.loads(rec.stdout)
    assert recorded["digest"] == snap["digest"]
    assert recorded["method"] == "kde"
    assert recorded["params"]["window_start"] == snap["window_start"]


def test_snapshot_file_must_be_a_snapshot(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    r = runner.invoke(app, ["snapshot", "record", "--from-file", str(bad), "--as", "ana",
                            "--db", f"sqlite:///{tmp_path / 'g.db'}"])
    assert r.exit_code != 0
    assert "not a forecast snapshot" in str(r.exception)
