"""One reader per source layout: each turns a block of text rows into store records.

Readers keep only place, time, offence and harm fields (plus an incident key and, for
stop-and-search, the search fields and the two ethnicity fields). Everything else in a source,
notably the age, sex and race of victims, suspects and searched people, is dropped here.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from patrolcast.io import _accounting as acc
from patrolcast.io._fast import PointCache, siphash_strings
from patrolcast.io._mapping import IncidentMapping
from patrolcast.io._rows import (
    Checks,
    Processed,
    Rejected,
    check_points,
    personal_columns,
    records_table,
)
from patrolcast.io._schema import EVENT_SCHEMA, STOP_SEARCH_EXTRA
from patrolcast.io._values import (
    Box,
    hash_strings,
    iso_to_utc_us,
    local_to_utc,
    mix,
    numeric_hash,
    parse_coordinates,
    parse_numbers,
    tag_hash,
)
from patrolcast.taxonomy import Taxonomy

GREAT_BRITAIN = (-8.8, 49.8, 2.0, 61.0)  # lon/lat box of EPSG:27700's area of use
_MONTH_COLUMN = re.compile(r"^\d{6}$")

POLICE_UK_STREET = "police-uk-street"
STOP_SEARCH = "stop-search"
LONDON_DATASTORE = "london-datastore"
INCIDENTS = "incidents"
KINDS = (POLICE_UK_STREET, STOP_SEARCH, LONDON_DATASTORE, INCIDENTS)

STREET_COLUMNS = (
    "Crime ID",
    "Month",
    "Longitude",
    "Latitude",
    "LSOA code",
    "LSOA name",
    "Crime type",
)
STOP_SEARCH_COLUMNS = (
    "Type", "Date", "Latitude", "Longitude", "Self-defined ethnicity", "Officer-defined ethnicity",
    "Legislation", "Object of search", "Outcome",
)  # fmt: skip
_STOP_SEARCH_OPTIONAL = {
    "policing_operation": "Part of a policing operation",
    "outcome_linked": "Outcome linked to object of search",
    "outer_clothing_removed": "Removal of more than just outer clothing",
}
_LDS_LAYOUTS = {
    # level: (code column, name column, borough column, major, minor)
    "lsoa": ("lsoa_code", "lsoa_name", "borough", "major_category", "minor_category"),
    "ward": ("wardcode", "wardname", "lookup_boroughname", "majortext", "minortext"),
    "borough": ("boroughname", "boroughname", "boroughname", "majortext", "minortext"),
}


def lds_level(header: tuple[str, ...]) -> str | None:
    """Which London Datastore wide layout a header has (lsoa, ward, borough), if any."""
    have = set(header)
    if not any(_MONTH_COLUMN.match(h) for h in header):
        return None
    for level, cols in _LDS_LAYOUTS.items():
        if set(cols) <= have:
            return level
    return None


def _ids_from_content(tag: str, *parts: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    return mix(tag_hash(tag), *parts)


def _coordinate_hash(
    px: npt.NDArray[np.float64], py: npt.NDArray[np.float64]
) -> npt.NDArray[np.uint64]:
    with np.errstate(invalid="ignore"):
        cx = np.where(np.isfinite(px), np.round(px * 100), -1).astype(np.int64)
        cy = np.where(np.isfinite(py), np.round(py * 100), -1).astype(np.int64)
    return mix(numeric_hash(cx), numeric_hash(cy))


def _epoch_us(times: pd.Series) -> npt.NDArray[np.int64]:
    """Microseconds since the epoch (NaT -> the minimum int64)."""
    return times.dt.as_unit("us").astype("int64").to_numpy()


def _trimmed(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Text with surrounding space removed and missing values as ""."""
    out = pc.fill_null(pc.utf8_trim_whitespace(column), "")
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _encoded(column: pa.ChunkedArray | pa.Array) -> tuple[npt.NDArray[np.int32], pa.Array]:
    """Trimmed text as dictionary codes and the (small) dictionary; missing values become "".

    The column is dictionary-encoded as it is and only its distinct values are trimmed (values
    that differ only by surrounding space are then merged), so the cost per row is one hash.
    """
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    encoded = pc.dictionary_encode(arr)
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int32)
    trimmed = pc.utf8_trim_whitespace(encoded.dictionary)
    if pc.any(pc.not_equal(trimmed, encoded.dictionary)).as_py():
        remap, uniques = pd.factorize(np.asarray(trimmed.to_numpy(zero_copy_only=False)))
        codes = remap.astype(np.int32)[codes]
        trimmed = pa.array(np.asarray(uniques, dtype=object), type=pa.string())
    return codes, trimmed


# What Python's str.strip() removes (str.isspace()), for RE2: a value starting or ending with one
# of these is stripped in Python, exactly as the pandas reference does.
_PY_SPACE = (
    "[\\t-\\r\\x1c- \\x85\\xa0\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}"
    "\\x{202f}\\x{205f}\\x{3000}]"
)
_PY_PADDED = f"^{_PY_SPACE}|{_PY_SPACE}$"


def _distinct(column: pa.ChunkedArray | pa.Array) -> tuple[npt.NDArray[np.int32], pa.Array]:
    """Dictionary codes and the distinct values as they are (missing values as "")."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    encoded = pc.dictionary_encode(arr)
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int32)
    return codes, encoded.dictionary


def _py_strip(values: pa.Array) -> list[str]:
    """Distinct values stripped as Python's ``str.strip`` does (few values: a Python loop)."""
    return [v.strip() for v in values.to_pylist()]


def _edge_bytes_plain(arr: pa.Array) -> bool:
    """True when no value of a string array starts or ends with a byte that can be part of a
    character Python counts as space (ASCII 9-13 and 28-32, or any non-ASCII byte): a check of
    two bytes per value on the Arrow buffers, no regular expression."""
    if len(arr) == 0 or arr.type != pa.string():
        return len(arr) == 0
    _, offsets_buf, data_buf = arr.buffers()
    if data_buf is None or data_buf.size == 0:
        return True
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8)
    starts, ends = offsets[:-1], offsets[1:]
    filled = ends > starts
    edges = np.concatenate([data[starts[filled]], data[ends[filled] - 1]])
    space_like = ((edges >= 9) & (edges <= 13)) | ((edges >= 28) & (edges <= 32)) | (edges >= 128)
    return not bool(space_like.any())


def _py_stripped(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Text stripped exactly as ``str.strip`` (missing -> ""), vectorised: only when a value
    starts or ends with a character Python counts as space is the column stripped in Python
    (the edge bytes are looked at first; the exact test runs only when one may be a space)."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    if _edge_bytes_plain(arr) or not pc.any(pc.match_substring_regex(arr, _PY_PADDED)).as_py():
        return arr
    return pa.array([v.strip() for v in arr.to_pylist()], type=pa.string())


def _needs_py_strip(arr: pa.Array) -> bool:
    """Whether some value of a string array (no missing values) starts or ends with a
    character Python's ``str.strip`` removes (edge bytes first, the exact test if needed)."""
    if _edge_bytes_plain(arr):
        return False
    return bool(pc.any(pc.match_substring_regex(arr, _PY_PADDED)).as_py())


def _stripped_dictionary(codes: npt.NDArray[np.int32], raw: pa.Array) -> pa.DictionaryArray:
    """Codes into distinct raw text -> dictionary of stripped text, "" as missing."""
    if not _needs_py_strip(raw):  # stripping changes nothing: the distinct values as they are
        return _dictionary_array(codes, raw)
    remap, uniques = pd.factorize(np.asarray(_py_strip(raw), dtype=object))
    return _dictionary_array(
        remap.astype(np.int32)[codes], pa.array(np.asarray(uniques, dtype=object), type=pa.string())
    )


def _dictionary_array(codes: npt.NDArray[np.int32], dictionary: pa.Array) -> pa.DictionaryArray:
    """Codes into a dictionary of text, with the empty text as a missing value."""
    empty = np.asarray(pc.equal(dictionary, "").to_numpy(zero_copy_only=False), dtype=bool)
    return pa.DictionaryArray.from_arrays(pa.array(codes, mask=empty[codes]), dictionary)


def _nulls(n: int) -> pa.DictionaryArray:
    """A column of n missing strings (cheap: no per-value objects)."""
    return pa.DictionaryArray.from_arrays(pa.nulls(n, pa.int32()), pa.array(["-"]))


def _labels(values: npt.NDArray[np.object_]) -> pd.Categorical:
    """Low-cardinality text (offences, groups, area codes) as a categorical column."""
    return pd.Categorical(values)


def _empty_records(n: int) -> dict[str, object]:
    return {
        "count": np.ones(n),
        "mark": np.full(n, -1, dtype=np.int8),
        "rows": np.ones(n, dtype=np.int32),
        "key": _nulls(n),
        "area_code": _nulls(n),
        "area_name": _nulls(n),
        "borough": _nulls(n),
    }


@dataclass
class Reader:
    """Base: what every reader shares."""

    taxonomy: Taxonomy
    target_crs: str
    bbox: tuple[float, float, float, float] | Box | None  # lon/lat tuple, or a Box in its CRS
    kind: str = ""
    precision: str = "minute"
    collapse: bool = False
    extra_fields: list[pa.Field] = field(default_factory=list)
    mapping_name: str | None = None
    _caches: dict[str, PointCache] = field(default_factory=dict, repr=False, compare=False)

    def points(self) -> PointCache:
        """Points projected so far by this reader (one ingest), by their source coordinates."""
        cache = self._caches.get("points")
        if cache is None:
            cache = self._caches.setdefault("points", PointCache())
        return cache

    @property
    def schema(self) -> pa.Schema:
        return pa.schema(list(EVENT_SCHEMA) + self.extra_fields)

    def required(self) -> tuple[str, ...]:
        raise NotImplementedError

    def personal(self, header: tuple[str, ...]) -> set[str]:
        return personal_columns(header)

    def columns(self, header: tuple[str, ...]) -> tuple[str, ...]:
        """The columns :meth:`process` reads (only these are converted when parsing)."""
        return header

    @property
    def source_crs(self) -> str:
        return "EPSG:4326"

    def process(self, table: pa.Table, lines: npt.NDArray[np.int64]) -> Processed:
        raise NotImplementedError

    @staticmethod
    def _frame(table: pa.Table, columns: tuple[str, ...]) -> pd.DataFrame:
        return table.select(list(dict.fromkeys(columns))).to_pandas()

    @staticmethod
    def _finish(
        checks: Checks,
        records: dict[str, object],
        lines: npt.NDArray[np.int64],
        notes: Counter[str],
    ) -> Processed:
        ok = checks.ok
        records = dict(records, line=lines, _pos=np.arange(len(ok), dtype=np.int64))
        table = records_table(records, ok)
        bad = np.flatnonzero(~ok)
        return Processed(table, Rejected(bad.astype(np.int64), checks.reason[bad]), notes)


@dataclass
class PoliceUkStreetReader(Reader):
    """data.police.uk street-level crime (``YYYY-MM-<force>-street.csv``): month precision."""

    kind: str = POLICE_UK_STREET
    precision: str = "month"

    def required(self) -> tuple[str, ...]:
        return STREET_COLUMNS

    def columns(self, header: tuple[str, ...]) -> tuple[str, ...]:
        return STREET_COLUMNS

    def process(self, table: pa.Table, lines: npt.NDArray[np.int64]) -> Processed:
        """Arrow throughout, each repeated value (month, LSOA, crime type) handled once per
        distinct value; equal, record for record, to :meth:`process_reference` (tested)."""
        n = table.num_rows
        checks = Checks(n)
        month_codes, month_raw = _distinct(table.column("Month"))
        month_u = pd.to_datetime(
            pd.Series(_py_strip(month_raw), dtype=object), format="%Y-%m", errors="coerce"
        )
        month_bad = month_u.isna().to_numpy()
        checks.fail(month_bad[month_codes], acc.BAD_DATE)
        month_us = _epoch_us(month_u)[month_codes]
        xs, x_blank = parse_coordinates(table.column("Longitude"))
        ys, y_blank = parse_coordinates(table.column("Latitude"))
        missing = x_blank | y_blank
        px, py = check_points(
            checks, xs, ys, source_crs="EPSG:4326", target_crs=self.target_crs,
            bbox_lonlat=self.bbox or GREAT_BRITAIN, raw_missing=missing, cache=self.points(),
        )  # fmt: skip
        label_codes, label_raw = _distinct(table.column("Crime type"))
        label_values = np.asarray(label_raw.to_numpy(zero_copy_only=False), dtype=object)
        group_values, harm_values = self.taxonomy.classify("police.uk", label_values)
        checks.fail(np.asarray(pd.isna(group_values), dtype=bool)[label_codes], acc.UNKNOWN_OFFENCE)
        crime_id = _py_stripped(table.column("Crime ID"))
        keyed = np.asarray(
            pc.greater(pc.utf8_length(crime_id), 0).to_numpy(zero_copy_only=False), dtype=bool
        )
        lsoa_codes, lsoa_raw = _distinct(table.column("LSOA code"))
        content = _ids_from_content(
            "police.uk/street",
            numeric_hash(month_us),
            _coordinate_hash(px, py),
            siphash_strings(lsoa_raw)[lsoa_codes],  # = hash_strings(lsoa_values)
            siphash_strings(label_raw)[label_codes],
        )
        key_hash = _ids_from_content(
            "police.uk/street-id",
            siphash_strings(crime_id),  # = hash_strings of the values, without Python strings
        )
        gcodes, guniq = pd.factorize(group_values)  # unique dictionary (NaN -> -1)
        row_groups = gcodes[label_codes].astype(np.int32)
        rec = _empty_records(n)
        rec.update(
            time=pa.array(month_us, type=pa.timestamp("us", tz="UTC"), mask=month_bad[month_codes]),
            x=px, y=py, harm=harm_values[label_codes],
            offence=pa.DictionaryArray.from_arrays(pa.array(label_codes), label_raw),
            offence_group=pa.DictionaryArray.from_arrays(
                pa.array(row_groups, mask=row_groups < 0),
                pa.array(np.asarray(guniq, dtype=object), type=pa.string()),
            ),
            key=pc.if_else(pa.array(keyed), crime_id, pa.scalar(None, pa.string())),
            area_code=_stripped_dictionary(lsoa_codes, lsoa_raw),
            area_name=_stripped_dictionary(*_distinct(table.column("LSOA name"))),
            _hash=np.where(keyed, key_hash, content), _keyed=keyed,
        )  # fmt: skip
        return self._finish(checks, rec, lines, Counter())

    def process_reference(self, table: pa.Table, lines: npt.NDArray[np.int64]) -> Processed:
        """The plain pandas version :meth:`process` is tested against."""
        df = self._frame(table, STREET_COLUMNS)
        n = len(df)
        checks = Checks(n)
        month = pd.to_datetime(df["Month"].str.strip(), format="%Y-%m", errors="coerce")
        checks.fail(month.isna().to_numpy(), acc.BAD_DATE)
        xs, x_blank = parse_coordinates(table.column("Longitude"))
        ys, y_blank = parse_coordinates(table.column("Latitude"))
        missing = x_blank | y_blank
        px, py = check_points(
            checks, xs, ys, source_crs="EPSG:4326", target_crs=self.target_crs,
            bbox_lonlat=self.bbox or GREAT_BRITAIN, raw_missing=missing,
        )  # fmt: skip
        labels = df["Crime type"].fillna("").to_numpy(dtype=object)
        groups, harms = self.taxonomy.classify("police.uk", labels)
        checks.fail(np.asarray(pd.isna(groups), dtype=bool), acc.UNKNOWN_OFFENCE)
        crime_id = df["Crime ID"].str.strip().fillna("")
        keyed = (crime_id != "").to_numpy()
        utc = month.dt.tz_localize("UTC").astype("datetime64[us, UTC]")
        content = _ids_from_content(
            "police.uk/street",
            numeric_hash(_epoch_us(month)),
            _coordinate_hash(px, py),
            hash_strings(df["LSOA code"].fillna("").to_numpy(dtype=object)),
            hash_strings(labels),
        )
        key_hash = _ids_from_content(
            "police.uk/street-id", hash_strings(crime_id.to_numpy(dtype=object))
        )
        rec = _empty_records(n)
        rec.update(
            time=utc.array, x=px, y=py, harm=harms, offence=labels, offence_group=groups,
            key=crime_id.where(crime_id != "", None).astype("string").to_numpy(),
            area_code=df["LSOA code"].str.strip().replace("", None).to_numpy(),
            area_name=df["LSOA name"].str.strip().replace("", None).to_numpy(),
            _hash=np.where(keyed, key_hash, content), _keyed=keyed,
        )  # fmt: skip
        return self._finish(checks, rec, lines, Counter())


@dataclass
class StopSearchReader(Reader):
    """data.police.uk stop and search: ISO time with offset; ethnicity kept, gender/age dropped.

    Searches without coordinates are stored (with no x/y) rather than quarantined: they count
    in aggregate disproportionality checks, and in some Met months 95% have none.
    """

    kind: str = STOP_SEARCH
    precision: str = "minute"
    extra_fields: list[pa.Field] = field(default_factory=lambda: list(STOP_SEARCH_EXTRA))

    def required(self) -> tuple[str, ...]:
        return STOP_SEARCH_COLUMNS

    def columns(self, header: tuple[str, ...]) -> tuple[str, ...]:
        return STOP_SEARCH_COLUMNS + tuple(c for c in _STOP_SEARCH_OPTIONAL.values() if c in header)

    def personal(self, header: tuple[str, ...]) -> set[str]:
        return personal_columns(
            header, keep=("Self-defined ethnicity", "Officer-defined ethnicity")
        )

    def process(self, table: pa.Table, lines: npt.NDArray[np.int64]) -> Processed:
        n = table.num_rows
        checks = Checks(n)
        when_us = iso_to_utc_us(table.column("Date"))
        when_ok = when_us != np.iinfo(np.int64).min
        checks.fail(~when_ok, acc.BAD_DATE)
        xs, x_blank = parse_coordinates(table.column("Longitude"))
        ys, y_blank = parse_coordinates(table.column("Latitude"))
        missing = x_blank | y_blank
        located = Checks(n)  # coordinate problems of rows that have coordinates at all
        px, py = check_points(
            located, xs, ys, source_crs="EPSG:4326", target_crs=self.target_crs,
            bbox_lonlat=self.bbox or GREAT_BRITAIN, raw_missing=np.zeros(n, dtype=bool),
            cache=self.points(),
        )  # fmt: skip
        reason = located.reason.copy()
        reason[missing] = None
        for r in (acc.BAD_COORDINATES, acc.ZERO_COORDINATES, acc.OUTSIDE):
            checks.fail(np.asarray(reason == r, dtype=bool), r)
        px[missing], py[missing] = np.nan, np.nan
        notes: Counter[str] = Counter()
        kept_unlocated = int((missing & checks.ok).sum())
        if kept_unlocated:
            notes["stored without coordinates (aggregate use only)"] = kept_unlocated
        text_cols = {
            "search_type": "Type",
            "legislation": "Legislation",
            "object_of_search": "Object of search",
            "outcome": "Outcome",
            "self_defined_ethnicity": "Self-defined ethnicity",
            "officer_defined_ethnicity": "Officer-defined ethnicity",
            **{k: v for k, v in _STOP_SEARCH_OPTIONAL.items() if v in table.column_names},
        }
        rec = _empty_records(n)
        content_parts = [
            numeric_hash(when_us),
            _coordinate_hash(px, py),
        ]
        for name, col in text_cols.items():
            codes, dictionary = _encoded(table.column(col))
            content_parts.append(siphash_strings(dictionary)[codes])  # = hash_strings
            rec[name] = _dictionary_array(codes, dictionary)
        for name in ("policing_operation", "outcome_linked", "outer_clothing_removed"):
            rec.setdefault(name, _nulls(n))
        rec.update(
            time=pa.array(when_us, type=pa.timestamp("us", tz="UTC"), mask=~when_ok),
            x=px, y=py, harm=np.zeros(n),
            offence=rec["object_of_search"],
            offence_group=pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(n, dtype=np.int32)), pa.array(["stop_search"])
            ),
            _hash=_ids_from_content("police.uk/stop-search", *content_parts),
            _keyed=np.zeros(n, dtype=bool),
        )  # fmt: skip
        return self._finish(checks, rec, lines, notes)


@dataclass
class LondonDatastoreReader(Reader):
    """MPS recorded crime, London Datastore wide tables (one count column per ``YYYYMM``).

    Each input row (one area x Home Office minor category) becomes one record per month, zero
    counts included, at the month's start (UTC). ``area_points`` maps an area code to its
    representative point (NaN where unknown).
    """

    kind: str = LONDON_DATASTORE
    precision: str = "month"
    level: str = "lsoa"
    months: tuple[str, ...] = ()
    area_points: dict[str, tuple[float, float]] = field(default_factory=dict)

    def required(self) -> tuple[str, ...]:
        return _LDS_LAYOUTS[self.level] + self.months

    def process(self, table: pa.Table, lines: npt.NDArray[np.int64]) -> Processed:
        code_c, name_c, borough_c, major_c, minor_c = _LDS_LAYOUTS[self.level]
        df = self._frame(table, (code_c, name_c, borough_c, major_c, minor_c))
        n = len(df)
        checks = Checks(n)
        codes = df[code_c].fillna("").str.strip()
        checks.fail((codes == "").to_numpy(), acc.NO_AREA)
        labels = (
            df[major_c].fillna("").str.strip() + " / " + df[minor_c].fillna("").str.strip()
        ).to_numpy(dtype=object)
        groups, harms = self.taxonomy.classify("home-office", labels)
        checks.fail(np.asarray(pd.isna(groups), dtype=bool), acc.UNKNOWN_OFFENCE)
        counts = (
            np.column_stack([parse_numbers(table.column(m)) for m in self.months])
            if self.months
            else np.zeros((n, 0))
        )
        bad_count = (
            (~np.isfinite(counts) | (counts < 0) | (np.floor(counts) != counts)).any(axis=1)
            if self.months
            else np.zeros(n, bool)
        )
        checks.fail(bad_count, acc.BAD_COUNT)
        ok = checks.ok
        rows = np.flatnonzero(ok)
        m = len(self.months)
        month_times = (
            pd.to_datetime(list(self.months), format="%Y%m")
            .tz_localize("UTC")
            .astype("datetime64[us, UTC]")
        )
        rep = np.repeat(rows, m)
        month_idx = np.tile(np.arange(m), len(rows))
        code_vals = codes.to_numpy(dtype=object)
        pts = np.array(
            [self.area_points.get(c, (np.nan, np.nan)) for c in code_vals], dtype=np.float64
        ).reshape(n, 2)
        row_hash = _ids_from_content(
            f"london-datastore/{self.level}",
            hash_strings(code_vals),
            hash_strings(df[borough_c].fillna("").str.strip().to_numpy(dtype=object)),
            hash_strings(labels),
        )
        month_hash = numeric_hash(_epoch_us(pd.Series(month_times)))
        cnt = counts[rep, month_idx] if len(rows) else np.zeros(0)

        def per_row(values: npt.NDArray[np.object_]) -> pd.Categorical:
            codes, uniques = pd.factorize(values[rows])
            return pd.Categorical.from_codes(np.repeat(codes, m), categories=uniques)  # type: ignore[call-overload]

        names = df[name_c].fillna("").str.strip().to_numpy(dtype=object)
        boroughs = df[borough_c].fillna("").str.strip().to_numpy(dtype=object)
        frame = records_table(
            {
                "time": month_times[month_idx],
                "x": pts[rep, 0],
                "y": pts[rep, 1],
                "count": cnt,
                "harm": cnt * harms[rep].astype(np.float64),
                "offence": per_row(labels),
                "offence_group": per_row(groups),
                "mark": np.full(len(rep), -1, dtype=np.int8),
                "rows": (month_idx == 0).astype(np.int32),
                "key": pd.Categorical.from_codes(np.full(len(rep), -1), categories=["-"]),  # type: ignore[call-overload]
                "area_code": per_row(code_vals),
                "area_name": per_row(names),
                "borough": per_row(boroughs),
                "line": lines[rep],
                "_pos": rep,
                "_hash": mix(row_hash[rep], month_hash[month_idx])
                if len(rep)
                else np.zeros(0, np.uint64),
                "_keyed": np.ones(len(rep), dtype=bool),
                "_row_hash": row_hash[rep],
            }
        )
        bad = np.flatnonzero(~ok)
        return Processed(frame, Rejected(bad.astype(np.int64), checks.reason[bad]), Counter())


@dataclass
class IncidentReader(Reader):
    """Timestamped incident files through an :class:`IncidentMapping`."""

    kind: str = INCIDENTS
    mapping: IncidentMapping | None = None

    def __post_init__(self) -> None:
        assert self.mapping is not None
        self.precision = self.mapping.precision
        self.collapse = self.mapping.collapse_by_key
        self.mapping_name = self.mapping.name

    @property
    def _m(self) -> IncidentMapping:
        assert self.mapping is not None
        return self.mapping

    @property
    def source_crs(self) -> str:
        return self._m.crs

    def required(self) -> tuple[str, ...]:
        return self._m.required_columns

    def columns(self, header: tuple[str, ...]) -> tuple[str, ...]:
        return self._m.columns

    def process(self, table: pa.Table, lines: npt.NDArray[np.int64]) -> Processed:
        m = self._m
        n = table.num_rows
        checks = Checks(n)
        first = table.column(m.time_columns[0]).combine_chunks()
        if m.date_chars or len(m.time_columns) == 2:
            first = _trimmed(first)
        if m.date_chars:
            first = pc.utf8_slice_codeunits(first, 0, m.date_chars)
        text = first
        if len(m.time_columns) == 2:
            second = _trimmed(table.column(m.time_columns[1]))
            no_time = pc.and_(
                pc.equal(pc.utf8_length(second), 0), pc.greater(pc.utf8_length(first), 0)
            )
            checks.fail(
                np.asarray(no_time.to_numpy(zero_copy_only=False), dtype=bool), acc.MISSING_TIME
            )
            text = pc.binary_join_element_wise(first, second, " ")
        local = local_to_utc(text, m.time_format, m.timezone)
        checks.fail(~local.valid, acc.BAD_DATE)
        notes: Counter[str] = Counter()
        if local.ambiguous:
            notes["ambiguous local time (read as first occurrence)"] = local.ambiguous
        if local.nonexistent:
            notes["nonexistent local time (shifted forward)"] = local.nonexistent
        xs, x_blank = parse_coordinates(table.column(m.x))
        ys, y_blank = parse_coordinates(table.column(m.y))
        missing = x_blank | y_blank
        px, py = check_points(
            checks, xs, ys, source_crs=m.crs, target_crs=m.target_crs,
            bbox_lonlat=self.bbox or m.bbox, raw_missing=missing, cache=self.points(),
        )  # fmt: skip
        if m.offence_column:
            codes, dictionary = _encoded(table.column(m.offence_column))
            label_values = np.asarray(dictionary.to_numpy(zero_copy_only=False), dtype=object)
        else:
            codes = np.zeros(n, dtype=np.int32)
            label_values = np.array([m.offence_constant], dtype=object)
        mark = np.full(n, -1, dtype=np.int8)
        if m.mark_column:
            flag = pc.utf8_lower(_trimmed(table.column(m.mark_column)))
            marked = np.asarray(
                pc.is_in(flag, value_set=pa.array(list(m.mark_true))).to_numpy(
                    zero_copy_only=False
                ),
                dtype=bool,
            )
            mark = marked.astype(np.int8)
            if m.offence_if_marked:
                label_values = np.append(label_values, m.offence_if_marked)
                codes = np.where(marked, len(label_values) - 1, codes).astype(np.int32)
        group_values, harm_values = self.taxonomy.classify(m.source, label_values)
        harms = harm_values[codes]
        checks.fail(np.asarray(pd.isna(group_values), dtype=bool)[codes], acc.UNKNOWN_OFFENCE)
        rec = _empty_records(n)
        keyed = np.zeros(n, dtype=bool)
        key_hash = np.zeros(n, dtype=np.uint64)
        if m.key_column:
            keys = _trimmed(table.column(m.key_column))
            keyed = np.asarray(
                pc.greater(pc.utf8_length(keys), 0).to_numpy(zero_copy_only=False), dtype=bool
            )
            rec["key"] = pc.if_else(pa.array(keyed), keys, pa.scalar(None, pa.string()))
            key_hash = _ids_from_content(
                f"incidents/{m.source}",
                siphash_strings(keys),  # = hash_strings of the keys as Python strings
            )
        content = _ids_from_content(
            f"incidents/{m.source}/content",
            numeric_hash(local.epoch_us),
            _coordinate_hash(px, py),
            hash_strings(label_values)[codes],
        )
        if m.area_column and m.area_column in table.column_names:
            area_codes, area_dict = _encoded(table.column(m.area_column))
            rec["area_code"] = _dictionary_array(area_codes, area_dict)
        labels_arrow = pa.array(label_values, type=pa.string())
        gcodes, guniq = pd.factorize(group_values)  # unique dictionary (NaN -> -1)
        row_groups = gcodes[codes].astype(np.int32)
        groups_arrow = pa.array(np.asarray(guniq, dtype=object), type=pa.string())
        rec.update(
            time=local.arrow(), x=px, y=py, harm=harms,
            offence=pa.DictionaryArray.from_arrays(pa.array(codes, type=pa.int32()), labels_arrow),
            offence_group=pa.DictionaryArray.from_arrays(
                pa.array(row_groups, mask=row_groups < 0), groups_arrow
            ),
            mark=mark, _hash=np.where(keyed, key_hash, content), _keyed=keyed,
        )  # fmt: skip
        return self._finish(checks, rec, lines, notes)
