"""Spatial supports: the units a forecast is made for.

A *support* is a fixed set of units (square grid cells, or areas such as LSOAs), each with an
id, a representative point and an area in square metres, plus a rule assigning a point to the
unit that contains it. Forecasters predict one value per unit; metrics rank units and count
the area they cover.

:class:`Grid` is a square raster in a metric CRS, clipped to a study area by ``active``: only
active cells are units. Its raster layout (``shape``) lets kernels run as FFT convolutions.
:class:`AreaSupport` holds polygons (LSOA, ward, borough).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@runtime_checkable
class Support(Protocol):
    """What every forecast support offers."""

    @property
    def crs(self) -> str:
        """The projected CRS of the support, e.g. ``"EPSG:27700"``."""
        ...

    @property
    def n_units(self) -> int: ...

    @property
    def unit_ids(self) -> list[str]: ...

    @property
    def centroids(self) -> FloatArray:
        """(n_units, 2) representative points, metres."""
        ...

    @property
    def unit_area(self) -> FloatArray:
        """(n_units,) area of each unit in square metres."""
        ...

    def assign(self, x: npt.ArrayLike, y: npt.ArrayLike) -> IntArray:
        """Unit index of each point, or -1 where the point lies in no unit."""
        ...


@dataclass(frozen=True, eq=False)
class Grid:
    """A square grid of ``cell_size`` metres with lower-left corner ``(x0, y0)``.

    Cells are numbered row-major from the lower-left: raster index ``r * nx + c`` for row ``r``
    (northing) and column ``c`` (easting). ``active`` is a boolean raster of shape ``(ny, nx)``
    marking the cells inside the study area; units are the active cells in raster order.
    """

    x0: float
    y0: float
    cell_size: float
    nx: int
    ny: int
    crs: str
    active: npt.NDArray[np.bool_] = field(repr=False)

    def __post_init__(self) -> None:
        if self.cell_size <= 0:
            raise ValueError("cell_size must be positive")
        if self.nx <= 0 or self.ny <= 0:
            raise ValueError("a grid needs at least one row and one column")
        if self.active.shape != (self.ny, self.nx):
            raise ValueError(f"active mask has shape {self.active.shape}, expected {self.shape}")
        # Cached lookups (frozen dataclass: set through object.__setattr__).
        flat = np.flatnonzero(self.active.ravel())
        lookup = np.full(self.nx * self.ny, -1, dtype=np.int64)
        lookup[flat] = np.arange(flat.size)
        object.__setattr__(self, "_raster_index", flat.astype(np.int64))
        object.__setattr__(self, "_unit_of_raster", lookup)

    @classmethod
    def covering(
        cls,
        xmin: float,
        ymin: float,
        xmax: float,
        ymax: float,
        *,
        cell_size: float = 250.0,
        crs: str,
    ) -> Grid:
        """A fully active grid covering a bounding box, snapped to multiples of ``cell_size``."""
        x0 = np.floor(xmin / cell_size) * cell_size
        y0 = np.floor(ymin / cell_size) * cell_size
        nx = max(1, int(np.ceil((xmax - x0) / cell_size)))
        ny = max(1, int(np.ceil((ymax - y0) / cell_size)))
        if x0 + nx * cell_size <= xmax:
            nx += 1
        if y0 + ny * cell_size <= ymax:
            ny += 1
        return cls(float(x0), float(y0), float(cell_size), nx, ny, crs, np.ones((ny, nx), bool))

    @classmethod
    def clipped_to(
        cls, study_area: object, *, cell_size: float = 250.0, crs: str | None = None
    ) -> Grid:
        """A grid of ``cell_size`` metres over a study area; a cell is active if it overlaps it.

        ``study_area`` is a :class:`patrolcast.geo.study_area.StudyArea` (which carries its CRS)
        or a shapely (multi)polygon with ``crs`` given. A cell is active when its square shares
        some area with the study area (cells that only touch its edge are not). Vectorised:
        one shapely 2 predicate call over all cells of the bounding box.
        """
        import shapely

        geometry = getattr(study_area, "geometry", study_area)
        crs = crs if crs is not None else getattr(study_area, "crs", None)
        if crs is None:
            raise ValueError("give the study area's crs (or pass a StudyArea)")
        if not isinstance(geometry, shapely.Geometry) or geometry.is_empty:
            raise ValueError("the study area must be a non-empty shapely geometry")
        xmin, ymin, xmax, ymax = shapely.bounds(geometry).tolist()
        grid = cls.covering(xmin, ymin, xmax, ymax, cell_size=cell_size, crs=crs)
        cols = np.arange(grid.nx, dtype=np.float64)
        rows = np.arange(grid.ny, dtype=np.float64)
        cx, ry = np.meshgrid(cols, rows)
        x_lo = grid.x0 + cx.ravel() * grid.cell_size
        y_lo = grid.y0 + ry.ravel() * grid.cell_size
        cells = shapely.box(x_lo, y_lo, x_lo + grid.cell_size, y_lo + grid.cell_size)
        shapely.prepare(geometry)
        active = shapely.intersects(geometry, cells) & ~shapely.touches(geometry, cells)
        return cls(
            grid.x0, grid.y0, grid.cell_size, grid.nx, grid.ny, crs, active.reshape(grid.shape)
        )

    def cell_polygons(self) -> npt.NDArray[np.object_]:
        """The squares of the active cells (shapely polygons), in unit order."""
        import shapely

        r, c = np.divmod(self.raster_index, self.nx)
        x_lo = self.x0 + c * self.cell_size
        y_lo = self.y0 + r * self.cell_size
        return np.asarray(
            shapely.box(x_lo, y_lo, x_lo + self.cell_size, y_lo + self.cell_size), dtype=object
        )

    @property
    def shape(self) -> tuple[int, int]:
        return (self.ny, self.nx)

    @property
    def n_units(self) -> int:
        return int(self._raster_index.size)  # type: ignore[attr-defined]

    @property
    def raster_index(self) -> IntArray:
        """Raster (row-major) index of each unit."""
        return self._raster_index  # type: ignore[attr-defined]

    @property
    def unit_ids(self) -> list[str]:
        """Stable cell ids: ``E<easting>N<northing>`` of the cell's lower-left corner (metres)."""
        cached: list[str] | None = self.__dict__.get("_unit_ids")
        if cached is None:
            r, c = np.divmod(self.raster_index, self.nx)
            xs = (self.x0 + c * self.cell_size).astype(np.int64)
            ys = (self.y0 + r * self.cell_size).astype(np.int64)
            cached = [f"E{x}N{y}" for x, y in zip(xs, ys, strict=True)]
            object.__setattr__(self, "_unit_ids", cached)
        return list(cached)

    @property
    def centroids(self) -> FloatArray:
        r, c = np.divmod(self.raster_index, self.nx)
        half = self.cell_size / 2.0
        return np.column_stack(
            [self.x0 + c * self.cell_size + half, self.y0 + r * self.cell_size + half]
        ).astype(np.float64)

    @property
    def unit_area(self) -> FloatArray:
        return np.full(self.n_units, self.cell_size**2, dtype=np.float64)

    def raster_of(self, x: npt.ArrayLike, y: npt.ArrayLike) -> IntArray:
        """Raster index of each point, -1 outside the grid's bounding box."""
        xa = np.asarray(x, dtype=np.float64)
        ya = np.asarray(y, dtype=np.float64)
        c = np.floor((xa - self.x0) / self.cell_size)
        r = np.floor((ya - self.y0) / self.cell_size)
        ok = (c >= 0) & (c < self.nx) & (r >= 0) & (r < self.ny) & np.isfinite(c) & np.isfinite(r)
        out = np.full(xa.shape, -1, dtype=np.int64)
        out[ok] = (r[ok] * self.nx + c[ok]).astype(np.int64)
        return out

    def assign(self, x: npt.ArrayLike, y: npt.ArrayLike) -> IntArray:
        raster = self.raster_of(x, y)
        out = np.full(raster.shape, -1, dtype=np.int64)
        ok = raster >= 0
        out[ok] = self._unit_of_raster[raster[ok]]  # type: ignore[attr-defined]
        return out

    def to_raster(self, values: npt.ArrayLike, fill: float = 0.0) -> FloatArray:
        """Place one value per unit back on the full ``(ny, nx)`` raster."""
        v = np.asarray(values, dtype=np.float64)
        if v.shape != (self.n_units,):
            raise ValueError(f"expected {self.n_units} values, got shape {v.shape}")
        raster = np.full(self.nx * self.ny, fill, dtype=np.float64)
        raster[self.raster_index] = v
        return raster.reshape(self.shape)

    def from_raster(self, raster: npt.ArrayLike) -> FloatArray:
        """The active cells' values of a full ``(ny, nx)`` raster, in unit order."""
        a = np.asarray(raster, dtype=np.float64)
        if a.shape != self.shape:
            raise ValueError(f"raster has shape {a.shape}, expected {self.shape}")
        return a.ravel()[self.raster_index]


@dataclass(frozen=True, eq=False)
class AreaSupport:
    """Areas (LSOAs, wards, boroughs) as forecast units.

    ``geometries`` are shapely polygons in ``crs``; ``ids`` their codes (e.g. LSOA 2021 codes);
    ``names`` human-readable names. Points are assigned by point-in-polygon with an STRtree.
    ``borough_ids`` / ``borough_names`` optionally give the borough (local authority district)
    of each area, for roll-ups and summaries; empty when unknown.
    """

    ids: tuple[str, ...]
    names: tuple[str, ...]
    geometries: tuple[object, ...] = field(repr=False)
    crs: str
    level: str = "area"
    borough_ids: tuple[str, ...] = field(default=(), repr=False)
    borough_names: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        import shapely

        if not (len(self.ids) == len(self.names) == len(self.geometries)):
            raise ValueError("ids, names and geometries must have the same length")
        for name in ("borough_ids", "borough_names"):
            if len(getattr(self, name)) not in (0, len(self.ids)):
                raise ValueError(f"{name} must be empty or give one value per area")
        if len(set(self.ids)) != len(self.ids):
            raise ValueError("area ids must be unique")
        geoms = np.asarray(self.geometries, dtype=object)
        reps = shapely.point_on_surface(geoms)
        object.__setattr__(self, "_geoms", geoms)
        object.__setattr__(self, "_tree", shapely.STRtree(geoms))
        object.__setattr__(
            self, "_centroids", np.column_stack([shapely.get_x(reps), shapely.get_y(reps)])
        )
        object.__setattr__(self, "_areas", shapely.area(geoms).astype(np.float64))
        object.__setattr__(self, "_index", {code: i for i, code in enumerate(self.ids)})

    @property
    def n_units(self) -> int:
        return len(self.ids)

    @property
    def unit_ids(self) -> list[str]:
        return list(self.ids)

    @property
    def centroids(self) -> FloatArray:
        """Representative points (always inside their polygon), not geometric centroids."""
        return self._centroids  # type: ignore[attr-defined]

    @property
    def unit_area(self) -> FloatArray:
        return self._areas  # type: ignore[attr-defined]

    @property
    def geometry_array(self) -> npt.NDArray[np.object_]:
        """The polygons as a numpy object array (for vectorised shapely calls)."""
        return self._geoms  # type: ignore[attr-defined]

    def index_of(self, codes: npt.ArrayLike) -> IntArray:
        """Unit index of each area code, -1 for unknown codes."""
        index: dict[str, int] = self._index  # type: ignore[attr-defined]
        return np.array([index.get(str(c), -1) for c in np.asarray(codes)], dtype=np.int64)

    def assign(self, x: npt.ArrayLike, y: npt.ArrayLike) -> IntArray:
        import shapely

        xa = np.asarray(x, dtype=np.float64)
        ya = np.asarray(y, dtype=np.float64)
        out = np.full(xa.shape, -1, dtype=np.int64)
        if xa.size == 0:
            return out
        # Points repeat (area counts sit at representative points): look up each place once.
        finite = np.isfinite(xa) & np.isfinite(ya)
        places, where = np.unique(
            np.column_stack([xa[finite], ya[finite]]), axis=0, return_inverse=True
        )
        found = np.full(places.shape[0], -1, dtype=np.int64)
        pts = shapely.points(places[:, 0], places[:, 1])
        tree = self._tree  # type: ignore[attr-defined]
        geoms = self._geoms  # type: ignore[attr-defined]
        # Bounding-box candidates from the tree, then the exact test with prepared polygons
        # (much faster than the tree's own predicate on detailed boundaries).
        point_idx, geom_idx = tree.query(pts)
        shapely.prepare(geoms)
        hit = shapely.intersects(geoms[geom_idx], pts[point_idx])
        point_idx, geom_idx = point_idx[hit], geom_idx[hit]
        # A point on a shared boundary matches two areas: keep the first (lowest index).
        order = np.lexsort((geom_idx, point_idx))
        point_idx, geom_idx = point_idx[order], geom_idx[order]
        first = np.ones(point_idx.size, dtype=bool)
        first[1:] = point_idx[1:] != point_idx[:-1]
        found[point_idx[first]] = geom_idx[first]
        out[finite] = found[where.ravel()]
        return out
