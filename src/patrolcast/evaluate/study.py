"""A *study*: the events of one dataset and the support they are forecast and scored on.

- ``level="grid"``: point events (timestamped incidents, data.police.uk points) on a square
  grid of ``cell_size`` metres clipped to a study area: a boundary file when given, otherwise
  the data's extent (convex hull of the events plus 500 m).
- ``level="lsoa"`` (or ``"ward"``, ``"borough"``): areas from a boundary file. Datasets of
  area counts (the London Datastore tables) become one record per area and month at the area's
  representative point (:func:`patrolcast.geo.area_counts.events_from_area_counts`); point datasets
  are assigned to the areas by point-in-polygon.

The study area is built from all the dataset's events, so it covers the scoring windows too;
that uses only *where* the city is, never counts, and is how a force would fix its grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patrolcast.errors import InputError
from patrolcast.events import EventSet
from patrolcast.geo.support import AreaSupport, Grid, Support

__all__ = ["Study", "load_study", "VIOLENCE_GROUPS", "LSOA_BOUNDARIES", "BOROUGH_BOUNDARIES"]

VIOLENCE_GROUPS: tuple[str, ...] = ("serious_violence", "violence")
LSOA_BOUNDARIES = "boundaries/london_lsoa2021_by_borough_shp.zip"
BOROUGH_BOUNDARIES = "boundaries/london_boroughs.gpkg"
LEVELS = ("grid", "lsoa", "ward", "borough")
AREA_COUNT_KINDS = ("london-datastore",)  # store dataset kinds holding counts per area


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
) -> Study:
    """Events of ``dataset`` (offence ``groups``) and the support for ``level``.

    Raises :class:`InputError` for an unknown dataset or level, or when nothing is left.
    """
    from patrolcast.config import default_shared_data

    if level not in LEVELS:
        raise InputError(f"unknown level {level!r}: choose one of {', '.join(LEVELS)}")
    shared = shared_data or default_shared_data()
    info = _dataset_info(store, dataset)
    is_area_counts = str(info.get("kind", "")) in AREA_COUNT_KINDS
    notes: list[str] = []
    if level == "grid":
        if is_area_counts:
            raise InputError(
                f"dataset {dataset!r} holds counts per area, not points: use --level lsoa"
            )
        events = store.events(dataset, groups=list(groups) if groups else None)
        _require_events(events, dataset, groups)
        support, boundaries, note = _grid(events, cell_size, boundary)
        notes.append(note)
        areas = _maybe_lsoas(shared, events.crs)
        boroughs = _boundary_path(shared, BOROUGH_BOUNDARIES)
        if boroughs is not None and events.crs == "EPSG:27700":
            from patrolcast.geo.boundaries import read_polygons

            geoms, _ = read_polygons(boroughs, crs=events.crs)
            boundaries = tuple(geoms)
        return Study(dataset, level, events, support, boundaries, areas,
                     tuple(notes))
    point_events = None
    if not is_area_counts:  # point data: the areas are read in the events' CRS
        point_events = store.events(dataset, groups=list(groups) if groups else None)
        _require_events(point_events, dataset, groups)
    support_areas = _areas(
        level, boundary, shared, crs=point_events.crs if point_events is not None else None
    )
    if is_area_counts:
        from patrolcast.geo.area_counts import events_from_area_counts

        frame = store.area_counts(dataset, groups=list(groups) if groups else None)
        matched = events_from_area_counts(frame, support_areas)
        events = matched.events
        if matched.unmatched_rows:
            notes.append(
                f"{matched.unmatched_rows:,} count rows left out: {len(matched.unmatched_codes)} "
                f"area codes not in the {level} boundaries"
            )
    else:
        assert point_events is not None
        events = point_events
    _require_events(events, dataset, groups)
    borough = _boundary_path(shared, BOROUGH_BOUNDARIES)
    outlines: tuple[Any, ...] = ()
    if borough is not None and support_areas.crs == "EPSG:27700":  # London outlines only
        from patrolcast.geo.boundaries import read_polygons

        geoms, _ = read_polygons(borough, crs=support_areas.crs)
        outlines = tuple(geoms)
    areas = support_areas if level == "lsoa" else None
    return Study(dataset, level, events, support_areas, outlines, areas,
                 tuple(notes))


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


def _grid(
    events: EventSet, cell_size: float, boundary: Path | None
) -> tuple[Grid, tuple[Any, ...], str]:
    from patrolcast.geo.study_area import study_area_from_file, study_area_from_points

    if boundary is not None:
        area = study_area_from_file(boundary, crs=events.crs)
    else:
        area = study_area_from_points(events.x, events.y, crs=events.crs)
    grid = Grid.clipped_to(area, cell_size=cell_size)
    return grid, (area.geometry,), f"grid of {grid.n_units:,} cells over the {area.source}"


def _areas(
    level: str, boundary: Path | None, shared: Path, *, crs: str | None = None
) -> AreaSupport:
    from patrolcast.geo import boundaries as b

    readers = {
        "lsoa": (b.read_lsoa_boundaries, LSOA_BOUNDARIES),
        "ward": (b.read_ward_boundaries, "boundaries/london_wards.zip"),
        "borough": (b.read_borough_boundaries, BOROUGH_BOUNDARIES),
    }
    reader, default = readers[level]
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
