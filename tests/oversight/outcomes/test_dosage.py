"""Dosage recovered exactly from traces simulated on a known schedule; malformed traces refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from patrolcast.errors import InputError
from patrolcast.events import to_days
from patrolcast.geo.support import Grid
from patrolcast.oversight.outcomes.counts import Window
from patrolcast.oversight.outcomes.dosage import compute_dosage
from patrolcast.oversight.outcomes.traces import (
    Trace,
    pseudonymise,
    read_gpx,
    read_patrol_log,
    read_trace_csv,
    write_trace,
)

KEY = b"force-secret-key-0123456789"
CRS = "EPSG:27700"
AREA = shapely.box(530000, 180000, 530300, 180100)  # three 100 m cells
GRID = Grid.covering(530000, 180000, 530299, 180099, cell_size=100, crs=CRS)
T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
TO_LONLAT = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
C0, C1, C2 = (530050.0, 180050.0), (530150.0, 180050.0), (530250.0, 180050.0)
AWAY = (531000.0, 181000.0)


def _lonlat(p: tuple[float, float]) -> tuple[float, float]:
    lon, lat = TO_LONLAT.transform(*p)
    return float(lon), float(lat)


def _fixes(sign: str, plan: list[tuple[int, int, tuple[float, float]]]) -> list[str]:
    """Rows every 30 s; ``plan`` = (from minute, to minute, place) relative to 10:00."""
    rows = []
    for a, b, place in plan:
        lon, lat = _lonlat(place)
        for half in range(2 * a, 2 * b):
            when = T0 + timedelta(seconds=30 * half)
            rows.append(f"{when.isoformat().replace('+00:00', 'Z')},{lon:.9f},{lat:.9f},{sign}")
    return rows


def _schedule_csv() -> str:
    bravo = _fixes("Bravo 21", [(-10, 15, C0), (15, 27, C1), (27, 60, AWAY), (60, 72, C0),
                                (72, 131, AWAY)])
    charlie = _fixes("charlie 5", [(0, 5, C2), (30, 40, C2)])
    # one last fix closes each run: 10:05:00 and 10:40:00 at C2
    lon, lat = _lonlat(C2)
    charlie += [f"2024-05-01T10:05:00Z,{lon:.9f},{lat:.9f},charlie 5",
                f"2024-05-01T10:40:00+00:00,{lon:.9f},{lat:.9f},charlie 5"]
    return "\n".join(["time,lon,lat,call_sign", *bravo, *charlie]) + "\n"


def test_dosage_recovers_the_schedule_exactly() -> None:
    trace = read_trace_csv(_schedule_csv(), key=KEY, crs=CRS)
    assert not any("ravo" in u or "harlie" in u for u in trace.unit)
    lon, lat = _lonlat(C1)
    log = read_patrol_log(
        f"call_sign,start,end,lon,lat\nDelta 1,2024-05-01T11:30:00Z,2024-05-01T11:45:00Z,"
        f"{lon},{lat}\n", key=KEY, crs=CRS)
    window = Window(to_days(T0), to_days(T0 + timedelta(hours=2)))
    d = compute_dosage(trace, AREA, window, GRID, log=log, max_gap_minutes=5)
    ids = GRID.unit_ids
    c0, c1, c2 = (ids[int(GRID.assign([p[0]], [p[1]])[0])] for p in (C0, C1, C2))
    got = {(r.cell, r.hour): r.minutes for r in d.per_cell_hour.itertuples()}
    expected = {(c0, 0): 15.0, (c1, 0): 12.0, (c2, 0): 15.0, (c0, 1): 12.0, (c1, 1): 15.0}
    assert got.keys() == expected.keys()
    for k, v in expected.items():
        assert got[k] == pytest.approx(v, abs=1e-6)
    assert d.delivered_unit_hours == pytest.approx(69 / 60, abs=1e-6)
    assert d.authorised_hours == pytest.approx(2.0)
    minutes = sorted(round(v.minutes, 6) for v in d.visits)
    assert minutes == [5.0, 10.0, 12.0, 15.0, 27.0]
    assert d.dwell_bands() == {"under 10 min": 1, "10-15 min (Koper)": 3, "over 15 min": 1}
    assert d.hours_without_patrol == ()
    assert d.outside_area_unit_minutes == pytest.approx(33 + 48, abs=1e-6)
    assert d.fixes_outside_window == 20 + 22  # 09:50:00-09:59:30 and 12:00:00-12:10:30
    assert len(d.signal_gaps) == 1
    unit, a, b = d.signal_gaps[0]
    assert unit == pseudonymise("Charlie 5", KEY)
    assert (b - a) * 1440 == pytest.approx(25, abs=1e-6)


def test_hours_without_patrol_are_flagged() -> None:
    rows = _fixes("Echo 2", [(0, 20, C0)]) + ["2024-05-01T10:20:00Z," + ",".join(
        f"{v:.9f}" for v in _lonlat(C0)) + ",Echo 2"]
    trace = read_trace_csv("\n".join(["time,lon,lat,call_sign", *rows]) + "\n", key=KEY, crs=CRS)
    window = Window(to_days(T0), to_days(T0 + timedelta(hours=3)))
    d = compute_dosage(trace, AREA, window, GRID)
    assert d.hours_without_patrol == (1, 2)
    assert d.delivered_unit_hours == pytest.approx(20 / 60, abs=1e-6)


def test_pseudonyms_are_keyed_and_stable() -> None:
    assert pseudonymise("Bravo 21", KEY) == pseudonymise("  bravo   21 ", KEY)
    assert pseudonymise("Bravo 21", KEY) != pseudonymise("Bravo 21", KEY + b"x")
    with pytest.raises(InputError):
        pseudonymise("Bravo 21", b"short")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time,lon,call_sign\n2024-05-01T10:00:00Z,-0.1,A1\n", "lacks column"),
        ("time,lon,lat,call_sign\n2024-05-01T10:00:00,-0.1,51.5,A1\n", "without a time zone"),
        ("time,lon,lat,call_sign\nyesterday,-0.1,51.5,A1\n", "unreadable time"),
        ("time,lon,lat,call_sign\n2024-05-01T10:00:00Z,200,51.5,A1\n", "out of range"),
        ("time,lon,lat,call_sign\n2024-05-01T10:00:00Z,-0.1,51.5,\n", "empty call sign"),
        ("time,lon,lat,call_sign\n", "no fixes"),
    ],
)
def test_malformed_csv_traces_are_refused(text: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=message):
        read_trace_csv(text, key=KEY, crs=CRS)


def test_bad_row_is_named_by_line() -> None:
    good = "2024-05-01T10:00:00Z,-0.1,51.5,A1"
    text = "time,lon,lat,call_sign\n" + "\n".join([good, good, "2024-05-01T10:01:00Z,x,51.5,A1"])
    with pytest.raises(InputError, match="line\\(s\\) 4"):
        read_trace_csv(text + "\n", key=KEY, crs=CRS)


GPX = b"""<?xml version="1.0"?>
<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">
 <trk><name>PC Alice Example</name><trkseg>
  <trkpt lat="51.5" lon="-0.1"><time>2024-05-01T10:00:00Z</time></trkpt>
  <trkpt lat="51.5001" lon="-0.1"><time>2024-05-01T10:00:30Z</time></trkpt>
 </trkseg></trk></gpx>"""


def test_gpx_reads_points_never_names() -> None:
    tr = read_gpx(GPX, key=KEY, crs=CRS, call_sign="Bravo 21")
    assert len(tr) == 2 and set(tr.unit) == {pseudonymise("Bravo 21", KEY)}
    assert (tr.t[1] - tr.t[0]) * 86400 == pytest.approx(30)
    assert "Alice" not in repr(tr)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "b">]><gpx/>', "DOCTYPE"),
        (b"<gpx><trk><trkseg><trkpt lat='51' lon='0'/></trkseg></trk></gpx>", "unreadable"),
        (b"<gpx><trk>", "well-formed"),
        (b"<kml/>", "not a GPX"),
        (b"<gpx></gpx>", "no track points"),
    ],
)
def test_malformed_gpx_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        read_gpx(data, key=KEY, crs=CRS, call_sign="A1")


def test_write_trace_is_atomic_and_round_trips(tmp_path: Path) -> None:
    tr = read_gpx(GPX, key=KEY, crs=CRS, call_sign="Bravo 21")
    out = write_trace(tr, tmp_path / "t.parquet")
    back = pd.read_parquet(out)
    assert list(back["unit"]) == list(tr.unit) and np.allclose(back["x"], tr.x)
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]
    bad = Trace(("u",), np.zeros(1), np.zeros(1), np.zeros(1), CRS)
    object.__setattr__(bad, "t", object())  # unserialisable: the write fails part-way
    with pytest.raises(Exception):  # noqa: B017
        write_trace(bad, tmp_path / "bad.parquet")
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]


def test_read_trace_dispatches_and_combines(tmp_path: Path) -> None:
    from patrolcast.oversight.outcomes.traces import read_trace

    gpx = tmp_path / "b21.gpx"
    gpx.write_bytes(GPX)
    csv = tmp_path / "avl.csv"
    csv.write_text("time,lon,lat,call_sign\n2024-05-01T10:00:00Z,-0.1,51.5,Charlie 5\n")
    both = Trace.concat([read_trace(gpx, key=KEY, crs=CRS, call_sign="Bravo 21"),
                         read_trace(csv, key=KEY, crs=CRS)])
    assert len(both) == 3 and len(set(both.unit)) == 2
    with pytest.raises(InputError, match="call sign"):
        read_trace(gpx, key=KEY, crs=CRS)
    with pytest.raises(InputError, match=".gpx or .csv"):
        read_trace(tmp_path / "x.kml", key=KEY, crs=CRS)
