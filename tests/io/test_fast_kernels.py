"""The compiled ingest kernels (``patrolcast.io._fast``) against the plain references they
replace: pandas' string hashes, numpy's stable argsort, a split of the text into lines, Arrow's
cast of numbers and Arrow's strptime with the strict pandas re-parse."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from patrolcast.io._fast import (
    fixed_width_layout,
    line_spans,
    plain_decimals,
    scan_lines,
    siphash_strings,
    stable_argsort,
)
from patrolcast.io._text import MAX_FIELD_CHARS, _may_hold_long_line
from patrolcast.io._values import (
    _iso_arrow_us,
    _iso_general_us,
    _parse_arrow_us,
    _parse_coordinates_arrow,
    _parse_general_us,
    parse_coordinates,
)


def _texts(seed: int, n: int) -> list[str]:
    rng = np.random.default_rng(seed)
    alphabet = [chr(c) for c in (*range(32, 127), 0xE9, 0x2028, 0x3000, 0x6F22, 0x1F600)]
    return ["".join(rng.choice(alphabet, size=int(rng.integers(0, 40)))) for _ in range(n)]


def test_siphash_equals_pandas_hash_array() -> None:
    values = [
        "",
        "a",
        "abcdefgh",
        "abcdefghi",
        " E01000001 ",
        "Anti-social behaviour",
        *_texts(1, 3000),
    ]
    expected = pd.util.hash_array(np.asarray(values, dtype=object), categorize=False)
    assert (siphash_strings(pa.array(values)) == expected).all()
    assert (siphash_strings(pa.array(values, pa.large_string())) == expected).all()
    assert (siphash_strings(pa.array(values).slice(7, 500)) == expected[7:507]).all()
    chunked = pa.chunked_array([pa.array(values[:10]), pa.array(values[10:])])
    assert (siphash_strings(chunked) == expected).all()
    categorised = pd.util.hash_array(np.asarray(values * 2, dtype=object), categorize=True)
    assert (siphash_strings(pa.array(values * 2)) == categorised).all()
    assert len(siphash_strings(pa.array([], pa.string()))) == 0
    with pytest.raises(ValueError):
        siphash_strings(pa.array(["a", None]))


def test_stable_argsort_equals_numpy_stable() -> None:
    rng = np.random.default_rng(3)
    for size, distinct in [(0, 1), (1, 1), (2, 1), (50, 3), (10_000, 40), (100_000, 90_000)]:
        keys = rng.integers(0, distinct, size).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        assert (stable_argsort(keys) == np.argsort(keys, kind="stable")).all()


def test_line_spans_and_scan_against_a_plain_split() -> None:
    rng = np.random.default_rng(5)
    for _ in range(200):
        lines = [
            "x" * int(rng.integers(0, 30)) + ("\r" if rng.random() < 0.1 else "")
            for _ in range(int(rng.integers(1, 40)))
        ]
        buf = ("\n".join(lines) + "\n").encode()
        wanted = np.flatnonzero(rng.random(len(lines)) < 0.3)
        starts, ends = line_spans(buf, wanted)
        assert [buf[a:b].decode() for a, b in zip(starts, ends, strict=True)] == [
            lines[i] for i in wanted
        ]
        assert scan_lines(buf) == (len(lines), max(len(x) for x in lines))
        assert scan_lines(buf[:-1]) == (len(lines) - 1, max(len(x) for x in lines))
    with pytest.raises(IndexError):
        line_spans(b"a\nb\n", np.array([2]))
    with pytest.raises(ValueError):
        line_spans(b"a\nb\n", np.array([1, 0]))


def test_long_line_measure_agrees_with_the_window_test() -> None:
    for length in (
        0,
        10,
        MAX_FIELD_CHARS // 2,
        MAX_FIELD_CHARS,
        MAX_FIELD_CHARS + 1,
        3 * MAX_FIELD_CHARS,
    ):
        buf = b"a,b\n" * 5 + b"x" * length + b"\n" + b"c,d\n"
        _, longest = scan_lines(buf)
        # the window test may say "maybe" for a line a little under the limit, never "no" for
        # one over it
        if longest > MAX_FIELD_CHARS:
            assert _may_hold_long_line(buf)
        if not _may_hold_long_line(buf):
            assert longest <= MAX_FIELD_CHARS


def test_plain_decimals_are_the_correctly_rounded_doubles() -> None:
    rng = np.random.default_rng(9)
    x = rng.uniform(-200, 200, 100_000)
    text = [f"{v:.{k}f}" for v, k in zip(x, rng.integers(0, 14, len(x)), strict=True)]
    text += [
        "0",
        "-0",
        "-0.0",
        "007.10",
        "123456789012345",
        "0.000000000000001",
        "9007199254740992",
    ]
    got, done, blank = plain_decimals(pa.array(text))
    assert done.all() and not blank.any()
    assert (got.view(np.uint64) == np.array([float(t) for t in text]).view(np.uint64)).all()
    odd = [
        "",
        " 1",
        "1 ",
        "+1",
        "1.",
        ".5",
        "1e5",
        "1,000",
        "--1",
        "1.2.3",
        "nan",
        "inf",
        "9007199254740993",
        "0.1234567890123456789",
        "é",
    ]
    _, done, _ = plain_decimals(pa.array(odd))
    assert not done[1:].any()
    got, done, blank = plain_decimals(pa.array(["", None, "1"]))
    assert done.all() and blank.tolist() == [True, True, False] and np.isnan(got[:2]).all()


def test_coordinates_equal_arrow_cast_reference_on_awkward_values() -> None:
    rng = np.random.default_rng(11)
    plain = [f"{v:.6f}" for v in rng.uniform(-3, 3, 6000)]
    odd = [
        "",
        "  ",
        " -1.5 ",
        "1,001,951",
        "+2.25",
        "1e3",
        "12.",
        ".5",
        "abc",
        "-0.0",
        "0",
        "1234567890123456.5",
    ]
    values = [*plain, *odd] * 2
    rng.shuffle(values)
    for arr in (pa.array(values), pa.array([*values, None]), pa.array(plain[:10] + odd)):
        got, blank = parse_coordinates(arr)
        ref, ref_blank = _parse_coordinates_arrow(arr)
        assert np.array_equal(got, ref, equal_nan=True)
        assert (blank == ref_blank).all()


def _time_corpus(fmt: str, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    start = np.datetime64("1999-12-25T00:00:00")
    seconds = rng.integers(0, 30 * 366 * 86400, 20_000)
    good = pd.Series(start + seconds.astype("timedelta64[s]")).dt.strftime(fmt).tolist()
    bad = [
        pd.Timestamp(f"{y}-{m:02d}-01 10:11:12").strftime(fmt).replace("-01", f"-{d:02d}", 1)
        for y in (2000, 2019, 2020, 2100) for m in (2, 4, 6, 9, 11) for d in (28, 29, 30, 31, 32)
    ]  # fmt: skip
    edge = [g.replace("12", "60", 1) for g in good[:50]] + [" " + g for g in good[:20]]
    edge += [g + " " for g in good[20:40]] + [g.replace("0", "", 1) for g in good[40:80]]
    edge += ["", "2020-13-01 00:00", "0000-01-01 00:00:00", "2020-02-30", "garbage"]
    return good + bad + edge


@pytest.mark.parametrize(
    "fmt", ["%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d", "%d/%m/%Y %H:%M"]
)
def test_fixed_width_times_equal_the_strict_arrow_reference(fmt: str) -> None:
    assert fixed_width_layout(fmt) is not None
    text = pa.array(_time_corpus(fmt, 1))
    got = _parse_general_us(text, fmt)
    assert (got == _parse_arrow_us(text, fmt)).all()
    assert (got != np.iinfo(np.int64).min).sum() > 20_000 - 1  # the good ones all parse
    with_null = pa.array([*_time_corpus(fmt, 2)[:100], None])
    assert (_parse_general_us(with_null, fmt) == _parse_arrow_us(with_null, fmt)).all()


def test_iso_times_with_offsets_equal_the_reference() -> None:
    rng = np.random.default_rng(4)
    base = _time_corpus("%Y-%m-%dT%H:%M:%S", 3)
    offsets = ["+00:00", "+01:00", "-05:30", "+0100", "Z", "", "+24:00", "+1:00", "+01:60"]
    text = [b + str(rng.choice(offsets)) for b in base] + ["2016-05-31T23:01:00.5+00:00"]
    arr = pa.array([*text, None])
    assert (_iso_general_us(arr) == _iso_arrow_us(arr)).all()


def test_layouts_only_for_zero_padded_fixed_width_formats() -> None:
    for fmt in (
        "%Y-%m-%d %I:%M %p",
        "%Y%j",
        "%H:%M",
        "%Y-%m-%d %H:%M %Z",
        "%Y-%m-%d%z",
        "%Y-%m-%d\t%H",
    ):
        assert fixed_width_layout(fmt) is None
    assert fixed_width_layout("%Y-%m-%dT%H:%M:%S%z", offset=True) is not None
    assert fixed_width_layout("%Y-%Y-%m-%d") is None


def test_arrow_and_fast_paths_agree_on_a_column_arrow_cannot_cast() -> None:
    arr = pa.array(["1.5", "x", "2"])
    assert np.array_equal(parse_coordinates(arr)[0], np.array([1.5, np.nan, 2.0]), equal_nan=True)
    assert pc.sum(pc.is_null(arr)).as_py() == 0


def test_compiled_mixing_equals_pandas_hash_array() -> None:
    from patrolcast.io._values import (
        mix,
        mix_reference,
        numeric_hash,
        numeric_hash_reference,
        tag_hash,
    )

    rng = np.random.default_rng(8)
    a = rng.integers(0, 2**63, 5000).astype(np.uint64) * np.uint64(3)
    b = rng.integers(-(2**62), 2**62, 5000)
    f = np.concatenate([rng.normal(size=100), [0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf]])
    for values in (a, b, f, b.astype(np.float64)):
        assert (numeric_hash(values) == numeric_hash_reference(values)).all()
    t = tag_hash("police.uk/street")
    for parts in [(t, a, numeric_hash(b)), (a,), (a, t), (t, a[:1], a), (t, a[:0])]:
        assert (mix(*parts) == mix_reference(*parts)).all()


def test_projection_with_distinct_pairs_and_cache_is_pyproj_bit_for_bit() -> None:
    from pyproj import Transformer

    from patrolcast.io._fast import PointCache, distinct_pairs
    from patrolcast.io._values import project, project_reference

    rng = np.random.default_rng(12)
    pool_x = np.round(rng.uniform(-2.5, 0.5, 3000), 6)
    pool_y = np.round(rng.uniform(51.0, 54.0, 3000), 6)
    direct = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    cache = PointCache(max_points=2500)  # fills up part-way: later points are projected anew
    for size in (0, 1, 7, 500, 4000, 20_000):
        pick = rng.integers(0, 3000, size)
        x, y = pool_x[pick], pool_y[pick]
        codes, first = distinct_pairs(x, y)
        assert (x[first][codes] == x).all() and (y[first][codes] == y).all()
        assert len(first) == len(set(zip(x.tolist(), y.tolist(), strict=True)))
        tx, ty = direct.transform(x, y)
        for got in (
            project(x, y, "EPSG:4326", "EPSG:27700"),
            project(x, y, "EPSG:4326", "EPSG:27700", cache),
            project_reference(x, y, "EPSG:4326", "EPSG:27700"),
        ):
            assert (got[0].view(np.uint64) == np.asarray(tx).view(np.uint64)).all()
            assert (got[1].view(np.uint64) == np.asarray(ty).view(np.uint64)).all()
    assert cache.size == 2500
    codes, first = distinct_pairs(np.array([1.0, 1.0, 2.0, 1.0]), np.array([5.0, 6.0, 5.0, 5.0]))
    assert codes.tolist() == [0, 1, 2, 0] and first.tolist() == [0, 1, 2]


def test_key_set_flags_repeats_like_a_python_set_over_many_blocks() -> None:
    from patrolcast.io._fast import KeySet

    rng = np.random.default_rng(21)
    keys = KeySet()
    seen: set[int] = set()
    extremes = [np.iinfo(np.int64).min, np.iinfo(np.int64).max, 0, -1]
    for size in [1, 5, 64, 3, 200, 1, 0, 9000, 17, 2, 40_000, 4]:
        block = rng.integers(-30_000, 30_000, size).astype(np.int64)
        take = rng.random(size) < 0.8
        if size == 5:
            block[:4] = extremes
            take[:4] = True
        got = keys.first_seen(block, take)
        expected = []
        for v, t in zip(block.tolist(), take.tolist(), strict=True):
            expected.append(t and v in seen)
            if t:
                seen.add(v)
        assert got.tolist() == expected
        assert len(keys) == len(seen)
    assert keys.first_seen(np.array(extremes, dtype=np.int64)).tolist() == [True] * 4


def test_word_at_a_time_scans_equal_the_byte_by_byte_ones() -> None:
    """Newlines found eight bytes at a time, next to bytes that differ from a newline by one
    bit (0x0B, 0x8A, 0x0E...), NULs and 0xFF, at every offset of short and long buffers."""
    from patrolcast.io._fast import line_spans_reference, scan_lines_reference

    rng = np.random.default_rng(31)
    alphabet = np.array([10, 10, 11, 9, 0x8A, 0x0E, 0x2A, 0x8B, 0, 255, 65, 13], dtype=np.uint8)
    for n in [*range(0, 70), 1000, 4097, 100_003]:
        for _ in range(20 if n < 1000 else 3):
            buf = rng.choice(alphabet, n).tobytes()
            assert scan_lines(buf) == scan_lines_reference(buf)
            if not buf.endswith(b"\n"):
                buf += b"\n"
            wanted = np.flatnonzero(rng.random(buf.count(b"\n")) < 0.4)
            got, ref = line_spans(buf, wanted), line_spans_reference(buf, wanted)
            assert got[0].tolist() == ref[0].tolist() and got[1].tolist() == ref[1].tolist()


def test_occurrence_counter_equals_the_sorted_runs_and_a_python_counter() -> None:
    """The hash-table occurrence counter gives the numbers of the sorted-run reference and of
    a plain Counter, over blocks of varied size that make the table grow several times."""
    from collections import Counter

    from patrolcast.io._fast import OccurrenceCounter
    from patrolcast.io._values import Occurrences

    rng = np.random.default_rng(41)
    fast, reference = OccurrenceCounter(), Occurrences()
    counts: Counter[int] = Counter()
    extremes = np.array([0, np.iinfo(np.uint64).max, 1, 0], dtype=np.uint64)
    for size in [4, 1, 0, 50, 7, 40_000, 2, 90_000, 9, 3000, 70_000]:
        block = rng.integers(0, 60_000, size).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        if size == 4:
            block = extremes
        if size == 3000:  # the extreme hashes again, after the table has grown
            block = np.concatenate([block, extremes])
        expected = []
        for v in block.tolist():
            expected.append(counts[v])
            counts[v] += 1
        got = fast.next(block)
        assert got.tolist() == expected
        assert reference.next(block).tolist() == expected
        assert len(fast) == len(counts)
    assert len(fast.table) > 1 << 16  # the table grew (and was rebuilt with its counts)
