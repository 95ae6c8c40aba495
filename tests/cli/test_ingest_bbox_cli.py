"""``ingest --bbox`` states its CRS (``--bbox-crs``, British National Grid metres by default):
rows outside the box are quarantined as outside the study area, in either CRS."""

from __future__ import annotations

import json
from pathlib import Path

from pyproj import Transformer
from typer.testing import CliRunner

from patrolcast.cli.main import app

runner = CliRunner()
HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context"
)
POINTS = [(-0.0900, 51.5150), (-0.0950, 51.5160), (-0.1400, 51.5000)]  # City, City, Westminster


def _street(tmp_path: Path) -> Path:
    rows = [
        f"id{i},2024-01,City of London Police,City of London Police,{lon},{lat},On or near X,"
        f"E01000001,City of London 001A,Robbery,,"
        for i, (lon, lat) in enumerate(POINTS)
    ]
    path = tmp_path / "2024-01-city-of-london-street.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _ingest(tmp_path: Path, name: str, *box: str) -> dict[str, object]:
    result = runner.invoke(
        app, ["ingest", str(_street(tmp_path)), "--home", str(tmp_path / name), "--json", *box]
    )
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_bbox_in_metres_by_default_and_in_degrees_when_stated(tmp_path: Path) -> None:
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    (x0, x1), (y0, y1) = to_bng.transform([-0.1, -0.08], [51.51, 51.52])
    metres = _ingest(tmp_path, "m", "--bbox", f"{x0:.0f},{y0:.0f},{x1:.0f},{y1:.0f}")
    degrees = _ingest(tmp_path, "d", "--bbox", "-0.1,51.51,-0.08,51.52", "--bbox-crs", "EPSG:4326")
    for summary in (metres, degrees):
        assert summary["rows_in"] == 3 and summary["stored"] == 2
        assert summary["reasons"] == {"outside the study area": 1}
    # the same numbers read as metres: nothing of the file lies in a box near (0 m, 51 m)
    wrong = _ingest(tmp_path, "w", "--bbox", "-0.1,51.51,-0.08,51.52")
    assert wrong["stored"] == 0 and wrong["reasons"] == {"outside the study area": 3}


def test_bbox_crs_that_is_not_a_crs_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["ingest", str(_street(tmp_path)), "--home", str(tmp_path / "h"),
              "--bbox", "1,2,3,4", "--bbox-crs", "EPSG:99999999"],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "--bbox-crs 'EPSG:99999999': not a CRS" in str(result.exception)
    assert not (tmp_path / "h").exists()
