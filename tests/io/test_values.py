# ruff: noqa: E501
"""Vectorised value parsing against plain references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from patrolcast.io._values import Occurrences, iso_to_utc, local_to_utc, parse_numbers


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=30), min_size=0, max_size=400),
    st.integers(min_value=1, max_value=60),
)
def test_occurrences_match_a_plain_cumcount(values: list[int], block: int) -> None:
    hashes = np.array(values, dtype=np.uint64)
    occ = Occurrences()
    got = [occ.next(hashes[i : i + block]) for i in range(0, len(hashes), block)]
    fast = np.concatenate(got) if got else np.zeros(0, dtype=np.int64)
    seen: dict[int, int] = {}
    reference = []
    for v in values:  # the n-th copy of a value gets n
        reference.append(seen.get(v, 0))
        seen[v] = seen.get(v, 0) + 1
    assert fast.tolist() == reference


def test_parse_numbers_fast_and_slow_paths() -> None:
    assert np.array_equal(parse_numbers(pa.array(["1.5", "-2", "3e2"])), [1.5, -2.0, 300.0])
    out = parse_numbers(pa.array(["1,001,951", "", " 7 ", "x", None, "1.2.3"]))
    assert out[0] == 1_001_951 and out[2] == 7
    assert np.isnan(out[[1, 3, 4, 5]]).all()


def test_local_times_are_parsed_strictly() -> None:
    text = pa.array(
        ["2015-02-30 10:00", "2016-02-29 10:00", "2015-04-31 23:00", "2015-05-01 00:00"]
    )
    utc = local_to_utc(text, "%Y-%m-%d %H:%M", "Europe/London").utc
    assert utc.isna().tolist() == [True, False, True, False]
    assert utc.iloc[3] == pd.Timestamp("2015-04-30 23:00", tz="UTC")  # BST midnight


def test_unpadded_times_and_12_hour_clock() -> None:
    utc = local_to_utc(
        pa.array(["08/14/2010 3:11:00"]), "%m/%d/%Y %H:%M:%S", "America/New_York"
    ).utc
    assert utc.iloc[0] == pd.Timestamp("2010-08-14 07:11", tz="UTC")
    pm = local_to_utc(
        pa.array(["01/02/2004 08:25:00 PM"]), "%m/%d/%Y %I:%M:%S %p", "America/Chicago"
    ).utc
    assert pm.iloc[0] == pd.Timestamp("2004-01-03 02:25", tz="UTC")


def test_iso_with_offsets() -> None:
    got = iso_to_utc(
        pa.array(
            ["2018-03-01T10:00:00+01:00", "2018-02-30T10:00:00+00:00", "", "2018-06-15T12:00:00Z"]
        )
    )
    assert got.iloc[0] == pd.Timestamp("2018-03-01 09:00", tz="UTC")
    assert got.isna().tolist() == [False, True, True, False]


def test_times_match_the_strict_pandas_reference_on_every_calendar_edge() -> None:
    """Arrow's lenient strptime plus the roll-over re-parse equals pandas' strict parse for
    every month 0-13, day 0-32, hour 0/23/24 and minute 0/59/60 (leap and common years)."""
    from patrolcast.io._values import _parse_naive_us, iso_to_utc_us

    text = [
        f"{y}-{m:02d}-{d:02d} {h:02d}:{mi:02d}"
        for y in (2019, 2020, 2100, 2000) for m in range(14) for d in range(33)
        for h in (0, 23, 24) for mi in (0, 59, 60)
    ]  # fmt: skip
    got = _parse_naive_us(pa.array(text), "%Y-%m-%d %H:%M")
    ref = pd.to_datetime(pd.Series(text), format="%Y-%m-%d %H:%M", errors="coerce")
    assert np.array_equal(got, ref.astype("datetime64[us]").to_numpy().view(np.int64))
    us = [  # the NYPD layout, padded (fixed-width path) and not (general path), odd text
        f"{m:02d}/{d:02d}/{y} {h:02d}:{mi:02d}:{sec:02d}"
        for y in (2019, 2020) for m in range(14) for d in range(33) for h in (0, 23, 24)
        for mi in (0, 59) for sec in (0, 59, 60)
    ]  # fmt: skip
    us += ["1/2/2020 3:04:05", "12/31/2020 23:59:59 ", "ab/cd/efgh ij:kl:mn", "", "0/0/0 0:0:0"]
    got = _parse_naive_us(pa.array(us), "%m/%d/%Y %H:%M:%S")
    ref = pd.to_datetime(pd.Series(us).str.strip(), format="%m/%d/%Y %H:%M:%S", errors="coerce")
    assert np.array_equal(got, ref.astype("datetime64[us]").to_numpy().view(np.int64))
    iso = [
        f"{y}-{m:02d}-{d:02d}T{h:02d}:30:00{o}"
        for y in (2019, 2020) for m in range(1, 13) for d in range(33) for h in (0, 23)
        for o in ("+00:00", "+01:00", "-05:00", "+14:00", "Z", "+05:30", "-03:30", "+0530")
    ]  # fmt: skip
    ref_iso = pd.to_datetime(pd.Series(iso), format="ISO8601", utc=True, errors="coerce")
    expected = ref_iso.dt.tz_localize(None).dt.as_unit("us").to_numpy().view(np.int64)
    assert np.array_equal(iso_to_utc_us(pa.array(iso)), expected)


def test_arrow_time_zones_match_the_zoneinfo_reference_across_dst() -> None:
    """The vectorised Arrow localisation equals pandas + zoneinfo, counts included, for every
    7 minutes of 15 years in three zones (every DST change, both directions)."""
    stamps = pd.date_range("2009-12-30", "2024-12-31", freq="7min").strftime("%Y-%m-%d %H:%M")
    text = pa.array([*stamps.tolist(), "2015-02-30 10:00", "x", ""])
    for zone in ("America/Chicago", "Europe/London", "America/New_York"):
        fast = local_to_utc(text, "%Y-%m-%d %H:%M", zone)
        ref = local_to_utc(text, "%Y-%m-%d %H:%M", zone, engine="reference")
        assert np.array_equal(fast.epoch_us, ref.epoch_us)
        assert (fast.ambiguous, fast.nonexistent) == (ref.ambiguous, ref.nonexistent)
        assert fast.ambiguous > 0 and fast.nonexistent > 0


def test_odd_time_zone_changes_shift_to_the_first_valid_instant() -> None:
    """Samoa skipped 30 December 2011 and Lord Howe Island moves by 30 minutes. Counts equal
    the zoneinfo reference; a nonexistent time becomes the first valid instant after the gap
    (checked with zoneinfo itself: one microsecond earlier is before the wall-clock time).
    pandas' shift_forward moves such times a whole hour, so it is not the reference there."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    stamps = pd.date_range("2009-12-30", "2024-12-31", freq="7min").strftime("%Y-%m-%d %H:%M")
    text = pa.array(stamps.tolist())
    for zone in ("Pacific/Apia", "Australia/Lord_Howe"):
        fast = local_to_utc(text, "%Y-%m-%d %H:%M", zone)
        ref = local_to_utc(text, "%Y-%m-%d %H:%M", zone, engine="reference")
        assert (fast.ambiguous, fast.nonexistent) == (ref.ambiguous, ref.nonexistent)
        differ = np.flatnonzero(fast.epoch_us != ref.epoch_us)
        assert 0 < len(differ) <= fast.nonexistent
        tz = ZoneInfo(zone)
        for i in differ.tolist():
            wall = datetime.strptime(stamps[i], "%Y-%m-%d %H:%M")
            got = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(fast.epoch_us[i]))
            before = (got - timedelta(microseconds=1)).astimezone(tz).replace(tzinfo=None)
            assert before < wall < got.astimezone(tz).replace(tzinfo=None)


def test_projection_of_repeated_points_is_pyproj_bit_for_bit() -> None:
    """Distinct points are projected once and spread back: identical to projecting each row."""
    from pyproj import Transformer

    from patrolcast.io._values import project

    rng = np.random.default_rng(3)
    lon = np.round(rng.uniform(-0.5, 0.3, 300), 4)
    lat = np.round(rng.uniform(51.3, 51.7, 300), 4)
    pick = rng.integers(0, 300, 5000)
    x, y = lon[pick], lat[pick]
    x[7], y[7] = -0.0, 51.5  # signed zero is its own bit pattern
    got = project(x, y, "EPSG:4326", "EPSG:27700")
    ref = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(x, y)
    assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1])
    unique = rng.uniform(-0.5, 0.3, 1000), rng.uniform(51.3, 51.7, 1000)  # no repeats: direct
    got = project(*unique, "EPSG:4326", "EPSG:27700")
    ref = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(*unique)
    assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1])


def test_coordinates_parsed_once_per_distinct_text_equal_the_direct_parse() -> None:
    from patrolcast.io._values import parse_coordinates

    rng = np.random.default_rng(5)
    vocab = ["-0.1276", " 51.5 ", "", "  ", "1,001,951", "x", "0", "-87.62770", "nan"]
    text = [vocab[i] for i in rng.integers(0, len(vocab), 20_000)]
    text[3] = None  # type: ignore[call-overload]
    many = parse_coordinates(pa.array(text))  # dictionary path (few distinct values)
    for i in rng.integers(0, len(text), 300).tolist():
        one = parse_coordinates(pa.array([text[i]]))  # direct path, one value
        assert np.array_equal(many[0][i], one[0][0], equal_nan=True)
        assert many[1][i] == one[1][0]
