"""Forecast outputs at the edge: GeoPackage, GeoJSON, CSV and a PNG map, each describing itself.

Every output carries its :class:`OutputContext` (dataset, method, level, cell size, horizon,
window start and end as ISO 8601 with the data's UTC offset, the ranked target, parameters,
offence groups, study area source and km2, software version):

- GeoPackage (version 1.3, read by GDAL 3.x and QGIS 3): one polygon per unit in the native
  (projected) CRS, exact geometries. Fields: ``unit_id`` (and ``name`` for areas, ``lsoa`` for
  grid cells when LSOAs are known), ``expected_count``, ``expected_harm``, ``rank`` (1 = the
  highest ranked value), ``ranked_by``, the context's short fields and the per-unit explanation
  terms of methods that give them. The layer's description and metadata hold the whole context,
  and a QGIS style (graduated on the ranked value, :mod:`patrolcast.io.qgis_style`) is stored
  in its ``layer_styles`` table as the default style.
- GeoJSON for the web: the same features in WGS84 longitude/latitude (RFC 7946 section 4),
  coordinates to 6 decimals (about 0.1 m); areas simplified in metres with a coverage
  simplification (shared edges stay shared: no gaps, no overlaps), cells left exact; the context
  as the collection's ``description`` and a ``metadata`` member (RFC 7946 section 6.1).
- CSV: ``cell_id, easting, northing, lsoa, expected_count, expected_harm, rank`` then the terms,
  rows in rank order, with GDAL sidecars: ``.csvt`` (field types) and ``.prj`` (the CRS of
  ``easting``/``northing``). Text cells that a spreadsheet could read as a formula (starting
  with ``=``, ``+``, ``-``, ``@``, tab, carriage return or NUL) are prefixed with a single quote,
  following the OWASP guidance on CSV injection; numbers are written as numbers.
- PNG: a map of the ranked value per unit with area boundaries drawn over it (matplotlib Agg).

Values are written to 4 significant digits, and values below 1e-6 as 0 (a forecast's tail of
1e-136 expected offences is noise, and heavy); ranks are computed from the unrounded values.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from patrolcast.errors import InputError
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

    @property
    def terms(self) -> Mapping[str, npt.NDArray[np.float64]]: ...


__all__ = [
    "FORMULA_PREFIXES",
    "LAYER",
    "OutputContext",
    "escape_csv_cell",
    "forecast_frame",
    "refuse_overwrite",
    "round_values",
    "write_forecast_gpkg",
    "write_forecast_geojson",
    "write_forecast_csv",
    "csv_sidecars",
    "write_forecast_map",
    "unit_ranks",
]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0")
LAYER = "forecast"
SIGNIFICANT = 4  # significant digits of written values
TINY = 1e-6  # values below are written as 0
AREA_TOLERANCE_M = 10.0  # simplification of area outlines in the GeoJSON, metres


@dataclass(frozen=True)
class OutputContext:
    """What a forecast output says about itself (all text-friendly; see the module notes)."""

    dataset: str = ""
    method: str = ""
    level: str = "grid"
    cell_size: float | None = None
    horizon: str = ""
    window_start: str = ""  # ISO 8601 with the UTC offset of the data's zone
    window_end: str = ""
    target: str = "count"  # the ranked value: expected count or expected harm
    groups: tuple[str, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)
    study_area: Mapping[str, Any] = field(default_factory=dict)
    created_at: str = ""
    software: str = ""
    area_tolerance_m: float = AREA_TOLERANCE_M

    def __post_init__(self) -> None:
        if self.target not in ("count", "harm"):
            raise ValueError(f"target must be count or harm, not {self.target!r}")

    @property
    def ranked_column(self) -> str:
        return f"expected_{self.target}"

    @property
    def unit_text(self) -> str:
        """``"250 m cell"`` or ``"lsoa"``."""
        if self.level == "grid" and self.cell_size:
            return f"{self.cell_size:g} m cell"
        return self.level

    def legend(self) -> str:
        """``"expected violent offences per 250 m cell, 7d"`` (count) or harm alike."""
        what = "offences" if self.target == "count" else "harm (offence weights)"
        groups = ", ".join(self.groups) if self.groups else "all offences"
        return f"expected {what} ({groups}) per {self.unit_text}, {self.horizon or 'window'}"

    def description(self) -> str:
        window = f"{self.window_start} to {self.window_end}" if self.window_start else "a window"
        return (
            f"{self.method or 'forecast'} forecast of {self.legend()}, {window}; dataset "
            f"{self.dataset or '?'}; ranked by expected {self.target} (rank 1 = highest)"
        )

    def short_fields(self) -> dict[str, str]:
        """The fields repeated on every feature (so any GIS shows them)."""
        return {
            "dataset": self.dataset,
            "method": self.method,
            "level": self.level,
            "horizon": self.horizon,
            "window_start": self.window_start,
            "window_end": self.window_end,
        }

    def metadata(self, *, geometry: str) -> dict[str, str]:
        """The whole context as text key/value pairs (GeoPackage layer metadata)."""
        area = dict(self.study_area)
        return {
            **self.short_fields(),
            "cell_size_m": "" if self.cell_size is None else f"{self.cell_size:g}",
            "ranked_by": self.ranked_column,
            "units": self.legend(),
            "offence_groups": ",".join(self.groups),
            "parameters": json.dumps(dict(self.parameters), sort_keys=True, default=str),
            "study_area_source": str(area.get("source", "")),
            "study_area_km2": "" if "km2" not in area else f"{float(area['km2']):.3f}",
            "created_at": self.created_at,
            "software": self.software,
            "geometry": geometry,
            "values": f"{SIGNIFICANT} significant digits; below {TINY:g} written as 0",
        }

    def as_json(self, *, geometry: str) -> dict[str, Any]:
        """The context for a JSON document (parameters and study area as objects)."""
        doc: dict[str, Any] = self.metadata(geometry=geometry)
        doc["parameters"] = dict(self.parameters)
        doc["study_area"] = dict(self.study_area)
        doc["offence_groups"] = list(self.groups)
        doc["cell_size_m"] = self.cell_size
        return doc


def escape_csv_cell(value: str) -> str:
    """Prefix ``'`` to a text cell a spreadsheet could execute as a formula (OWASP)."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def round_values(values: npt.ArrayLike, digits: int = SIGNIFICANT) -> npt.NDArray[np.float64]:
    """``values`` to ``digits`` significant digits, those below :data:`TINY` in size as 0.

    Each result is the double nearest its short decimal (``0.1235``, not
    ``0.12350000000000001``), so writers print the short form.
    """
    v = np.asarray(values, dtype=np.float64)
    out = np.where(np.abs(v) < TINY, 0.0, v)
    flat = out.ravel()
    nz = np.flatnonzero(np.isfinite(flat) & (flat != 0.0))
    flat[nz] = [float(f"{x:.{digits}g}") for x in flat[nz]]
    return out


def unit_ranks(score: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Rank of each unit, 1 = highest score; ties keep unit order (stable)."""
    s = np.asarray(score, dtype=np.float64)
    order = np.argsort(-s, kind="stable")
    ranks = np.empty(s.size, dtype=np.int64)
    ranks[order] = np.arange(1, s.size + 1)
    return ranks


def refuse_overwrite(paths: Iterable[Path], *, force: bool) -> None:
    """``InputError`` naming the first of ``paths`` that exists, unless ``force``."""
    if force:
        return
    for path in paths:
        if Path(path).exists():
            raise InputError(f"{path} exists: pass --force to overwrite it")


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


def _context(forecast: Forecast, context: OutputContext | None) -> OutputContext:
    return context if context is not None else OutputContext(method=forecast.method)


def _lsoa_of_cells(support: Support, areas: AreaSupport | None) -> list[str] | None:
    """The area holding each cell's centre (grids with ``areas``), ``""`` where none does."""
    if areas is None or not isinstance(support, Grid):
        return None
    if areas.crs != support.crs:
        raise ValueError(f"area CRS {areas.crs} differs from the forecast's {support.crs}")
    centres = support.centroids
    idx = areas.assign(centres[:, 0], centres[:, 1])
    return [areas.ids[i] if i >= 0 else "" for i in idx]


def forecast_frame(
    forecast: Forecast,
    support: Support,
    *,
    context: OutputContext | None = None,
    areas: AreaSupport | None = None,
    web: bool = False,
) -> Any:
    """A GeoDataFrame of the forecast, one polygon per unit, in the support's CRS.

    Values rounded (:func:`round_values`), ranks from the unrounded ranked value. ``web``
    keeps only the window of the context's fields on each feature (the rest is the
    collection's metadata): a third lighter for a city's grid.
    """
    import geopandas as gpd

    _check(forecast, support)
    ctx = _context(forecast, context)
    columns: dict[str, Any] = {"unit_id": list(support.unit_ids)}
    if isinstance(support, AreaSupport):
        columns["name"] = list(support.names)
    lsoa = _lsoa_of_cells(support, areas)
    if lsoa is not None:
        columns["lsoa"] = lsoa
    score = forecast.expected_count if ctx.target == "count" else forecast.expected_harm
    columns |= {
        "expected_count": round_values(forecast.expected_count),
        "expected_harm": round_values(forecast.expected_harm),
        "rank": unit_ranks(score).astype(np.int32),
        "ranked_by": ctx.ranked_column,
        **ctx.short_fields(),
    }
    if web:
        for name in ("ranked_by", "dataset", "method", "level", "horizon"):
            del columns[name]
    for name, values in (forecast.terms or {}).items():
        columns[_field_name(name)] = round_values(values)
    return gpd.GeoDataFrame(columns, geometry=unit_polygons(support), crs=support.crs)


def _field_name(term: str) -> str:
    text = "".join(c if c.isalnum() else "_" for c in str(term).lower()).strip("_")
    return f"term_{text or 'unnamed'}"


def _replace(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()


def write_forecast_gpkg(
    forecast: Forecast,
    support: Support,
    path: Path,
    *,
    layer: str = LAYER,
    context: OutputContext | None = None,
    areas: AreaSupport | None = None,
) -> Path:
    """The forecast as a GeoPackage layer in the native CRS, with its description, metadata
    and a default QGIS style (see the module notes). Replaces ``path``."""
    import pyogrio

    from patrolcast.io.qgis_style import graduated_qml, write_layer_style

    ctx = _context(forecast, context)
    frame = forecast_frame(forecast, support, context=ctx, areas=areas)
    _replace(path)
    pyogrio.write_dataframe(
        frame, path, layer=layer, driver="GPKG",
        dataset_options={"VERSION": "1.3"},  # GDAL 3.6 (Debian 12) warns on 1.4 files
        layer_options={"DESCRIPTION": ctx.description(), "IDENTIFIER": path.stem},
        layer_metadata=ctx.metadata(geometry="exact (native CRS)"),
    )
    qml = graduated_qml(ctx.ranked_column, frame[ctx.ranked_column], legend=ctx.legend())
    write_layer_style(
        path, layer, qml, name=f"{layer} by {ctx.ranked_column}", description=ctx.legend(),
    )
    return path


def _web_geometries(support: Support, tolerance_m: float) -> tuple[list[Any], str]:
    """Unit outlines for the web and how they were made (the metadata's ``geometry``)."""
    import shapely

    polygons = unit_polygons(support)
    if isinstance(support, Grid) or tolerance_m <= 0:
        return polygons, "exact; coordinates to 6 decimals in WGS84"
    try:
        simple = shapely.coverage_simplify(np.asarray(polygons, dtype=object), tolerance_m)
        how = "coverage simplification, shared edges kept"
    except shapely.errors.GEOSException:  # not a clean coverage: each outline on its own
        simple = shapely.simplify(np.asarray(polygons, dtype=object), tolerance_m,
                                  preserve_topology=True)
        how = "each outline simplified on its own, topology of each kept"
    return list(simple), (
        f"areas simplified with a {tolerance_m:g} m tolerance in {support.crs} ({how}); "
        "coordinates to 6 decimals in WGS84"
    )


def write_forecast_geojson(
    forecast: Forecast,
    support: Support,
    path: Path,
    *,
    context: OutputContext | None = None,
    areas: AreaSupport | None = None,
) -> Path:
    """The forecast as RFC 7946 GeoJSON for the web (WGS84, simplified areas; module notes)."""
    import pyogrio

    ctx = _context(forecast, context)
    frame = forecast_frame(forecast, support, context=ctx, areas=areas, web=True)
    geometries, how = _web_geometries(support, ctx.area_tolerance_m)
    frame = frame.set_geometry(geometries, crs=support.crs).to_crs("EPSG:4326")
    _replace(path)
    pyogrio.write_dataframe(
        frame, path, driver="GeoJSON",
        layer_options={
            "RFC7946": "YES",
            "COORDINATE_PRECISION": "6",
            "DESCRIPTION": ctx.description(),
            "FOREIGN_MEMBERS_COLLECTION": json.dumps(
                {"metadata": ctx.as_json(geometry=how)}, default=str
            ),
        },
    )
    return path


def write_forecast_csv(
    forecast: Forecast,
    support: Support,
    path: Path,
    *,
    areas: AreaSupport | None = None,
    context: OutputContext | None = None,
) -> Path:
    """Write ``cell_id, easting, northing, lsoa, expected_count, expected_harm, rank`` and the
    explanation terms, in rank order, with ``.csvt`` and ``.prj`` sidecars for GDAL.

    ``areas`` (for example LSOAs) gives the ``lsoa`` column: the area holding each unit's
    centre, empty where none does.
    """
    from pyproj import CRS

    _check(forecast, support)
    ctx = _context(forecast, context)
    centres = support.centroids
    lsoa = [""] * support.n_units
    if areas is not None:
        if areas.crs != support.crs:
            raise ValueError(f"area CRS {areas.crs} differs from the forecast's {support.crs}")
        idx = areas.assign(centres[:, 0], centres[:, 1])
        lsoa = [areas.ids[i] if i >= 0 else "" for i in idx]
    score = forecast.expected_count if ctx.target == "count" else forecast.expected_harm
    ranks = unit_ranks(score)
    count = round_values(forecast.expected_count)
    harm = round_values(forecast.expected_harm)
    terms = {_field_name(k): round_values(v) for k, v in (forecast.terms or {}).items()}
    ids = support.unit_ids
    header = ["cell_id", "easting", "northing", "lsoa", "expected_count", "expected_harm",
              "rank", *terms]
    types = ["String", "Real", "Real", "String", "Real", "Real", "Integer"] + ["Real"] * len(terms)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for i in np.argsort(ranks, kind="stable"):
            writer.writerow(
                [
                    escape_csv_cell(str(ids[i])),
                    f"{centres[i, 0]:.1f}",
                    f"{centres[i, 1]:.1f}",
                    escape_csv_cell(str(lsoa[i])),
                    repr(float(count[i])),
                    repr(float(harm[i])),
                    int(ranks[i]),
                    *(repr(float(v[i])) for v in terms.values()),
                ]
            )
    path.with_suffix(".csvt").write_text(",".join(f'"{t}"' for t in types) + "\n",
                                         encoding="ascii")
    path.with_suffix(".prj").write_text(CRS.from_user_input(support.crs).to_wkt("WKT1_GDAL"),
                                        encoding="ascii")
    return path


def csv_sidecars(path: Path) -> list[Path]:
    """The GDAL sidecar files :func:`write_forecast_csv` writes beside ``path``."""
    return [path.with_suffix(".csvt"), path.with_suffix(".prj")]


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
