"""Outcome and quarterly reports: self-contained, escaped HTML with figures; a PDF beside it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from patrolcast.events import EventSet
from patrolcast.geo.support import Grid
from patrolcast.oversight.fairness_audit import audit_forecast
from patrolcast.oversight.outcomes import (
    DeploymentArea,
    DeploymentOutcome,
    Window,
    compute_dosage,
    evaluate_deployment,
    pool_outcomes,
)
from patrolcast.oversight.outcomes.report import write_deployment_report, write_quarterly_report
from patrolcast.oversight.outcomes.traces import Trace

CRS = "EPSG:27700"
NOW = datetime(2025, 4, 1, tzinfo=UTC)


def _outcomes() -> tuple[list[DeploymentOutcome], Grid]:
    rng = np.random.default_rng(1)
    grid = Grid.covering(0, 0, 3000, 3000, cell_size=250, crs=CRS)
    n = 6000
    ev = EventSet.from_arrays(rng.uniform(0, 300, n), rng.uniform(0, 3000, n),
                              rng.uniform(0, 3000, n), crs=CRS)
    outs = []
    for k, cell in enumerate([20, 70, 100]):
        dep = DeploymentArea(f"<b>dep{k}</b>", grid.cell_polygons()[cell], 250.0, 251.0, CRS,
                             buffer_m=250, forecast_expected=1.0)
        outs.append(evaluate_deployment(ev, dep, grid))
    return outs, grid


def test_deployment_report_with_dosage(tmp_path: Path) -> None:
    outs, grid = _outcomes()
    area = grid.cell_polygons()[20]
    cx, cy = shapely.centroid(area).x, shapely.centroid(area).y
    t = 250.0 + np.arange(0, 30) / 1440.0
    trace = Trace(("unit-1",) * 30, t, np.full(30, cx), np.full(30, cy), CRS)
    dosage = compute_dosage(trace, area, Window(250.0, 251.0), grid)
    paths = write_deployment_report(outs[0], tmp_path / "dep.html", generated_at=NOW,
                                    dosage=dosage, grid=grid, area=area, pdf=True)
    page = paths[0].read_text()
    assert "<script" not in page and "&lt;b&gt;dep0&lt;/b&gt;" in page
    assert page.count("data:image/png;base64,") == 2  # observed/expected and the dosage map
    assert "WDQ" in page and "unit-hours delivered" in page
    assert paths[1].read_bytes().startswith(b"%PDF")


def test_quarterly_report_pools_and_shows_composition(tmp_path: Path) -> None:
    outs, _ = _outcomes()
    audit = audit_forecast(pd.DataFrame({"pred": range(20), "A": [10] * 20, "B": range(20)}),
                           count="pred", groups=["A", "B"])
    paths = write_quarterly_report(outs, tmp_path / "q.html", quarter="2025Q1",
                                   generated_at=NOW, pooled=pool_outcomes(outs), audit=audit)
    page = paths[0].read_text()
    assert "DerSimonian-Laird" in page and "most-targeted" in page
    assert page.count("data:image/png;base64,") == 2
    assert len(paths) == 1
