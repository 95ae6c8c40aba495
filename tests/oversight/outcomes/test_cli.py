"""The outcomes and fairness-audit commands, registered on a fresh Typer app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
import typer
from typer.testing import CliRunner

from patrolcast.cli.outcomes import register
from patrolcast.events import EventSet

runner = CliRunner()
KEY = "a-force-secret-for-tests-only"


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """test root"""

    register(app)
    return app


def _areas(tmp_path: Path) -> Path:
    # the synthetic jurisdiction of test_fairness_audit: counts 20..1, a00 80% A, a19 10% A
    a = [80] + [50] * 18 + [10]
    frame = gpd.GeoDataFrame(
        {"area": [f"a{i:02d}" for i in range(20)], "pred": list(range(20, 0, -1)), "A": a,
         "B": [100 - v for v in a]},
        geometry=[shapely.box(i * 100, 0, (i + 1) * 100, 100) for i in range(20)],
        crs="EPSG:27700")  # fmt: skip
    path = tmp_path / "areas.geojson"
    frame.to_file(path)
    return path


def test_fairness_audit_command(tmp_path: Path) -> None:
    res = runner.invoke(_app(), ["fairness-audit", "--areas", str(_areas(tmp_path)),
                                 "--count", "pred", "--groups", "A,B", "--id", "area", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    a = next(g for g in out["groups"] if g["group"] == "A")
    assert a["most_share"] == pytest.approx(0.8)
    assert a["above_median_share"] == pytest.approx(530 / 990)


def test_fairness_audit_from_points(tmp_path: Path) -> None:
    pts = tmp_path / "pts.csv"
    # 3 predictions in a00, 1 in a05: a00 is the most targeted
    pts.write_text("x,y\n50,50\n60,50\n70,50\n550,50\n")
    res = runner.invoke(_app(), ["fairness-audit", "--areas", str(_areas(tmp_path)),
                                 "--points", str(pts), "--points-crs", "EPSG:27700",
                                 "--groups", "A,B", "--json"])
    assert res.exit_code == 0, res.output
    a = next(g for g in json.loads(res.stdout)["groups"] if g["group"] == "A")
    assert a["most_share"] == pytest.approx(0.8)


def test_trial_allocate_then_analyse_and_refuse_tampering(tmp_path: Path) -> None:
    alloc = tmp_path / "trial" / "allocation_t1.json"
    res = runner.invoke(_app(), ["outcomes", "trial-allocate", "--trial-id", "t1", "--places",
                                 "p1,p2,p3", "--first-day", "2025-03-01", "--days", "10",
                                 "--seed", "9", "--out", str(alloc.parent), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["file"] == str(alloc)
    digest = json.loads(res.stdout)["digest"]
    raw = json.loads(alloc.read_text())
    rows = ["place,day,count"]
    for p, row in zip(raw["places"], raw["patrol"], strict=True):
        rows += [f"{p},{d},{0 if on else 2}" for d, on in zip(raw["days"], row, strict=True)]
    outcomes = tmp_path / "outcomes.csv"
    outcomes.write_text("\n".join(rows) + "\n")
    args = ["outcomes", "trial-analyse", "--allocation", str(alloc), "--outcomes",
            str(outcomes), "--json"]
    res = runner.invoke(_app(), [*args, "--digest", digest])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["patrol_total"] == 0
    bad = runner.invoke(_app(), [*args, "--digest", "sha256:" + "0" * 64])
    assert bad.exit_code != 0 and "does not match" in str(bad.exception)


def test_dosage_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pyproj import Transformer

    area = tmp_path / "area.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(530000, 180000, 530200, 180200)],
                     crs="EPSG:27700").to_file(area)
    lon, lat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(
        530100, 180100)
    rows = [f"2025-01-05T18:{m:02d}:00Z,{lon},{lat},Bravo 21" for m in range(0, 13)]
    trace = tmp_path / "t.csv"
    trace.write_text("time,lon,lat,call_sign\n" + "\n".join(rows) + "\n")
    monkeypatch.setenv("PATROLCAST_PSEUDONYM_KEY", KEY)
    stored = tmp_path / "traces" / "trace.parquet"
    res = runner.invoke(_app(), ["outcomes", "dosage", "--trace", str(trace), "--area",
                                 str(area), "--start", "2025-01-05T18:00:00Z", "--end",
                                 "2025-01-05T20:00:00Z", "--store-to", str(stored.parent),
                                 "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["delivered_unit_hours"] == pytest.approx(12 / 60, abs=1e-6)
    assert out["hours_without_patrol"] == [1]
    assert stored.exists() and b"Bravo" not in stored.read_bytes()
    # a time without a zone is Europe/London (GMT in January): the same window
    local = runner.invoke(_app(), ["outcomes", "dosage", "--trace", str(trace), "--area",
                                   str(area), "--start", "2025-01-05T18:00", "--end",
                                   "2025-01-05T20:00", "--json"])
    assert local.exit_code == 0, local.output
    assert json.loads(local.stdout) == out
    monkeypatch.delenv("PATROLCAST_PSEUDONYM_KEY")
    res = runner.invoke(_app(), ["outcomes", "dosage", "--trace", str(trace), "--area",
                                 str(area), "--start", "2025-01-05T18:00:00Z", "--end",
                                 "2025-01-05T20:00:00Z"])
    assert res.exit_code != 0 and "PATROLCAST_PSEUDONYM_KEY" in str(res.exception)


class _Store:
    def __init__(self, events: EventSet) -> None:
        self._events = events

    def meta(self, dataset: str) -> dict[str, Any]:
        return {"crs": self._events.crs}

    def events(self, dataset: str, groups: Any = None) -> EventSet:
        return self._events


def test_evaluate_command_writes_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(2)
    n = 20000
    t0 = 20000.0
    ev = EventSet.from_arrays(t0 + rng.uniform(0, 400, n), rng.uniform(0, 5000, n),
                              rng.uniform(0, 5000, n), crs="EPSG:27700")
    monkeypatch.setattr("patrolcast.evaluate.jobs.open_store", lambda home=None: _Store(ev))
    area = tmp_path / "hotspot.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(2500, 2500, 2750, 2750)],
                     crs="EPSG:27700").to_file(area)
    folder, home = tmp_path / "reports", str(tmp_path)
    out = folder / "outcome_hotspot.html"
    res = runner.invoke(_app(), ["outcomes", "evaluate", "-d", "synth", "--area", str(area),
                                 "--start", "1970-01-01T00:00:00Z", "--end",
                                 "1970-01-02T00:00:00Z", "--out", str(folder), "--home", home,
                                 "--json"])
    # a window the data do not cover is refused (missing data would look like a reduction)
    assert res.exit_code != 0 and "do not cover" in str(res.exception)
    start = "2025-04-17T00:00:00Z"  # data run 2024-10-04 to 2025-11-08
    res = runner.invoke(_app(), ["outcomes", "evaluate", "-d", "synth", "--area", str(area),
                                 "--start", start, "--end", "2025-05-15T00:00:00Z",
                                 "--forecast-expected", "5", "--pre-days", "182", "--out",
                                 str(folder), "--home", home, "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["deployment_id"] == "hotspot" and payload["forecast"]["expected"] == 5
    assert payload["files"] == [str(out)]
    assert out.exists() and "Observed against" in out.read_text()
    # the same deployment from a governance proposal export gives the same answer
    view = tmp_path / "p9.json"
    view.write_text(json.dumps({
        "id": 9, "state": "debriefed",
        "area_wkt": "POLYGON((2500 2500,2750 2500,2750 2750,2500 2750,2500 2500))",
        "authorised_start": "2025-04-17T00:00:00+00:00",
        "authorised_end": "2025-05-15T00:00:00+00:00"}))  # fmt: skip
    res = runner.invoke(_app(), ["outcomes", "evaluate", "-d", "synth", "--proposal", str(view),
                                 "--pre-days", "182", "--home", home, "--json"])
    assert res.exit_code == 0, res.output
    again = json.loads(res.stdout)
    assert again["deployment_id"] == "proposal-9"
    assert again["during"]["expected"] == pytest.approx(payload["during"]["expected"])


def test_quarterly_command_from_a_governance_export(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(4)
    n = 40000
    ev = EventSet.from_arrays(19700.0 + rng.uniform(0, 800, n), rng.uniform(0, 5000, n),
                              rng.uniform(0, 5000, n), crs="EPSG:27700")
    monkeypatch.setattr("patrolcast.evaluate.jobs.open_store", lambda home=None: _Store(ev))
    square = "POLYGON((2500 2500,2750 2500,2750 2750,2500 2750,2500 2500))"
    proposals = [
        {"id": 1, "state": "debriefed", "area_wkt": square,
         "authorised_start": "2025-02-03T18:00:00+00:00",
         "authorised_end": "2025-02-04T06:00:00+00:00"},
        {"id": 2, "state": "reviewed", "area_wkt": square,
         "authorised_start": "2025-03-03T18:00:00+00:00",
         "authorised_end": "2025-03-04T06:00:00+00:00",
         "cancelled_at": "2025-03-03T20:00:00+00:00"},
        {"id": 3, "state": "active", "area_wkt": square,
         "authorised_start": "2025-03-05T18:00:00+00:00",
         "authorised_end": "2025-03-06T06:00:00+00:00"},
        {"id": 4, "state": "debriefed", "area_wkt": square,
         "authorised_start": "2025-04-05T18:00:00+00:00",
         "authorised_end": "2025-04-06T06:00:00+00:00"},
    ]  # fmt: skip
    path = tmp_path / "proposals.json"
    path.write_text(json.dumps(proposals))
    out = tmp_path / "q" / "quarterly_2025Q1.html"
    res = runner.invoke(_app(), ["outcomes", "quarterly", "-d", "synth", "--proposals",
                                 str(path), "--quarter", "2025Q1", "--out", str(out.parent),
                                 "--home", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    # proposal 3 is not debriefed, proposal 4 is in the next quarter
    assert json.loads(res.stdout)["deployments"] == 2
    page = out.read_text()
    assert "proposal-1" in page and "proposal-2" in page and "proposal-3" not in page
    bad = runner.invoke(_app(), ["outcomes", "quarterly", "-d", "synth", "--proposals",
                                 str(path), "--quarter", "2025Q5", "--out", str(out.parent),
                                 "--home", str(tmp_path)])
    assert bad.exit_code != 0
