# ruff: noqa: E501
"""Ingest accounting on a corpus of bad files generated here (no real data needed)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from patrolcast.errors import InputError
from patrolcast.io import Store, ingest

HEADER = "date,loc_cat,longitude,latitude,district"
GOOD = [
    "2015-06-01 10:00,street,-87.6277,41.7922,2",
    "2015-06-01 11:30,residence,-87.6683,41.7513,6",
    "2015-06-02 23:59,street,-87.6300,41.8000,3",
]


def _write(path: Path, lines: list[str], *, encoding: str = "utf-8", bom: bool = False,
           newline: str = "\n") -> Path:  # fmt: skip
    data = newline.join(lines) + newline
    raw = data.encode(encoding)
    if bom:
        raw = b"\xef\xbb\xbf" + raw
    path.write_bytes(raw)
    return path


def _ingest(path: Path, tmp_path: Path, **kw: object):  # type: ignore[no-untyped-def]
    return ingest(path, store=Store(tmp_path / "store"), mapping="chicago", **kw)  # type: ignore[arg-type]


def test_good_file_all_stored(tmp_path: Path) -> None:
    s = _ingest(_write(tmp_path / "a.csv", [HEADER, *GOOD]), tmp_path)
    assert (s.rows_in, s.stored, s.quarantined) == (3, 3, 0)
    events = Store(tmp_path / "store").events("a")
    assert len(events) == 3 and events.crs == "EPSG:32616"
    # 2015-06-01 10:00 in Chicago (CDT, UTC-5) is 15:00 UTC
    first = Store(tmp_path / "store").events_frame("a")["time"].iloc[0]
    assert first.hour == 15 and str(first.tz) == "UTC"


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_bom_and_crlf(tmp_path: Path, newline: str) -> None:
    s = _ingest(_write(tmp_path / "b.csv", [HEADER, *GOOD], bom=True, newline=newline), tmp_path)
    assert (s.rows_in, s.stored) == (3, 3)


def test_cp1252_file(tmp_path: Path) -> None:
    lines = [HEADER, *GOOD, "2015-06-03 01:00,caf\u00e9 r\u00e9sidence,-87.62,41.79,2"]
    path = _write(tmp_path / "c.csv", lines, encoding="cp1252")
    s = _ingest(path, tmp_path)
    assert s.files[0].encoding == "cp1252"
    assert (s.rows_in, s.stored, s.quarantined) == (4, 4, 0)


def test_tab_delimited_gzip(tmp_path: Path) -> None:
    text = "\n".join(line.replace(",", "\t") for line in [HEADER, *GOOD]) + "\n"
    path = tmp_path / "d.tsv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    s = _ingest(path, tmp_path)
    assert s.files[0].delimiter == "tab"
    assert (s.rows_in, s.stored) == (3, 3)


def test_every_defect_is_quarantined_with_its_reason(tmp_path: Path) -> None:
    lines = [
        HEADER,
        *GOOD,
        "2015-06-01 10:00,street,,,2",  # blank coordinates
        "2015-06-01 10:00,street,0,0,2",  # zero coordinates
        "2015-13-45 10:00,street,-87.62,41.79,2",  # bad date
        "not a date,street,-87.62,41.79,2",  # bad date
        '2015-06-01 10:00,"street,-87.62,41.79,2',  # unmatched quote
        "2015-06-01 10:00,street,-87.62",  # too few fields
        "2015-06-01 10:00,street,-87.62,41.79,2,extra",  # too many fields
        "",  # blank line
        "2015-06-01 10:00,street,-74.00,40.70,2",  # New York: outside the Chicago box
        "2015-06-01 10:00,street,abc,41.79,2",  # coordinates not a number
    ]
    s = _ingest(_write(tmp_path / "e.csv", lines), tmp_path)
    assert s.rows_in == len(lines) - 1
    assert s.stored == 3
    # read back from the store, not restated from the summary (which asserts its own identity)
    assert len(Store(tmp_path / "store").events_frame("e")) == 3
    assert len(Store(tmp_path / "store").quarantine("e")) == len(lines) - 1 - 3
    assert s.reasons == {
        "no coordinates": 1,
        "zero coordinates": 1,
        "bad date": 2,
        "malformed line: unmatched quote": 1,
        "malformed line: 3 fields, header has 5": 1,
        "malformed line: 6 fields, header has 5": 1,
        "blank line": 1,
        "outside the study area": 1,
        "coordinates not a number": 1,
    }
    q = Store(tmp_path / "store").quarantine("e")
    assert len(q) == s.quarantined
    by_line = dict(zip(q["line"], q["reason"], strict=True))
    assert by_line[5] == "no coordinates"  # header is line 1, the first bad row line 5
    assert by_line[9] == "malformed line: unmatched quote"
    assert q.loc[q["line"] == 6, "raw"].iloc[0] == "2015-06-01 10:00,street,0,0,2"


def test_quoted_thousands_separators(tmp_path: Path) -> None:
    header = "INCIDENT_KEY,OCCUR_DATE,OCCUR_TIME,STATISTICAL_MURDER_FLAG,X_COORD_CD,Y_COORD_CD"
    lines = [
        header,
        '1,03/13/2021,03:50:00,false,"1,001,951","195,081"',
        "2,03/13/2021,04:50:00,true,1001951,195081",
    ]
    s = ingest(_write(tmp_path / "n.csv", lines), store=tmp_path / "store", mapping="nypd")
    assert (s.stored, s.quarantined) == (2, 0)
    frame = Store(tmp_path / "store").events_frame("n")
    assert frame["x"].iloc[0] == pytest.approx(frame["x"].iloc[1])
    assert sorted(frame["mark"]) == [0, 1]
    assert (
        frame.loc[frame["mark"] == 1, "harm"].iloc[0]
        > frame.loc[frame["mark"] == 0, "harm"].iloc[0]
    )


def test_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        _ingest(path, tmp_path)


def test_header_only_file_stores_nothing(tmp_path: Path) -> None:
    s = _ingest(_write(tmp_path / "h.csv", [HEADER]), tmp_path)
    assert (s.rows_in, s.stored, s.quarantined) == (0, 0, 0)


def test_wrong_columns_is_a_clear_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "w.csv", ["when,where,what", "a,b,c"])
    with pytest.raises(InputError, match="missing date"):
        _ingest(path, tmp_path)
    with pytest.raises(InputError, match="cannot tell the layout"):
        ingest(path, store=tmp_path / "store")


def test_unknown_offence_is_quarantined(tmp_path: Path) -> None:
    lines = [
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context",
        ",2019-01,X,X,-0.09,51.51,On or near A,E01000001,City 001A,Robbery,,",
        ",2019-01,X,X,-0.09,51.51,On or near A,E01000001,City 001A,Dragon theft,,",
        ",2019-01,X,X,-0.09,51.51,On or near A,E01000001,City 001A,Robbery,,",
    ]  # fmt: skip
    s = ingest(_write(tmp_path / "2019-01-x-street.csv", lines), store=tmp_path / "store")
    assert s.kind == "police-uk-street"
    assert s.reasons == {"unknown offence": 1}
    # two identical rows are two crimes (anonymised map points), not a duplicate
    assert s.stored == 2
    assert len(set(Store(tmp_path / "store").events_frame("2019-01-x-street")["event_id"])) == 2


def test_duplicate_key_within_file(tmp_path: Path) -> None:
    header = "uid,offense_type,date_time,longitude,latitude"
    lines = [
        header,
        "1,personal robbery,2019-01-01T19:50:00Z,-122.40,37.78",
        "1,personal robbery,2019-01-01T19:50:00Z,-122.40,37.78",
        "2,personal robbery,2019-01-01T20:50:00Z,-122.40,37.78",
    ]
    s = ingest(_write(tmp_path / "sf.csv", lines), store=tmp_path / "store")
    assert s.reasons == {"duplicate within file": 1}
    assert s.stored == 2


def test_dst_edges_are_counted(tmp_path: Path) -> None:
    lines = [
        HEADER,
        "2015-03-08 02:30,street,-87.62,41.79,2",  # skipped hour in Chicago
        "2015-11-01 01:30,street,-87.62,41.79,2",  # repeated hour in Chicago
    ]
    s = _ingest(_write(tmp_path / "dst.csv", lines), tmp_path)
    assert s.stored == 2
    assert s.notes == {
        "nonexistent local time (shifted forward)": 1,
        "ambiguous local time (read as first occurrence)": 1,
    }
    times = Store(tmp_path / "store").events_frame("dst")["time"]
    assert times.iloc[0].hour == 8  # 03:00 CDT
    assert times.iloc[1].hour == 6  # 01:30 CDT, the first occurrence


def test_small_blocks_give_the_same_result(tmp_path: Path) -> None:
    lines = [HEADER] + [
        f"2015-06-{1 + i % 28:02d} 10:{i % 60:02d},street,-87.6{i % 10},41.7{i % 10},2"
        for i in range(300)
    ]
    lines.insert(50, '2015-06-01 10:00,"street,-87.62,41.79,2')
    lines.insert(120, "")
    path = _write(tmp_path / "big.csv", lines)
    a = ingest(path, store=tmp_path / "s1", mapping="chicago")
    b = ingest(path, store=tmp_path / "s2", mapping="chicago", block_bytes=512)
    assert (a.rows_in, a.stored, a.quarantined) == (b.rows_in, b.stored, b.quarantined)
    qa = Store(tmp_path / "s1").quarantine("big")[["line", "reason"]].to_numpy().tolist()
    qb = Store(tmp_path / "s2").quarantine("big")[["line", "reason"]].to_numpy().tolist()
    assert qa == qb == [[51, "malformed line: unmatched quote"], [121, "blank line"]]
    ea = Store(tmp_path / "s1").events_frame("big")
    eb = Store(tmp_path / "s2").events_frame("big")
    assert sorted(ea["event_id"]) == sorted(eb["event_id"])


STREET = "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context"
SEARCH = "Type,Date,Part of a policing operation,Policing operation,Latitude,Longitude,Gender,Age range,Self-defined ethnicity,Officer-defined ethnicity,Legislation,Object of search,Outcome,Outcome linked to object of search,Removal of more than just outer clothing"


def test_archive_layout_with_mixed_files(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    for month in ("2019-01", "2019-02"):
        folder = root / month
        folder.mkdir(parents=True)
        _write(folder / f"{month}-merseyside-street.csv",
               [STREET, f",{month},M,M,-2.98,53.40,On or near X,E01006512,Liverpool 001A,Robbery,,"])  # fmt: skip
        _write(folder / f"{month}-merseyside-stop-and-search.csv",
               [SEARCH, f"Person search,{month}-03T10:00:00+00:00,False,,53.40,-2.98,Male,18-24,White,White,Misuse of Drugs Act 1971 (section 23),Controlled drugs,A no further action disposal,,"])  # fmt: skip
        _write(
            folder / f"{month}-merseyside-outcomes.csv",
            ["Crime ID,Month,Outcome type", "abc,2019-01,Unable to prosecute"],
        )
    with pytest.raises(InputError, match="several layouts"):
        ingest(root, store=tmp_path / "store")
    s = ingest(root, store=tmp_path / "store", kind="police-uk-street", dataset="mersey")
    assert (s.rows_in, s.stored) == (2, 2)
    statuses = sorted(f.status for f in s.files)
    assert statuses.count("ingested") == 2 and len(statuses) == 6
    searches = ingest(root, store=tmp_path / "store", kind="stop-search", dataset="mersey-ss")
    assert searches.stored == 2
    frame = Store(tmp_path / "store").stop_searches("mersey-ss")
    assert frame["self_defined_ethnicity"].tolist() == ["White", "White"]


def test_user_study_area(tmp_path: Path) -> None:
    lines = [STREET,
             ",2019-01,X,X,-0.09,51.51,On or near A,E01000001,City 001A,Robbery,,",
             ",2019-01,X,X,-2.98,53.40,On or near B,E01006512,Liverpool 001A,Robbery,,"]  # fmt: skip
    s = ingest(
        _write(tmp_path / "s.csv", lines), store=tmp_path / "store", bbox=(-0.6, 51.2, 0.4, 51.8)
    )
    assert s.reasons == {"outside the study area": 1} and s.stored == 1


def test_truncated_gzip_is_a_clear_error(tmp_path: Path) -> None:
    text = "\n".join([HEADER] + GOOD * 20000) + "\n"
    whole = gzip.compress(text.encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError, match="truncated or corrupt"):
        _ingest(path, tmp_path)


def test_raw_text_of_quarantined_rows_includes_unread_columns(tmp_path: Path) -> None:
    """Columns the reader does not use are not converted when parsing; a quarantined row's raw
    text still has every field (quoted ones included), in a block with blank lines and quotes."""
    lines = [
        HEADER,
        *GOOD,
        "",
        '2015-06-03 10:00,"street, corner",,41.79,2',
        '2015-06-03 11:00,"alley ""back""",-87.62,41.79,2',
        "2015-13-03 11:00,café,-87.62,41.79,2",
    ]
    s = _ingest(_write(tmp_path / "r.csv", lines), tmp_path)
    assert (s.rows_in, s.stored, s.quarantined) == (7, 4, 3)
    q = Store(tmp_path / "store").quarantine("r").set_index("line")
    assert q.loc[5, "reason"] == "blank line"  # the header is line 1
    assert q.loc[6, "raw"] == '2015-06-03 10:00,"street, corner",,41.79,2'
    assert q.loc[8, "raw"] == "2015-13-03 11:00,café,-87.62,41.79,2"
    assert q.loc[8, "reason"] == "bad date"


def test_small_blocks_on_threads_store_the_same_as_one_block(tmp_path: Path) -> None:
    """Many blocks validated on worker threads give the same records, ids, line numbers and
    quarantine as the whole file in one block."""
    import random

    rng = random.Random(7)
    lines = [HEADER]
    for i in range(3000):
        day, minute = 1 + i % 28, i % 60
        lon = -87.6 - rng.randint(0, 300) / 1000 if i % 97 else 0
        lines.append(f"2015-06-{day:02d} 10:{minute:02d},street,{lon},41.79,{i % 25}")
        if i % 500 == 0:
            lines.append("" if i % 1000 else '2015-06-01 10:00,"open quote,-87.6,41.79,2')
    path = _write(tmp_path / "many.csv", lines)
    one = ingest(path, store=Store(tmp_path / "one"), mapping="chicago", block_bytes=1 << 24)
    many = ingest(path, store=Store(tmp_path / "many"), mapping="chicago", block_bytes=4096)
    assert one.to_dict()["reasons"] == many.to_dict()["reasons"]
    assert (one.rows_in, one.stored, one.events) == (many.rows_in, many.stored, many.events)
    a = Store(tmp_path / "one").events_frame("many").sort_values("event_id")
    b = Store(tmp_path / "many").events_frame("many").sort_values("event_id")
    cols = ["event_id", "time", "x", "y", "line", "area_code"]
    assert a[cols].reset_index(drop=True).equals(b[cols].reset_index(drop=True))
    qa = Store(tmp_path / "one").quarantine("many").sort_values("line")
    qb = Store(tmp_path / "many").quarantine("many").sort_values("line")
    q_cols = ["line", "reason", "raw"]
    assert qa[q_cols].reset_index(drop=True).equals(qb[q_cols].reset_index(drop=True))
