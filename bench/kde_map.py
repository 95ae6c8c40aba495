"""Map of a grid KDE forecast of London violence (the figure in the README's section 20).

Run: ``.venv/bin/python bench/kde_map.py [out.png]`` (default ``docs/img/kde_london_violence.png``).

Events are the London Datastore MPS "violence against the person" counts per LSOA and month,
placed at LSOA representative points (:func:`patrolcast.geo.area_counts.events_from_area_counts`);
the KDE forecaster (registry defaults for a 30-day horizon) is fitted on everything before the
file's last month and predicts that month on the 250 m London grid.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shapely

from patrolcast.config import default_shared_data
from patrolcast.forecast.registry import make_forecaster
from patrolcast.geo.area_counts import events_from_area_counts, month_start_days
from patrolcast.geo.boundaries import read_areas
from patrolcast.geo.study_area import study_area_from_file
from patrolcast.geo.support import Grid


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/img/kde_london_violence.png")
    data = default_shared_data()
    boroughs = read_areas(data / "boundaries" / "london_boroughs.gpkg")
    lsoas = read_areas(data / "boundaries" / "london_lsoa2021_by_borough_shp.zip")
    grid = Grid.clipped_to(study_area_from_file(data / "boundaries" / "london_boroughs.gpkg"))
    wide = pd.read_csv(data / "london_datastore_mps" / "recorded-crime-lsoa.csv.gz")
    months = [c for c in wide.columns if c.isdigit()]
    long = (
        wide[wide["major_category"] == "VIOLENCE AGAINST THE PERSON"]
        .melt(id_vars=["lsoa_code"], value_vars=months, var_name="month", value_name="count")
        .rename(columns={"lsoa_code": "area_code"})
    )
    events = events_from_area_counts(long, lsoas).events
    last = pd.Period(f"{months[-1][:4]}-{months[-1][4:]}", freq="M")
    start, end = month_start_days(pd.Series([last, last + 1]))
    model = make_forecaster("kde", horizon_days=end - start)
    t0 = time.perf_counter()
    fc = model.fit(events, cutoff=start).predict(grid, start, end)
    took = time.perf_counter() - t0
    actual = events.between(start, end)
    print(
        f"{model!r}: fit+predict {took * 1e3:.0f} ms on {grid.n_units:,} cells; "
        f"expected {fc.expected_count.sum():,.0f} offences in {months[-1]}, "
        f"recorded {actual.total_count:,.0f}"
    )
    raster = np.ma.masked_where(~grid.active, grid.to_raster(fc.expected_count))
    extent = (
        grid.x0,
        grid.x0 + grid.nx * grid.cell_size,
        grid.y0,
        grid.y0 + grid.ny * grid.cell_size,
    )
    fig, ax = plt.subplots(figsize=(7.5, 5.6), dpi=90)
    im = ax.imshow(raster, origin="lower", extent=extent, cmap="magma_r")
    for geom in boroughs.geometries:
        for ring in shapely.get_exterior_ring(shapely.get_parts(geom)):
            xy = np.asarray(ring.coords)
            ax.plot(xy[:, 0], xy[:, 1], color="0.35", lw=0.4)
    ax.set_title(f"KDE forecast of violence, {months[-1][:4]}-{months[-1][4:]}, 250 m cells")
    ax.set_axis_off()
    fig.colorbar(im, ax=ax, shrink=0.8, label="expected offences per cell")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
