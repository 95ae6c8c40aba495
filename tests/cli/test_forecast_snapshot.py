"""A forecast's snapshot file is what a proposal relies on: digest in, digest recorded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from patrolcast.cli.main import app
from patrolcast.cli.snapshot_file import file_sha256, read_snapshot_file
from patrolcast.errors import InputError
from patrolcast.events import EventSet
from patrolcast.forecast.registry import make_forecaster
from patrolcast.geo.support import Grid
from patrolcast.io import Store
from tests.cli.synthetic_store import synthetic_store, use_store

runner = CliRunner()


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A real store with the synthetic dataset ``synth`` (see tests/cli/synthetic_store.py)."""
    return use_store(monkeypatch, synthetic_store(tmp_path / "home"))


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


def test_forecast_snapshot_is_recorded_for_proposals(tmp_path: Path, store: Store) -> None:
    # the synthetic data lie in no real force area: the data's extent (hull) is the study area
    out = runner.invoke(app, ["forecast", "--dataset", "synth", "--start", "2022-06-01",
                              "--horizon", "7d", "--study-area", "hull", "--out", str(tmp_path),
                              "--json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    snap_file = Path(payload["files"]["snapshot"])
    snap = json.loads(snap_file.read_text())
    assert snap["digest"] == payload["snapshot"]["digest"]
    assert snap["window_start"].startswith("2022-06-01")
    assert Path(snap["uri"]).exists()

    # Recorded through the server by the analyst who relies on it.
    from tests.api.world import make_api_world

    world = make_api_world(f"sqlite:///{tmp_path / 'gov.db'}", tmp_path / "keys")
    try:
        body = read_snapshot_file(snap_file)
        rec = world.as_("ana").post("/api/snapshots", json=body)
        assert rec.status_code == 200, rec.text
        recorded = rec.json()
    finally:
        world.ctx.db.dispose()
    assert "sha256:" + recorded["digest"] == snap["digest"]
    assert recorded["method"] == "kde"
    assert recorded["params"]["window_start"] == snap["window_start"]
    assert recorded["params"]["file_sha256"] == file_sha256(Path(snap["uri"]))


def test_snapshot_file_must_be_a_snapshot(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    r = runner.invoke(app, ["snapshot", "record", str(bad),
                            "--server", "http://127.0.0.1:9"])
    assert r.exit_code != 0
    assert "not a forecast snapshot" in str(r.exception)


def test_a_snapshot_whose_file_changed_or_digest_is_short_is_refused(tmp_path: Path) -> None:
    forecast = tmp_path / "f.gpkg"
    forecast.write_bytes(b"values")
    snap = {"method": "kde", "digest": "sha256:" + "cd" * 32, "created_at": "2026-06-01T12:00Z",
            "uri": str(forecast), "file_sha256": file_sha256(forecast)}
    path = tmp_path / "f.snapshot.json"
    path.write_text(json.dumps(snap))
    assert read_snapshot_file(path)["params"]["file_sha256"] == snap["file_sha256"]
    forecast.write_bytes(b"values, edited")
    with pytest.raises(InputError, match="has changed"):
        read_snapshot_file(path)
    path.write_text(json.dumps({**snap, "digest": "ab" * 8}))
    with pytest.raises(InputError, match="64 hex"):
        read_snapshot_file(path)
    path.write_text(json.dumps({**snap, "uri": str(tmp_path / "gone.gpkg")}))
    with pytest.raises(InputError, match="does not exist"):
        read_snapshot_file(path)
