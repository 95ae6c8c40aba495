"""Context layers for a map: the boundaries, names and roads around a study area.

:func:`context_layers` answers "what can be drawn around this extent in this CRS?" from the
boundary files in ``../shared/data/boundaries`` (see its ``PROVENANCE.md``). Each known file is
read through pyogrio with a bounding-box filter (only the features near the view are read),
reprojected to the map's CRS and clipped to the view; a file whose region does not meet the
view is not opened at all. Every layer carries the attribution its licence requires.

=============================================  ===========  ========================================
file                                           kind         labels
=============================================  ===========  ========================================
england_wales/police_force_areas_2022_ew_buc   force area   force name (PFA22NM)
london_boroughs.gpkg                           borough      borough name
london_wards.zip (2014 wards)                  ward         ward name
london_major_road_network_2018.gpkg            road         none (the file has no road names)
us/chicago_city_limits.zip                     city limits  none
us/chicago_community_areas.zip                 area         community area name
us/nyc_boroughs.geojson.gz                     borough      borough name
us/philadelphia_city_limits.geojson.gz         city limits  none
us/philadelphia_police_districts.geojson.gz    district     "district N"
=============================================  ===========  ========================================
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from patrolcast.errors import InputError

__all__ = [
    "SOURCES",
    "ContextLayer",
    "LayerSource",
    "attributions",
    "context_layers",
    "name_at",
    "naming_layer",
]

Extent = tuple[float, float, float, float]

OGL_ONS = (
    "Police force areas: Office for National Statistics, Open Government Licence v3.0. "
    "Contains OS data © Crown copyright and database right 2022"
)
OGL_LONDON = (
    "Boroughs and wards: London Datastore (GLA), Open Government Licence v3.0. "
    "Contains National Statistics data © Crown copyright and database right. "
    "Contains OS data © Crown copyright and database right"
)
OGL_DFT = (
    "Major Road Network 2018: Department for Transport, Open Government Licence v3.0. "
    "Contains OS data © Crown copyright and database right"
)
CHICAGO_TERMS = "Boundaries: City of Chicago Data Portal, used under its Terms of Use"
NYC_TERMS = "Boroughs: NYC Department of City Planning, NYC Open Data, used under its Terms of Use"
PHILADELPHIA_TERMS = "Boundaries: City of Philadelphia (OpenDataPhilly), used under its terms"


@dataclass(frozen=True)
class LayerSource:
    """One boundary file: where it is, what it shows, where it applies and its licence."""

    path: str  # relative to the shared data folder
    kind: str  # force area, borough, ward, road, city limits, area, district
    region: Extent  # lon/lat box of where the file has features: skip it elsewhere
    attribution: str
    name_field: str | None = None
    name_format: str = "{}"
    geometry: str = "area"  # "area" (polygons) or "line"
    title_case: bool = False  # names published in capitals ("CHICAGO LAWN" -> "Chicago Lawn")


_LONDON = (-0.52, 51.28, 0.34, 51.70)
_CHICAGO = (-87.95, 41.64, -87.52, 42.03)
_NYC = (-74.26, 40.49, -73.69, 40.92)
_PHILADELPHIA = (-75.29, 39.86, -74.95, 40.14)

SOURCES: tuple[LayerSource, ...] = (
    LayerSource(
        "boundaries/england_wales/police_force_areas_2022_ew_buc.zip",
        "force area",
        (-6.5, 49.8, 2.0, 55.9),
        OGL_ONS,
        "PFA22NM",
    ),
    LayerSource("boundaries/london_boroughs.gpkg", "borough", _LONDON, OGL_LONDON, "name"),
    LayerSource("boundaries/london_wards.zip", "ward", _LONDON, OGL_LONDON, "NAME"),
    LayerSource(
        "boundaries/london_major_road_network_2018.gpkg",
        "road",
        _LONDON,
        OGL_DFT,
        geometry="line",
    ),
    LayerSource("boundaries/us/chicago_city_limits.zip", "city limits", _CHICAGO, CHICAGO_TERMS),
    LayerSource(
        "boundaries/us/chicago_community_areas.zip",
        "area",
        _CHICAGO,
        CHICAGO_TERMS,
        "COMMUNITY",
        title_case=True,
    ),
    LayerSource("boundaries/us/nyc_boroughs.geojson.gz", "borough", _NYC, NYC_TERMS, "BoroName"),
    LayerSource(
        "boundaries/us/philadelphia_city_limits.geojson.gz",
        "city limits",
        _PHILADELPHIA,
        PHILADELPHIA_TERMS,
    ),
    LayerSource(
        "boundaries/us/philadelphia_police_districts.geojson.gz",
        "district",
        _PHILADELPHIA,
        PHILADELPHIA_TERMS,
        "police_district",
        "district {}",
    ),
)

# The finest named layer comes first: it names the places on a map.
_NAMING_ORDER = ("ward", "area", "district", "borough", "force area")


@dataclass(frozen=True, eq=False)
class ContextLayer:
    """Features of one source near a view, in the map's CRS and clipped to the view."""

    source: LayerSource
    geometries: npt.NDArray[np.object_]  # shapely geometries, one per feature
    labels: tuple[str, ...]  # one name per feature ("" when the file has no names)

    @property
    def kind(self) -> str:
        return self.source.kind

    @property
    def attribution(self) -> str:
        return self.source.attribution

    def __len__(self) -> int:
        return len(self.labels)


def _gdal_path(path: Path) -> str:
    if path.suffix.lower() == ".gz":
        return f"/vsigzip/{path.resolve()}"
    return str(path)


def _lonlat_box(crs: str, extent: Extent) -> Extent:
    from pyproj import Transformer

    to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    box = to_lonlat.transform_bounds(*extent, densify_pts=11)
    return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


def _meets(a: Extent, b: Extent) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _read(source: LayerSource, path: Path, crs: str, extent: Extent) -> ContextLayer | None:
    import pyogrio
    import shapely
    from pyproj import CRS, Transformer

    gdal_path = _gdal_path(path)
    try:
        info = pyogrio.read_info(gdal_path)
        native = CRS.from_user_input(info["crs"])
        bbox = Transformer.from_crs(crs, native, always_xy=True).transform_bounds(
            *extent, densify_pts=11
        )
        columns = [source.name_field] if source.name_field else []
        frame = pyogrio.read_dataframe(gdal_path, bbox=tuple(bbox), columns=columns)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(f"map context {path.name}: cannot read it ({exc})") from exc
    if frame.empty:
        return None
    target = CRS.from_user_input(crs)
    if not native.equals(target, ignore_axis_order=True):
        frame = frame.to_crs(target)
    geoms = shapely.make_valid(np.asarray(frame.geometry.values, dtype=object))
    clipped = shapely.clip_by_rect(geoms, *extent)
    keep = ~shapely.is_empty(clipped)
    if not keep.any():
        return None
    if source.name_field:
        names = frame[source.name_field].fillna("").astype(str).str.strip()
        names = (names.str.title() if source.title_case else names).to_numpy()
        labels = tuple(source.name_format.format(n) if n else "" for n in names[keep])
    else:
        labels = ("",) * int(keep.sum())
    return ContextLayer(source, np.asarray(clipped[keep], dtype=object), labels)


def context_layers(
    crs: str,
    extent: Extent,
    *,
    shared_data: Path,
    sources: tuple[LayerSource, ...] = SOURCES,
) -> list[ContextLayer]:
    """The context layers with features in ``extent`` (xmin, ymin, xmax, ymax in ``crs``).

    Files absent from ``shared_data`` are skipped (a map without context is still a map); a
    file that is present but unreadable is an :class:`InputError`. Layers keep the order of
    ``sources`` (areas before roads; coarse before fine).
    """
    xmin, ymin, xmax, ymax = extent
    if not (xmin < xmax and ymin < ymax):
        raise InputError(f"map extent {extent} is empty")
    view = _lonlat_box(crs, extent)
    layers = []
    for source in sources:
        path = Path(shared_data) / source.path
        if not _meets(view, source.region) or not path.exists():
            continue
        layer = _read(source, path, crs, extent)
        if layer is not None:
            layers.append(layer)
    return layers


def naming_layer(layers: list[ContextLayer]) -> ContextLayer | None:
    """The finest layer with names (wards before boroughs), to say where a place is."""
    named = [layer for layer in layers if any(layer.labels)]
    for kind in _NAMING_ORDER:
        for layer in named:
            if layer.kind == kind:
                return layer
    return named[0] if named else None


def attributions(layers: list[ContextLayer]) -> list[str]:
    """The distinct attributions of ``layers``, in order."""
    return list(dict.fromkeys(layer.attribution for layer in layers))


def name_at(layer: ContextLayer, x: float, y: float) -> str:
    """The label of the feature of ``layer`` containing (or nearest to) the point."""
    import shapely

    point = shapely.Point(x, y)
    distances = shapely.distance(layer.geometries, point)
    order = np.argsort(distances, kind="stable")
    for i in order:
        if layer.labels[i]:
            return layer.labels[i]
    return ""
