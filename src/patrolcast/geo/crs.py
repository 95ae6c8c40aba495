"""Coordinate reference systems: check the internal CRS is metric, project points into it.

The product works in one projected CRS in metres per deployment (British National Grid,
EPSG:27700, in England and Wales). Points arrive as WGS84 longitude/latitude (data.police.uk,
US open data) or in a publisher's projected CRS (NY State Plane feet) and are converted once, at
the edge, with pyproj; the transformation pyproj used is reported, not hidden.

The transformation caveat
-------------------------
pyproj's wheels ship no transformation grids and network access is off, so for WGS84 to
British National Grid PROJ cannot use OSTN15 (grid ``uk_os_OSTN15_NTv2_OSGBtoETRS.tif``, about
0.1 m) and falls back to the 7-parameter Helmert transformation "OSGB36 to WGS 84 (6)",
accurate to about 2 m (EPSG's figure; a few metres in practice). That is ample for 100-250 m
cells, but the report says so. Installing Debian's ``proj-data`` package or placing the grid
file in PROJ's data directory gives OSTN15 accuracy without any code change.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pyproj
from pyproj.transformer import TransformerGroup

from patrolcast.errors import InputError

FloatArray = npt.NDArray[np.float64]
WGS84 = "EPSG:4326"


def metric_crs(crs: str | int | pyproj.CRS) -> pyproj.CRS:
    """The CRS, checked to be projected with metre axes; :class:`InputError` otherwise."""
    try:
        parsed = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError:
        raise InputError(f"unknown CRS {crs!r}: give e.g. EPSG:27700") from None
    if not parsed.is_projected:
        raise InputError(
            f"CRS {crs} is not projected (it is in degrees): use a metric CRS such as EPSG:27700"
        )
    units = {axis.unit_name for axis in parsed.axis_info}
    if units != {"metre"}:
        raise InputError(
            f"CRS {crs} has axes in {', '.join(sorted(units))}, not metres: "
            "project to a metric CRS (e.g. UTM) for grids and distances"
        )
    return parsed


def crs_name(crs: str | int | pyproj.CRS) -> str:
    """``AUTHORITY:CODE`` for a CRS when it has one (``"EPSG:27700"``), else its WKT."""
    parsed = pyproj.CRS.from_user_input(crs)
    auth = parsed.to_authority()
    return f"{auth[0]}:{auth[1]}" if auth else parsed.to_wkt()


@dataclass(frozen=True)
class TransformReport:
    """Which coordinate operation pyproj used, and how accurate it is.

    Attributes
    ----------
    source, target : the CRS names.
    operation : PROJ's description of the operation used.
    accuracy_m : its stated accuracy in metres (``None`` if PROJ does not know).
    best_unavailable : a more accurate operation that could not be used, if any.
    missing_grids : the grid files that operation needs.
    """

    source: str
    target: str
    operation: str
    accuracy_m: float | None
    best_unavailable: str | None
    missing_grids: tuple[str, ...]

    @property
    def uses_fallback(self) -> bool:
        """True when a better, grid-based transformation exists but its grid is absent."""
        return self.best_unavailable is not None

    @property
    def note(self) -> str:
        """One sentence for logs, reports and the README."""
        acc = "unknown accuracy" if self.accuracy_m is None else f"about {self.accuracy_m:g} m"
        text = f"{self.source} -> {self.target} via '{self.operation}' ({acc})"
        if self.best_unavailable:
            grids = ", ".join(self.missing_grids) or "a grid file"
            text += (
                f"; the more accurate '{self.best_unavailable}' needs {grids}, which is not "
                "installed (install proj-data or the grid for it)"
            )
        return text


@lru_cache(maxsize=32)
def _transformer(source: str, target: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


@lru_cache(maxsize=32)
def _unavailable(source: str, target: str) -> tuple[str | None, tuple[str, ...]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        group = TransformerGroup(source, target, always_xy=True)
    if group.best_available or not group.unavailable_operations:
        return None, ()
    best = group.unavailable_operations[0]
    return best.name, tuple(g.short_name for g in best.grids if not g.available)


def transform(
    x: npt.ArrayLike, y: npt.ArrayLike, *, source: str, target: str
) -> tuple[FloatArray, FloatArray, TransformReport]:
    """Transform coordinates (``x`` = easting or longitude, always x-then-y order).

    ``target`` must be a metric projected CRS. Non-finite inputs stay non-finite.

    Returns
    -------
    x, y : float arrays in ``target``.
    report : the operation used (see :class:`TransformReport`).
    """
    metric_crs(target)
    src, dst = crs_name(source), crs_name(target)
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    if src == dst:
        return xa.copy(), ya.copy(), TransformReport(src, dst, "identity", 0.0, None, ())
    tr = _transformer(src, dst)
    ok = np.isfinite(xa) & np.isfinite(ya)
    out_x = np.full(xa.shape, np.nan)
    out_y = np.full(ya.shape, np.nan)
    probe_x, probe_y = (xa[ok], ya[ok]) if ok.any() else (np.zeros(1), np.zeros(1))
    tx, ty = tr.transform(probe_x, probe_y)
    if ok.any():
        out_x[ok], out_y[ok] = tx, ty
    used = tr.get_last_used_operation()
    accuracy = float(used.accuracy) if used.accuracy is not None and used.accuracy >= 0 else None
    best, grids = _unavailable(src, dst)
    report = TransformReport(src, dst, used.description, accuracy, best, grids)
    return out_x, out_y, report


def lonlat_to(
    lon: npt.ArrayLike, lat: npt.ArrayLike, crs: str = "EPSG:27700"
) -> tuple[FloatArray, FloatArray, TransformReport]:
    """Project WGS84 longitude/latitude to the metric ``crs``, reporting the operation used."""
    return transform(lon, lat, source=WGS84, target=crs)
