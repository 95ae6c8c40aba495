"""Places the governance workflow knows: borough codes and the boroughs an area touches.

Borough codes are GSS codes (``E09000033``: a country letter E, W, S or N and eight digits).
Free text typed as a borough (a name, an address, a date of birth, a phone number) is refused
before it can reach a record, a log or a transparency report; the refusal never repeats it.

Public API
----------
``GSS_CODE``
    The compiled pattern ``[EWSN]\\d{8}`` (use ``fullmatch``).
``borough_code(text, *, what="borough code") -> str``
    The code, stripped and upper-cased, if it fullmatches ``GSS_CODE``; else an InputError.
``BoroughList``
    The known boroughs: ``codes``, ``names`` (and their polygons in ``crs``). ``code in list``,
    ``list.name_of(code)``, ``list.require(code)`` (an InputError for an unknown code),
    ``list.intersecting(geom, crs) -> tuple[str, ...]`` (positive-area intersection) and
    ``list.covers(geom, crs, tolerance_m2=...) -> bool``.
``load_borough_list(path=None, *, crs="EPSG:27700") -> BoroughList``
    The boroughs of a boundary file (default: ``<shared data>/boundaries/london_boroughs.gpkg``),
    read with :mod:`patrolcast.geo.boundaries` and cached.
``boroughs_intersecting(wkt, crs, boroughs) -> tuple[str, ...]``
    The codes of every borough a WKT polygon (in ``crs``) intersects with positive area.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from patrolcast.errors import InputError

__all__ = [
    "GSS_CODE",
    "BoroughList",
    "borough_code",
    "boroughs_intersecting",
    "load_borough_list",
]

GSS_CODE = re.compile(r"[EWSN]\d{8}", re.ASCII)


def borough_code(text: object, *, what: str = "borough code") -> str:
    """``text`` as a GSS code (stripped, upper-cased) or an InputError that does not echo it."""
    code = text.strip().upper() if isinstance(text, str) else ""
    if not GSS_CODE.fullmatch(code):
        raise InputError(
            f"{what} must be a GSS code: a letter E, W, S or N and 8 digits (e.g. E09000033); "
            "the text given is not repeated here"
        )
    return code


@dataclass(frozen=True)
class BoroughList:
    """Known boroughs: codes, names and (optionally) their polygons in ``crs``."""

    codes: tuple[str, ...]
    names: tuple[str, ...]
    crs: str = "EPSG:27700"
    geometries: tuple[Any, ...] = field(default=(), repr=False, compare=False)
    source: str = ""

    def __post_init__(self) -> None:
        if len(self.codes) != len(self.names):
            raise InputError("a borough list needs one name per code")
        if self.geometries and len(self.geometries) != len(self.codes):
            raise InputError("a borough list needs one polygon per code (or none)")
        for code in self.codes:
            borough_code(code, what="a borough list's code")
        if len(set(self.codes)) != len(self.codes):
            raise InputError("a borough list's codes must be unique")

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self.codes)

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def _index(self) -> dict[str, int]:
        cached: dict[str, int] | None = self.__dict__.get("_index_cache")
        if cached is None:
            cached = {c: i for i, c in enumerate(self.codes)}
            object.__setattr__(self, "_index_cache", cached)
        return cached

    def name_of(self, code: str) -> str:
        return self.names[self._index[self.require(code)]]

    def require(self, code: object, *, what: str = "borough code") -> str:
        """The GSS code if it is in the list; else an InputError (the text is not echoed)."""
        checked = borough_code(code, what=what)
        if checked not in self._index:
            raise InputError(
                f"{what} {checked} is not a known borough"
                + (f" of {self.source}" if self.source else "")
            )
        return checked

    def _in_own_crs(self, geom: Any, crs: str) -> Any:
        if not self.geometries:
            raise InputError("this borough list has no polygons: give every borough code")
        from patrolcast.geo.crs import crs_name

        if crs_name(crs) == crs_name(self.crs):
            return geom
        import numpy as np
        import shapely
        from pyproj import Transformer

        to = Transformer.from_crs(crs, self.crs, always_xy=True)
        return shapely.transform(
            geom, lambda xy: np.column_stack(to.transform(xy[:, 0], xy[:, 1]))
        )

    def intersecting(self, geom: Any, crs: str) -> tuple[str, ...]:
        """Codes of the boroughs ``geom`` (a shapely polygon in ``crs``) overlaps with area > 0."""
        import shapely

        g = self._in_own_crs(geom, crs)
        areas = shapely.area(shapely.intersection(list(self.geometries), g))
        return tuple(sorted(c for c, a in zip(self.codes, areas, strict=True) if a > 0))

    def covers(self, geom: Any, crs: str, *, tolerance_m2: float = 1.0) -> bool:
        """True when at most ``tolerance_m2`` of ``geom`` lies outside every borough."""
        import shapely

        g = self._in_own_crs(geom, crs)
        outside = shapely.difference(g, shapely.union_all(list(self.geometries)))
        return float(shapely.area(outside)) <= tolerance_m2


def default_boroughs_path() -> Path:
    from patrolcast.config import default_shared_data

    return default_shared_data() / "boundaries" / "london_boroughs.gpkg"


def load_borough_list(path: str | Path | None = None, *, crs: str = "EPSG:27700") -> BoroughList:
    """The boroughs of a boundary file (London's 33 by default), read once and cached."""
    target = Path(path) if path is not None else default_boroughs_path()
    if not target.exists():
        raise InputError(f"borough boundary file {target} does not exist")
    return _load_cached(str(target.resolve()), crs, target.stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _load_cached(path: str, crs: str, _mtime_ns: int) -> BoroughList:
    from patrolcast.geo.boundaries import read_borough_boundaries

    support = read_borough_boundaries(path, crs=crs)
    return BoroughList(
        codes=tuple(support.ids),
        names=tuple(support.names),
        crs=support.crs,
        geometries=tuple(support.geometries),
        source=Path(path).name,
    )


def boroughs_intersecting(wkt: str, crs: str, boroughs: BoroughList) -> tuple[str, ...]:
    """Codes of every borough the polygon ``wkt`` (in ``crs``) intersects with positive area."""
    import shapely

    return boroughs.intersecting(shapely.from_wkt(wkt), crs)
