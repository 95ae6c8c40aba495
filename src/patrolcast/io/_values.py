"""Vectorised value parsing shared by the readers: numbers, local times, projection, ids."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyproj import CRS, Transformer
from pyproj.transformer import TransformerGroup

_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def parse_numbers(values: pd.Series | pa.Array | pa.ChunkedArray) -> npt.NDArray[np.float64]:
    """Floats from text, accepting thousands separators ("1,001,951"); NaN where not a number.

    Clean columns take a fast path (one cast); a column with any bad value is re-read value by
    value with a regular expression, so one bad value costs only itself.
    """
    if isinstance(values, pa.Array | pa.ChunkedArray):
        arr = values
    else:
        arr = pa.array(values.astype(object).to_numpy(), type=pa.string(), from_pandas=True)
    if arr.type != pa.string():
        arr = pc.cast(arr, pa.string())
    empty = pc.equal(pc.utf8_length(arr), 0)
    arr = pc.if_else(empty, pa.scalar(None, pa.string()), arr)
    try:
        out = pc.cast(arr, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        arr = pc.utf8_trim_whitespace(arr)
        if pc.any(pc.match_substring(arr, ",")).as_py():
            arr = pc.replace_substring(arr, ",", "")
        ok = pc.match_substring_regex(arr, _NUMBER)
        arr = pc.if_else(ok, arr, pa.scalar(None, pa.string()))
        out = pc.cast(arr, pa.float64())
    return np.asarray(out.to_numpy(zero_copy_only=False), dtype=np.float64)


@dataclass
class LocalTimes:
    """UTC instants of local wall-clock times, with the DST edge cases counted."""

    utc: pd.Series  # datetime64[us, UTC], NaT where unparseable
    ambiguous: int  # repeated hour at the end of summer time: first occurrence taken
    nonexistent: int  # skipped hour at the start of summer time: shifted forward


def _parse_naive(text: pd.Series | pa.Array, fmt: str) -> pd.Series:
    """Wall-clock times parsed strictly with ``fmt`` (NaT where the text does not match).

    Arrow's strptime is fast but lenient in one way: a day past the end of its month rolls
    over (30 February becomes 2 March). Such a result always falls on day 1, 2 or 3, so those
    rows are parsed again strictly by pandas, which refuses the impossible dates.
    """
    arr = (
        text
        if isinstance(text, pa.Array | pa.ChunkedArray)
        else pa.array(text.astype(object).to_numpy(), type=pa.string(), from_pandas=True)
    )
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    fast = pc.strptime(arr, format=fmt, unit="us", error_is_null=True)
    out = pd.Series(np.asarray(fast.to_numpy(zero_copy_only=False), dtype="datetime64[us]"))
    suspect = np.asarray(
        pc.fill_null(pc.less_equal(pc.day(fast), 3), False).to_numpy(zero_copy_only=False),
        dtype=bool,
    )
    if suspect.any():
        sub = pd.Series(
            np.asarray(arr.filter(pa.array(suspect)).to_numpy(zero_copy_only=False), dtype=object)
        )
        strict = pd.to_datetime(sub, format=fmt, errors="coerce").astype("datetime64[us]")
        out[suspect] = strict.to_numpy()
    return out


def iso_to_utc(text: pa.Array) -> pd.Series:
    """ISO-8601 times with a UTC offset (``2018-02-01T09:30:00+00:00``) as UTC instants.

    Arrow parses the common ``%Y-%m-%dT%H:%M:%S%z`` form; rows it cannot parse, and rows whose
    day may have rolled over (see :func:`_parse_naive`), are parsed by pandas' strict ISO-8601
    reader, which also accepts other ISO forms. NaT where the text is not a time.
    """
    fast = pc.strptime(text, format="%Y-%m-%dT%H:%M:%S%z", unit="us", error_is_null=True)
    values = np.asarray(pc.cast(fast, pa.int64()).to_numpy(zero_copy_only=False))
    suspect = np.asarray(
        pc.fill_null(pc.less_equal(pc.day(fast), 3), True).to_numpy(zero_copy_only=False),
        dtype=bool,
    )
    out = pd.Series(
        pd.to_datetime(np.where(suspect, 0, np.nan_to_num(values)), unit="us", utc=True)
    )
    if suspect.any():
        sub = pd.Series(
            np.asarray(text.filter(pa.array(suspect)).to_numpy(zero_copy_only=False), dtype=object)
        )
        strict = pd.to_datetime(sub, format="ISO8601", utc=True, errors="coerce")
        out[suspect] = strict.dt.as_unit("us").to_numpy() if len(sub) else strict
    return out.astype("datetime64[us, UTC]")


def local_to_utc(text: pd.Series | pa.Array, fmt: str, timezone: str) -> LocalTimes:
    """Parse local wall-clock times with ``fmt`` in ``timezone`` (zoneinfo) and convert to UTC.

    An ambiguous local time (the repeated hour when clocks go back) is read as its first
    occurrence, in summer time; a nonexistent one (the skipped hour when clocks go forward) is
    shifted forward to the first valid instant. Both are counted, never dropped silently.
    """
    naive = _parse_naive(text, fmt)
    if timezone.upper() == "UTC":
        return LocalTimes(naive.dt.tz_localize("UTC"), 0, 0)
    zone = ZoneInfo(timezone)
    local = naive.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    trouble = local.isna() & naive.notna()
    ambiguous = nonexistent = 0
    if trouble.any():
        sub = naive[trouble]
        first = sub.dt.tz_localize(zone, ambiguous=np.ones(len(sub), dtype=bool), nonexistent="NaT")
        ambiguous = int(first.notna().sum())
        shifted = sub.dt.tz_localize(
            zone, ambiguous=np.ones(len(sub), dtype=bool), nonexistent="shift_forward"
        )
        nonexistent = int(len(sub) - ambiguous)
        local = local.copy()
        local[trouble] = shifted
    return LocalTimes(local.dt.tz_convert("UTC"), ambiguous, nonexistent)


@lru_cache(maxsize=32)
def _transformer(source: str, target: str) -> Transformer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "best transformation not available"
        transformer = Transformer.from_crs(source, target, always_xy=True)
    return transformer


@lru_cache(maxsize=32)
def describe_transformation(source: str, target: str) -> str:
    """Which coordinate operation pyproj uses for ``source`` -> ``target``, in words.

    pyproj's wheels ship no transformation grids: WGS84 -> British National Grid then uses a
    Helmert transformation good to a few metres instead of the OSTN15 grid (sub-metre).
    """
    if CRS.from_user_input(source) == CRS.from_user_input(target):
        return f"{source} -> {target}: none (same CRS)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        group = TransformerGroup(source, target, always_xy=True)
    used = group.transformers[0] if group.transformers else _transformer(source, target)
    grids = any(getattr(op, "grids", None) for op in used.operations or [])
    accuracy = used.accuracy
    acc = f", accuracy {accuracy:g} m" if accuracy and accuracy > 0 else ""
    if not group.best_available:
        missing = sorted(
            {
                g.short_name
                for op in group.unavailable_operations
                for g in op.grids
                if not g.available
            }
        )
        return (
            f"{source} -> {target}: {used.description}{acc}; Helmert fallback, few metres "
            f"(grid-based transformation unavailable, missing grid {', '.join(missing) or '?'})"
        )
    kind = "grid-based" if grids else "exact or parametric"
    return f"{source} -> {target}: {used.description}{acc} ({kind}, best available)"


def project(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], source: str, target: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Project coordinates (lon/lat order for geographic CRSs) from ``source`` to ``target``."""
    if len(x) == 0:
        return x.copy(), y.copy()
    tx, ty = _transformer(source, target).transform(x, y)
    return np.asarray(tx, dtype=np.float64), np.asarray(ty, dtype=np.float64)


def bbox_in(
    bbox: tuple[float, float, float, float], target: str
) -> tuple[float, float, float, float]:
    """A lon/lat box as a box in ``target`` coordinates (densified edges)."""
    return _transformer("EPSG:4326", target).transform_bounds(*bbox, densify_pts=51)


def tag_hash(tag: str) -> np.uint64:
    """A stable 64-bit number for a text tag (dataset source, vocabulary)."""
    return np.uint64(
        int.from_bytes(hashlib.blake2b(tag.encode(), digest_size=8).digest(), "little")
    )


def hash_strings(values: pd.Series | npt.NDArray[np.object_]) -> npt.NDArray[np.uint64]:
    """Stable 64-bit hashes of strings (pandas' SipHash with its fixed default key)."""
    arr = np.asarray(values, dtype=object)
    return pd.util.hash_array(arr, categorize=True).astype(np.uint64)


def mix(*parts: npt.NDArray[np.uint64] | np.uint64) -> npt.NDArray[np.uint64]:
    """Combine 64-bit hashes into one (order-sensitive), then avalanche with SipHash."""
    acc: npt.NDArray[np.uint64] | None = None
    with np.errstate(over="ignore"):
        for part in parts:
            value = np.asarray(part, dtype=np.uint64)
            acc = value.copy() if acc is None else (acc * _GOLDEN) ^ value
    assert acc is not None
    return pd.util.hash_array(np.atleast_1d(acc)).astype(np.uint64)


def numeric_hash(values: npt.NDArray[np.float64] | npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    """Stable hashes of numbers (NaN hashes to one value)."""
    return pd.util.hash_array(np.asarray(values)).astype(np.uint64)


def to_event_ids(hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """Store ids as signed 64-bit integers (Parquet and DuckDB friendly)."""
    return hashes.view(np.int64)


class Occurrences:
    """Running count of identical content hashes within one file.

    Many genuine records share every field (two crimes in one month at one anonymised map point),
    so a content id alone would merge them. The n-th copy of a content gets occurrence n, which
    makes ids stable for the same file and distinct for repeated rows.
    """

    def __init__(self) -> None:
        # Sorted runs of (hash, count), merged when there are many: lookups are binary searches
        # and adding a block costs its own size, not the size of everything seen so far.
        self._runs: list[tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]] = []

    def _merge(self) -> None:
        keys = np.concatenate([k for k, _ in self._runs])
        counts = np.concatenate([c for _, c in self._runs])
        order = np.argsort(keys, kind="stable")
        self._runs = [(keys[order], counts[order])]

    def next(self, hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        if len(hashes) == 0:
            return np.zeros(0, dtype=np.int64)
        codes, uniq_index = pd.factorize(hashes)
        uniq = np.asarray(uniq_index, dtype=np.uint64)
        per_code = np.bincount(codes, minlength=len(uniq)).astype(np.int64)
        within: npt.NDArray[np.int64] = np.zeros(len(hashes), dtype=np.int64)
        if len(uniq) != len(hashes):
            within = pd.Series(codes).groupby(codes).cumcount().to_numpy(dtype=np.int64)  # type: ignore[assignment]
        prev = np.zeros(len(uniq), dtype=np.int64)
        new = np.ones(len(uniq), dtype=bool)
        for keys, counts in self._runs:
            pos = np.minimum(np.searchsorted(keys, uniq), len(keys) - 1)
            found = new & (keys[pos] == uniq)
            prev[found] = counts[pos[found]]
            counts[pos[found]] += per_code[found]
            new &= ~found
        if new.any():
            order = np.argsort(uniq[new])
            self._runs.append((uniq[new][order], per_code[new][order]))
            if len(self._runs) > 8:
                self._merge()
        return within + prev[codes]
