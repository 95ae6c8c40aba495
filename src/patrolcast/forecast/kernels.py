"""Spatial kernels and the two ways of summing them: FFT on a grid, direct sums at points.

A *spatial kernel* ``K(d)`` weights an event by its distance ``d`` (metres) from the place being
scored. The kernel-density forecasters compute, for every unit ``i`` of a support,

.. math:: S_i = \\sum_j w_j \\, K(\\lVert c_i - p_j \\rVert)

where ``w_j`` is an event weight (its count, its harm, or either times a time weight), ``p_j``
its position and ``c_i`` the unit's point.

- On a :class:`~patrolcast.geo.support.Grid` (:func:`grid_kernel_sum`) events are first *binned*
  onto the raster: ``"nearest"`` moves each event to the centre of the cell containing it;
  ``"linear"`` splits it between the four nearest cell centres in proportion to the
  bilinear weights (linear binning, Wand 1994), which reduces the positional error. The binned
  raster is convolved with the kernel *evaluated at the cell-centre offsets*
  ``K(cell_size * sqrt(di**2 + dj**2))``: by :func:`scipy.signal.fftconvolve` in general, and
  for the untruncated Gaussian by its separable form (two matrix products), which keeps full
  relative precision in the far tails. Either way the result is the direct sum over the binned
  events up to floating-point rounding; the plain reference :func:`grid_kernel_sum_reference`
  computes that sum by broadcasting, and tests check they agree to 1e-9 relative. FFT
  round-off (about 1e-16 of the largest value) is clipped at zero, and for kernels with a
  finite radius the cells out of every event's reach are set to exactly zero.
- On any other support (areas) :func:`point_kernel_sum` sums at the units' representative
  points over events within the kernel's radius (a :class:`scipy.spatial.cKDTree` query), or
  densely in chunks when the kernel has no cut-off; :func:`point_kernel_sum_reference` is the
  plain double loop in numpy broadcasting.

References
----------
Wand, M. P. (1994). Fast computation of multivariate kernel estimators. *Journal of
Computational and Graphical Statistics* 3(4), 433-445.
Silverman, B. W. (1986). *Density Estimation for Statistics and Data Analysis*. Chapman & Hall.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.ndimage import binary_dilation
from scipy.signal import fftconvolve
from scipy.spatial import cKDTree

from patrolcast.geo.support import AreaSupport, Grid

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

KERNEL_SHAPES = ("gaussian", "quartic", "inverse_distance")
BINNINGS = ("nearest", "linear")


@dataclass(frozen=True)
class SpatialKernel:
    """A radial kernel ``K(d)`` of ``bandwidth`` metres, zero beyond ``radius`` metres.

    Shapes
    ------
    ``gaussian``
        ``exp(-d**2 / (2 h**2)) / (2 pi h**2)``: the bivariate normal density (integrates to 1).
    ``quartic``
        ``3 / (pi h**2) * (1 - d**2 / h**2)**2`` for ``d < h``: the quartic (biweight) kernel of
        CrimeStat and ArcGIS hotspot maps (integrates to 1); its radius is ``h``.
    ``inverse_distance``
        ``1 / (1 + d / h)`` for ``d <= radius``: the spatial weight of the prospective hotspot
        (Bowers, Johnson & Pease 2004), distance counted in units of ``h``. Not a density.
    """

    shape: str
    bandwidth: float
    radius: float = math.inf

    def __post_init__(self) -> None:
        if self.shape not in KERNEL_SHAPES:
            raise ValueError(
                f"unknown kernel {self.shape!r}: use one of {', '.join(KERNEL_SHAPES)}"
            )
        if not (self.bandwidth > 0 and math.isfinite(self.bandwidth)):
            raise ValueError(
                f"kernel bandwidth must be a positive number of metres, got {self.bandwidth}"
            )
        if not self.radius > 0:
            raise ValueError(f"kernel radius must be positive, got {self.radius}")
        if self.shape == "inverse_distance" and not math.isfinite(self.radius):
            raise ValueError("the inverse-distance kernel needs a finite radius")

    @property
    def support_radius(self) -> float:
        """Distance beyond which the kernel is exactly zero (``inf`` if never)."""
        if self.shape == "quartic":
            return min(self.radius, self.bandwidth)
        return self.radius

    def __call__(self, d: npt.ArrayLike) -> FloatArray:
        dist = np.asarray(d, dtype=np.float64)
        h = self.bandwidth
        if self.shape == "gaussian":
            out = np.exp(-0.5 * (dist / h) ** 2) / (2.0 * math.pi * h * h)
        elif self.shape == "quartic":
            u = np.clip(1.0 - (dist / h) ** 2, 0.0, None)
            out = 3.0 / (math.pi * h * h) * u * u
        else:
            out = 1.0 / (1.0 + dist / h)
        return np.where(dist <= self.support_radius, out, 0.0)


# -- binning events onto a grid's raster -------------------------------------------------------
def bin_events(
    grid: Grid, x: npt.ArrayLike, y: npt.ArrayLike, weights: npt.ArrayLike, binning: str = "nearest"
) -> FloatArray:
    """Rasterise weighted events: an array ``(k, ny, nx)`` for ``weights`` of shape ``(k, n)``.

    Events outside the grid's bounding box are dropped (with ``"linear"``, the parts of an event
    falling outside the raster are dropped).
    """
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    k = w.shape[0]
    size = grid.nx * grid.ny
    out = np.zeros((k, size), dtype=np.float64)
    if binning == "nearest":
        raster = grid.raster_of(xa, ya)
        ok = raster >= 0
        for row in range(k):
            out[row] = np.bincount(raster[ok], weights=w[row, ok], minlength=size)
    elif binning == "linear":
        u = (xa - grid.x0) / grid.cell_size - 0.5
        v = (ya - grid.y0) / grid.cell_size - 0.5
        finite = np.isfinite(u) & np.isfinite(v)
        u, v, w = u[finite], v[finite], w[:, finite]
        c0 = np.floor(u).astype(np.int64)
        r0 = np.floor(v).astype(np.int64)
        fu = u - c0
        fv = v - r0
        for dc, dr, share in (
            (0, 0, (1 - fu) * (1 - fv)),
            (1, 0, fu * (1 - fv)),
            (0, 1, (1 - fu) * fv),
            (1, 1, fu * fv),
        ):
            c = c0 + dc
            r = r0 + dr
            ok = (c >= 0) & (c < grid.nx) & (r >= 0) & (r < grid.ny) & (share > 0)
            idx = r[ok] * grid.nx + c[ok]
            for row in range(k):
                out[row] += np.bincount(idx, weights=w[row, ok] * share[ok], minlength=size)
    else:
        raise ValueError(f"unknown binning {binning!r}: use one of {', '.join(BINNINGS)}")
    return out.reshape(k, grid.ny, grid.nx)


def kernel_stencil(grid: Grid, kernel: SpatialKernel) -> FloatArray:
    """The kernel evaluated at every cell-centre offset it can reach on ``grid``.

    Shape ``(2 Ry + 1, 2 Rx + 1)`` with ``Ry <= ny - 1`` and ``Rx <= nx - 1`` cells; the centre
    element is offset (0, 0).
    """
    reach = kernel.support_radius / grid.cell_size
    ry = grid.ny - 1 if not math.isfinite(reach) else min(grid.ny - 1, math.ceil(reach))
    rx = grid.nx - 1 if not math.isfinite(reach) else min(grid.nx - 1, math.ceil(reach))
    dy = np.arange(-ry, ry + 1, dtype=np.float64)[:, None]
    dx = np.arange(-rx, rx + 1, dtype=np.float64)[None, :]
    return kernel(grid.cell_size * np.sqrt(dx * dx + dy * dy))


def grid_kernel_sum(
    grid: Grid,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    weights: npt.ArrayLike,
    kernel: SpatialKernel,
    *,
    binning: str = "nearest",
    engine: str = "auto",
) -> FloatArray:
    """``S[k, i] = sum_j w[k, j] K(|c_i - p_j|)`` for every active cell ``i``, by convolution.

    Parameters
    ----------
    grid : the support; ``c_i`` are its cell centres.
    x, y : event positions (metres, the grid's CRS).
    weights : ``(n,)`` or ``(k, n)`` event weights; one output row per weight row.
    kernel : the spatial kernel.
    binning : ``"nearest"`` or ``"linear"`` (see the module notes).
    engine : ``"fft"``; ``"separable"`` (untruncated Gaussian only); or ``"auto"`` (default):
        separable for an untruncated Gaussian, FFT otherwise.

    Returns
    -------
    ``(k, n_units)`` array (``k = 1`` for one weight row). FFT round-off below zero is clipped.

    Notes
    -----
    The FFT's round-off is about 1e-16 of the largest value, so cells whose true value is
    below about 1e-10 of the peak (far out in a Gaussian's tail) lose relative precision. The
    untruncated Gaussian is separable, ``K(dx, dy) = g(dx) g(dy)``, so the ``"separable"``
    engine sums it exactly instead, as two dense matrix products ``G_y @ R @ G_x.T`` with the
    Toeplitz matrices of ``g`` at cell-centre offsets: every term is positive, so each cell
    keeps full relative precision, and it is as fast as the FFT at these sizes.
    """
    raster = bin_events(grid, x, y, weights, binning)
    if engine == "auto":
        gaussian = kernel.shape == "gaussian" and not math.isfinite(kernel.support_radius)
        engine = "separable" if gaussian else "fft"
    if engine == "separable":
        conv = _separable_gaussian(grid, raster, kernel)
    elif engine == "fft":
        conv = _fft_convolve(grid, raster, kernel)
    else:
        raise ValueError(f"unknown engine {engine!r}: use 'auto', 'fft' or 'separable'")
    flat = conv.reshape(conv.shape[0], -1)
    return np.ascontiguousarray(flat[:, grid.raster_index])


def _separable_gaussian(grid: Grid, raster: FloatArray, kernel: SpatialKernel) -> FloatArray:
    if kernel.shape != "gaussian" or math.isfinite(kernel.support_radius):
        raise ValueError("the separable engine needs an untruncated Gaussian kernel")
    h = kernel.bandwidth

    def toeplitz(n: int) -> FloatArray:
        offsets = np.arange(n, dtype=np.float64)
        d = grid.cell_size * (offsets[:, None] - offsets[None, :])
        return np.exp(-0.5 * (d / h) ** 2)

    gy = toeplitz(grid.ny)
    gx = toeplitz(grid.nx)
    norm = 1.0 / (2.0 * math.pi * h * h)
    return np.asarray(norm * np.matmul(np.matmul(gy, raster), gx.T), dtype=np.float64)


def _fft_convolve(grid: Grid, raster: FloatArray, kernel: SpatialKernel) -> FloatArray:
    stencil = kernel_stencil(grid, kernel)
    ry = (stencil.shape[0] - 1) // 2
    rx = (stencil.shape[1] - 1) // 2
    full = fftconvolve(raster, stencil[None, :, :], mode="full", axes=(1, 2))
    conv = np.maximum(full[:, ry : ry + grid.ny, rx : rx + grid.nx], 0.0)
    if math.isfinite(kernel.support_radius):
        # FFT round-off leaves ~1e-18 where the kernel cannot reach: restore exact zeros there
        # (cells beyond the radius of every occupied cell, found by an exact boolean dilation)
        occupied = np.any(raster != 0.0, axis=0)
        reach = binary_dilation(occupied, structure=stencil > 0.0)
        conv[:, ~reach] = 0.0
    return np.asarray(conv, dtype=np.float64)


def grid_kernel_sum_reference(
    grid: Grid,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    weights: npt.ArrayLike,
    kernel: SpatialKernel,
    *,
    binning: str = "nearest",
) -> FloatArray:
    """Plain twin of :func:`grid_kernel_sum`: bin, then sum directly over events x cells."""
    raster = bin_events(grid, x, y, weights, binning).reshape(-1, grid.nx * grid.ny)
    occupied = np.flatnonzero(np.any(raster != 0.0, axis=0))
    r, c = np.divmod(occupied, grid.nx)
    ex = grid.x0 + (c + 0.5) * grid.cell_size
    ey = grid.y0 + (r + 0.5) * grid.cell_size
    return point_kernel_sum_reference(grid.centroids, ex, ey, raster[:, occupied], kernel)


def point_kernel_sum(
    points: npt.ArrayLike,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    weights: npt.ArrayLike,
    kernel: SpatialKernel,
    *,
    chunk: int = 512,
) -> FloatArray:
    """``S[k, i] = sum_j w[k, j] K(|q_i - p_j|)`` at points ``q`` of shape ``(m, 2)``.

    Events at the same position are merged first. With a finite kernel radius, only pairs
    within it are visited (``cKDTree.sparse_distance_matrix``); otherwise the sum is dense,
    ``chunk`` points at a time.
    """
    q = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    out = np.zeros((w.shape[0], q.shape[0]), dtype=np.float64)
    if xa.size == 0 or q.shape[0] == 0:
        return out
    pos, inverse = np.unique(np.column_stack([xa, ya]), axis=0, return_inverse=True)
    merged = np.zeros((w.shape[0], pos.shape[0]), dtype=np.float64)
    for row in range(w.shape[0]):
        merged[row] = np.bincount(inverse.ravel(), weights=w[row], minlength=pos.shape[0])
    radius = kernel.support_radius
    if math.isfinite(radius):
        pairs = cKDTree(q).sparse_distance_matrix(cKDTree(pos), radius, output_type="coo_matrix")
        kv = kernel(pairs.data)
        for row in range(w.shape[0]):
            out[row] = np.bincount(
                pairs.row, weights=kv * merged[row, pairs.col], minlength=q.shape[0]
            )
        return out
    for lo in range(0, q.shape[0], chunk):
        block = q[lo : lo + chunk]
        d = np.hypot(block[:, 0:1] - pos[None, :, 0], block[:, 1:2] - pos[None, :, 1])
        out[:, lo : lo + chunk] = merged @ kernel(d).T
    return out


def point_kernel_sum_reference(
    points: npt.ArrayLike,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    weights: npt.ArrayLike,
    kernel: SpatialKernel,
) -> FloatArray:
    """Plain twin of :func:`point_kernel_sum`: the full events x points broadcast."""
    q = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    d = np.hypot(q[:, 0:1] - xa[None, :], q[:, 1:2] - ya[None, :])
    return np.asarray(w @ kernel(d).T, dtype=np.float64)


# -- integrating a kernel surface over areas ----------------------------------------------------
MAX_QUADRATURE_CELLS = 4_000_000


@dataclass(frozen=True, eq=False)
class AreaQuadrature:
    """A fine grid over a set of areas: the midpoint rule for integrals over each area.

    ``grid`` covers the areas' bounding box (padded) with every cell active; ``area_of_cell`` is
    the area containing each cell's centre (-1 if none); ``empty_areas`` lists areas smaller
    than a cell that contain no cell centre.
    """

    grid: Grid
    area_of_cell: IntArray
    empty_areas: IntArray


_QUADRATURES: weakref.WeakKeyDictionary[AreaSupport, dict[tuple[float, float], AreaQuadrature]] = (
    weakref.WeakKeyDictionary()
)


def area_quadrature(support: AreaSupport, resolution: float, pad: float = 0.0) -> AreaQuadrature:
    """The (cached) quadrature grid of ``resolution`` metres over ``support``, padded by ``pad``.

    The resolution is coarsened, if needed, so the grid holds at most 4 million cells.
    """
    cache = _QUADRATURES.setdefault(support, {})
    key = (float(resolution), float(pad))
    if key in cache:
        return cache[key]
    import shapely

    xmin, ymin, xmax, ymax = shapely.total_bounds(support.geometry_array).tolist()
    xmin, ymin, xmax, ymax = xmin - pad, ymin - pad, xmax + pad, ymax + pad
    cell = float(resolution)
    while ((xmax - xmin) / cell + 2) * ((ymax - ymin) / cell + 2) > MAX_QUADRATURE_CELLS:
        cell *= 2.0
    grid = Grid.covering(xmin, ymin, xmax, ymax, cell_size=cell, crs=support.crs)
    centres = grid.centroids
    area_of_cell = support.assign(centres[:, 0], centres[:, 1])
    has = np.zeros(support.n_units, dtype=bool)
    has[area_of_cell[area_of_cell >= 0]] = True
    quad = AreaQuadrature(grid, area_of_cell, np.flatnonzero(~has).astype(np.int64))
    cache[key] = quad
    return quad


def area_kernel_integral(
    support: AreaSupport,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    weights: npt.ArrayLike,
    kernel: SpatialKernel,
    *,
    resolution: float = 100.0,
    binning: str = "nearest",
) -> FloatArray:
    """``I[k, a] = integral over area a of sum_j w[k, j] K(|u - p_j|) du`` (midpoint rule).

    The kernel surface is computed on the :func:`area_quadrature` grid (events binned to its
    cells, :func:`grid_kernel_sum`) and each cell's value times its area is credited to the area
    containing the cell's centre. Areas containing no cell centre get the surface at their
    representative point times their area. For a density kernel the integral over the whole
    plane is ``sum_j w[k, j]``, so an area's integral is its expected share of the events.
    """
    reach = kernel.support_radius
    pad = min(reach, 4.0 * kernel.bandwidth) if math.isfinite(reach) else 4.0 * kernel.bandwidth
    quad = area_quadrature(support, resolution, pad)
    values = grid_kernel_sum(quad.grid, x, y, weights, kernel, binning=binning)
    cell_area = quad.grid.cell_size**2
    ok = quad.area_of_cell >= 0
    out = np.zeros((values.shape[0], support.n_units), dtype=np.float64)
    for row in range(values.shape[0]):
        out[row] = np.bincount(
            quad.area_of_cell[ok], weights=values[row, ok] * cell_area, minlength=support.n_units
        )
    if quad.empty_areas.size:
        small = quad.empty_areas
        at_points = point_kernel_sum(support.centroids[small], x, y, weights, kernel)
        out[:, small] = at_points * support.unit_area[small][None, :]
    return out


def area_kernel_integral_reference(
    support: AreaSupport,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    weights: npt.ArrayLike,
    kernel: SpatialKernel,
    *,
    resolution: float = 100.0,
    binning: str = "nearest",
) -> FloatArray:
    """Plain twin of :func:`area_kernel_integral`: direct sums at every quadrature cell centre."""
    reach = kernel.support_radius
    pad = min(reach, 4.0 * kernel.bandwidth) if math.isfinite(reach) else 4.0 * kernel.bandwidth
    quad = area_quadrature(support, resolution, pad)
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    out = np.zeros((w.shape[0], support.n_units), dtype=np.float64)
    cell_area = quad.grid.cell_size**2
    values = grid_kernel_sum_reference(quad.grid, x, y, w, kernel, binning=binning)
    for a in range(support.n_units):
        inside = quad.area_of_cell == a
        if inside.any():
            out[:, a] = values[:, inside].sum(axis=1) * cell_area
        else:
            point = support.centroids[a : a + 1]
            out[:, a] = (
                point_kernel_sum_reference(point, x, y, w, kernel)[:, 0] * support.unit_area[a]
            )
    return out
