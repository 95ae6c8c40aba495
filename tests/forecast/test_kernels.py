"""Spatial kernels: the FFT grid sum and the radius sum against their plain reference twins."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from scipy import integrate, stats

from patrolcast.forecast.kernels import (
    SpatialKernel,
    area_kernel_integral,
    area_kernel_integral_reference,
    bin_events,
    grid_kernel_sum,
    grid_kernel_sum_reference,
    point_kernel_sum,
    point_kernel_sum_reference,
)
from patrolcast.geo.support import AreaSupport, Grid

CRS = "EPSG:27700"


def _grid(nx: int = 37, ny: int = 23, cell: float = 100.0) -> Grid:
    g = Grid.covering(0.0, 0.0, nx * cell - 1, ny * cell - 1, cell_size=cell, crs=CRS)
    rng = np.random.default_rng(5)
    active = rng.random(g.shape) < 0.8
    return Grid(g.x0, g.y0, g.cell_size, g.nx, g.ny, CRS, active)


def _points(grid: Grid, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(grid.x0, grid.x0 + grid.nx * grid.cell_size, n)
    y = rng.uniform(grid.y0, grid.y0 + grid.ny * grid.cell_size, n)
    w = np.vstack([rng.integers(1, 4, n).astype(float), rng.uniform(0.5, 50, n)])
    return x, y, w


@pytest.mark.parametrize(
    "kernel",
    [
        SpatialKernel("gaussian", 150.0),
        SpatialKernel("gaussian", 220.0, radius=730.0),
        SpatialKernel("quartic", 410.0),
        SpatialKernel("inverse_distance", 100.0, radius=430.0),
    ],
    ids=lambda k: f"{k.shape}-{k.bandwidth:g}-{k.radius:g}",
)
@pytest.mark.parametrize("binning", ["nearest", "linear"])
def test_fft_grid_sum_equals_direct_sum(kernel: SpatialKernel, binning: str) -> None:
    grid = _grid()
    x, y, w = _points(grid, 300, seed=11)
    fast = grid_kernel_sum(grid, x, y, w, kernel, binning=binning)
    slow = grid_kernel_sum_reference(grid, x, y, w, kernel, binning=binning)
    assert fast.shape == (2, grid.n_units)
    scale = slow.max()
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12 * scale)


@pytest.mark.parametrize("engine", ["fft", "separable"])
def test_both_engines_equal_direct_sum_for_untruncated_gaussian(engine: str) -> None:
    grid = _grid()
    x, y, w = _points(grid, 200, seed=21)
    kernel = SpatialKernel("gaussian", 130.0)
    fast = grid_kernel_sum(grid, x, y, w, kernel, engine=engine)
    slow = grid_kernel_sum_reference(grid, x, y, w, kernel)
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12 * slow.max())


def test_separable_gaussian_keeps_relative_precision_in_far_tails() -> None:
    # one event in a corner of a wide grid: far cells hold values ~1e-100 of the peak
    grid = Grid.covering(0, 0, 3_999, 1_999, cell_size=100.0, crs=CRS)
    kernel = SpatialKernel("gaussian", 150.0)
    x, y, w = np.array([50.0, 250.0]), np.array([50.0, 50.0]), np.array([1.0, 2.0])
    exact = grid_kernel_sum_reference(grid, x, y, w, kernel)[0]
    sep = grid_kernel_sum(grid, x, y, w, kernel, engine="separable")[0]
    assert exact.min() < 1e-100 * exact.max() and exact.min() > 0
    np.testing.assert_allclose(sep, exact, rtol=1e-12)  # no absolute slack at all
    # auto picks the exact engine for an untruncated Gaussian
    np.testing.assert_array_equal(grid_kernel_sum(grid, x, y, w, kernel)[0], sep)
    with pytest.raises(ValueError, match="untruncated Gaussian"):
        grid_kernel_sum(grid, x, y, w, SpatialKernel("quartic", 100.0), engine="separable")
    with pytest.raises(ValueError, match="engine"):
        grid_kernel_sum(grid, x, y, w, kernel, engine="gpu")


def test_fft_equals_exact_sum_for_points_at_cell_centres() -> None:
    grid = _grid()
    rng = np.random.default_rng(3)
    centres = grid.centroids[rng.choice(grid.n_units, 150)]
    w = rng.uniform(1, 10, 150)
    kernel = SpatialKernel("gaussian", 180.0)
    for binning in ("nearest", "linear"):
        fast = grid_kernel_sum(
            grid, centres[:, 0], centres[:, 1], w, kernel, binning=binning, engine="fft"
        )[0]
        cx, cy = centres[:, 0], centres[:, 1]
        exact = point_kernel_sum_reference(grid.centroids, cx, cy, w, kernel)[0]
        # relative to each value: cells far from every event still agree to 1e-9
        np.testing.assert_allclose(fast, exact, rtol=1e-9, atol=1e-12 * exact.max())


def test_linear_binning_is_closer_to_exact_positions_than_nearest() -> None:
    grid = _grid(cell=100.0)
    x, y, w = _points(grid, 400, seed=8)
    kernel = SpatialKernel("gaussian", 200.0)
    exact = point_kernel_sum_reference(grid.centroids, x, y, w[0], kernel)[0]
    errs = {
        b: np.abs(grid_kernel_sum(grid, x, y, w[0], kernel, binning=b)[0] - exact).sum()
        for b in ("nearest", "linear")
    }
    assert errs["linear"] < errs["nearest"]


def test_binning_conserves_weight_inside_the_raster() -> None:
    grid = _grid()
    inner = Grid.covering(0, 0, 3699, 2299, cell_size=100.0, crs=CRS)
    rng = np.random.default_rng(2)
    # well inside: linear binning cannot spill over the edge
    x = rng.uniform(200, 3400, 50)
    y = rng.uniform(200, 2000, 50)
    w = rng.uniform(1, 3, 50)
    for g in (grid, inner):
        for binning in ("nearest", "linear"):
            assert bin_events(g, x, y, w, binning).sum() == pytest.approx(w.sum(), rel=1e-12)
    outside = bin_events(grid, [-50.0, 1e9], [10.0, 10.0], [1.0, 1.0], "nearest")
    assert outside.sum() == 0.0


@pytest.mark.parametrize(
    "kernel",
    [
        SpatialKernel("gaussian", 300.0),
        SpatialKernel("gaussian", 300.0, radius=900.0),
        SpatialKernel("quartic", 350.0),
        SpatialKernel("inverse_distance", 250.0, radius=400.0),
    ],
    ids=lambda k: f"{k.shape}-{k.radius:g}",
)
def test_point_sum_equals_reference(kernel: SpatialKernel) -> None:
    rng = np.random.default_rng(4)
    q = rng.uniform(0, 5000, (200, 2))
    x = np.round(rng.uniform(0, 5000, 600), -2)  # repeated positions get merged
    y = np.round(rng.uniform(0, 5000, 600), -2)
    w = rng.uniform(0, 5, (2, 600))
    fast = point_kernel_sum(q, x, y, w, kernel, chunk=37)
    slow = point_kernel_sum_reference(q, x, y, w, kernel)
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-15 * slow.max())


@pytest.mark.parametrize("shape", ["gaussian", "quartic"])
def test_density_kernels_integrate_to_one(shape: str) -> None:
    kernel = SpatialKernel(shape, 250.0)
    total, _ = integrate.quad(lambda r: float(kernel(r)) * 2 * math.pi * r, 0, 5000, limit=200)
    assert total == pytest.approx(1.0, rel=1e-6)


def test_inverse_distance_weights_follow_bowers() -> None:
    kernel = SpatialKernel("inverse_distance", 50.0, radius=400.0)
    np.testing.assert_allclose(
        kernel([0.0, 50.0, 100.0, 400.0, 401.0]), [1, 1 / 2, 1 / 3, 1 / 9, 0]
    )


@pytest.mark.parametrize(
    "args",
    [("cosine", 100.0), ("gaussian", 0.0), ("gaussian", 100.0, -1.0), ("inverse_distance", 10.0)],
)
def test_bad_kernels_refused(args: tuple) -> None:
    with pytest.raises(ValueError):
        SpatialKernel(*args)


def _boxes_support(n_x: int = 4, n_y: int = 3, size: float = 1_000.0) -> AreaSupport:
    boxes = [
        shapely.box(i * size, j * size, (i + 1) * size, (j + 1) * size)
        for i in range(n_x)
        for j in range(n_y)
    ]
    ids = tuple(f"B{k:02d}" for k in range(len(boxes)))
    return AreaSupport(ids, ids, tuple(boxes), CRS)


def test_area_integral_matches_closed_form_gaussian_over_boxes() -> None:
    # the integral of a Gaussian over a box is a product of normal CDF differences
    areas = _boxes_support()
    rng = np.random.default_rng(6)
    x = rng.uniform(200, 3_800, 30)
    y = rng.uniform(200, 2_800, 30)
    w = rng.uniform(1, 4, 30)
    h = 300.0
    got = area_kernel_integral(
        areas, x, y, w, SpatialKernel("gaussian", h), resolution=25.0, binning="linear"
    )[0]
    expected = np.zeros(areas.n_units)
    for k, box in enumerate(areas.geometries):
        x0, y0, x1, y1 = box.bounds
        px = stats.norm.cdf((x1 - x) / h) - stats.norm.cdf((x0 - x) / h)
        py = stats.norm.cdf((y1 - y) / h) - stats.norm.cdf((y0 - y) / h)
        expected[k] = np.sum(w * px * py)
    np.testing.assert_allclose(got, expected, rtol=2e-3, atol=1e-4 * w.sum())
    # nearly all the mass lands in the boxes (events are 200 m or more inside the outer edge)
    assert got.sum() == pytest.approx(expected.sum(), rel=1e-3)


@pytest.mark.parametrize(
    "kernel",
    [SpatialKernel("gaussian", 250.0), SpatialKernel("inverse_distance", 250.0, radius=400.0)],
    ids=lambda k: k.shape,
)
def test_area_integral_equals_reference(kernel: SpatialKernel) -> None:
    areas = _boxes_support(3, 2)
    tiny = shapely.box(1_490, 990, 1_510, 1_010)  # contains no 100 m cell centre
    areas = AreaSupport(
        (*areas.ids, "TINY"), (*areas.names, "tiny"), (*areas.geometries, tiny), CRS
    )
    rng = np.random.default_rng(9)
    x = rng.uniform(0, 3_000, 40)
    y = rng.uniform(0, 2_000, 40)
    w = np.vstack([np.ones(40), rng.uniform(1, 9, 40)])
    fast = area_kernel_integral(areas, x, y, w, kernel, resolution=100.0)
    slow = area_kernel_integral_reference(areas, x, y, w, kernel, resolution=100.0)
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12 * slow.max())
    assert fast[0, -1] > 0  # the tiny area falls back to its point value times its area
