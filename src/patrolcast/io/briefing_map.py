"""A briefing map of a forecast: what a superintendent can brief from (matplotlib Agg, offline).

:func:`write_briefing_map` draws one value per unit of a support (a grid or areas), cropped to
the study area, over context from the shared boundary files (force area, boroughs, wards with
names, London's major roads; US city limits and community areas or districts), with:

- a legend that states the unit ("expected violent offences per 250 m cell, 7 days") and says
  when, and at which percentile, the colour scale is capped;
- the top N places outlined (a white halo under a dark line, visible on the darkest cells),
  numbered by rank and listed with the name of the ward (or area) they lie in;
- a scale bar, a north arrow (grid north), and axes without raw coordinates;
- the protective marking at the top and bottom, and a footer with the window, method, data
  caveats, creation time (UTC), software version and the attribution each source requires.

No basemap tiles and nothing fetched: context is read from local files through pyogrio with a
bounding-box filter (:mod:`patrolcast.io.map_context`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from patrolcast.errors import InputError
from patrolcast.geo.support import AreaSupport, Grid, Support
from patrolcast.io import map_context
from patrolcast.io.map_context import ContextLayer

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "CHICAGO",
    "LONDON_DATASTORE",
    "NEW_YORK",
    "PHILADELPHIA",
    "POLICE_UK",
    "BriefingContext",
    "DataSource",
    "TopPlace",
    "briefing_figure",
    "data_source_for",
    "legend_label",
    "map_layers",
    "top_places",
    "write_briefing_map",
]

PAGE = (11.69, 8.27)  # inches: A4 landscape
DPI = 150
MAP_BOX = (0.015, 0.20, 0.63, 0.70)  # left, bottom, width, height (figure fraction)
HARM_UNIT = "harm (ONS Crime Severity Score weights: days of custody equivalent)"


@dataclass(frozen=True)
class DataSource:
    """The data a forecast was made from: its caveats and the attribution its licence asks."""

    name: str
    attribution: str
    caveats: tuple[str, ...] = ()


POLICE_UK = DataSource(
    "data.police.uk street-level crime",
    "Crime data: data.police.uk, Open Government Licence v3.0. "
    "Contains OS data © Crown copyright and database right",
    (
        "Month precision: data.police.uk gives the month of each offence, not the day or time; "
        "a forecast for days spreads each month evenly.",
        "Anonymised locations: each offence is snapped to one of a fixed set of map points "
        "(a street or public place covering at least 8 addresses or none), so counts sit where "
        "the points are, not where offences happened.",
    ),
)
LONDON_DATASTORE = DataSource(
    "MPS recorded crime (London Datastore)",
    "Crime data: Metropolitan Police Service via the London Datastore, Open Government "
    "Licence v3.0",
    (
        "Counts per area and month (Home Office offence categories), drawn at each area's "
        "representative point: no day, time or location within the area.",
    ),
)
CHICAGO = DataSource(
    "City of Chicago Data Portal",
    "Incident data: City of Chicago Data Portal, used under its Terms of Use",
    ("Locations are published at block level, not exact addresses.",),
)
NEW_YORK = DataSource(
    "NYPD (NYC Open Data)",
    "Incident data: New York City Police Department via NYC Open Data, used under its Terms of Use",
    ("Locations are the publisher's (rounded or mid-block), not exact addresses.",),
)
PHILADELPHIA = DataSource(
    "Philadelphia Police Department (OpenDataPhilly)",
    "Incident data: City of Philadelphia (OpenDataPhilly), used under its open data terms",
    ("Locations are published at block level, not exact addresses.",),
)
_BY_MAPPING = {
    "chicago": CHICAGO,
    "chicago-crimes": CHICAGO,
    "nypd": NEW_YORK,
    "nyc": NEW_YORK,
    "philadelphia": PHILADELPHIA,
}
_BY_KIND = {
    "police-uk-street": POLICE_UK,
    "stop-search": POLICE_UK,
    "london-datastore": LONDON_DATASTORE,
}


def data_source_for(kind: str, mapping: str | None = None) -> DataSource:
    """The :class:`DataSource` of a store dataset (its ``kind`` and ``mapping``).

    A dataset of another origin gets a source that says its licence is unknown (so a map never
    goes out with no attribution line at all).
    """
    if mapping and mapping in _BY_MAPPING:
        return _BY_MAPPING[mapping]
    if kind in _BY_KIND:
        return _BY_KIND[kind]
    name = mapping or kind or "unknown source"
    return DataSource(name, f"Data: {name} (licence not recorded: check before sharing)")


@dataclass(frozen=True, eq=False)
class BriefingContext:
    """Everything a briefing map says besides the numbers.

    Attributes
    ----------
    study_area : shapely (multi)polygon in the support's CRS; the map is cropped to it.
    window_start, window_end : timezone-aware datetimes of the forecast window.
    method : forecasting method name (e.g. ``"kde"``).
    data : the :class:`DataSource` (caveats and attribution), e.g. :data:`POLICE_UK`.
    target : ``"count"`` (expected offences) or ``"harm"`` (expected harm), what ``values`` hold.
    offences : what is counted, plural ("violent offences").
    horizon : the window as said in the legend ("7 days"); derived from the window when empty.
    dataset : the store dataset name, printed in the footer.
    marking : protective marking (``Organisation.protective_marking`` from settings).
    top_n : how many top places to outline and list.
    cap_percentile : the colour scale stops at this percentile when values above it exist.
    shared_data : folder holding ``boundaries/`` (``Settings.shared_data``); None: no context.
    timezone : zone the window is printed in (the data's local zone).
    title : headline; a default one names the offences and the window.
    version : software version printed in the footer (``patrolcast.__version__``).
    created_at : when the map was made (default: now, UTC).
    notes : extra lines for the footer (e.g. the forecast job's warnings).
    """

    study_area: Any
    window_start: datetime
    window_end: datetime
    method: str
    data: DataSource
    target: str = "count"
    offences: str = "violent offences"
    horizon: str = ""
    dataset: str = ""
    marking: str = "OFFICIAL - SENSITIVE"
    top_n: int = 5
    cap_percentile: float = 99.5
    shared_data: Path | None = None
    timezone: str = "Europe/London"
    title: str = ""
    version: str = ""
    created_at: datetime | None = None
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        import shapely

        if not isinstance(self.study_area, shapely.Geometry) or self.study_area.is_empty:
            raise InputError("the briefing map needs the study area as a non-empty geometry")
        for name in ("window_start", "window_end"):
            when = getattr(self, name)
            if not isinstance(when, datetime) or when.utcoffset() is None:
                raise InputError(f"{name} must be a timezone-aware datetime")
        if self.window_end <= self.window_start:
            raise InputError("the forecast window ends before it starts")
        if self.target not in ("count", "harm"):
            raise InputError(f"target must be count or harm, not {self.target!r}")
        if not 50.0 <= self.cap_percentile <= 100.0:
            raise InputError("cap_percentile must lie between 50 and 100")
        if self.top_n < 0:
            raise InputError("top_n cannot be negative")

    @property
    def horizon_label(self) -> str:
        start, end = self.local(self.window_start), self.local(self.window_end)
        return self.horizon or horizon_label(start, end)

    def local(self, when: datetime) -> datetime:
        from zoneinfo import ZoneInfo

        return when.astimezone(ZoneInfo(self.timezone))

    def window_text(self) -> str:
        start, end = self.local(self.window_start), self.local(self.window_end)
        fmt = "%a %d %b %Y %H:%M"
        return f"{start:{fmt}} to {end:{fmt}} ({self.timezone})"


@dataclass(frozen=True)
class TopPlace:
    """One of the top places: rank (1 = highest), unit, where it is and its value."""

    rank: int
    unit_id: str
    name: str  # the ward / area / district it lies in ("" when no named layer is known)
    value: float
    x: float
    y: float


def horizon_label(start: datetime, end: datetime) -> str:
    """ "7 days", "1 day", "12 hours", "1 month" from a window given in local time.

    Days and months are counted on the wall clock, so a week across a clock change is still
    "7 days" (167 or 169 hours).
    """
    end = end.astimezone(start.tzinfo)
    same_clock = (start.hour, start.minute, start.second) == (end.hour, end.minute, end.second)
    if same_clock and start.day == end.day and end > start:
        months = (end.year - start.year) * 12 + end.month - start.month
        return f"{months} month" + ("s" if months != 1 else "")
    if same_clock and end.date() > start.date():
        days = (end.date() - start.date()).days
        return f"{days} day" + ("s" if days != 1 else "")
    hours = (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() / 3600  # elapsed
    return f"{hours:g} hour" + ("s" if hours != 1 else "")


def _unit_name(support: Support) -> str:
    if isinstance(support, Grid):
        return f"{support.cell_size:g} m cell"
    if isinstance(support, AreaSupport):
        return {"lsoa": "LSOA", "ward": "ward", "borough": "borough"}.get(
            support.level, support.level
        )
    return "unit"


def legend_label(support: Support, context: BriefingContext) -> str:
    """E.g. "expected violent offences per 250 m cell, 7 days"."""
    what = context.offences if context.target == "count" else f"{HARM_UNIT} of {context.offences}"
    return f"expected {what} per {_unit_name(support)}, {context.horizon_label}"


def _check_values(values: npt.ArrayLike, support: Support) -> npt.NDArray[np.float64]:
    v = np.asarray(values, dtype=np.float64)
    if v.shape != (support.n_units,):
        raise InputError(f"the map needs {support.n_units} values (one per unit), got {v.shape}")
    if not np.isfinite(v).all() or (v < 0).any():
        raise InputError("map values must be finite and not negative")
    return v


def top_places(
    values: npt.ArrayLike,
    support: Support,
    n: int,
    layers: Sequence[ContextLayer] = (),
) -> list[TopPlace]:
    """The ``n`` units with the highest value (ties: unit order), named from ``layers``.

    Units with a value of zero are never "top" places.
    """
    v = _check_values(values, support)
    order = np.argsort(-v, kind="stable")[:n]
    order = order[v[order] > 0]
    namer = map_context.naming_layer(list(layers))
    ids = support.unit_ids
    centres = support.centroids
    places = []
    for rank, i in enumerate(order, start=1):
        x, y = float(centres[i, 0]), float(centres[i, 1])
        name = map_context.name_at(namer, x, y) if namer is not None else ""
        places.append(TopPlace(rank, ids[i], name, float(v[i]), x, y))
    return places


def support_bounds(support: Support) -> tuple[float, float, float, float]:
    """Bounds of the units of a support (active cells, or the areas' polygons)."""
    import shapely

    if isinstance(support, Grid):
        r, c = np.divmod(support.raster_index, support.nx)
        size = support.cell_size
        return (
            float(support.x0 + c.min() * size),
            float(support.y0 + r.min() * size),
            float(support.x0 + (c.max() + 1) * size),
            float(support.y0 + (r.max() + 1) * size),
        )
    if isinstance(support, AreaSupport):
        b = shapely.bounds(support.geometry_array)
        return (
            float(b[:, 0].min()),
            float(b[:, 1].min()),
            float(b[:, 2].max()),
            float(b[:, 3].max()),
        )
    xy = support.centroids
    return (
        float(xy[:, 0].min()),
        float(xy[:, 1].min()),
        float(xy[:, 0].max()),
        float(xy[:, 1].max()),
    )


def view_extent(
    study_area: Any,
    aspect: float,
    units: tuple[float, float, float, float] | None = None,
    pad: float = 0.03,
) -> tuple[float, float, float, float]:
    """The map's view: the study area (and the ``units``' bounds), padded, at ``aspect``.

    ``aspect`` is the width/height of the axes; the view is widened in one direction to fit it,
    never cropped, so the whole study area is always in view.
    """
    import shapely

    xmin, ymin, xmax, ymax = shapely.bounds(study_area).tolist()
    if units is not None:
        xmin, ymin = min(xmin, units[0]), min(ymin, units[1])
        xmax, ymax = max(xmax, units[2]), max(ymax, units[3])
    w, h = max(xmax - xmin, 1.0), max(ymax - ymin, 1.0)
    w, h = w * (1 + 2 * pad), h * (1 + 2 * pad)
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def briefing_figure(
    values: npt.ArrayLike, support: Support, *, context: BriefingContext
) -> tuple[Figure, list[TopPlace]]:
    """The briefing map as a matplotlib figure (A4 landscape), and the top places it shows.

    Uses matplotlib's object API with the Agg canvas (no pyplot state, safe in threads).
    """
    import shapely
    from matplotlib.figure import Figure

    from patrolcast.io import _briefing_draw as draw

    v = _check_values(values, support)
    units = support_bounds(support)
    if not shapely.intersects(context.study_area, shapely.box(*units)):
        raise InputError(
            f"the study area does not overlap the forecast's units: is it in {support.crs}?"
        )
    fig = Figure(figsize=PAGE, dpi=DPI)
    ax = fig.add_axes(MAP_BOX)
    extent = map_extent(support, context)
    layers = map_layers(support, context)
    places = top_places(v, support, context.top_n, layers)
    vmax, capped = draw.colour_cap(v, context.cap_percentile)
    draw.setup_axes(ax, extent)
    tolerance = draw.pixel_size(ax, extent) / 2
    draw.context_areas(ax, layers, tolerance)
    mappable = draw.values(ax, v, support, vmax, tolerance)
    draw.context_lines(ax, layers, context.study_area, tolerance)
    draw.place_names(ax, layers, extent)
    draw.top_outline(ax, support, places)
    draw.scale_bar(ax, extent, support.crs)
    draw.north_arrow(ax)
    draw.finish_axes(ax)
    draw.header(fig, context, support)
    draw.legend_panel(
        fig, mappable, legend_label(support, context), vmax, capped, context, places, layers, v
    )
    draw.footer(fig, context, layers)
    return fig, places


def map_extent(support: Support, context: BriefingContext) -> tuple[float, float, float, float]:
    """The view of the briefing map: study area and units, at the map's aspect."""
    aspect = (MAP_BOX[2] * PAGE[0]) / (MAP_BOX[3] * PAGE[1])
    return view_extent(context.study_area, aspect, support_bounds(support))


def map_layers(support: Support, context: BriefingContext) -> list[ContextLayer]:
    """The context layers of the briefing map's view (none without ``shared_data``)."""
    if context.shared_data is None:
        return []
    extent = map_extent(support, context)
    return map_context.context_layers(support.crs, extent, shared_data=context.shared_data)


def write_briefing_map(
    values: npt.ArrayLike,
    support: Support,
    path: Path,
    *,
    context: BriefingContext,
) -> Path:
    """Write the briefing map of ``values`` (one per unit, in the target ranked by) as a PNG.

    ``values`` are what the forecast ranks by (expected count or expected harm, as
    ``context.target`` says). Returns ``path`` (folders created). Raises :class:`InputError`
    for values that do not match the support or are negative or not finite, and for a study
    area that does not overlap the units (e.g. given in another CRS).
    """
    fig, _ = briefing_figure(values, support, context=context)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path
