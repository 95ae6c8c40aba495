"""Column mappings for timestamped incident files (TOML files in ``patrolcast/io/mappings``).

A mapping says which columns hold the date-time, the place and the offence, in which formats,
local time zone and coordinate reference system, and which metric CRS to project to. The
shipped mappings are documented in ``docs/readme/10-ingest.md``; a user passes a path to a
TOML file of their own with the same keys.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pyproj import CRS
from pyproj.exceptions import CRSError

from patrolcast.errors import InputError

_MISSING_TIME = ("quarantine",)


@dataclass(frozen=True)
class IncidentMapping:
    """How one publisher's incident file maps onto place, time, offence and harm."""

    name: str
    description: str
    source: str  # taxonomy vocabulary
    detect: tuple[str, ...]  # columns whose presence identifies the layout
    time_columns: tuple[str, ...]
    time_format: str
    timezone: str
    date_chars: int  # keep only the first N characters of the first time column (0: all)
    missing_time: str  # "quarantine": a row whose time-of-day column is empty is quarantined
    precision: str  # "minute" or "day"
    x: str
    y: str
    crs: str
    target_crs: str
    bbox: tuple[float, float, float, float] | None  # lon/lat (WGS84) study-area box
    offence_column: str | None
    offence_constant: str | None
    mark_column: str | None
    mark_true: tuple[str, ...]
    offence_if_marked: str | None
    key_column: str | None
    collapse_by_key: bool
    area_column: str | None
    path: str

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns a file must have (the area column is optional)."""
        return tuple(c for c in self.columns if c != self.area_column)

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns the mapping reads (every other column is dropped on ingest)."""
        cols = [*self.time_columns, self.x, self.y]
        for c in (self.offence_column, self.mark_column, self.key_column, self.area_column):
            if c:
                cols.append(c)
        return tuple(dict.fromkeys(cols))


def _get(table: dict[str, Any], key: str, kind: type, where: str, default: Any = ...) -> Any:
    if key not in table:
        if default is ...:
            raise InputError(f"mapping {where}: missing key {key!r}")
        return default
    value = table[key]
    if kind is float and isinstance(value, int):
        value = float(value)
    if not isinstance(value, kind):
        raise InputError(f"mapping {where}: {key!r} must be a {kind.__name__}")
    return value


def parse_mapping(data: dict[str, Any], origin: str) -> IncidentMapping:
    """Validate a mapping read from TOML; raise :class:`InputError` naming the bad key."""
    name = _get(data, "name", str, origin)
    time = _get(data, "time", dict, origin)
    place = _get(data, "place", dict, origin)
    offence = _get(data, "offence", dict, origin)
    mark = _get(data, "mark", dict, origin, {})
    key = _get(data, "key", dict, origin, {})
    columns = _get(time, "columns", list, f"{origin} [time]")
    if not columns or not all(isinstance(c, str) for c in columns) or len(columns) > 2:
        raise InputError(f"mapping {origin} [time]: columns must list one or two column names")
    timezone = _get(time, "timezone", str, f"{origin} [time]")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"mapping {origin}: unknown time zone {timezone!r}") from None
    missing_time = _get(time, "missing_time", str, f"{origin} [time]", "quarantine")
    if missing_time not in _MISSING_TIME:
        raise InputError(
            f"mapping {origin}: missing_time must be one of {', '.join(_MISSING_TIME)}"
        )
    precision = _get(time, "precision", str, f"{origin} [time]", "minute")
    if precision not in ("minute", "day"):
        raise InputError(f"mapping {origin}: precision must be minute or day")
    crs = _get(place, "crs", str, f"{origin} [place]")
    target = _get(place, "target_crs", str, f"{origin} [place]")
    for label, code in (("crs", crs), ("target_crs", target)):
        try:
            parsed = CRS.from_user_input(code)
        except CRSError:
            raise InputError(f"mapping {origin}: {label} {code!r} is not a known CRS") from None
        if label == "target_crs" and not parsed.is_projected:
            raise InputError(
                f"mapping {origin}: target_crs {code} must be a projected (metric) CRS"
            )
    bbox_raw = _get(place, "bbox", list, f"{origin} [place]", None)
    bbox = None
    if bbox_raw is not None:
        if len(bbox_raw) != 4 or not all(isinstance(v, int | float) for v in bbox_raw):
            raise InputError(f"mapping {origin}: bbox must be [min_lon, min_lat, max_lon, max_lat]")
        bbox = (float(bbox_raw[0]), float(bbox_raw[1]), float(bbox_raw[2]), float(bbox_raw[3]))
        if bbox[0] >= bbox[2] or bbox[1] >= bbox[3]:
            raise InputError(f"mapping {origin}: bbox minimum must be below maximum")
    off_col = _get(offence, "column", str, f"{origin} [offence]", None)
    off_const = _get(offence, "constant", str, f"{origin} [offence]", None)
    if (off_col is None) == (off_const is None):
        raise InputError(f"mapping {origin} [offence]: give exactly one of column or constant")
    mark_col = _get(mark, "column", str, f"{origin} [mark]", None)
    mark_true = tuple(v.casefold() for v in _get(mark, "true_values", list, f"{origin} [mark]", []))
    if mark_col and not mark_true:
        raise InputError(f"mapping {origin} [mark]: true_values must list the marked values")
    return IncidentMapping(
        name=name,
        description=_get(data, "description", str, origin, ""),
        source=_get(data, "source", str, origin, name),
        detect=tuple(_get(data, "detect", list, origin, [])),
        time_columns=tuple(columns),
        time_format=_get(time, "format", str, f"{origin} [time]"),
        timezone=timezone,
        date_chars=_get(time, "date_chars", int, f"{origin} [time]", 0),
        missing_time=missing_time,
        precision=precision,
        x=_get(place, "x", str, f"{origin} [place]"),
        y=_get(place, "y", str, f"{origin} [place]"),
        crs=crs,
        target_crs=target,
        bbox=bbox,
        offence_column=off_col,
        offence_constant=off_const,
        mark_column=mark_col,
        mark_true=mark_true,
        offence_if_marked=_get(mark, "offence_if_marked", str, f"{origin} [mark]", None),
        key_column=_get(key, "column", str, f"{origin} [key]", None),
        collapse_by_key=_get(key, "collapse", bool, f"{origin} [key]", False),
        area_column=_get(place, "area", str, f"{origin} [place]", None),
        path=origin,
    )


def shipped_mapping_names() -> list[str]:
    """Names of the mappings shipped in ``patrolcast/io/mappings``."""
    folder = resources.files("patrolcast.io") / "mappings"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_mapping(name_or_path: str | Path) -> IncidentMapping:
    """A shipped mapping by name (``chicago``, ``nypd``, ...) or a TOML file by path."""
    text = str(name_or_path)
    if text.endswith(".toml") or Path(text).exists():
        path = Path(text)
        if not path.is_file():
            raise InputError(f"mapping file {path} does not exist")
        origin = str(path)
        raw = path.read_bytes()
    else:
        names = shipped_mapping_names()
        if text not in names:
            raise InputError(
                f"unknown mapping {text!r} (shipped: {', '.join(names)}; or a .toml path)"
            )
        origin = f"{text} (shipped)"
        raw = (resources.files("patrolcast.io") / "mappings" / f"{text}.toml").read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"mapping {origin} is not valid TOML: {exc}") from None
    return parse_mapping(data, origin)


def shipped_mappings() -> list[IncidentMapping]:
    return [load_mapping(n) for n in shipped_mapping_names()]


def detect_mapping(header: tuple[str, ...]) -> IncidentMapping | None:
    """The shipped mapping whose ``detect`` columns are all in ``header`` (most specific wins)."""
    have = set(header)
    best: IncidentMapping | None = None
    for mapping in shipped_mappings():
        if (
            mapping.detect
            and set(mapping.detect) <= have
            and (best is None or len(mapping.detect) > len(best.detect))
        ):
            best = mapping
    return best
