"""Compiled (numba) kernels of the ingest, each equal to a plain reference it is tested against.

- :func:`siphash_strings` hashes the values of an Arrow string array straight from its buffers
  with SipHash-2-4 and pandas' fixed key and final mix: the numbers
  ``pandas.util.hash_array`` gives for the same values as Python strings (which stored event
  ids are made from), without making a Python object per value.
- :func:`stable_argsort` is ``numpy.argsort(kind="stable")`` of 64-bit keys from numpy's much
  faster unstable sort, with the runs of equal keys put back in their original order.
- :func:`line_spans` finds the byte spans of chosen lines of a block of text in one pass that
  stops after the last line wanted.

The kernels release the GIL, so blocks validated on two threads run them at once.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import numpy.typing as npt
import pyarrow as pa

_KEY = b"0123456789123456"  # pandas.core.util.hashing._default_hash_key
_K0 = np.uint64(int.from_bytes(_KEY[:8], "little"))
_K1 = np.uint64(int.from_bytes(_KEY[8:], "little"))


@numba.njit(inline="always")
def _rotl(x: np.uint64, b: int) -> np.uint64:
    return (x << np.uint64(b)) | (x >> np.uint64(64 - b))


@numba.njit(inline="always")
def _sipround(
    v0: np.uint64, v1: np.uint64, v2: np.uint64, v3: np.uint64
) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:  # pragma: no cover - compiled
    """One SipRound (SipHash's mixing step), as in pandas' hashing."""
    v0 += v1
    v1 = _rotl(v1, 13)
    v1 ^= v0
    v0 = _rotl(v0, 32)
    v2 += v3
    v3 = _rotl(v3, 16)
    v3 ^= v2
    v0 += v3
    v3 = _rotl(v3, 21)
    v3 ^= v0
    v2 += v1
    v1 = _rotl(v1, 17)
    v1 ^= v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


@numba.njit(nogil=True, cache=True)
def _siphash_buffers(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.integer[Any]],
    k0: np.uint64,
    k1: np.uint64,
    out: npt.NDArray[np.uint64],
) -> None:  # pragma: no cover - compiled
    n = len(offsets) - 1
    for i in range(n):
        start = offsets[i]
        length = offsets[i + 1] - start
        v0 = np.uint64(0x736F6D6570736575) ^ k0
        v1 = np.uint64(0x646F72616E646F6D) ^ k1
        v2 = np.uint64(0x6C7967656E657261) ^ k0
        v3 = np.uint64(0x7465646279746573) ^ k1
        words = length // 8
        for w in range(words):
            p = start + 8 * w
            m = np.uint64(0)
            for j in range(8):
                m |= np.uint64(data[p + j]) << np.uint64(8 * j)
            v3 ^= m
            for _ in range(2):
                v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
            v0 ^= m
        b = np.uint64(length & 0xFF) << np.uint64(56)
        p = start + 8 * words
        for j in range(length - 8 * words):
            b |= np.uint64(data[p + j]) << np.uint64(8 * j)
        v3 ^= b
        for _ in range(2):
            v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
        v0 ^= b
        v2 ^= np.uint64(0xFF)
        for _ in range(4):
            v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
        h = v0 ^ v1 ^ v2 ^ v3
        # pandas' redistribution of the 64-bit values (hash_array)
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
        out[i] = h


def siphash_strings(values: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.uint64]:
    """``pandas.util.hash_array`` of the values of a string array as Python strings (UTF-8,
    pandas' default key). Missing values are not allowed (fill them first)."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if arr.null_count:
        raise ValueError("siphash_strings: fill missing values first")
    out = np.empty(len(arr), dtype=np.uint64)
    if len(arr) == 0:
        return out
    data, offsets, _ = _string_buffers(arr)
    _siphash_buffers(data, offsets, _K0, _K1, out)
    return out


@numba.njit(nogil=True, cache=True)
def _order_runs(keys: npt.NDArray[np.uint64], order: npt.NDArray[np.int64]) -> None:
    """Within each run of equal ``keys[order]``, sort ``order`` ascending (insertion sort:
    runs are short)."""
    n = len(order)
    i = 0
    while i < n:
        j = i + 1
        k = keys[order[i]]
        while j < n and keys[order[j]] == k:
            j += 1
        if j - i > 1:
            for a in range(i + 1, j):
                v = order[a]
                b = a - 1
                while b >= i and order[b] > v:
                    order[b + 1] = order[b]
                    b -= 1
                order[b + 1] = v
        i = j


def stable_argsort(keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """``numpy.argsort(keys, kind="stable")`` of unsigned 64-bit keys, faster."""
    keys = np.ascontiguousarray(keys, dtype=np.uint64)
    order = np.argsort(keys, kind="quicksort").astype(np.int64, copy=False)
    if len(order) > 1:
        _order_runs(keys, order)
    return order


@numba.njit(nogil=True, cache=True)
def _line_spans(
    data: npt.NDArray[np.uint8], wanted: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:  # pragma: no cover - compiled
    starts = np.empty(len(wanted), dtype=np.int64)
    ends = np.empty(len(wanted), dtype=np.int64)
    k = 0
    line = 0
    start = 0
    n = len(data)
    pos = 0
    while k < len(wanted) and pos < n:
        if data[pos] == 10:
            while k < len(wanted) and wanted[k] == line:
                starts[k] = start
                ends[k] = pos
                k += 1
            line += 1
            start = pos + 1
        pos += 1
    if k < len(wanted):
        return starts[:k], ends[:k]
    return starts, ends


@numba.njit(nogil=True, cache=True)
def _line_spans_words(
    data: npt.NDArray[np.uint8],
    words: npt.NDArray[np.uint64],
    wanted: npt.NDArray[np.int64],
    low7: np.uint64,
    nls: np.uint64,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:  # pragma: no cover - compiled
    """:func:`_line_spans` eight bytes at a time (as :func:`_scan_lines_words`)."""
    starts = np.empty(len(wanted), dtype=np.int64)
    ends = np.empty(len(wanted), dtype=np.int64)
    k = 0
    line = 0
    start = 0
    index_of = np.uint64(0x0001020304050607)
    w = 0
    while w < len(words) and k < len(wanted):
        v = words[w] ^ nls
        t = ~(((v & low7) + low7) | v | low7)
        while t != 0 and k < len(wanted):
            low = t & (~t + np.uint64(1))
            pos = w * 8 + int(((low >> np.uint64(7)) * index_of) >> np.uint64(56))
            while k < len(wanted) and wanted[k] == line:
                starts[k] = start
                ends[k] = pos
                k += 1
            line += 1
            start = pos + 1
            t &= t - np.uint64(1)
        w += 1
    pos = len(words) * 8
    while k < len(wanted) and pos < len(data):
        if data[pos] == 10:
            while k < len(wanted) and wanted[k] == line:
                starts[k] = start
                ends[k] = pos
                k += 1
            line += 1
            start = pos + 1
        pos += 1
    return starts[:k], ends[:k]


def line_spans(
    buf: bytes, lines: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Start and end byte offsets (newline excluded) of the given lines (0-based, ascending)
    of ``buf``, every line of which ends with a newline; a line past the last is an error.
    Eight bytes at a time; equal to :func:`line_spans_reference` (tested)."""
    wanted = np.ascontiguousarray(lines, dtype=np.int64)
    if len(wanted) and (np.diff(wanted) < 0).any():
        raise ValueError("line_spans: lines must be ascending")
    data = np.frombuffer(buf, dtype=np.uint8)
    words = np.frombuffer(buf, dtype="<u8", count=len(data) // 8)
    starts, ends = _line_spans_words(data, words, wanted, _LOW7, _NEWLINES)
    if len(starts) != len(wanted):
        raise IndexError("line_spans: line past the end of the block")
    return starts, ends


@numba.njit(nogil=True, cache=True)
def _scan_lines(data: npt.NDArray[np.uint8]) -> tuple[int, int]:  # pragma: no cover - compiled
    count = 0
    longest = 0
    last = -1
    for i in range(len(data)):
        if data[i] == 10:
            length = i - last - 1
            if length > longest:
                longest = length
            last = i
            count += 1
    tail = len(data) - last - 1
    if tail > longest:
        longest = tail
    return count, longest


_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_NEWLINES = np.uint64(0x0A0A0A0A0A0A0A0A)


@numba.njit(nogil=True, cache=True)
def _scan_lines_words(
    data: npt.NDArray[np.uint8], words: npt.NDArray[np.uint64], low7: np.uint64, nls: np.uint64
) -> tuple[int, int]:  # pragma: no cover - compiled
    """:func:`_scan_lines` eight bytes at a time (``words``: the bytes of ``data`` as
    little-endian 64-bit words, the tail left over): a word without a newline costs a few
    operations. Newline bytes are found exactly (no false positives), and the byte index of
    the lowest one by a multiplication (H. S. Warren's byte search)."""
    count = 0
    longest = 0
    last = -1
    index_of = np.uint64(0x0001020304050607)
    for w in range(len(words)):
        v = words[w] ^ nls  # newline bytes are now zero
        t = ~(((v & low7) + low7) | v | low7)  # 0x80 exactly at the zero bytes
        base = w * 8
        while t != 0:
            low = t & (~t + np.uint64(1))
            j = ((low >> np.uint64(7)) * index_of) >> np.uint64(56)
            i = base + int(j)
            length = i - last - 1
            if length > longest:
                longest = length
            last = i
            count += 1
            t &= t - np.uint64(1)
    for i in range(len(words) * 8, len(data)):
        if data[i] == 10:
            length = i - last - 1
            if length > longest:
                longest = length
            last = i
            count += 1
    tail = len(data) - last - 1
    if tail > longest:
        longest = tail
    return count, longest


def scan_lines(buf: bytes) -> tuple[int, int]:
    """Newline characters in ``buf`` and the length in bytes of its longest line (newline
    excluded; text after the last newline counts as a line). Eight bytes at a time; equal to
    the byte-by-byte :func:`scan_lines_reference` (tested)."""
    data = np.frombuffer(buf, dtype=np.uint8)
    words = np.frombuffer(buf, dtype="<u8", count=len(data) // 8)
    return _scan_lines_words(data, words, _LOW7, _NEWLINES)


def line_spans_reference(
    buf: bytes, lines: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """:func:`line_spans` one byte at a time."""
    return _line_spans(np.frombuffer(buf, dtype=np.uint8), np.ascontiguousarray(lines, np.int64))


def scan_lines_reference(buf: bytes) -> tuple[int, int]:
    """:func:`scan_lines` one byte at a time."""
    return _scan_lines(np.frombuffer(buf, dtype=np.uint8))


def _string_buffers(
    arr: pa.Array,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[Any], npt.NDArray[np.bool_]]:
    """Data bytes, offsets and validity of a string array, as numpy views."""
    if arr.type not in (pa.string(), pa.large_string()):
        raise TypeError(f"text expected, not {arr.type}")
    validity_buf, offsets_buf, data_buf = arr.buffers()
    width = np.int32 if arr.type == pa.string() else np.int64
    offsets = np.asarray(np.frombuffer(offsets_buf, dtype=width), dtype=width)[
        arr.offset : arr.offset + len(arr) + 1
    ]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    )
    if arr.null_count:
        valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    else:
        valid = np.ones(len(arr), dtype=bool)
    return data, offsets, valid


# -- decimal numbers -------------------------------------------------------------------------

_POW10 = np.array([10.0**k for k in range(23)], dtype=np.float64)  # exact doubles


@numba.njit(nogil=True, cache=True)
def _plain_decimals(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.integer[Any]],
    valid: npt.NDArray[np.bool_],
    pow10: npt.NDArray[np.float64],
    out: npt.NDArray[np.float64],
    done: npt.NDArray[np.bool_],
    blank: npt.NDArray[np.bool_],
) -> None:  # pragma: no cover - compiled
    for i in range(len(offsets) - 1):
        done[i] = False
        blank[i] = False
        p = offsets[i]
        end = offsets[i + 1]
        if not valid[i] or p >= end:  # missing or empty: blank
            out[i] = np.nan
            blank[i] = True
            done[i] = True
            continue
        negative = False
        if data[p] == 45:  # '-'
            negative = True
            p += 1
        mantissa = np.int64(0)
        digits = 0
        int_digits = 0
        frac_digits = 0
        seen_point = False
        ok = True
        while p < end:
            c = data[p]
            if 48 <= c <= 57:
                mantissa = mantissa * 10 + (c - 48)
                digits += 1
                if seen_point:
                    frac_digits += 1
                else:
                    int_digits += 1
            elif c == 46 and not seen_point:  # '.'
                seen_point = True
            else:
                ok = False
                break
            p += 1
        # digits on both sides of a point; the integer of the digits exact in a double (at
        # most 2**53, at most 18 digits so that it did not overflow) and a power of ten that
        # is an exact double too
        if not ok or int_digits == 0 or (seen_point and frac_digits == 0):
            continue
        if digits > 18 or mantissa > 9007199254740992 or frac_digits > 22:
            continue
        value = float(mantissa)
        if frac_digits:
            value = value / pow10[frac_digits]
        out[i] = -value if negative else value
        done[i] = True


def plain_decimals(
    values: pa.Array,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Values of the plain form ``-?digits[.digits]`` (digits making an integer up to 2**53)
    as doubles, and
    where a value had that form (elsewhere the value is undefined: parse it another way).

    The result is the correctly rounded double of the decimal (an exact integer divided by an
    exact power of ten is rounded once: Clinger's fast path), which is what Arrow's cast and
    Python's ``float`` give for the same text. Missing and empty values are done too: NaN and
    blank (the third array)."""
    data, offsets, valid = _string_buffers(values)
    out = np.empty(len(values), dtype=np.float64)
    done = np.empty(len(values), dtype=bool)
    blank = np.empty(len(values), dtype=bool)
    _plain_decimals(data, offsets, valid, _POW10, out, done, blank)
    return out, done, blank


# -- date-times ------------------------------------------------------------------------------

# field codes of a fixed-width format: 0 literal byte, 1 year (4 digits), 2 month, 3 day,
# 4 hour, 5 minute, 6 second (2 digits each), 7 UTC offset (+HH:MM or +HHMM, or Z)
_FIELDS = {"Y": (1, 4), "m": (2, 2), "d": (3, 2), "H": (4, 2), "M": (5, 2), "S": (6, 2)}


def fixed_width_layout(fmt: str, *, offset: bool = False) -> npt.NDArray[np.int64] | None:
    """The layout of a strptime format made only of ``%Y %m %d %H %M %S`` (zero-padded, each
    at most once, with at least a date) and literal ASCII characters, plus a trailing ``%z``
    where ``offset`` is true, as (code, width, byte) rows; None for any other format."""
    out: list[tuple[int, int, int]] = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%":
            d = fmt[i + 1] if i + 1 < len(fmt) else ""
            if d in _FIELDS and d:
                out.append((*_FIELDS[d], 0))
            elif d == "z" and offset and i + 2 == len(fmt):
                out.append((7, 0, 0))
            else:
                return None
            i += 2
            continue
        if not ch.isascii() or ch == "%" or (ch.isspace() and ch != " "):
            return None
        out.append((0, 1, ord(ch)))
        i += 1
    fields = [code for code, _, _ in out if code]
    if len(fields) != len(set(fields)) or not {1, 2, 3} <= set(fields):
        return None
    return np.array(out, dtype=np.int64).reshape(-1, 3)


@numba.njit(inline="always")
def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = y - 1 if m <= 2 else y
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = m - 3 if m > 2 else m + 9
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@numba.njit(nogil=True, cache=True)
def _fixed_width_times(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.integer[Any]],
    valid: npt.NDArray[np.bool_],
    layout: npt.NDArray[np.int64],
    out: npt.NDArray[np.int64],
    done: npt.NDArray[np.bool_],
) -> None:  # pragma: no cover - compiled
    month_days = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    for i in range(len(offsets) - 1):
        done[i] = False
        if not valid[i]:
            continue
        p = offsets[i]
        end = offsets[i + 1]
        year = 1970
        month = 1
        day = 1
        hour = 0
        minute = 0
        second = 0
        offset_min = 0
        ok = True
        for k in range(layout.shape[0]):
            code = layout[k, 0]
            width = layout[k, 1]
            if code == 0:
                if p >= end or data[p] != layout[k, 2]:
                    ok = False
                    break
                p += 1
                continue
            if code == 7:
                if p < end and data[p] == 90:  # 'Z'
                    p += 1
                    continue
                if p + 5 > end or (data[p] != 43 and data[p] != 45):
                    ok = False
                    break
                sign = -1 if data[p] == 45 else 1
                q = p + 1
                h1, h2 = data[q], data[q + 1]
                if not (48 <= h1 <= 57 and 48 <= h2 <= 57):
                    ok = False
                    break
                q += 2
                if q < end and data[q] == 58:  # ':'
                    q += 1
                if q + 2 > end:
                    ok = False
                    break
                m1, m2 = data[q], data[q + 1]
                if not (48 <= m1 <= 57 and 48 <= m2 <= 57):
                    ok = False
                    break
                oh = (h1 - 48) * 10 + (h2 - 48)
                om = (m1 - 48) * 10 + (m2 - 48)
                if oh > 23 or om > 59:
                    ok = False
                    break
                offset_min = sign * (oh * 60 + om)
                p = q + 2
                continue
            if p + width > end:
                ok = False
                break
            value = 0
            for j in range(width):
                c = data[p + j]
                if c < 48 or c > 57:
                    ok = False
                    break
                value = value * 10 + (c - 48)
            if not ok:
                break
            p += width
            if code == 1:
                year = value
            elif code == 2:
                month = value
            elif code == 3:
                day = value
            elif code == 4:
                hour = value
            elif code == 5:
                minute = value
            else:
                second = value
        if not ok or p != end:
            continue
        if year < 1 or month < 1 or month > 12 or day < 1:
            continue
        limit = month_days[month - 1]
        if month == 2 and (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
            limit = 29
        if day > limit or hour > 23 or minute > 59 or second > 59:
            continue
        days = _days_from_civil(year, month, day)
        seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_min * 60
        out[i] = seconds * 1_000_000
        done[i] = True


def fixed_width_times(
    values: pa.Array, layout: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Times of a fixed-width layout (:func:`fixed_width_layout`) as microseconds since the
    epoch (UTC when the layout has an offset; else the wall clock as if UTC), and where a value
    matched it exactly and was a valid date and time (elsewhere parse it another way)."""
    data, offsets, valid = _string_buffers(values)
    out = np.empty(len(values), dtype=np.int64)
    done = np.empty(len(values), dtype=bool)
    _fixed_width_times(data, offsets, valid, layout, out, done)
    return out, done


# -- 64-bit mixing -----------------------------------------------------------------------------

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@numba.njit(nogil=True, cache=True)
def _splitmix_inplace(v: npt.NDArray[np.uint64]) -> None:  # pragma: no cover - compiled
    for i in range(len(v)):
        h = v[i]
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
        v[i] = h


@numba.njit(nogil=True, cache=True)
def _mix_into(
    acc: npt.NDArray[np.uint64], part: npt.NDArray[np.uint64], golden: np.uint64
) -> None:  # pragma: no cover - compiled
    if len(part) == 1:
        value = part[0]
        for i in range(len(acc)):
            acc[i] = (acc[i] * golden) ^ value
    else:
        for i in range(len(acc)):
            acc[i] = (acc[i] * golden) ^ part[i]


def splitmix(values: npt.NDArray[Any]) -> npt.NDArray[np.uint64]:
    """``pandas.util.hash_array`` of 64-bit integers (their bits as unsigned), or of floats
    (NaN and -0.0 made canonical first, as pandas does), in one pass."""
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        arr = arr.astype(np.float64, copy=True)
        arr[np.isnan(arr)] = np.nan
        arr[arr == 0] = 0.0  # -0.0 -> 0.0
        out = arr.view(np.uint64)
    elif arr.dtype.itemsize == 8 and arr.dtype.kind in "iu":
        out = (
            arr.astype(np.uint64, copy=True)
            if arr.dtype.kind == "u"
            else arr.view(np.uint64).copy()
        )
    else:
        raise TypeError(f"splitmix: 64-bit numbers expected, not {arr.dtype}")
    out = np.ascontiguousarray(out)
    _splitmix_inplace(out)
    return out


def mix_hashes(*parts: npt.NDArray[np.uint64] | np.uint64) -> npt.NDArray[np.uint64]:
    """``(((p0 * G) ^ p1) * G ^ p2 ...)`` then :func:`splitmix` (parts: arrays of one length
    or scalars), without temporary arrays."""
    first = np.atleast_1d(np.asarray(parts[0], dtype=np.uint64))
    lengths = [np.size(p) for p in parts if np.ndim(p) > 0]
    n = (0 if 0 in lengths else max(lengths)) if lengths else 1  # numpy broadcasting
    acc = np.empty(n, dtype=np.uint64)
    acc[:] = first
    for part in parts[1:]:
        _mix_into(
            acc, np.ascontiguousarray(np.atleast_1d(np.asarray(part, dtype=np.uint64))), _GOLDEN
        )
    _splitmix_inplace(acc)
    return acc


# -- distinct points and a cache of projected points --------------------------------------------


@numba.njit(inline="always")
def _pair_slot(xb: np.uint64, yb: np.uint64, mask: np.uint64) -> np.uint64:
    h = (xb * np.uint64(0x9E3779B97F4A7C15)) ^ yb
    h ^= h >> np.uint64(31)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(29)
    return h & mask


@numba.njit(nogil=True, cache=True)
def _distinct_pairs(
    xb: npt.NDArray[np.uint64], yb: npt.NDArray[np.uint64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:  # pragma: no cover - compiled
    n = len(xb)
    size = 16
    while size < 2 * n:
        size *= 2
    mask = np.uint64(size - 1)
    table = np.full(size, -1, dtype=np.int64)  # first row of the pair in the slot
    codes = np.empty(n, dtype=np.int64)
    first = np.empty(n, dtype=np.int64)
    k = 0
    for i in range(n):
        s = _pair_slot(xb[i], yb[i], mask)
        while True:
            j = table[s]
            if j < 0:
                table[s] = i
                first[k] = i
                codes[i] = k
                k += 1
                break
            if xb[j] == xb[i] and yb[j] == yb[i]:
                codes[i] = codes[j]
                break
            s = (s + np.uint64(1)) & mask
    return codes, first[:k]


def distinct_pairs(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Distinct (x, y) pairs by their exact bits: each row's pair number and the first row of
    each pair, in order of first appearance (as ``pandas.factorize`` numbers them)."""
    xb = np.ascontiguousarray(x, dtype=np.float64).view(np.uint64)
    yb = np.ascontiguousarray(y, dtype=np.float64).view(np.uint64)
    return _distinct_pairs(xb, yb)


@numba.njit(nogil=True, cache=True)
def _cache_lookup(
    keys_x: npt.NDArray[np.uint64],
    keys_y: npt.NDArray[np.uint64],
    used: npt.NDArray[np.bool_],
    vals_x: npt.NDArray[np.float64],
    vals_y: npt.NDArray[np.float64],
    xb: npt.NDArray[np.uint64],
    yb: npt.NDArray[np.uint64],
    out_x: npt.NDArray[np.float64],
    out_y: npt.NDArray[np.float64],
    hit: npt.NDArray[np.bool_],
) -> None:  # pragma: no cover - compiled
    mask = np.uint64(len(used) - 1)
    for i in range(len(xb)):
        s = _pair_slot(xb[i], yb[i], mask)
        hit[i] = False
        while used[s]:
            if keys_x[s] == xb[i] and keys_y[s] == yb[i]:
                out_x[i] = vals_x[s]
                out_y[i] = vals_y[s]
                hit[i] = True
                break
            s = (s + np.uint64(1)) & mask


@numba.njit(nogil=True, cache=True)
def _cache_insert(
    keys_x: npt.NDArray[np.uint64],
    keys_y: npt.NDArray[np.uint64],
    used: npt.NDArray[np.bool_],
    vals_x: npt.NDArray[np.float64],
    vals_y: npt.NDArray[np.float64],
    xb: npt.NDArray[np.uint64],
    yb: npt.NDArray[np.uint64],
    in_x: npt.NDArray[np.float64],
    in_y: npt.NDArray[np.float64],
) -> int:  # pragma: no cover - compiled
    mask = np.uint64(len(used) - 1)
    added = 0
    for i in range(len(xb)):
        s = _pair_slot(xb[i], yb[i], mask)
        while used[s]:
            if keys_x[s] == xb[i] and keys_y[s] == yb[i]:
                break
            s = (s + np.uint64(1)) & mask
        if not used[s]:
            used[s] = True
            keys_x[s] = xb[i]
            keys_y[s] = yb[i]
            vals_x[s] = in_x[i]
            vals_y[s] = in_y[i]
            added += 1
    return added


class PointCache:
    """Projected points by the exact bits of their source coordinates, kept for one ingest
    (published points repeat from block to block and month to month: anonymised map points,
    rounded coordinates). Open addressing, at most half full; it stops growing at
    ``max_points`` (then only the points already in it are found). Thread-safe."""

    def __init__(self, max_points: int = 1 << 20) -> None:
        import threading

        self.max_points = max_points
        self.size = 0
        self._lock = threading.Lock()
        self._alloc(1 << 16)

    def _alloc(self, slots: int) -> None:
        self.keys_x = np.zeros(slots, dtype=np.uint64)
        self.keys_y = np.zeros(slots, dtype=np.uint64)
        self.used = np.zeros(slots, dtype=bool)
        self.vals_x = np.zeros(slots, dtype=np.float64)
        self.vals_y = np.zeros(slots, dtype=np.float64)

    def lookup(
        self, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        """Projected x, y where known, and where they were known."""
        xb = np.ascontiguousarray(x, dtype=np.float64).view(np.uint64)
        yb = np.ascontiguousarray(y, dtype=np.float64).view(np.uint64)
        out_x = np.full(len(xb), np.nan)
        out_y = np.full(len(xb), np.nan)
        hit = np.zeros(len(xb), dtype=bool)
        with self._lock:
            _cache_lookup(
                self.keys_x, self.keys_y, self.used, self.vals_x, self.vals_y,
                xb, yb, out_x, out_y, hit,
            )  # fmt: skip
        return out_x, out_y, hit

    def insert(
        self,
        x: npt.NDArray[np.float64],
        y: npt.NDArray[np.float64],
        px: npt.NDArray[np.float64],
        py: npt.NDArray[np.float64],
    ) -> None:
        """Remember projected points (as long as there is room)."""
        with self._lock:
            room = self.max_points - self.size
            if room <= 0:
                return
            n = min(len(x), room)
            xb = np.ascontiguousarray(x[:n], dtype=np.float64).view(np.uint64)
            yb = np.ascontiguousarray(y[:n], dtype=np.float64).view(np.uint64)
            slots = len(self.used)
            if 2 * (self.size + n) > slots:
                while 2 * (self.size + n) > slots:
                    slots *= 2
                old = (self.keys_x, self.keys_y, self.used, self.vals_x, self.vals_y)
                self._alloc(slots)
                kept = old[2]
                _cache_insert(
                    self.keys_x, self.keys_y, self.used, self.vals_x, self.vals_y,
                    old[0][kept], old[1][kept], old[3][kept], old[4][kept],
                )  # fmt: skip
            self.size += _cache_insert(
                self.keys_x, self.keys_y, self.used, self.vals_x, self.vals_y,
                xb, yb,
                np.ascontiguousarray(px[:n], dtype=np.float64),
                np.ascontiguousarray(py[:n], dtype=np.float64),
            )  # fmt: skip


# -- a set of 64-bit keys ----------------------------------------------------------------------


@numba.njit(nogil=True, cache=True)
def _first_seen(
    table: npt.NDArray[np.int64],
    used: npt.NDArray[np.bool_],
    keys: npt.NDArray[np.int64],
    take: npt.NDArray[np.bool_],
    repeated: npt.NDArray[np.bool_],
) -> int:  # pragma: no cover - compiled
    mask = np.uint64(len(table) - 1)
    added = 0
    for i in range(len(keys)):
        repeated[i] = False
        if not take[i]:
            continue
        k = keys[i]
        h = np.uint64(k) * np.uint64(0x9E3779B97F4A7C15)
        s = (h ^ (h >> np.uint64(29))) & mask
        while used[s]:
            if table[s] == k:
                repeated[i] = True
                break
            s = (s + np.uint64(1)) & mask
        if not repeated[i]:
            used[s] = True
            table[s] = k
            added += 1
    return added


class KeySet:
    """A growing set of 64-bit keys (open addressing, at most half full): :meth:`first_seen`
    adds a block's keys in order and says which were there already, in one pass."""

    def __init__(self) -> None:
        self.size = 0
        self.table = np.zeros(1 << 16, dtype=np.int64)
        self.used = np.zeros(1 << 16, dtype=bool)

    def __len__(self) -> int:
        return self.size

    def first_seen(
        self, keys: npt.NDArray[np.int64], take: npt.NDArray[np.bool_] | None = None
    ) -> npt.NDArray[np.bool_]:
        """For each key (where ``take``), whether it was seen before, in this call's earlier
        rows included; unseen keys are added."""
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        take = np.ones(len(keys), dtype=bool) if take is None else np.ascontiguousarray(take)
        need = 2 * (self.size + int(np.count_nonzero(take)))
        if need > len(self.table):
            slots = len(self.table)
            while need > slots:
                slots *= 2
            old = self.table[self.used]
            self.table = np.zeros(slots, dtype=np.int64)
            self.used = np.zeros(slots, dtype=bool)
            _first_seen(
                self.table, self.used, old, np.ones(len(old), dtype=bool),
                np.zeros(len(old), dtype=bool),
            )  # fmt: skip
        repeated = np.zeros(len(keys), dtype=bool)
        self.size += _first_seen(self.table, self.used, keys, take, repeated)
        return repeated


# -- occurrence numbers of 64-bit hashes -------------------------------------------------------


@numba.njit(nogil=True, cache=True)
def _count_next(
    table: npt.NDArray[np.uint64],
    counts: npt.NDArray[np.int64],
    used: npt.NDArray[np.bool_],
    hashes: npt.NDArray[np.uint64],
    add: npt.NDArray[np.int64],
    out: npt.NDArray[np.int64],
) -> int:  # pragma: no cover - compiled
    """For each hash in order: ``out[i]`` = its count so far, then the count grows by
    ``add[i]``; new hashes are inserted. Returns the number of hashes inserted."""
    mask = np.uint64(len(table) - 1)
    added = 0
    for i in range(len(hashes)):
        k = hashes[i]
        h = k * np.uint64(0x9E3779B97F4A7C15)
        s = (h ^ (h >> np.uint64(29))) & mask
        while used[s] and table[s] != k:
            s = (s + np.uint64(1)) & mask
        if not used[s]:
            used[s] = True
            table[s] = k
            counts[s] = 0
            added += 1
        out[i] = counts[s]
        counts[s] += add[i]
    return added


class OccurrenceCounter:
    """Occurrence numbers of content hashes within one file, in one compiled pass over a hash
    table (open addressing, at most half full): the n-th copy of a hash gets n. Equal to
    :class:`patrolcast.io._values.Occurrences` (sorted runs, the reference; tested) without its
    sort of every block; 34 to 68 bytes per distinct hash (two to four slots of 17 bytes),
    against 16 in the sorted runs."""

    def __init__(self) -> None:
        self.size = 0
        self._alloc(1 << 16)

    def _alloc(self, slots: int) -> None:
        self.table = np.zeros(slots, dtype=np.uint64)
        self.counts = np.zeros(slots, dtype=np.int64)
        self.used = np.zeros(slots, dtype=bool)

    def __len__(self) -> int:
        return self.size

    def next(self, hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        """Occurrence number of each hash: how many times it was seen before in the file."""
        hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
        out = np.empty(len(hashes), dtype=np.int64)
        if len(hashes) == 0:
            return out
        need = 2 * (self.size + len(hashes))
        if need > len(self.table):
            slots = len(self.table)
            while need > slots:
                slots *= 2
            old_keys, old_counts = self.table[self.used], self.counts[self.used]
            self._alloc(slots)
            _count_next(
                self.table, self.counts, self.used, old_keys, old_counts,
                np.empty(len(old_keys), dtype=np.int64),
            )  # fmt: skip
        self.size += _count_next(
            self.table, self.counts, self.used, hashes, np.ones(len(hashes), dtype=np.int64), out
        )
        return out
