"""Forecast outputs at the edge: GeoPackage, GeoJSON, CSV and a PNG map.

- GeoPackage: one polygon per unit in the native (projected) CRS, with ``unit_id``,
  ``expected_count``, ``expected_harm`` and ``rank`` (1 = highest expected harm).
- GeoJSON: the same features reprojected to WGS84 longitude/latitude, as RFC 7946 section 4
  requires (coordinates in other CRSs are not interoperable GeoJSON).
- CSV: ``cell_id, easting, northing, lsoa, expected_count, expected_harm, rank`` (easting and
  northing of the cell centre in the native CRS). Text cells that a spreadsheet could read as a
  formula (starting with ``=``, ``+``, ``-``, ``@``, tab, carriage return or NUL) are prefixed
  with a single quote, following the OWASP guidance on CSV injection; numbers are written as
  numbers.
- PNG: a map of expected harm per unit with area boundaries drawn over it (matplotlib Agg).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from patrolcast.geo.support import AreaSupport, Grid, Support


class Forecast(Protocol):
    """What the writers need of a forecast (``patrolcast.forecast.Forecast`` has it).

    A structural type, so that ``io`` stays below ``forecast`` in the layering.
    """

    @property
    def method(self) -> str: ...

    @property
    def unit_ids(self) -> list[str]: ...

    @property
    def expected_count(self) -> npt.NDArray[np.float64]: ...

    @property
    def expected_harm(self) -> npt.NDArray[np.float64]: ...


__all__ = [
    "FORMULA_PREFIXES",
    "escape_csv_cell",
    "forecast_frame",
    "write_forecast_gpkg",
    "write_forecast_geojson",
    "write_forecast_csv",
    "write_forecast_map",
    "unit_ranks",
]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0")


def escape_csv_cell(value: str) -> str:
    """Prefix ``'`` to a text cell a spreadsheet could execute as a formula (OWASP)."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def unit_ranks(score: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Rank of each unit, 1 = highest score; ties keep unit order (stable)."""
    s = np.asarray(score, dtype=np.float64)
    order = np.argsort(-s, kind="stable")
    ranks = np.empty(s.size, dtype=np.int64)
    ranks[order] = np.arange(1, s.size + 1)
    return ranks


def unit_polygons(support: Support) -> list[Any]:
    """Polygons of the units: cell squares for a :class:`Grid`, the areas' own otherwise."""
    import shapely

    if isinstance(support, Grid):
        half = support.cell_size / 2.0
        c = support.centroids
        return list(shapely.box(c[:, 0] - half, c[:, 1] - half, c[:, 0] + half, c[:, 1] + half))
    if isinstance(support, AreaSupport):
        return list(support.geometries)
    raise TypeError(f"no polygons for support type {type(support).__name__}")


def _check(forecast: Forecast, support: Support) -> None:
    if list(forecast.unit_ids) != list(support.unit_ids):
        raise ValueError("the forecast was not made for this support (unit ids differ)")


def forecast_frame(forecast: Forecast, support: Support) -> Any:
    """A GeoDataFrame of the forecast, one polygon per unit, in the support's CRS."""
    import geopandas as gpd

    _check(forecast, support)
    return gpd.GeoDataFrame(
        {
            "unit_id": list(support.unit_ids),
            "expected_count": forecast.expected_count,
            "expected_harm": forecast.expected_harm,
            "rank": unit_ranks(forecast.expected_harm),
        },
        geometry=unit_polygons(support),
        crs=support.crs,
    )


def write_forecast_gpkg(
    forecast: Forecast, support: Support, path: Path, *, layer: str = "forecast"
) -> Path:
    """Write the forecast as a GeoPackage layer in the native CRS."""
    frame = forecast_frame(forecast, support)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")
    return path


def write_forecast_geojson(forecast: Forecast, support: Support, path: Path) -> Path:
    """Write the forecast as RFC 7946 GeoJSON (WGS84 longitude/latitude)."""
    frame = forecast_frame(forecast, support).to_crs("EPSG:4326")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    frame.to_file(path, driver="GeoJSON", engine="pyogrio", layer_options={"RFC7946": "YES"})
    return path


def write_forecast_csv(
    forecast: Forecast,
    support: Support,
    path: Path,
    *,
    areas: AreaSupport | None = None,
) -> Path:
    """Write ``cell_id, easting, northing, lsoa, expected_count, expected_harm, rank``.

    ``areas`` (for example LSOAs) gives the ``lsoa`` column: the area holding each unit's
    centre, empty where none does. Rows are in rank order.
    """
    _check(forecast, support)
    centres = support.centroids
    lsoa = [""] * support.n_units
    if areas is not None:
        if areas.crs != support.crs:
            raise ValueError(f"area CRS {areas.crs} differs from the forecast's {support.crs}")
        idx = areas.assign(centres[:, 0], centres[:, 1])
        lsoa = [areas.ids[i] if i >= 0 else "" for i in idx]
    ranks = unit_ranks(forecast.expected_harm)
    ids = support.unit_ids
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["cell_id", "easting", "northing", "lsoa", "expected_count", "expected_harm", "rank"]
        )
        for i in np.argsort(ranks, kind="stable"):
            writer.writerow(
                [
                    escape_csv_cell(str(ids[i])),
                    f"{centres[i, 0]:.1f}",
                    f"{centres[i, 1]:.1f}",
                    escape_csv_cell(str(lsoa[i])),
                    f"{forecast.expected_count[i]:.6g}",
                    f"{forecast.expected_harm[i]:.6g}",
                    int(ranks[i]),
                ]
            )
    return path


def write_forecast_map(
    forecast: Forecast,
    support: Support,
    path: Path,
    *,
    boundaries: Sequence[Any] = (),
    title: str = "",
    outline: npt.ArrayLike | None = None,
) -> Path:
    """PNG map of expected harm per unit with ``boundaries`` (shapely polygons) on top.

    ``outline`` (one weight per unit, e.g. the flagged share from
    :func:`patrolcast.evaluate.metrics.flag_area`) draws the outline of the units with a positive
    weight: the places a deployment decision would look at first.
    """
    import matplotlib

    matplotlib.use("Agg")
    import geopandas as gpd
    import matplotlib.pyplot as plt

    _check(forecast, support)
    import shapely

    fig, ax = plt.subplots(figsize=(7.5, 6.5), dpi=110)
    harm = np.asarray(forecast.expected_harm, dtype=np.float64)
    # Areas differ in size: colour them by harm per km2 so a large LSOA is not dark just for
    # being large. Grid cells are equal: colour them by harm per cell.
    per_km2 = not isinstance(support, Grid)
    shown = harm / (np.asarray(support.unit_area) / 1e6) if per_km2 else harm
    vmax = float(np.quantile(shown, 0.995)) if shown.size and shown.max() > 0 else 1.0
    label = "expected harm per km² in the window" if per_km2 else "expected harm per cell"
    im: Any
    if isinstance(support, Grid):
        raster = np.ma.masked_where(~support.active, support.to_raster(shown))
        extent = (
            support.x0,
            support.x0 + support.nx * support.cell_size,
            support.y0,
            support.y0 + support.ny * support.cell_size,
        )
        im = ax.imshow(raster, origin="lower", extent=extent, cmap="magma_r", vmin=0, vmax=vmax)
    else:
        frame = forecast_frame(forecast, support)
        frame["shown"] = shown
        frame.plot(column="shown", ax=ax, cmap="magma_r", vmin=0, vmax=vmax, linewidth=0)
        im = ax.collections[0]
    fig.colorbar(im, ax=ax, shrink=0.7, label=label)
    if len(boundaries):
        gpd.GeoSeries(list(boundaries), crs=support.crs).boundary.plot(
            ax=ax, color="0.25", linewidth=0.4
        )
    if outline is not None:
        w = np.asarray(outline, dtype=np.float64)
        if w.shape != (support.n_units,):
            raise ValueError("outline needs one weight per unit")
        top = [g for g, wi in zip(unit_polygons(support), w, strict=True) if wi > 0]
        if top:
            merged = shapely.union_all(top)
            gpd.GeoSeries([merged], crs=support.crs).boundary.plot(
                ax=ax, color="tab:cyan", linewidth=0.7
            )
    ax.ticklabel_format(style="plain", useOffset=False)
    ax.set_title(title or f"{forecast.method}: expected harm", fontsize=9, wrap=True)
    ax.set_xlabel(f"easting (m, {support.crs})")
    ax.set_ylabel("northing (m)")
    ax.set_aspect("equal")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
