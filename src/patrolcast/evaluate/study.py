"""A *study*: the events of one dataset, the study area, and the support they are scored on.

The study area is a real place, never the extent of the data unless asked:

- ``boundary=FILE`` (``--boundary``, with ``--layer`` and ``--where``): the union of the file's
  polygons, read through GDAL (GeoPackage, GeoJSON, shapefile, zip);
- otherwise, for British National Grid data (data.police.uk, UK incident files), the police
  force area (``boundaries/england_wales/police_force_areas_2022_ew_buc.zip``) that holds most
  of the events;
- for a US city mapping, the boundary its mapping names (``[study_area]`` in
  ``patrolcast/io/mappings/<name>.toml``: the city limits);
- ``study_area="hull"`` (``--study-area hull``): the convex hull of the events plus 500 m,
  only when asked, with a warning in every output (lakes, rivers and stray points inflate it).

Events outside the study area are counted, reported and left out (never silently kept).

Levels: ``grid`` (square cells clipped to the study area) or ``lsoa``/``ward``/``borough``
(areas from a boundary file, kept where they overlap the study area). A level whose areas
cover none of the data is refused in one line. Datasets of area counts (London Datastore)
become one record per area and month at the area's representative point.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from patrolcast.errors import InputError
from patrolcast.events import EventSet
from patrolcast.geo.study_area import StudyArea
from patrolcast.geo.support import AreaSupport, Grid, Support

__all__ = [
    "Study",
    "load_study",
    "VIOLENCE_GROUPS",
    "LSOA_BOUNDARIES",
    "BOROUGH_BOUNDARIES",
    "FORCE_AREAS",
    "STUDY_AREA_CHOICES",
]

VIOLENCE_GROUPS: tuple[str, ...] = ("serious_violence", "violence")
LSOA_BOUNDARIES = "boundaries/london_lsoa2021_by_borough_shp.zip"
BOROUGH_BOUNDARIES = "boundaries/london_boroughs.gpkg"
WARD_BOUNDARIES = "boundaries/london_wards.zip"
FORCE_AREAS = "boundaries/england_wales/police_force_areas_2022_ew_buc.zip"
LEVELS = ("grid", "lsoa", "ward", "borough")
AREA_COUNT_KINDS = ("london-datastore",)  # store dataset kinds holding counts per area
STUDY_AREA_CHOICES = ("default", "hull")
HULL_WARNING = (
    "study area is the convex hull of the events + 500 m (asked for): it takes in water, parks "
    "and stray points, which flatters hit rates and PAI"
)
MIN_COVERED_SHARE = 0.5  # areas must hold at least half of the events to be used


@dataclass(frozen=True, eq=False)
class Study:
    """Events and support of a dataset at one level, plus context for maps and CSVs."""

    dataset: str
    level: str
    events: EventSet
    support: Support
    boundaries: tuple[Any, ...] = field(default=(), repr=False)  # polygons drawn on maps
    areas: AreaSupport | None = field(default=None, repr=False)  # LSOAs for the CSV column
    notes: tuple[str, ...] = ()
    study_area: StudyArea | None = field(default=None, repr=False)
    n_outside: float = 0.0  # events (counts) outside the study area, left out
    timezone: str = "UTC"  # local zone of the data: origins and days start at local midnight
    warnings: tuple[str, ...] = ()

    def study_area_json(self) -> dict[str, Any]:
        """Source, km2 and what was left out, recorded with every output and snapshot."""
        if self.study_area is not None:
            info: dict[str, Any] = self.study_area.to_json()
        else:
            km2 = float(np.sum(self.support.unit_area)) / 1e6
            info = {"source": "the areas of the support", "km2": round(km2, 3)}
        info["events_outside"] = self.n_outside
        info["timezone"] = self.timezone
        return info


def _boundary_path(shared_data: Path, relative: str) -> Path | None:
    path = shared_data / relative
    return path if path.exists() else None


def load_study(
    store: Any,
    dataset: str,
    *,
    level: str = "grid",
    cell_size: float = 250.0,
    groups: tuple[str, ...] | None = VIOLENCE_GROUPS,
    boundary: Path | None = None,
    shared_data: Path | None = None,
    layer: str | None = None,
    where: str | None = None,
    study_area: str = "default",
) -> Study:
    """Events of ``dataset`` (offence ``groups``), the study area and the support for ``level``.

    Raises :class:`InputError` for an unknown dataset or level, when no study area can be
    found, when the areas of ``level`` cover none of the data, or when nothing is left.
    """
    from patrolcast.config import default_shared_data

    if level not in LEVELS:
        raise InputError(f"unknown level {level!r}: choose one of {', '.join(LEVELS)}")
    if study_area not in STUDY_AREA_CHOICES:
        raise InputError(f"--study-area must be default or hull, not {study_area!r}")
    if study_area == "hull" and boundary is not None:
        raise InputError("give either --boundary or --study-area hull, not both")
    shared = shared_data or default_shared_data()
    info = _dataset_info(store, dataset)
    is_area_counts = str(info.get("kind", "")) in AREA_COUNT_KINDS
    tz = _timezone(info)
    if is_area_counts:
        if level == "grid":
            raise InputError(
                f"dataset {dataset!r} holds counts per area, not points: use --level lsoa"
            )
        return _area_count_study(store, dataset, level, groups, boundary, shared, tz)
    events = store.events(dataset, groups=list(groups) if groups else None)
    _require_events(events, dataset, groups)
    if tz == "UTC" and events.crs == "EPSG:27700":
        tz = "Europe/London"  # British National Grid data: days start at midnight in the UK
    notes: list[str] = []
    warnings: list[str] = []
    area: StudyArea | None
    if level == "grid":
        area = _study_area(info, events, shared, boundary, layer, where, study_area, warnings)
    elif boundary is not None:
        area = None  # the areas of the file are the study area
    else:
        area = _default_area(info, events, shared, warnings)
    inside = area.contains(events.x, events.y) if area is not None else np.ones(len(events), bool)
    n_outside = float(events.count[~inside].sum())
    if n_outside:
        share = n_outside / max(events.total_count, 1.0)
        notes.append(
            f"{n_outside:,.0f} events ({100 * share:.1f}%) lie outside the study area "
            f"({area.source if area else ''}) and are left out"
        )
    events = events.select(inside)
    if len(events) == 0:
        raise InputError(
            f"no {dataset} event lies inside the study area "
            f"({area.source if area else 'none'}): check --boundary / --where"
        )
    if level == "grid":
        assert area is not None
        grid = Grid.clipped_to(area, cell_size=cell_size)
        notes.append(
            f"grid of {grid.n_units:,} cells of {cell_size:g} m over {area.source} "
            f"({area.area_km2:,.1f} km2)"
        )
        outlines: tuple[Any, ...] = (area.geometry,)
        return Study(dataset, level, events, grid, outlines, _maybe_lsoas(shared, events.crs),
                     tuple(notes), area, n_outside, tz, tuple(warnings))
    areas = _areas(level, boundary, shared, crs=events.crs)
    areas = _areas_in(areas, area, level)
    _require_coverage(areas, events, level, dataset)
    if area is None:  # events outside every area are left out and counted
        in_areas = areas.assign(events.x, events.y) >= 0
        n_outside += float(events.count[~in_areas].sum())
        events = events.select(in_areas)
    notes.append(f"{areas.n_units:,} {level} areas")
    return Study(dataset, level, events, areas, (), areas if level == "lsoa" else None,
                 tuple(notes), area, n_outside, tz, tuple(warnings))


def _area_count_study(
    store: Any,
    dataset: str,
    level: str,
    groups: tuple[str, ...] | None,
    boundary: Path | None,
    shared: Path,
    tz: str,
) -> Study:
    from patrolcast.geo.area_counts import events_from_area_counts

    areas = _areas(level, boundary, shared)
    frame = store.area_counts(dataset, groups=list(groups) if groups else None)
    matched = events_from_area_counts(frame, areas)
    events = matched.events
    notes = []
    if matched.unmatched_rows:
        notes.append(
            f"{matched.unmatched_rows:,} count rows left out: {len(matched.unmatched_codes)} "
            f"area codes not in the {level} boundaries"
        )
    _require_events(events, dataset, groups)
    outlines: tuple[Any, ...] = ()
    borough = _boundary_path(shared, BOROUGH_BOUNDARIES)
    if borough is not None and areas.crs == "EPSG:27700":
        from patrolcast.geo.boundaries import read_polygons

        geoms, _ = read_polygons(borough, crs=areas.crs)
        outlines = tuple(geoms)
    src = boundary.name if boundary else Path(_level_default(level)).name
    km2 = float(np.sum(areas.unit_area)) / 1e6
    import shapely

    area = StudyArea(
        shapely.union_all(np.asarray(areas.geometry_array)) if areas.n_units < 10_000 else
        shapely.box(*shapely.total_bounds(areas.geometry_array)),
        areas.crs, f"{areas.n_units:,} {level} areas of {src} ({km2:,.1f} km2)",
    )
    return Study(dataset, level, events, areas, outlines, areas if level == "lsoa" else None,
                 tuple(notes), area, float(matched.unmatched_count), tz, ())


def _timezone(info: dict[str, Any]) -> str:
    mapping = info.get("mapping")
    if mapping:
        try:
            from patrolcast.io._mapping import load_mapping

            return load_mapping(str(mapping)).timezone
        except InputError:
            return "UTC"
    crs = str(info.get("crs", ""))
    kind = str(info.get("kind", ""))
    if crs == "EPSG:27700" or kind in ("police-uk-street", "stop-search", *AREA_COUNT_KINDS):
        return "Europe/London"
    return "UTC"


def _mapping_study_area(mapping: str) -> dict[str, Any]:
    """The ``[study_area]`` table of a shipped mapping (empty when it has none)."""
    path = resources.files("patrolcast.io") / "mappings" / f"{mapping}.toml"
    if not path.is_file():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    table = data.get("study_area", {})
    return dict(table) if isinstance(table, dict) else {}


def _study_area(
    info: dict[str, Any],
    events: EventSet,
    shared: Path,
    boundary: Path | None,
    layer: str | None,
    where: str | None,
    choice: str,
    warnings: list[str],
) -> StudyArea:
    from patrolcast.geo.study_area import study_area_from_file, study_area_from_points

    if boundary is not None:
        return study_area_from_file(boundary, crs=events.crs, layer=layer, where=where)
    if choice == "hull":
        warnings.append(HULL_WARNING)
        return study_area_from_points(events.x, events.y, crs=events.crs)
    found = _default_area(info, events, shared, warnings)
    if found is None:
        raise InputError(
            f"no study area known for dataset {info.get('name')!r}: pass --boundary FILE "
            "(city limits, force area), or --study-area hull to use the data's extent"
        )
    return found


def _default_area(
    info: dict[str, Any], events: EventSet, shared: Path, warnings: list[str]
) -> StudyArea | None:
    from patrolcast.geo.study_area import majority_area, study_area_from_file

    mapping = info.get("mapping")
    if mapping:
        table = _mapping_study_area(str(mapping))
        if table.get("boundary"):
            path = shared / str(table["boundary"])
            if not path.exists():
                raise InputError(
                    f"the {mapping} mapping's study area {path} is missing: pass --boundary"
                )
            return study_area_from_file(
                path, crs=events.crs, layer=table.get("layer"), where=table.get("where")
            )
    if events.crs == "EPSG:27700":
        pfa = _boundary_path(shared, FORCE_AREAS)
        if pfa is None:
            raise InputError(f"police force areas {shared / FORCE_AREAS} missing: pass --boundary")
        area, share = majority_area(
            pfa, events.x, events.y, crs=events.crs, code_field="PFA22CD", name_field="PFA22NM"
        )
        area = StudyArea(area.geometry, area.crs, f"police force area {area.source}")
        if share < 0.9:
            warnings.append(
                f"only {100 * share:.0f}% of the events lie in {area.source}: check the data"
            )
        return area
    return None


def _areas_in(areas: AreaSupport, area: StudyArea | None, level: str) -> AreaSupport:
    """The areas lying mostly (half their area or more) in the study area (all when none)."""
    import shapely

    if area is None:
        return areas
    geoms = areas.geometry_array
    keep = np.zeros(areas.n_units, dtype=bool)
    near = np.flatnonzero(shapely.intersects(area.geometry, geoms))
    if near.size:
        overlap = shapely.area(shapely.intersection(geoms[near], area.geometry))
        keep[near] = overlap >= 0.5 * areas.unit_area[near]
    if not keep.any():
        raise InputError(
            f"no {level} area lies in the study area ({area.source}): the {level} boundaries "
            "do not cover this data; pass --boundary with areas that do, or use --level grid"
        )
    if keep.all():
        return areas
    idx = np.flatnonzero(keep)
    return AreaSupport(
        ids=tuple(areas.ids[i] for i in idx),
        names=tuple(areas.names[i] for i in idx),
        geometries=tuple(areas.geometries[i] for i in idx),
        crs=areas.crs,
        level=areas.level,
        borough_ids=tuple(areas.borough_ids[i] for i in idx) if areas.borough_ids else (),
        borough_names=tuple(areas.borough_names[i] for i in idx) if areas.borough_names else (),
    )


def _require_coverage(areas: AreaSupport, events: EventSet, level: str, dataset: str) -> None:
    inside = areas.assign(events.x, events.y) >= 0
    share = float(events.count[inside].sum()) / max(events.total_count, 1e-9)
    if share < MIN_COVERED_SHARE:
        raise InputError(
            f"the {level} areas hold {100 * share:.0f}% of the {dataset} events: they do not "
            f"cover this data; pass --boundary with {level} areas that do, or use --level grid"
        )


def _dataset_info(store: Any, dataset: str) -> dict[str, Any]:
    for entry in store.datasets():
        record = entry if isinstance(entry, dict) else getattr(entry, "__dict__", {})
        name = record.get("name", entry if isinstance(entry, str) else None)
        if name == dataset:
            return dict(record)
    known = ", ".join(sorted(_names(store))) or "none yet: run `patrolcast ingest`"
    raise InputError(f"no dataset {dataset!r} in the store (known: {known})")


def _names(store: Any) -> list[str]:
    out = []
    for entry in store.datasets():
        if isinstance(entry, str):
            out.append(entry)
        else:
            record = entry if isinstance(entry, dict) else getattr(entry, "__dict__", {})
            out.append(str(record.get("name")))
    return out


def _require_events(events: EventSet, dataset: str, groups: tuple[str, ...] | None) -> None:
    if len(events) == 0:
        what = f" in offence groups {', '.join(groups)}" if groups else ""
        raise InputError(f"dataset {dataset!r} has no events{what}")


def _level_default(level: str) -> str:
    return {"lsoa": LSOA_BOUNDARIES, "ward": WARD_BOUNDARIES, "borough": BOROUGH_BOUNDARIES}[level]


def _areas(
    level: str, boundary: Path | None, shared: Path, *, crs: str | None = None
) -> AreaSupport:
    from patrolcast.geo import boundaries as b

    readers = {
        "lsoa": b.read_lsoa_boundaries,
        "ward": b.read_ward_boundaries,
        "borough": b.read_borough_boundaries,
    }
    reader = readers[level]
    default = _level_default(level)
    path = boundary or _boundary_path(shared, default)
    if path is None:
        raise InputError(f"no {level} boundary file: pass --boundary (default {shared / default})")
    return reader(path) if crs is None else reader(path, crs=crs)


def _maybe_lsoas(shared: Path, crs: str) -> AreaSupport | None:
    path = _boundary_path(shared, LSOA_BOUNDARIES)
    if path is None or crs != "EPSG:27700":
        return None
    from patrolcast.geo.boundaries import read_lsoa_boundaries

    return read_lsoa_boundaries(path)
