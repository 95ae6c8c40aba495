"""Grid KDE on a London-sized 250 m grid against scikit-learn's KernelDensity.

Run: ``.venv/bin/python bench/kde_bench.py [--bandwidth 300] [--repeats 5]``

The grid is the London boroughs GeoPackage clipped at 250 m (about 26,000 active cells over a
181 x 234 raster). The points are the 4,994 LSOA 2021 representative points weighted by their
recorded "violence against the person" offences in the last three months of the London
Datastore MPS file (real counts). patrolcast's grid KDE bins each point to its cell centre and
convolves with the Gaussian kernel (:func:`patrolcast.forecast.kernels.grid_kernel_sum`), with
both engines: the exact separable form the forecaster uses for an untruncated Gaussian, and
the FFT used for other kernels.
The baseline scores the same cells with ``sklearn.neighbors.KernelDensity`` (Gaussian kernel,
same bandwidth, the same binned points and weights, ``rtol=0, atol=0``); its ``score_samples``
is the log of the density divided by the total weight, so it is converted back with
``exp(.) * sum(w)``. Two sklearn settings run: the default kd-tree (``leaf_size=40``), the
timing baseline, and a kd-tree with a single leaf, which makes sklearn sum every pair plainly.
Even with ``rtol=0, atol=0`` the default tree loses relative precision for cells far out in
the Gaussian's tail (values ~1e-12 of the peak); the single-leaf run is exact, so it is the
value check. Everything runs in this process; the script prints times, ratios, and the largest
relative difference over all cells.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from patrolcast.config import default_shared_data
from patrolcast.forecast.kernels import SpatialKernel, grid_kernel_sum
from patrolcast.geo.boundaries import read_areas
from patrolcast.geo.study_area import study_area_from_file
from patrolcast.geo.support import Grid


def violence_points(data: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LSOA representative points and violence counts of the file's last three months."""
    lsoas = read_areas(data / "boundaries" / "london_lsoa2021_by_borough_shp.zip", level="lsoa")
    table = pd.read_csv(data / "london_datastore_mps" / "recorded-crime-lsoa.csv.gz")
    months = [c for c in table.columns if c.isdigit()][-3:]
    violence = table[table["major_category"].str.upper() == "VIOLENCE AGAINST THE PERSON"]
    per_lsoa = violence.groupby("lsoa_code")[months].sum().sum(axis=1)
    index = lsoas.index_of(per_lsoa.index.to_numpy())
    ok = (index >= 0) & (per_lsoa.to_numpy() > 0)
    pts = lsoas.centroids[index[ok]]
    return pts[:, 0], pts[:, 1], per_lsoa.to_numpy(dtype=np.float64)[ok]


def best_time(fn, repeats: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bandwidth", type=float, default=300.0)
    parser.add_argument("--cell-size", type=float, default=250.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--skip-single-leaf",
        action="store_true",
        help="skip the exact (single-leaf) sklearn baseline, which takes about a minute",
    )
    args = parser.parse_args()
    from sklearn.neighbors import KernelDensity

    data = default_shared_data()
    study = study_area_from_file(data / "boundaries" / "london_boroughs.gpkg")
    grid = Grid.clipped_to(study, cell_size=args.cell_size)
    x, y, w = violence_points(data)
    kernel = SpatialKernel("gaussian", args.bandwidth)
    print(
        f"grid {grid.ny} x {grid.nx} raster, {grid.n_units:,} active {args.cell_size:g} m cells; "
        f"{x.size:,} LSOA points carrying {w.sum():,.0f} violence offences; "
        f"Gaussian bandwidth {args.bandwidth:g} m"
    )

    cells = grid.assign(x, y)
    snapped = grid.centroids[cells[cells >= 0]]
    weights = w[cells >= 0]

    def sklearn_scores(leaf_size: int) -> np.ndarray:
        kde = KernelDensity(
            kernel="gaussian",
            bandwidth=args.bandwidth,
            algorithm="kd_tree",
            rtol=0.0,
            atol=0.0,
            leaf_size=leaf_size,
        )
        kde.fit(snapped, sample_weight=weights)
        return np.exp(kde.score_samples(grid.centroids)) * weights.sum()

    baselines: dict[str, tuple[float, np.ndarray]] = {}
    sizes = {"kd_tree leaf 40": 40}
    if not args.skip_single_leaf:
        sizes["kd_tree one leaf"] = max(40, len(snapped))
    for label, leaf in sizes.items():
        t, scores = best_time(lambda leaf=leaf: sklearn_scores(leaf), 1)
        baselines[label] = (t, np.asarray(scores))
        print(f"sklearn KernelDensity, {label:16s} (rtol=0, atol=0): {t * 1e3:9.1f} ms")
    first = next(iter(baselines.values()))[1]
    print(f"density range: {first.min():.3e} .. {first.max():.3e} per m2")
    for engine in ("separable", "fft"):

        def ours_fn(engine: str = engine) -> np.ndarray:
            return grid_kernel_sum(grid, x, y, w, kernel, engine=engine)[0]

        ours_t, ours_obj = best_time(ours_fn, args.repeats)
        ours = np.asarray(ours_obj)
        print(
            f"patrolcast grid KDE, {engine} engine: {ours_t * 1e3:.1f} ms (best of {args.repeats})"
        )
        for label, (t, theirs) in baselines.items():
            rel = np.abs(ours - theirs) / theirs
            print(
                f"    vs sklearn {label:16s}: {t / ours_t:7.0f} x faster; max relative "
                f"difference {rel.max():.2e}; cells differing by more than 1e-6: "
                f"{int((rel > 1e-6).sum()):,} of {rel.size:,}"
            )
    print(f"machine: {platform.machine()}, python {platform.python_version()}")


if __name__ == "__main__":
    main()
