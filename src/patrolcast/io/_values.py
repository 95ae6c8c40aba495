"""Vectorised value parsing shared by the readers: numbers, local times, projection, ids."""

from __future__ import annotations

import hashlib
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyproj import CRS, Transformer
from pyproj.transformer import TransformerGroup

from patrolcast.io._fast import (
    PointCache,
    distinct_pairs,
    fixed_width_layout,
    fixed_width_times,
    mix_hashes,
    plain_decimals,
    splitmix,
    stable_argsort,
)

_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def parse_numbers(values: pd.Series | pa.Array | pa.ChunkedArray) -> npt.NDArray[np.float64]:
    """Floats from text, accepting thousands separators ("1,001,951"); NaN where not a number.

    Clean columns take a fast path (one cast); a column with any bad value is re-read value by
    value with a regular expression, so one bad value costs only itself.
    """
    return parse_coordinates(values)[0]


def parse_coordinates(
    values: pd.Series | pa.Array | pa.ChunkedArray,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Floats from text (as :func:`parse_numbers`) and where the text is blank.

    A column that casts to float64 in one go holds no blank value (Arrow refuses to cast an
    empty or space-only string), so the common case costs one cast; the blank check and the
    value-by-value re-read run only for columns that need them.
    """
    arr = _coordinate_text(values)
    # plain decimals (nearly every published coordinate) straight from the text's bytes; the
    # other values (blank, exponents, thousands separators, spaces...) as before
    out, plain, blank = plain_decimals(arr)
    if plain.all():
        return out, blank
    if plain.any():
        rest = ~plain
        out[rest], blank[rest] = _parse_coordinates_arrow(arr.filter(pa.array(rest)))
        return out, blank
    return _parse_coordinates_arrow(arr)


def _coordinate_text(values: pd.Series | pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.Array | pa.ChunkedArray):
        arr = values
    else:
        arr = pa.array(values.astype(object).to_numpy(), type=pa.string(), from_pandas=True)
    if arr.type != pa.string():
        arr = pc.cast(arr, pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr


def _parse_coordinates_arrow(
    values: pd.Series | pa.Array | pa.ChunkedArray,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """:func:`parse_coordinates` with Arrow's cast only (the reference the plain-decimal
    parse is tested against, and the parse of the values it leaves)."""
    arr = _coordinate_text(values)
    if len(arr) > 4096:  # repeated values (snap points, rounded coordinates): parse each once
        encoded = pc.dictionary_encode(arr)
        if len(encoded.dictionary) < len(arr) // 2:
            values, blank = _parse_coordinates_arrow(encoded.dictionary)
            codes = np.asarray(
                pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False), dtype=np.int64
            )
            values = np.append(values, np.nan)  # code -1 (missing) -> NaN, blank
            blank = np.append(blank, True)
            return values[codes], blank[codes]
    if arr.null_count == 0:
        try:
            out = pc.cast(arr, pa.float64())
            return (
                np.asarray(out.to_numpy(zero_copy_only=False), dtype=np.float64),
                np.zeros(len(arr), dtype=bool),
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    trimmed = pc.utf8_trim_whitespace(arr)
    blank = np.asarray(
        pc.fill_null(pc.equal(pc.utf8_length(trimmed), 0), True).to_numpy(zero_copy_only=False),
        dtype=bool,
    )
    arr = pc.if_else(pc.equal(pc.utf8_length(arr), 0), pa.scalar(None, pa.string()), arr)
    try:
        out = pc.cast(arr, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        arr = trimmed
        if pc.any(pc.match_substring(arr, ",")).as_py():
            arr = pc.replace_substring(arr, ",", "")
        ok = pc.match_substring_regex(arr, _NUMBER)
        arr = pc.if_else(ok, arr, pa.scalar(None, pa.string()))
        out = pc.cast(arr, pa.float64())
    return np.asarray(out.to_numpy(zero_copy_only=False), dtype=np.float64), blank


_NAT = np.iinfo(np.int64).min


@dataclass
class LocalTimes:
    """UTC instants of local wall-clock times, with the DST edge cases counted."""

    epoch_us: npt.NDArray[np.int64]  # microseconds since the epoch (UTC); NaT as int64 min
    ambiguous: int  # repeated hour at the end of summer time: first occurrence taken
    nonexistent: int  # skipped hour at the start of summer time: shifted forward

    @property
    def valid(self) -> npt.NDArray[np.bool_]:
        return np.asarray(self.epoch_us != _NAT)

    @property
    def utc(self) -> pd.Series:
        """datetime64[us, UTC], NaT where unparseable."""
        return pd.Series(pd.DatetimeIndex(self.epoch_us.view("datetime64[us]")).tz_localize("UTC"))

    def arrow(self) -> pa.Array:
        """The instants as an Arrow timestamp array (null where unparseable)."""
        return pa.array(self.epoch_us, type=pa.timestamp("us", tz="UTC"), mask=~self.valid)


def _int64(times: pa.Array) -> npt.NDArray[np.int64]:
    """Timestamps as a writable int64 numpy array (null -> int64 min)."""
    return np.array(pc.fill_null(times.cast(pa.int64()), _NAT).to_numpy(zero_copy_only=False))


def _civil(days: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Month (1-12) and day of month of days since 1970-01-01 (proleptic Gregorian).

    Integer arithmetic after H. Hinnant, "chrono-Compatible Low-Level Date Algorithms"
    (``civil_from_days``), vectorised: much cheaper than numpy's datetime64 month casts.
    """
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1_460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    return month, day


def _maybe_rolled_over(
    epoch_us: npt.NDArray[np.int64], slack_days: int = 0
) -> npt.NDArray[np.bool_]:
    """Where a lenient parse may have rolled an impossible day into the next month.

    Arrow's strptime reads 31 April as 1 May and 30 February as 1 or 2 March: a rolled-over
    result is 1-3 March, or the 1st of May, July, October or December. ``slack_days`` widens
    the test by that many days either side (for times converted from another UTC offset).
    The candidate days of the years spanned are listed once and looked up in a table.
    """
    known = epoch_us != _NAT
    days = np.where(known, epoch_us // 86_400_000_000, 0)
    if not known.any():
        return np.zeros(len(days), dtype=bool)
    lo = int(days[known].min()) - slack_days
    hi = int(days[known].max()) + slack_days
    if hi - lo > 4 * len(days) + 50_000:  # a few far-off years: test the rows themselves
        out = np.zeros(len(days), dtype=bool)
        for shift in range(-slack_days, slack_days + 1):
            m, d = _civil(days + shift)
            out |= ((m == 3) & (d <= 3)) | (
                (d == 1) & ((m == 5) | (m == 7) | (m == 10) | (m == 12))
            )
        return known & out
    span = np.arange(lo, hi + 1, dtype=np.int64)
    month, day = _civil(span)
    rolled = ((month == 3) & (day <= 3)) | (
        (day == 1) & ((month == 5) | (month == 7) | (month == 10) | (month == 12))
    )
    if slack_days:
        widened = rolled.copy()
        for shift in range(1, slack_days + 1):
            widened[shift:] |= rolled[:-shift]
            widened[:-shift] |= rolled[shift:]
        rolled = widened
    return known & rolled[np.clip(days - lo, 0, len(span) - 1)]


def _as_string_array(text: pd.Series | pa.Array | pa.ChunkedArray) -> pa.Array:
    arr = (
        text
        if isinstance(text, pa.Array | pa.ChunkedArray)
        else pa.array(text.astype(object).to_numpy(), type=pa.string(), from_pandas=True)
    )
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr


def _parse_naive_us(text: pd.Series | pa.Array, fmt: str) -> npt.NDArray[np.int64]:
    """Wall-clock times parsed strictly with ``fmt``, as microseconds (NaT as int64 min).

    Arrow's strptime is fast but lenient in one way: a day past the end of its month rolls
    over (30 February becomes 2 March; with a second 60, one day more). Such a result always
    falls within a day of 1-3 March or of the 1st of May, July, October or December, so only
    those rows are parsed again strictly by pandas, which refuses the impossible dates. Text
    is parsed as it is first; only when some value fails is the column trimmed and parsed again.
    """
    return _parse_general_us(_as_string_array(text), fmt)


def _parse_general_us(arr: pa.Array, fmt: str) -> npt.NDArray[np.int64]:
    """Strict times: values that match a zero-padded fixed-width format exactly and are valid
    dates and times are read straight from the text's bytes; the others (if any) as in
    :func:`_parse_arrow_us`, the reference this is tested against."""
    layout = fixed_width_layout(fmt)
    if layout is None:
        return _parse_arrow_us(arr, fmt)
    out, done = fixed_width_times(arr, layout)
    if not done.all():
        rest = ~done
        out[rest] = _parse_arrow_us(arr.filter(pa.array(rest)), fmt)
    return out


def _parse_arrow_us(arr: pa.Array, fmt: str) -> npt.NDArray[np.int64]:
    """Arrow strptime with the strict pandas re-parse of possibly rolled-over days."""
    fast = pc.strptime(arr, format=fmt, unit="us", error_is_null=True)
    if fast.null_count > arr.null_count:
        arr = pc.utf8_trim_whitespace(arr)
        fast = pc.strptime(arr, format=fmt, unit="us", error_is_null=True)
    valid = np.asarray(pc.is_valid(fast).to_numpy(zero_copy_only=False), dtype=bool)
    out = _int64(fast)
    suspect = valid & _maybe_rolled_over(out, slack_days=1)  # a second 60 adds one more day
    if suspect.any():
        sub = pd.Series(
            np.asarray(
                pc.utf8_trim_whitespace(arr.filter(pa.array(suspect))).to_numpy(
                    zero_copy_only=False
                ),
                dtype=object,
            )
        )
        strict = pd.to_datetime(sub, format=fmt, errors="coerce").astype("datetime64[us]")
        out[suspect] = strict.to_numpy().view(np.int64)
    return out


def _parse_naive(text: pd.Series | pa.Array, fmt: str) -> pd.Series:
    """Wall-clock times parsed strictly with ``fmt`` (NaT where the text does not match)."""
    return pd.Series(_parse_naive_us(text, fmt).view("datetime64[us]"))


def iso_to_utc(text: pa.Array) -> pd.Series:
    """ISO-8601 times with a UTC offset (``2018-02-01T09:30:00+00:00``) as UTC instants.

    Arrow parses the common ``%Y-%m-%dT%H:%M:%S%z`` form; rows it cannot parse, and rows whose
    day may have rolled over (see :func:`_parse_naive_us`), are parsed by pandas' strict
    ISO-8601 reader, which also accepts other ISO forms. NaT where the text is not a time.
    """
    return pd.Series(
        pd.DatetimeIndex(iso_to_utc_us(text).view("datetime64[us]")).tz_localize("UTC")
    )


def iso_to_utc_us(text: pa.Array) -> npt.NDArray[np.int64]:
    """:func:`iso_to_utc` as microseconds since the epoch (NaT as int64 min)."""
    return _iso_general_us(_as_string_array(text))


_ISO_LAYOUT = fixed_width_layout("%Y-%m-%dT%H:%M:%S%z", offset=True)


def _iso_general_us(arr: pa.Array) -> npt.NDArray[np.int64]:
    """ISO times: ``YYYY-MM-DDTHH:MM:SS`` with ``+HH:MM``, ``+HHMM`` or ``Z`` read straight
    from the text's bytes when valid; the others (if any) as in :func:`_iso_arrow_us`, the
    reference this is tested against."""
    assert _ISO_LAYOUT is not None
    out, done = fixed_width_times(arr, _ISO_LAYOUT)
    if not done.all():
        rest = ~done
        out[rest] = _iso_arrow_us(arr.filter(pa.array(rest)))
    return out


def _iso_arrow_us(arr: pa.Array) -> npt.NDArray[np.int64]:
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    fast = pc.strptime(arr, format="%Y-%m-%dT%H:%M:%S%z", unit="us", error_is_null=True)
    if fast.null_count:
        arr = pc.utf8_trim_whitespace(arr)
        fast = pc.strptime(arr, format="%Y-%m-%dT%H:%M:%S%z", unit="us", error_is_null=True)
    valid = np.asarray(pc.is_valid(fast).to_numpy(zero_copy_only=False), dtype=bool)
    out = _int64(fast)
    suspect = ~valid | _maybe_rolled_over(out, slack_days=1)
    if suspect.any():
        picked = pc.utf8_trim_whitespace(arr.filter(pa.array(suspect)))
        sub = pd.Series(np.asarray(picked.to_numpy(zero_copy_only=False), dtype=object))
        strict = pd.to_datetime(sub, format="ISO8601", utc=True, errors="coerce")
        naive_utc = strict.dt.tz_localize(None).dt.as_unit("us").to_numpy()
        out[suspect] = np.asarray(naive_utc, dtype="datetime64[us]").view(np.int64)
    return out


def _assume(
    local_us: npt.NDArray[np.int64], timezone: str, *, first: bool
) -> npt.NDArray[np.int64]:
    """Arrow's ``assume_timezone``: ``first`` takes the earlier reading of an ambiguous time
    and the first valid instant after a nonexistent one; otherwise the other way round."""
    return _int64(
        pc.assume_timezone(
            pa.array(local_us, type=pa.timestamp("us")),
            timezone=timezone,
            ambiguous="earliest" if first else "latest",
            nonexistent="latest" if first else "earliest",
        )
    )


def _localise_arrow(
    naive: npt.NDArray[np.int64], valid: npt.NDArray[np.bool_], timezone: str
) -> LocalTimes:
    """Local wall-clock microseconds -> UTC with Arrow's time-zone database, counting the DST
    edge cases.

    The zone's UTC offset is looked up four times a day (00, 06, 12, 18 h local) over the days
    the data span. A row on a day whose offset is the same at all four times and on the days
    either side is converted by subtracting that offset. Rows on the other days (next to a
    change of offset) are localised by Arrow twice, once taking the earlier reading of an
    ambiguous time and the first valid instant after a nonexistent one (the result), once the
    other way round: where the two differ the time was ambiguous (second later) or
    nonexistent (second earlier).
    """
    out = np.full(len(naive), _NAT, dtype=np.int64)
    if not valid.any():
        return LocalTimes(out, 0, 0)
    day_us = 86_400_000_000
    rows_valid = np.flatnonzero(valid)
    days = naive[rows_valid] // day_us
    lo, hi = int(days.min()) - 2, int(days.max()) + 2
    if hi - lo > 4 * len(days) + 50_000:  # a few far-off dates: localise every row
        steady = np.zeros(len(rows_valid), dtype=bool)
        offset_of_day = np.zeros(0, dtype=np.int64)
    else:
        samples = (
            np.arange(lo, hi + 1, dtype=np.int64)[:, None] * day_us
            + np.arange(4, dtype=np.int64)[None, :] * (day_us // 4)
        ).ravel()
        offsets = (samples - _assume(samples, timezone, first=True)).reshape(-1, 4)
        offset_of_day = offsets[:, 2]  # at noon
        same = (offsets == offsets[:, :1]).all(axis=1)
        same[1:] &= offsets[1:, 0] == offsets[:-1, 0]
        calm = same.copy()
        calm[1:] &= same[:-1]
        calm[:-1] &= same[1:]
        steady = calm[days - lo]
    idx = rows_valid[steady]
    out[idx] = naive[idx] - offset_of_day[days[steady] - lo]
    rows = rows_valid[~steady]
    if len(rows) == 0:
        return LocalTimes(out, 0, 0)
    a = _assume(naive[rows], timezone, first=True)
    b = _assume(naive[rows], timezone, first=False)
    out[rows] = a
    return LocalTimes(out, int(np.count_nonzero(b > a)), int(np.count_nonzero(b < a)))


def local_to_utc(
    text: pd.Series | pa.Array, fmt: str, timezone: str, *, engine: str = "arrow"
) -> LocalTimes:
    """Parse local wall-clock times with ``fmt`` in ``timezone`` and convert to UTC.

    An ambiguous local time (the repeated hour when clocks go back) is read as its first
    occurrence, in summer time; a nonexistent one (the skipped hour when clocks go forward) is
    shifted forward to the first valid instant. Both are counted, never dropped silently.

    ``engine="arrow"`` localises with Arrow's ``assume_timezone`` (the IANA database, as
    zoneinfo; vectorised in C++): once taking the earlier reading of an ambiguous time and the
    later of a nonexistent one, once the other way round, so the rows where the two disagree
    are exactly the ambiguous (second later) and nonexistent (second earlier) ones.
    ``engine="reference"`` is the plain pandas + ``zoneinfo`` implementation it is tested
    against; it is also used when Arrow has no time-zone database.
    """
    naive = _parse_naive_us(text, fmt)
    if timezone.upper() == "UTC":
        return LocalTimes(naive, 0, 0)
    valid = naive != _NAT
    if engine == "arrow":
        try:
            return _localise_arrow(naive, valid, timezone)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # no tz database
            return local_to_utc(text, fmt, timezone, engine="reference")
    zone = ZoneInfo(timezone)
    series = pd.Series(naive.view("datetime64[us]"))
    local = series.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    trouble = local.isna() & series.notna()
    ambiguous = nonexistent = 0
    if trouble.any():
        sub = series[trouble]
        first_ = sub.dt.tz_localize(
            zone, ambiguous=np.ones(len(sub), dtype=bool), nonexistent="NaT"
        )
        ambiguous = int(first_.notna().sum())
        shifted = sub.dt.tz_localize(
            zone, ambiguous=np.ones(len(sub), dtype=bool), nonexistent="shift_forward"
        )
        nonexistent = int(len(sub) - ambiguous)
        local = local.copy()
        local[trouble] = shifted
    utc = local.dt.tz_convert("UTC").dt.as_unit("us")
    out = np.asarray(utc.dt.tz_localize(None).to_numpy(), dtype="datetime64[us]").view(np.int64)
    return LocalTimes(out.copy(), ambiguous, nonexistent)


_IDLE: dict[tuple[str, str], list[Transformer]] = {}
_IDLE_LOCK = threading.Lock()


@contextmanager
def _transformer(source: str, target: str) -> Iterator[Transformer]:
    """A pyproj transformer for one CRS pair, used by one thread at a time.

    Blocks are validated on threads and a transformer is not shared between threads; building
    one costs tens of milliseconds, so idle ones are kept for reuse (at most one per thread
    that ever projected at the same time).
    """
    key = (source, target)
    with _IDLE_LOCK:
        idle = _IDLE.setdefault(key, [])
        transformer = idle.pop() if idle else None
    if transformer is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "best transformation not available"
            transformer = Transformer.from_crs(source, target, always_xy=True)
    try:
        yield transformer
    finally:
        with _IDLE_LOCK:
            _IDLE[key].append(transformer)


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
    if group.transformers:
        used = group.transformers[0]
    else:
        with _transformer(source, target) as used:
            pass
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
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    source: str,
    target: str,
    cache: PointCache | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Project coordinates (lon/lat order for geographic CRSs) from ``source`` to ``target``.

    Each distinct (x, y), found from the exact bits in one compiled pass, is projected once,
    and only if ``cache`` (the points projected earlier in the same ingest) does not hold it:
    the result is pyproj's, bit for bit (equal to :func:`project_reference`, tested).
    """
    if len(x) == 0:
        return x.copy(), y.copy()
    codes, first = distinct_pairs(x, y)
    ux, uy = np.asarray(x, dtype=np.float64)[first], np.asarray(y, dtype=np.float64)[first]
    if cache is None:
        with _transformer(source, target) as transformer:
            tx, ty = transformer.transform(ux, uy)
        return np.asarray(tx, dtype=np.float64)[codes], np.asarray(ty, dtype=np.float64)[codes]
    tx, ty, hit = cache.lookup(ux, uy)
    miss = ~hit
    if miss.any():
        with _transformer(source, target) as transformer:
            mx, my = transformer.transform(ux[miss], uy[miss])
        mx, my = np.asarray(mx, dtype=np.float64), np.asarray(my, dtype=np.float64)
        tx[miss], ty[miss] = mx, my
        cache.insert(ux[miss], uy[miss], mx, my)
    return tx[codes], ty[codes]


def project_reference(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], source: str, target: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """:func:`project` as it was: distinct points by pandas' factorize, no cache."""
    if len(x) == 0:
        return x.copy(), y.copy()
    # Published points repeat a lot (data.police.uk snap points, coordinates rounded to 4-6
    # decimals): project each distinct (x, y) once, found from the exact bit patterns, so the
    # result is bit-for-bit pyproj's.
    cx, ux = pd.factorize(np.ascontiguousarray(x, dtype=np.float64).view(np.uint64))
    if len(ux) < 0.8 * len(x):
        cy, uy = pd.factorize(np.ascontiguousarray(y, dtype=np.float64).view(np.uint64))
        codes, pairs = pd.factorize(cx.astype(np.int64) * len(uy) + cy)
        if len(pairs) < 0.8 * len(x):
            px = np.asarray(ux, dtype=np.uint64).view(np.float64)[pairs // len(uy)]
            py = np.asarray(uy, dtype=np.uint64).view(np.float64)[pairs % len(uy)]
            with _transformer(source, target) as transformer:
                tx, ty = transformer.transform(px, py)
            return np.asarray(tx, dtype=np.float64)[codes], np.asarray(ty, dtype=np.float64)[codes]
    with _transformer(source, target) as transformer:
        tx, ty = transformer.transform(x, y)
    return np.asarray(tx, dtype=np.float64), np.asarray(ty, dtype=np.float64)


@dataclass(frozen=True)
class Box:
    """A study-area box in a stated CRS (``--bbox`` with ``--bbox-crs``)."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float
    crs: str = "EPSG:4326"


def bbox_in(
    bbox: tuple[float, float, float, float] | Box, target: str
) -> tuple[float, float, float, float]:
    """A box (a lon/lat tuple, or a :class:`Box` in its CRS) as a box in ``target``
    coordinates (densified edges; the box as it is when its CRS is ``target``)."""
    if isinstance(bbox, Box):
        corners = (bbox.xmin, bbox.ymin, bbox.xmax, bbox.ymax)
        if bbox.crs == target:
            return corners
        with _transformer(bbox.crs, target) as transformer:
            return transformer.transform_bounds(*corners, densify_pts=51)
    with _transformer("EPSG:4326", target) as transformer:
        return transformer.transform_bounds(*bbox, densify_pts=51)


def tag_hash(tag: str) -> np.uint64:
    """A stable 64-bit number for a text tag (dataset source, vocabulary)."""
    return np.uint64(
        int.from_bytes(hashlib.blake2b(tag.encode(), digest_size=8).digest(), "little")
    )


def hash_strings(
    values: pd.Series | npt.NDArray[np.object_], *, categorize: bool = True
) -> npt.NDArray[np.uint64]:
    """Stable 64-bit hashes of strings (pandas' SipHash with its fixed default key).

    ``categorize=False`` skips pandas' factorising first, which only pays where values
    repeat (the hashes are the same either way; e.g. unique Crime IDs).
    """
    arr = np.asarray(values, dtype=object)
    return pd.util.hash_array(arr, categorize=categorize).astype(np.uint64)


def mix(*parts: npt.NDArray[np.uint64] | np.uint64) -> npt.NDArray[np.uint64]:
    """Combine 64-bit hashes into one (order-sensitive), then avalanche as pandas'
    ``hash_array`` does (compiled, one pass per part; equal to :func:`mix_reference`)."""
    return mix_hashes(*parts)


def numeric_hash(values: npt.NDArray[np.float64] | npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    """Stable hashes of numbers (NaN hashes to one value); equal to
    :func:`numeric_hash_reference` (pandas), compiled."""
    return splitmix(values)


def mix_reference(*parts: npt.NDArray[np.uint64] | np.uint64) -> npt.NDArray[np.uint64]:
    """Combine 64-bit hashes into one (order-sensitive), then avalanche with pandas."""
    acc: npt.NDArray[np.uint64] | None = None
    with np.errstate(over="ignore"):
        for part in parts:
            value = np.asarray(part, dtype=np.uint64)
            acc = value.copy() if acc is None else (acc * _GOLDEN) ^ value
    assert acc is not None
    return pd.util.hash_array(np.atleast_1d(acc)).astype(np.uint64)


def numeric_hash_reference(
    values: npt.NDArray[np.float64] | npt.NDArray[np.int64],
) -> npt.NDArray[np.uint64]:
    """Stable hashes of numbers (NaN hashes to one value), by pandas."""
    return pd.util.hash_array(np.asarray(values)).astype(np.uint64)


def to_event_ids(hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """Store ids as signed 64-bit integers (Parquet and DuckDB friendly)."""
    return hashes.view(np.int64)


def _tiered(
    runs: list[tuple[npt.NDArray[Any], npt.NDArray[np.int64] | None]],
) -> list[tuple[npt.NDArray[Any], npt.NDArray[np.int64] | None]]:
    """Merge the newest sorted runs while the newest is at least half the size of the one
    before: run sizes then halve from oldest to newest, so there are at most log2(n) runs and
    each value is merged O(log n) times (sorting everything on every block is quadratic in the
    file's size: minutes on a national file)."""
    while len(runs) >= 2 and 2 * len(runs[-1][0]) >= len(runs[-2][0]):
        (k1, c1), (k2, c2) = runs[-2], runs.pop()
        keys = np.concatenate([k1, k2])
        # the runs hold distinct keys (an id set, or an occurrence counter's new hashes), so
        # the order among equal keys does not matter: numpy's fast unstable sort
        order = np.argsort(keys, kind="quicksort")
        counts = None if c1 is None or c2 is None else np.concatenate([c1, c2])[order]
        runs[-1] = (keys[order], counts)
    return runs


class SortedIds:
    """A set of 64-bit ids as sorted runs: membership by binary search, adding a block costs
    about its own size (runs merged in tiers, see :func:`_tiered`)."""

    def __init__(self, ids: npt.NDArray[np.int64] | None = None) -> None:
        self._runs: list[tuple[npt.NDArray[Any], npt.NDArray[np.int64] | None]] = []
        if ids is not None and len(ids):
            self._runs.append((np.sort(np.asarray(ids, dtype=np.int64)), None))

    def __len__(self) -> int:
        return sum(len(k) for k, _ in self._runs)

    def contains(self, values: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        found = np.zeros(len(values), dtype=bool)
        if not self._runs or len(values) == 0:
            return found
        # binary searches of sorted values walk each run once (cache-friendly, several times
        # faster than searching values in file order)
        order = np.argsort(values, kind="quicksort")  # any order of equal values will do
        ordered = np.asarray(values, dtype=np.int64)[order]
        hit = np.zeros(len(values), dtype=bool)
        for keys, _ in self._runs:
            pos = np.minimum(np.searchsorted(keys, ordered), len(keys) - 1)
            hit |= keys[pos] == ordered
        found[order] = hit
        return found

    def add(self, values: npt.NDArray[np.int64]) -> None:
        """Add ids not already in the set (the caller checked them with :meth:`contains`)."""
        if len(values):
            self._runs.append((np.sort(np.asarray(values, dtype=np.int64)), None))
            self._runs = _tiered(self._runs)


class Occurrences:
    """Running count of identical content hashes within one file.

    Many genuine records share every field (two crimes in one month at one anonymised map point),
    so a content id alone would merge them. The n-th copy of a content gets occurrence n, which
    makes ids stable for the same file and distinct for repeated rows.
    """

    def __init__(self) -> None:
        # Sorted runs of (hash, count), merged in tiers (:func:`_tiered`): lookups are binary
        # searches and adding a block costs about its own size, not everything seen so far.
        self._runs: list[tuple[npt.NDArray[Any], npt.NDArray[np.int64] | None]] = []

    def next(self, hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        """Occurrence number of each hash: how many times it was seen before in the file.

        One stable sort of the block gives the distinct hashes in order (for the binary
        searches in the earlier runs, and as the new run as it is) and each row's rank among
        the block's copies of its hash.
        """
        n = len(hashes)
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        order = stable_argsort(hashes)  # copies of a hash in file order
        ordered = hashes[order]
        first = np.ones(n, dtype=bool)
        first[1:] = ordered[1:] != ordered[:-1]
        starts = np.flatnonzero(first)
        uniq = ordered[starts]
        per_code = np.diff(np.append(starts, n)).astype(np.int64)
        code = np.cumsum(first) - 1  # distinct-hash number of each sorted row
        within = np.arange(n, dtype=np.int64) - starts[code]
        prev = np.zeros(len(uniq), dtype=np.int64)
        new = np.ones(len(uniq), dtype=bool)
        for keys, counts in self._runs:
            assert counts is not None
            pos = np.minimum(np.searchsorted(keys, uniq), len(keys) - 1)
            found = new & (keys[pos] == uniq)
            prev[found] = counts[pos[found]]
            counts[pos[found]] += per_code[found]
            new &= ~found
        if new.any():
            self._runs.append((uniq[new], per_code[new]))
            self._runs = _tiered(self._runs)
        out = np.empty(n, dtype=np.int64)
        out[order] = within + prev[code]
        return out
