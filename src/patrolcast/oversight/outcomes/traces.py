"""Importing what was delivered: GPS/AVL traces (GPX or CSV) and manual patrol-log entries.

Every row names a patrol unit by its **call sign**, which is replaced on import by a keyed hash
(HMAC-SHA256 with a force secret, :func:`pseudonymise`): the same unit keeps the same pseudonym
across files, nobody without the key can reverse or recompute it, and no name or call sign is
kept. GPX ``<name>``, ``<desc>`` and similar free-text elements are never read (they may hold
an officer's name); a GPX file's call sign is given by whoever imports it.

Imports are all-or-nothing: a file is validated completely and either becomes one
:class:`Trace` (or list of :class:`PatrolLogEntry`) or raises an
:class:`~patrolcast.errors.InputError` naming the first bad rows; :func:`write_trace` writes
through a temporary file and an atomic rename, so nothing is ever stored half.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from patrolcast.errors import InputError
from patrolcast.geo.crs import metric_crs

__all__ = [
    "PatrolLogEntry",
    "Trace",
    "pseudonymise",
    "read_gpx",
    "read_patrol_log",
    "read_trace",
    "read_trace_csv",
    "write_trace",
]

FloatArray = npt.NDArray[np.float64]
MIN_KEY_BYTES = 16
_GPX_NS = ("http://www.topografix.com/GPX/1/1", "http://www.topografix.com/GPX/1/0")


def pseudonymise(call_sign: str, key: bytes) -> str:
    """``"unit-"`` + the first 16 hex digits of HMAC-SHA256(key, call sign, case-folded)."""
    if not isinstance(key, bytes | bytearray) or len(key) < MIN_KEY_BYTES:
        raise InputError(f"the pseudonymisation key must be at least {MIN_KEY_BYTES} bytes")
    sign = " ".join(str(call_sign).split()).casefold()
    if not sign:
        raise InputError("a trace row has an empty call sign")
    return "unit-" + hmac.new(bytes(key), sign.encode(), hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class Trace:
    """GPS/AVL fixes: pseudonymous unit, time (days since epoch, UTC), metres in ``crs``."""

    unit: tuple[str, ...]
    t: FloatArray
    x: FloatArray
    y: FloatArray
    crs: str
    source: str = ""

    def __post_init__(self) -> None:
        n = len(self.unit)
        if not (len(self.t) == len(self.x) == len(self.y) == n):
            raise InputError("trace arrays must be aligned")

    def __len__(self) -> int:
        return len(self.unit)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"unit": list(self.unit), "t": self.t, "x": self.x, "y": self.y})

    @classmethod
    def concat(cls, traces: list[Trace]) -> Trace:
        if not traces:
            raise InputError("no traces to combine")
        if len({t.crs for t in traces}) != 1:
            raise InputError("traces must share one CRS")
        return cls(
            tuple(u for t in traces for u in t.unit),
            np.concatenate([t.t for t in traces]),
            np.concatenate([t.x for t in traces]),
            np.concatenate([t.y for t in traces]),
            traces[0].crs,
            ";".join(t.source for t in traces if t.source),
        )


@dataclass(frozen=True)
class PatrolLogEntry:
    """A manual patrol-log entry: a unit at a place (metres) from ``start`` to ``end`` (days)."""

    unit: str
    start: float
    end: float
    x: float
    y: float


def _bad(rows: npt.NDArray[np.bool_], what: str, first_line: int = 2) -> None:
    where = np.flatnonzero(rows)
    if where.size:
        lines = ", ".join(str(int(i) + first_line) for i in where[:5])
        more = f" and {where.size - 5} more" if where.size > 5 else ""
        raise InputError(f"{what} on line(s) {lines}{more}")


def _times(values: pd.Series, what: str = "time") -> FloatArray:
    text = values.astype("string").str.strip()
    parsed = pd.to_datetime(text, errors="coerce", utc=False, format="ISO8601")
    bad = parsed.isna().to_numpy()
    _bad(bad, f"unreadable {what} (use ISO 8601 with a zone, e.g. 2024-05-01T10:00:00Z)")
    has_zone = text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).fillna(False)
    _bad(~has_zone.to_numpy(bool), f"{what} without a time zone (times must be unambiguous)")
    utc = pd.to_datetime(text, utc=True, format="ISO8601")
    return utc.dt.as_unit("us").astype("int64").to_numpy() / 86_400e6


def _project(lon: FloatArray, lat: FloatArray, crs: str) -> tuple[FloatArray, FloatArray]:
    from pyproj import Transformer

    metric_crs(crs)
    bad = ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90))
    _bad(bad, "longitude/latitude missing or out of range")
    tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = tr.transform(lon, lat)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def read_trace_csv(
    source: Path | str,
    *,
    key: bytes,
    crs: str,
    time: str = "time",
    lon: str = "lon",
    lat: str = "lat",
    call_sign: str = "call_sign",
) -> Trace:
    """A CSV of fixes (``time, lon, lat, call_sign``; names configurable) as a :class:`Trace`.

    ``source`` is a path, or the CSV text itself when it contains a newline.
    """
    text_input = isinstance(source, str) and "\n" in source
    try:
        frame = pd.read_csv(io.StringIO(str(source)) if text_input else Path(source), dtype=str,
                            keep_default_na=False)  # fmt: skip
    except FileNotFoundError:
        raise InputError(f"{source} does not exist") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable CSV trace: {exc}") from None
    missing = [c for c in (time, lon, lat, call_sign) if c not in frame.columns]
    if missing:
        raise InputError(f"the trace lacks column(s) {', '.join(missing)}")
    if frame.empty:
        raise InputError("the trace has no fixes")
    t = _times(frame[time])
    lo = pd.to_numeric(frame[lon], errors="coerce").to_numpy(float)
    la = pd.to_numeric(frame[lat], errors="coerce").to_numpy(float)
    x, y = _project(lo, la, crs)
    signs = frame[call_sign].astype(str).str.strip()
    _bad((signs == "").to_numpy(), "empty call sign")
    units = tuple(pseudonymise(s, key) for s in signs)
    return Trace(units, t, x, y, crs, source="csv" if text_input else Path(source).name)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_gpx(source: Path | str | bytes, *, key: bytes, crs: str, call_sign: str) -> Trace:
    """Track points (``trkpt``, with ``<time>``) of a GPX 1.0/1.1 file as a :class:`Trace`.

    Files with a DOCTYPE or entity declarations are refused (no entity expansion), and so are
    points without a time or with a time without a zone.
    """
    if isinstance(source, bytes):
        data, name = source, "gpx"
    else:
        path = Path(source)
        if not path.exists():
            raise InputError(f"{path} does not exist")
        data, name = path.read_bytes(), path.name
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise InputError("GPX files with a DOCTYPE or entities are refused")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise InputError(f"not a well-formed GPX file: {exc}") from None
    if _local(root.tag) != "gpx":
        raise InputError("not a GPX file (the root element is not <gpx>)")
    times, lons, lats = [], [], []
    for el in root.iter():
        if _local(el.tag) not in ("trkpt", "rtept", "wpt"):
            continue
        when = next((c.text for c in el if _local(c.tag) == "time"), None)
        times.append((when or "").strip())
        lons.append(el.get("lon", "nan"))
        lats.append(el.get("lat", "nan"))
    if not times:
        raise InputError("the GPX file has no track points")
    t = _times(pd.Series(times), "GPX <time>")
    x, y = _project(pd.to_numeric(pd.Series(lons), errors="coerce").to_numpy(float),
                    pd.to_numeric(pd.Series(lats), errors="coerce").to_numpy(float), crs)
    unit = pseudonymise(call_sign, key)
    return Trace(tuple([unit] * len(times)), t, x, y, crs, source=name)


def read_trace(path: Path, *, key: bytes, crs: str, call_sign: str | None = None) -> Trace:
    """A ``.gpx`` (needs ``call_sign``) or ``.csv`` trace."""
    path = Path(path)
    if path.suffix.lower() == ".gpx":
        if not call_sign:
            raise InputError("a GPX trace needs the unit's call sign (--call-sign)")
        return read_gpx(path, key=key, crs=crs, call_sign=call_sign)
    if path.suffix.lower() == ".csv":
        return read_trace_csv(path, key=key, crs=crs)
    raise InputError("traces are .gpx or .csv files")


def read_patrol_log(source: Path | str, *, key: bytes, crs: str) -> list[PatrolLogEntry]:
    """Manual entries: ``call_sign, start, end, lon, lat`` (ISO times with a zone)."""
    text_input = isinstance(source, str) and "\n" in source
    try:
        frame = pd.read_csv(io.StringIO(str(source)) if text_input else Path(source), dtype=str,
                            keep_default_na=False)  # fmt: skip
    except FileNotFoundError:
        raise InputError(f"{source} does not exist") from None
    missing = [c for c in ("call_sign", "start", "end", "lon", "lat") if c not in frame.columns]
    if missing:
        raise InputError(f"the patrol log lacks column(s) {', '.join(missing)}")
    if frame.empty:
        raise InputError("the patrol log has no entries")
    start, end = _times(frame["start"], "start"), _times(frame["end"], "end")
    _bad(end <= start, "an entry ending before it starts")
    x, y = _project(pd.to_numeric(frame["lon"], errors="coerce").to_numpy(float),
                    pd.to_numeric(frame["lat"], errors="coerce").to_numpy(float), crs)
    signs = frame["call_sign"].astype(str).str.strip()
    _bad((signs == "").to_numpy(), "empty call sign")
    return [PatrolLogEntry(pseudonymise(s, key), float(a), float(b), float(px), float(py))
            for s, a, b, px, py in zip(signs, start, end, x, y, strict=True)]  # fmt: skip


def write_trace(trace: Trace, path: Path) -> Path:
    """Write a trace as Parquet through a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = trace.frame().assign(crs=trace.crs)
    fd, tmp = tempfile.mkstemp(prefix=".trace-", suffix=".parquet", dir=path.parent)
    os.close(fd)
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
