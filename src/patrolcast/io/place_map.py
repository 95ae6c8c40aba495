"""A small locator map of one place (a proposed deployment area) over local context.

The area is outlined (white halo under a dark line) over the boundary, ward and road layers of
:mod:`patrolcast.io.map_context`, with a scale bar, a north arrow (grid north) and no raw
coordinates. The view is the area with a margin of at least ``margin`` metres, so the
surrounding streets and ward names say where it is. Matplotlib's object API with Agg: no
pyplot state, nothing fetched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from patrolcast.errors import InputError
from patrolcast.io import _briefing_draw as draw
from patrolcast.io.briefing_map import view_extent
from patrolcast.io.map_context import ContextLayer, context_layers

__all__ = ["place_map_layers", "write_place_map"]

SIZE = (6.0, 4.2)  # inches
DPI = 150


def _extent(area: Any, margin: float) -> tuple[float, float, float, float]:
    grown = area.buffer(margin)
    return view_extent(grown, SIZE[0] / SIZE[1], pad=0.0)


def place_map_layers(
    area: Any, crs: str, *, shared_data: Path | None, margin: float = 400.0
) -> list[ContextLayer]:
    """The context layers drawn around ``area`` (none without ``shared_data``)."""
    if shared_data is None:
        return []
    return context_layers(crs, _extent(area, margin), shared_data=shared_data)


def write_place_map(
    area: Any,
    crs: str,
    path: Path,
    *,
    shared_data: Path | None,
    margin: float = 400.0,
) -> Path:
    """PNG locator map of ``area`` (a shapely polygon in ``crs``, metres); returns ``path``."""
    import shapely
    from matplotlib.figure import Figure

    if not isinstance(area, shapely.Geometry) or area.is_empty:
        raise InputError("the place map needs the area as a non-empty geometry")
    extent = _extent(area, margin)
    layers = place_map_layers(area, crs, shared_data=shared_data, margin=margin)
    fig = Figure(figsize=SIZE, dpi=DPI)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    draw.setup_axes(ax, extent)
    draw.context_areas(ax, layers)
    draw.context_lines(ax, layers, area)
    draw.place_names(ax, layers, extent)
    draw.plot_geoms(ax, [area], color="#c0392b", alpha=0.25, linewidth=0, zorder=2.5)
    edge = shapely.boundary(area)
    draw.plot_geoms(ax, [edge], color=draw.HALO, linewidth=3.6, zorder=9)
    draw.plot_geoms(ax, [edge], color=draw.OUTLINE, linewidth=1.5, zorder=10)
    draw.scale_bar(ax, extent, crs)
    draw.north_arrow(ax)
    draw.finish_axes(ax)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path
