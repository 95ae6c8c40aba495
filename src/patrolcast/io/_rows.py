"""Row-level checks and the pieces every reader shares."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from patrolcast.io import _accounting as acc
from patrolcast.io._fast import PointCache
from patrolcast.io._values import Box, bbox_in, project

# Columns describing a person (victim, suspect or searched person). They are never stored; in
# quarantined raw text their values are blanked. Stop-and-search ethnicity is the one exception
# (kept for aggregate disproportionality checks), handled by the stop-and-search reader.
_PERSONAL = re.compile(
    r"(^|[^a-z])(age|sex|race|gender|latino|ethnicity|ethnic|wound)([^a-z]|$)", re.I
)


def personal_columns(header: tuple[str, ...], *, keep: tuple[str, ...] = ()) -> set[str]:
    """Header columns that describe a person, except those in ``keep``."""
    return {c for c in header if _PERSONAL.search(c) and c not in keep}


def redacted_line(
    values: list[str], header: tuple[str, ...], personal: set[str], delimiter: str
) -> str:
    """A row as delimited text with the values of personal columns blanked."""
    out = []
    for i, value in enumerate(values):
        if i < len(header) and header[i] in personal:
            value = ""
        out.append(value)
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="").writerow(out)
    return buf.getvalue()


_WITHHELD = "[raw text withheld: could not separate personal fields]"


def redact_text(text: str, header: tuple[str, ...], personal: set[str], delimiter: str) -> str:
    """Blank personal columns of a raw (possibly malformed) line, by field position."""
    if not personal:
        return text
    try:
        values = next(csv.reader([text], delimiter=delimiter), [])
    except csv.Error:
        return _WITHHELD
    if len(values) != len(header):  # fields shifted: personal values may sit anywhere
        return _WITHHELD
    return redacted_line(values, header, personal, delimiter)


class Checks:
    """The first failing check of each row (no reason while a row passes).

    Reasons are kept as small integer codes (one per distinct reason) with a running mask of
    the rows still passing, so a check costs two boolean operations on the block.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self._code = np.zeros(n, dtype=np.int8)
        self._names: list[str | None] = [None]
        self._ok = np.ones(n, dtype=bool)

    def fail(self, mask: npt.NDArray[np.bool_], reason: str) -> None:
        hit = mask & self._ok
        if not hit.any():
            return
        if reason not in self._names:
            self._names.append(reason)
        self._code[hit] = self._names.index(reason)
        self._ok = self._ok & ~hit

    @property
    def ok(self) -> npt.NDArray[np.bool_]:
        return self._ok

    @property
    def reason(self) -> npt.NDArray[np.object_]:
        """The failing reason of each row (None where the row passes)."""
        return np.array(self._names, dtype=object)[self._code]


@dataclass
class Rejected:
    """Rows of a block that go to quarantine: positions in the block and reasons."""

    positions: npt.NDArray[np.int64]
    reasons: npt.NDArray[np.object_]


@dataclass
class Processed:
    """What a reader makes of one block."""

    records: (
        pd.DataFrame
    )  # EVENT_SCHEMA columns except event_id/file_id, plus "_hash", "_keyed", "_pos"
    rejected: Rejected
    notes: Counter[str] = field(default_factory=Counter)


def check_points(
    checks: Checks,
    xs: npt.NDArray[np.float64],
    ys: npt.NDArray[np.float64],
    *,
    source_crs: str,
    target_crs: str,
    bbox_lonlat: tuple[float, float, float, float] | Box | None,
    raw_missing: npt.NDArray[np.bool_],
    cache: PointCache | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Validate coordinates, project the good ones once (``cache``: points projected before
    in the same ingest), and apply the study-area box."""
    checks.fail(raw_missing, acc.NO_COORDINATES)
    checks.fail(np.isnan(xs) | np.isnan(ys), acc.BAD_COORDINATES)
    checks.fail((xs == 0) | (ys == 0), acc.ZERO_COORDINATES)
    px = np.full(len(xs), np.nan)
    py = np.full(len(xs), np.nan)
    good = checks.ok
    if good.any():
        px[good], py[good] = project(xs[good], ys[good], source_crs, target_crs, cache)
        bad = ~np.isfinite(px) | ~np.isfinite(py)
        if bbox_lonlat is not None:
            x0, y0, x1, y1 = bbox_in(bbox_lonlat, target_crs)
            with np.errstate(invalid="ignore"):
                bad |= (px < x0) | (px > x1) | (py < y0) | (py > y1)
        checks.fail(good & bad, acc.OUTSIDE)
    return px, py


def blank(values: pd.Series | pa.Array | pa.ChunkedArray) -> npt.NDArray[np.bool_]:
    """True where a text value is missing, empty or only spaces."""
    if not isinstance(values, pa.Array | pa.ChunkedArray):
        values = pa.array(values, type=pa.string(), from_pandas=True)
    trimmed = pc.utf8_trim_whitespace(values)
    empty = pc.fill_null(pc.equal(pc.utf8_length(trimmed), 0), True)
    return np.asarray(empty.to_numpy(zero_copy_only=False), dtype=bool)


def to_arrow(values: object) -> pa.Array | pa.ChunkedArray:
    """A record column as Arrow: numbers zero-copy, categoricals as dictionary arrays."""
    if isinstance(values, pd.Categorical):
        codes = np.asarray(values.codes)
        categories = pa.array(np.asarray(values.categories, dtype=object), type=pa.string())
        return pa.DictionaryArray.from_arrays(
            pa.array(codes.astype(np.int32), mask=codes < 0), categories
        )
    if isinstance(values, np.ndarray) and values.dtype == object:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        return to_arrow(pd.Categorical.from_codes(codes, categories=uniques))  # type: ignore[call-overload]
    if isinstance(values, np.ndarray):
        return pa.array(values)
    return pa.array(values, from_pandas=True)


def records_table(columns: dict[str, object], ok: npt.NDArray[np.bool_] | None = None) -> pa.Table:
    """Record columns (numpy, pandas or Arrow) filtered by ``ok``, as one Arrow table."""
    out = {}
    if ok is not None and ok.all():
        ok = None  # every row passed: nothing to filter
    mask = pa.array(ok) if ok is not None else None
    for name, values in columns.items():
        if isinstance(values, pa.Array | pa.ChunkedArray):
            out[name] = values.filter(mask) if mask is not None else values
            continue
        if ok is not None:
            values = values[ok]  # type: ignore[index]
        out[name] = to_arrow(values)
    return pa.table(out)
