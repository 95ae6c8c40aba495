"""Cell-to-area assignment and roll-ups of per-cell values to areas.

Two rules map grid cells to areas (LSOA, ward, borough):

- **centre** (:func:`cell_area_index`): each cell belongs wholly to the area containing its
  centre; cells whose centre lies in no area (on the study area's edge) belong to none (-1),
  or, with ``nearest=True``, to the area they overlap most.
- **share of overlap** (:func:`cell_area_shares`): each cell is split between the areas it
  overlaps in proportion to the overlapping area; the weights form a sparse
  ``(n_cells, n_areas)`` matrix whose rows sum to the share of the cell inside any area.

:func:`roll_up` sums per-cell values (expected counts, harm, observed events) to areas with
either rule, for LSOA, ward or borough summaries of a grid forecast.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely
from scipy import sparse

from patrolcast.geo.support import AreaSupport, Grid

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def _check(grid: Grid, areas: AreaSupport) -> None:
    if grid.crs != areas.crs:
        raise ValueError(f"grid CRS {grid.crs} differs from the areas' {areas.crs}")


def cell_area_shares(grid: Grid, areas: AreaSupport) -> sparse.csr_matrix:
    """Sparse ``(n_cells, n_areas)`` matrix: share of each cell's square inside each area."""
    _check(grid, areas)
    cells = grid.cell_polygons()
    polys = areas.geometry_array
    tree = shapely.STRtree(polys)
    cell_idx, area_idx = tree.query(cells, predicate="intersects")
    # cells wholly inside an area (most of them) need no polygon intersection
    shapely.prepare(polys)
    inside = shapely.contains_properly(polys[area_idx], cells[cell_idx])
    share = np.ones(cell_idx.size, dtype=np.float64)
    edge = ~inside
    overlap = shapely.area(shapely.intersection(cells[cell_idx[edge]], polys[area_idx[edge]]))
    share[edge] = overlap / (grid.cell_size**2)
    keep = share > 0
    return sparse.csr_matrix(
        (share[keep], (cell_idx[keep], area_idx[keep])), shape=(grid.n_units, areas.n_units)
    )


def cell_area_index(grid: Grid, areas: AreaSupport, *, nearest: bool = False) -> IntArray:
    """The area containing each cell's centre (-1 if none).

    With ``nearest=True``, a cell whose centre is outside every area goes to the area it
    overlaps most (still -1 if it overlaps none).
    """
    _check(grid, areas)
    centres = grid.centroids
    index = areas.assign(centres[:, 0], centres[:, 1])
    if nearest and (index < 0).any():
        orphans = np.flatnonzero(index < 0)
        shares = cell_area_shares(grid, areas)[orphans].tocsr()
        has = np.diff(shares.indptr) > 0
        best = np.asarray(shares.argmax(axis=1)).ravel()
        index[orphans[has]] = best[has]
    return index


def roll_up(
    values: npt.ArrayLike, grid: Grid, areas: AreaSupport, *, rule: str = "centre"
) -> FloatArray:
    """Sum per-cell ``values`` (one per active cell) to areas.

    ``rule="centre"`` gives each cell's whole value to the area containing its centre (cells in
    no area are left out); ``rule="share"`` splits it by share of overlap.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.shape != (grid.n_units,):
        raise ValueError(f"expected one value per cell ({grid.n_units}), got shape {v.shape}")
    if rule == "centre":
        index = cell_area_index(grid, areas)
        ok = index >= 0
        return np.bincount(index[ok], weights=v[ok], minlength=areas.n_units).astype(np.float64)
    if rule == "share":
        return np.asarray(cell_area_shares(grid, areas).T @ v, dtype=np.float64)
    raise ValueError(f"unknown roll-up rule {rule!r}: use 'centre' or 'share'")


def roll_up_to_boroughs(
    values: npt.ArrayLike, areas: AreaSupport
) -> tuple[tuple[str, ...], tuple[str, ...], FloatArray]:
    """Sum per-area values to the boroughs recorded on ``areas``: (codes, names, sums)."""
    v = np.asarray(values, dtype=np.float64)
    if v.shape != (areas.n_units,):
        raise ValueError(f"expected one value per area ({areas.n_units}), got shape {v.shape}")
    if not areas.borough_ids:
        raise ValueError(f"these {areas.level} areas carry no borough codes")
    codes, inverse = np.unique(np.asarray(areas.borough_ids), return_inverse=True)
    names = {
        c: n
        for c, n in zip(areas.borough_ids, areas.borough_names or areas.borough_ids, strict=True)
    }
    sums = np.bincount(inverse.ravel(), weights=v, minlength=codes.size).astype(np.float64)
    return tuple(codes.tolist()), tuple(names[c] for c in codes.tolist()), sums
