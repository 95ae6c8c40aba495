"""The pieces of a briefing map, drawn with matplotlib (see :mod:`patrolcast.io.briefing_map`)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from patrolcast.errors import InputError
from patrolcast.geo.support import AreaSupport, Grid, Support
from patrolcast.io.map_context import ContextLayer, attributions, naming_layer

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.cm import ScalarMappable
    from matplotlib.figure import Figure

    from patrolcast.io.briefing_map import BriefingContext, TopPlace

CMAP = "YlOrRd"
HALO = "white"
OUTLINE = "#08306b"  # dark blue: apart from the reds of the scale
# Context styles by layer kind: line colour, width, z-order.
_AREA_STYLE = {
    "force area": ("#222222", 1.6, 6),
    "city limits": ("#222222", 1.6, 6),
    "borough": ("#444444", 1.0, 5),
    "district": ("#555555", 0.7, 4),
    "area": ("#777777", 0.5, 4),
    "ward": ("#888888", 0.45, 4),
}
_ROAD_STYLE = ("#5a4a3a", 0.9, 3.5)
MIN_UNITS_TO_CAP = 100
_MAX_NAMES = 60  # label a layer's features only when there are few enough to read


def halo(width: float = 3.0) -> list[Any]:
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=width, foreground=HALO)]


def wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width=width, break_on_hyphens=False))


def created_at(context: BriefingContext) -> datetime:
    return (context.created_at or datetime.now(UTC)).astimezone(UTC)


def colour_cap(values: npt.NDArray[np.float64], percentile: float) -> tuple[float, float | None]:
    """Top of the colour scale, and the percentile when values above it are drawn at the top.

    A handful of areas is never capped (a percentile of six values says nothing).
    """
    top = float(values.max()) if values.size else 0.0
    if top <= 0:
        return 1.0, None
    if values.size < MIN_UNITS_TO_CAP:
        return top, None
    cap = float(np.percentile(values, percentile))
    if 0 < cap < top:
        return cap, percentile
    return top, None


def setup_axes(ax: Axes, extent: tuple[float, ...]) -> None:
    xmin, ymin, xmax, ymax = extent
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor("#f4f4f2")
    for spine in ax.spines.values():
        spine.set_color("#666666")


def plot_geoms(ax: Axes, geoms: Any, tolerance: float = 0.0, **style: Any) -> None:
    import geopandas as gpd

    series = gpd.GeoSeries(list(geoms))
    if tolerance > 0:  # below a pixel: invisible, and much faster to draw
        series = series.simplify(tolerance, preserve_topology=False)
    if len(series):
        series.plot(ax=ax, **style)


def pixel_size(ax: Axes, extent: tuple[float, ...]) -> float:
    """Map units per pixel of ``ax`` (drawing detail finer than half of it is not seen)."""
    width = ax.get_window_extent().width
    return float(extent[2] - extent[0]) / max(width, 1.0)


def context_areas(ax: Axes, layers: Sequence[ContextLayer], tolerance: float = 0.0) -> None:
    """Land inside the coarsest context area (force area, city limits) in white; outside it
    (sea, lake, another country) the grey background."""
    import shapely

    areas = [layer for layer in layers if layer.source.geometry == "area"]
    if areas:
        land = shapely.union_all(areas[0].geometries)
        plot_geoms(ax, [land], tolerance, color="white", linewidth=0, zorder=1)


def values(
    ax: Axes, v: npt.NDArray[np.float64], support: Support, vmax: float, tolerance: float = 0.0
) -> ScalarMappable:
    import matplotlib as mpl
    from matplotlib.colors import Normalize

    norm = Normalize(vmin=0.0, vmax=vmax)
    cmap = mpl.colormaps[CMAP]
    if isinstance(support, Grid):
        raster = support.to_raster(v, fill=np.nan)
        raster = np.ma.masked_invalid(raster)
        extent = (
            support.x0,
            support.x0 + support.nx * support.cell_size,
            support.y0,
            support.y0 + support.ny * support.cell_size,
        )
        ax.imshow(
            raster,
            origin="lower",
            extent=extent,
            cmap=cmap,
            norm=norm,
            alpha=0.85,
            interpolation="nearest",
            zorder=2,
        )
    elif isinstance(support, AreaSupport):
        colours = cmap(norm(v))
        colours[:, 3] = 0.85
        plot_geoms(
            ax,
            support.geometry_array,
            tolerance,
            color=colours,
            linewidth=0.15,
            edgecolor="white",
            zorder=2,
        )
    else:
        raise InputError(f"cannot map a support of type {type(support).__name__}")
    return mpl.cm.ScalarMappable(norm=norm, cmap=cmap)


def context_lines(
    ax: Axes, layers: Sequence[ContextLayer], study_area: Any, tolerance: float = 0.0
) -> None:
    """Boundaries and roads over the values, then the study area's edge on top."""
    import shapely

    for layer in layers:
        if layer.source.geometry == "line":
            colour, width, z = _ROAD_STYLE
            plot_geoms(
                ax, layer.geometries, tolerance, color=colour, linewidth=width, alpha=0.55, zorder=z
            )
        else:
            colour, width, z = _AREA_STYLE.get(layer.kind, ("#777777", 0.5, 4))
            edges = shapely.boundary(layer.geometries)
            plot_geoms(ax, edges, tolerance, color=colour, linewidth=width, zorder=z)
    plot_geoms(
        ax,
        [shapely.boundary(study_area)],
        tolerance,
        color="black",
        linewidth=1.8,
        linestyle=(0, (5, 2)),
        zorder=7,
    )


def place_names(ax: Axes, layers: Sequence[ContextLayer], extent: tuple[float, ...]) -> None:
    """The names of the finest named layer that is not too crowded to read."""
    import shapely

    named = [layer for layer in layers if any(layer.labels)]
    candidates = [naming_layer(named)] + named[::-1]
    for layer in candidates:
        if layer is None or len(layer) > _MAX_NAMES or layer.kind == "force area":
            continue
        xmin, ymin, xmax, ymax = extent
        points = shapely.point_on_surface(layer.geometries)
        for label, point, geom in zip(layer.labels, points, layer.geometries, strict=True):
            span = shapely.bounds(geom)
            small = (span[2] - span[0]) < 0.04 * (xmax - xmin)
            if not label or small:
                continue
            ax.annotate(
                label,
                (point.x, point.y),
                ha="center",
                va="center",
                fontsize=6,
                color="#333333",
                style="italic",
                zorder=8,
                path_effects=halo(2.0),
                annotation_clip=True,
            )
        return


def top_outline(ax: Axes, support: Support, places: Sequence[TopPlace]) -> None:
    """Each top place outlined (white halo under a dark line) and numbered by rank."""
    import shapely

    if not places:
        return
    ids = support.unit_ids
    index = {uid: i for i, uid in enumerate(ids)}
    picked = [index[p.unit_id] for p in places]
    if isinstance(support, Grid):  # neighbouring cells: one outline around each cluster
        edges = [shapely.boundary(shapely.union_all(support.cell_polygons()[picked]))]
    elif isinstance(support, AreaSupport):  # areas: each its own outline
        edges = list(shapely.boundary(support.geometry_array[picked]))
    else:  # pragma: no cover - values() refuses other supports first
        return
    plot_geoms(ax, edges, color=HALO, linewidth=3.6, zorder=9)
    plot_geoms(ax, edges, color=OUTLINE, linewidth=1.5, zorder=10)
    for place, offset in zip(places, label_offsets(ax, places), strict=True):
        crowded = offset != (0.0, 0.0)
        ax.annotate(
            str(place.rank),
            (place.x, place.y),
            xytext=offset,
            textcoords="offset points",
            ha="center",
            va="center",
            fontsize=8,
            fontweight="bold",
            color=OUTLINE,
            zorder=11,
            path_effects=halo(2.6),
            arrowprops={"arrowstyle": "-", "color": OUTLINE, "lw": 0.6} if crowded else None,
        )


_OFFSETS = (
    (0.0, 0.0),
    (0.0, 13.0),
    (13.0, 0.0),
    (0.0, -13.0),
    (-13.0, 0.0),
    (11.0, 11.0),
    (-11.0, 11.0),
    (11.0, -11.0),
    (-11.0, -11.0),
    (0.0, 24.0),
    (24.0, 0.0),
    (0.0, -24.0),
    (-24.0, 0.0),
)


def label_offsets(ax: Axes, places: Sequence[TopPlace]) -> list[tuple[float, float]]:
    """Offsets in points for the rank numbers, so that no two overlap (greedy, by rank).

    A number sits on its place when there is room; otherwise it moves out along one of a few
    directions (a leader line joins it to its place).
    """
    points_per_pixel = 72.0 / ax.figure.dpi
    centres = ax.transData.transform([(p.x, p.y) for p in places]) * points_per_pixel
    placed: list[tuple[float, float]] = []
    out = []
    for x, y in centres:
        for dx, dy in _OFFSETS:
            cx, cy = x + dx, y + dy
            if all(abs(cx - px) >= 10.0 or abs(cy - py) >= 10.0 for px, py in placed):
                break
        placed.append((cx, cy))
        out.append((dx, dy))
    return out


def _unit_factor(crs: str) -> float:
    """Metres per CRS unit along the x axis."""
    from pyproj import CRS

    factor = CRS.from_user_input(crs).axis_info[0].unit_conversion_factor
    return float(factor) if factor else 1.0


def _nice_length(target_m: float) -> float:
    steps = (1.0, 2.0, 2.5, 5.0)
    magnitude = 10 ** np.floor(np.log10(target_m))
    best = magnitude
    for step in steps:
        if step * magnitude <= target_m:
            best = step * magnitude
    return float(best)


def scale_bar(ax: Axes, extent: tuple[float, ...], crs: str) -> None:
    xmin, ymin, xmax, ymax = extent
    metres = _nice_length((xmax - xmin) * _unit_factor(crs) / 5)
    length = metres / _unit_factor(crs)
    x0 = xmin + 0.04 * (xmax - xmin)
    y0 = ymin + 0.05 * (ymax - ymin)
    tick = 0.012 * (ymax - ymin)
    for colour, width in ((HALO, 4.5), ("black", 1.8)):
        ax.plot(
            [x0, x0 + length],
            [y0, y0],
            color=colour,
            linewidth=width,
            zorder=12,
            solid_capstyle="butt",
        )
        for x in (x0, x0 + length / 2, x0 + length):
            ax.plot([x, x], [y0, y0 + tick], color=colour, linewidth=width * 0.6, zorder=12)
    text = f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"
    ax.annotate(
        text,
        (x0 + length / 2, y0 + 1.6 * tick),
        ha="center",
        va="bottom",
        fontsize=8,
        zorder=12,
        path_effects=halo(2.5),
    )


def finish_axes(ax: Axes) -> None:
    """No axis labels or coordinates: a briefing map is read by its context, not by numbers."""
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_xticks([])
    ax.set_yticks([])


def north_arrow(ax: Axes) -> None:
    ax.annotate(
        "N",
        xy=(0.955, 0.95),
        xytext=(0.955, 0.86),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=11,
        fontweight="bold",
        zorder=12,
        arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.6},
        path_effects=halo(2.5),
    )
    ax.annotate(
        "grid north",
        xy=(0.955, 0.83),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=6,
        zorder=12,
        path_effects=halo(2.0),
    )


NOT_A_PREDICTION = (
    "A forecast ranks places by expected offences; it is not a prediction that an offence "
    "will happen in any place, and it says nothing about any person."
)


def default_title(context: BriefingContext) -> str:
    return context.title or (
        f"Expected {context.offences}: {context.horizon_label} from "
        f"{context.local(context.window_start):%a %d %b %Y}"
    )


def subtitle(context: BriefingContext) -> str:
    return f"Window {context.window_text()} · method {context.method}" + (
        f" · dataset {context.dataset}" if context.dataset else ""
    )


def created_line(context: BriefingContext) -> str:
    from patrolcast import __version__

    version = context.version or __version__
    return f"Created {created_at(context):%Y-%m-%d %H:%M} UTC with patrolcast {version}."


def header(fig: Figure, context: BriefingContext, support: Support) -> None:
    fig.text(0.5, 0.985, context.marking, ha="center", va="top", fontsize=11, fontweight="bold")
    title = default_title(context)
    lines = textwrap.wrap(title, width=70)
    if len(lines) > 2:
        lines = [*lines[:1], textwrap.shorten(" ".join(lines[1:]), width=70, placeholder=" ...")]
    fig.text(
        0.015,
        0.962,
        "\n".join(lines),
        ha="left",
        va="top",
        fontsize=12.5,
        fontweight="bold",
        linespacing=1.1,
    )
    subtitle = f"Window {context.window_text()} · method {context.method}" + (
        f" · dataset {context.dataset}" if context.dataset else ""
    )
    fig.text(
        0.015,
        0.962 - 0.03 * len(lines),
        wrap(subtitle, 120),
        ha="left",
        va="top",
        fontsize=8,
        color="#333333",
    )


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.2g}" if value < 0.1 else f"{value:.2f}"


def legend_panel(
    fig: Figure,
    mappable: ScalarMappable,
    label: str,
    vmax: float,
    capped: float | None,
    context: BriefingContext,
    places: Sequence[TopPlace],
    layers: Sequence[ContextLayer],
    v: npt.NDArray[np.float64],
) -> None:
    from matplotlib.lines import Line2D

    left, width = 0.665, 0.32
    heading = wrap(label, 52)
    top = 0.93
    fig.text(left, top, heading, fontsize=8.5, fontweight="bold", va="top")
    bar_y = top - 0.021 * (heading.count("\n") + 1) - 0.03
    cax = fig.add_axes((left, bar_y, width, 0.022))
    bar = fig.colorbar(
        mappable,
        cax=cax,
        orientation="horizontal",
        extend="max" if capped is not None else "neither",
    )
    bar.ax.tick_params(labelsize=7)
    if capped is not None:
        above = int((v > vmax).sum())
        note = (
            f"Colour scale capped at the {capped:g}th percentile ({_fmt(vmax)}): "
            f"{above} place(s) above it share the darkest colour (highest "
            f"{_fmt(float(v.max()))})."
        )
    else:
        note = f"Colour scale from 0 to the highest value ({_fmt(float(v.max()))}), not capped."
        if float(v.max()) <= 0:
            note = "Every place has an expected value of 0: nothing to rank."
    note_text = wrap(note, 68)
    fig.text(left, bar_y - 0.04, note_text, fontsize=7, va="top", color="#333333")
    y = bar_y - 0.04 - 0.017 * (note_text.count("\n") + 1) - 0.025
    if places:
        where = naming_layer(list(layers))
        fig.text(
            left,
            y,
            f"Top {len(places)} places (outlined, numbered by rank)",
            fontsize=9,
            fontweight="bold",
            va="top",
        )
        y -= 0.03
        fig.text(
            left,
            y,
            "rank   expected   " + (f"in {where.kind}" if where else "unit"),
            fontsize=7.5,
            va="top",
            color="#333333",
            family="monospace",
        )
        for place in places:
            y -= 0.024
            fig.text(
                left,
                y,
                f"{place.rank:>4}   {_fmt(place.value):>8}   {(place.name or place.unit_id)[:34]}",
                fontsize=7.5,
                va="top",
                family="monospace",
            )
    else:
        fig.text(left, y, "No place has an expected value above zero.", fontsize=8, va="top")
        y -= 0.03
    handles = [
        Line2D([], [], color="black", linewidth=1.8, linestyle=(0, (5, 2)), label="study area"),
        Line2D(
            [],
            [],
            color=OUTLINE,
            linewidth=1.5,
            label=f"top {len(places)} places",
            path_effects=halo(3.6),
        ),
    ]
    kinds = dict.fromkeys(layer.kind for layer in layers)
    for kind in kinds:
        if kind == "road":
            colour, width, _ = _ROAD_STYLE
            handles.append(
                Line2D(
                    [],
                    [],
                    color=colour,
                    linewidth=width,
                    alpha=0.55,
                    label="major road network (2018)",
                )
            )
        else:
            colour, width, _ = _AREA_STYLE.get(kind, ("#777777", 0.5, 4))
            label = {"area": "community area"}.get(kind, kind)
            handles.append(
                Line2D([], [], color=colour, linewidth=max(width, 0.8), label=f"{label} boundary")
            )
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(left - 0.005, y - 0.02),
        fontsize=7,
        frameon=False,
        ncol=2,
    )


def footer(fig: Figure, context: BriefingContext, layers: Sequence[ContextLayer]) -> None:
    lines = [
        f"Window: {context.window_text()}. Method: {context.method}. {created_line(context)}",
        "Caveats: " + " ".join(context.data.caveats + context.notes)
        if (context.data.caveats or context.notes)
        else "",
        NOT_A_PREDICTION,
        "Sources: "
        + " ".join(
            [context.data.attribution + "."] + [a + "." for a in attributions(list(layers))]
        ),
    ]
    text = "\n".join(wrap(line, 190) for line in lines if line)
    fig.text(
        0.015, 0.185, text, ha="left", va="top", fontsize=6.3, color="#222222", linespacing=1.35
    )
    fig.text(0.5, 0.012, context.marking, ha="center", va="bottom", fontsize=11, fontweight="bold")
