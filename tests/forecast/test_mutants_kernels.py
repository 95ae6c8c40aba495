"""Kernel tests written to kill surviving mutants (issue 15, scripts/mutation.sh kernels):
the kernel's argument checks and their messages, float64 values whatever the distances' dtype,
the FFT stencil's extent, and the quadrature grid's cell cap."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from patrolcast.forecast import kernels
from patrolcast.forecast.kernels import SpatialKernel, area_quadrature, kernel_stencil
from patrolcast.geo.support import AreaSupport, Grid

CRS = "EPSG:27700"


def test_any_positive_radius_is_accepted_and_zero_or_less_refused() -> None:
    # a radius below one metre is still a radius: the kernel reaches only its own point
    k = SpatialKernel("gaussian", 100.0, radius=0.5)
    np.testing.assert_array_equal(k([0.0, 0.4, 0.6]) > 0, [True, True, False])
    for bad in (0.0, -0.5):
        with pytest.raises(ValueError, match="radius must be positive"):
            SpatialKernel("gaussian", 100.0, radius=bad)


@pytest.mark.parametrize("bandwidth", [math.inf, math.nan, -10.0, 0.0])
def test_bandwidth_must_be_a_positive_finite_number(bandwidth: float) -> None:
    with pytest.raises(ValueError, match="bandwidth must be a positive number of metres"):
        SpatialKernel("quartic", bandwidth)


def test_inverse_distance_without_radius_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="^the inverse-distance kernel needs a finite radius$"):
        SpatialKernel("inverse_distance", 100.0)
    assert SpatialKernel("inverse_distance", 100.0, radius=500.0).support_radius == 500.0


@pytest.mark.parametrize("shape", ["gaussian", "quartic", "inverse_distance"])
def test_kernel_values_are_float64_whatever_the_distances_dtype(shape: str) -> None:
    kernel = SpatialKernel(shape, 123.0, radius=400.0)
    d64 = np.array([0.0, 17.3, 99.9, 150.7, 333.3])
    for d in (d64.astype(np.float32), d64.astype(np.float32).tolist()):
        got = kernel(d)
        assert got.dtype == np.float64
        # the float32 distances, evaluated in double precision
        np.testing.assert_allclose(got, kernel(np.asarray(d, dtype=np.float64)), rtol=1e-15)


@pytest.mark.parametrize(
    ("kernel", "reach"),
    [
        (SpatialKernel("quartic", 250.0), 3),  # 2.5 cells: offsets up to 3 cells
        (SpatialKernel("gaussian", 100.0, radius=300.0), 3),
        (SpatialKernel("inverse_distance", 50.0, radius=120.0), 2),
    ],
    ids=lambda v: getattr(v, "shape", str(v)),
)
def test_the_stencil_of_a_finite_kernel_stops_at_its_reach(
    kernel: SpatialKernel, reach: int
) -> None:
    grid = Grid.covering(0, 0, 4_999, 3_999, cell_size=100.0, crs=CRS)  # 50 x 40 cells
    stencil = kernel_stencil(grid, kernel)
    assert stencil.shape == (2 * reach + 1, 2 * reach + 1)
    assert stencil[reach, reach] == pytest.approx(float(kernel(0.0)))
    # an untruncated kernel spans the whole grid
    wide = kernel_stencil(grid, SpatialKernel("gaussian", 100.0))
    assert wide.shape == (2 * grid.ny - 1, 2 * grid.nx - 1)


def _one_box(size: float) -> AreaSupport:
    return AreaSupport(("A",), ("a",), (shapely.box(0.0, 0.0, size, size),), CRS)


def test_quadrature_keeps_the_resolution_while_the_cap_allows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a 1,000 m box at 100 m: at most (10 + 2) x (10 + 2) = 144 cells counted against the cap
    monkeypatch.setattr(kernels, "MAX_QUADRATURE_CELLS", 144)
    quad = area_quadrature(_one_box(1_000.0), 100.0)
    assert quad.grid.cell_size == 100.0
    assert quad.grid.nx * quad.grid.ny <= 144


def test_quadrature_coarsens_by_doubling_until_under_the_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kernels, "MAX_QUADRATURE_CELLS", 143)
    quad = area_quadrature(_one_box(1_000.0), 100.0)
    assert quad.grid.cell_size == 200.0
    monkeypatch.setattr(kernels, "MAX_QUADRATURE_CELLS", 30)  # (5 + 2)^2 = 49 > 30 at 200 m
    quad = area_quadrature(_one_box(1_000.0), 50.0)  # a new resolution: not cached
    assert quad.grid.cell_size == 400.0
    assert quad.grid.nx * quad.grid.ny <= 30


def test_quadrature_grid_covers_the_padded_bounds() -> None:
    support = AreaSupport(("A",), ("a",), (shapely.box(1_000.0, 2_000.0, 1_900.0, 2_600.0),), CRS)
    quad = area_quadrature(support, 50.0, pad=300.0)
    g = quad.grid
    assert g.x0 <= 700.0 and g.y0 <= 1_700.0
    assert g.x0 + g.nx * g.cell_size >= 2_200.0 and g.y0 + g.ny * g.cell_size >= 2_900.0
    # the area's cells are those whose centres lie in it: 18 x 12 cells of 50 m
    assert np.sum(quad.area_of_cell == 0) == 18 * 12
    assert quad.empty_areas.size == 0


def test_binning_defaults_to_the_nearest_cell_centre() -> None:
    grid = Grid.covering(0, 0, 999, 999, cell_size=100.0, crs=CRS)
    x, y, w = [149.0, 520.0], [151.0, 980.0], [1.0, 2.0]
    np.testing.assert_array_equal(
        kernels.bin_events(grid, x, y, w), kernels.bin_events(grid, x, y, w, "nearest")
    )
