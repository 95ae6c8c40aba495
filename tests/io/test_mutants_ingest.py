"""Ingest tests written to kill surviving mutants (issue 15).

Each test names the mutant it kills. They check the store's contents, not the summary's own
``rows_in == stored + quarantined`` identity (``FileSummary.check`` already asserts that).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from patrolcast.io import Store, ingest

SF_HEADER = "uid,offense_type,date_time,longitude,latitude"


def _sf_row(uid: int) -> str:
    return (
        f"{uid},personal robbery,2019-01-{1 + uid % 28:02d}T{uid % 24:02d}:{uid % 60:02d}:00Z,"
        f"-122.4{uid % 10},37.7{uid % 10}"
    )


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("block_bytes", [1024, 1 << 24])
def test_duplicate_key_in_a_later_block_is_quarantined(tmp_path: Path, block_bytes: int) -> None:
    """Mutant: drop ``seen_keys.contains(kkey)`` (the cross-block duplicate check).

    400 distinct keyed rows, then a repeat of the first key near the end of the file: with
    1 KiB blocks the repeat is many blocks after the original. 400 rows are stored, one is
    quarantined as a duplicate, on its own line number.
    """
    rows = [_sf_row(uid) for uid in range(1, 401)]
    lines = [SF_HEADER, *rows[:395], rows[0], *rows[395:]]  # the repeat is on line 397
    path = _write(tmp_path / "sf.csv", lines)
    s = ingest(path, store=Store(tmp_path / "store"), block_bytes=block_bytes)
    assert s.reasons == {"duplicate within file": 1}
    assert s.stored == 400 and s.events == 400
    store = Store(tmp_path / "store")
    frame = store.events_frame("sf")
    assert len(frame) == 400
    assert frame["event_id"].is_unique
    q = store.quarantine("sf")
    assert q[["line", "reason"]].to_numpy().tolist() == [[397, "duplicate within file"]]
    # the stored copy is the first one (line 2), not the repeat
    first = frame.sort_values("line")["line"].tolist()
    assert first[0] == 2 and 397 not in first


def test_duplicate_of_a_duplicate_is_quarantined_each_time(tmp_path: Path) -> None:
    """A key repeated three times across blocks: one stored, two quarantined."""
    rows = [_sf_row(uid) for uid in range(1, 201)]
    lines = [SF_HEADER, *rows[:100], rows[5], *rows[100:], rows[5]]
    s = ingest(_write(tmp_path / "sf3.csv", lines), store=Store(tmp_path / "store"),
               block_bytes=1024)  # fmt: skip
    assert s.reasons == {"duplicate within file": 2}
    frame = Store(tmp_path / "store").events_frame("sf3")
    assert len(frame) == 200 and frame["event_id"].is_unique


def test_key_already_stored_by_an_earlier_file(tmp_path: Path) -> None:
    """A second file repeating a key of the first stores nothing twice."""
    store = Store(tmp_path / "store")
    first = [_sf_row(uid) for uid in range(1, 51)]
    ingest(_write(tmp_path / "a.csv", [SF_HEADER, *first]), store=store, dataset="sf")
    second = [_sf_row(10), _sf_row(1000)]
    s = ingest(_write(tmp_path / "b.csv", [SF_HEADER, *second]), store=store, dataset="sf")
    assert s.reasons == {"already stored (same event id)": 1}
    assert s.stored == 1
    frame = Store(tmp_path / "store").events_frame("sf")
    assert len(frame) == 51 and frame["event_id"].is_unique


def test_a_one_row_file_repeating_a_stored_key_stores_nothing(tmp_path: Path) -> None:
    """Mutant: ``_Ids.contains`` answering "no" for a single value (``len(values) == 1``)."""
    store = Store(tmp_path / "store")
    ingest(_write(tmp_path / "a.csv", [SF_HEADER, *map(_sf_row, range(1, 21))]), store=store,
           dataset="sf")  # fmt: skip
    for uid in (1, 20):  # the smallest and the largest stored key
        s = ingest(_write(tmp_path / f"one{uid}.csv", [SF_HEADER, _sf_row(uid)]), store=store,
                   dataset="sf")  # fmt: skip
        assert s.reasons == {"already stored (same event id)": 1} and s.stored == 0
    assert len(Store(tmp_path / "store").events_frame("sf")) == 20


def test_ingest_summary_as_json(tmp_path: Path) -> None:
    """Mutants in ``FileSummary.to_dict`` / ``IngestSummary.to_dict``: the accounting printed by
    ``patrolcast ingest --json`` names every count under its documented key, per file and in
    total, with ingested and skipped files told apart."""
    store = Store(tmp_path / "store")
    folder = tmp_path / "in"
    folder.mkdir()
    rows = [_sf_row(uid) for uid in range(1, 11)]
    _write(folder / "a.csv", [SF_HEADER, *rows, rows[0], "not,a,date,-122.4,37.7"])
    _write(folder / "b.csv", [SF_HEADER, _sf_row(50)])
    (folder / "empty.csv").write_text("", encoding="utf-8")
    s = ingest(folder, store=store, dataset="sf")
    d = s.to_dict()
    assert {k: d[k] for k in d if k not in ("files", "seconds", "transformation")} == {
        "dataset": "sf",
        "kind": "incidents",
        "crs": "EPSG:32610",
        "rows_in": 13,
        "stored": 11,
        "events": 11,
        "quarantined": 2,
        "reasons": {"bad date": 1, "duplicate within file": 1},
        "notes": {},
        "files_ingested": 2,
        "files_skipped": 1,
    }
    assert isinstance(d["seconds"], float) and d["seconds"] >= 0
    assert d["transformation"] == s.transformation and "32610" in d["transformation"]
    by_name = {Path(f["path"]).name: f for f in d["files"]}
    assert set(by_name) == {"a.csv", "b.csv", "empty.csv"}
    a = by_name["a.csv"]
    assert {k: a[k] for k in a if k != "sha256"} == {
        "path": str(folder / "a.csv"),
        "kind": "incidents",
        "mapping": "sfpd",
        "status": "ingested",
        "encoding": a["encoding"],
        "delimiter": "comma",
        "rows_in": 12,
        "stored": 10,
        "events": 10,
        "quarantined": 2,
        "reasons": {"bad date": 1, "duplicate within file": 1},
        "notes": {},
    }
    assert a["encoding"] in ("ascii", "utf-8") and len(a["sha256"]) == 64
    assert by_name["b.csv"]["stored"] == 1 and by_name["b.csv"]["status"] == "ingested"
    assert by_name["empty.csv"]["status"] == "empty" and by_name["empty.csv"]["rows_in"] == 0
    again = ingest(folder / "b.csv", store=store, dataset="sf").to_dict()
    assert (again["files_ingested"], again["files_skipped"], again["stored"]) == (0, 1, 0)
    assert again["files"][0]["status"] == "skipped: already ingested (same SHA-256)"


def test_every_row_again_is_already_stored_or_a_duplicate(tmp_path: Path) -> None:
    """Mutant: ``_Ids.contains`` clamping to the second-largest id (``len(ids) - 2``), which
    misses a repeat of the largest id. Repeating *every* key covers the largest id, whatever
    the key hashes are: across files (already stored) and across blocks (duplicate in file)."""
    store = Store(tmp_path / "store")
    rows = [_sf_row(uid) for uid in range(1, 61)]
    ingest(_write(tmp_path / "a.csv", [SF_HEADER, *rows]), store=store, dataset="sf")
    s = ingest(_write(tmp_path / "b.csv", [SF_HEADER, *reversed(rows)]), store=store,
               dataset="sf")  # fmt: skip
    assert s.reasons == {"already stored (same event id)": 60} and s.stored == 0
    twice = ingest(_write(tmp_path / "c.csv", [SF_HEADER, *rows, *rows]), store=store,
                   dataset="sf2", block_bytes=1024)  # fmt: skip
    assert twice.reasons == {"duplicate within file": 60} and twice.stored == 60
    assert len(Store(tmp_path / "store").events_frame("sf")) == 60
    assert Store(tmp_path / "store").events_frame("sf2")["event_id"].is_unique


CHICAGO = "date,loc_cat,longitude,latitude,district"
CHICAGO_ROW = "2015-06-01 10:00,street,-87.6277,41.7922,2"


@pytest.mark.parametrize(
    ("name", "dataset"),
    [
        ("sf.csv.gz", "sf"),  # both suffixes dropped, whatever their case
        ("Crimes 2019 (v2).CSV", "Crimes_2019_v2"),  # runs of other characters become "_"
        ("---.csv", "dataset"),  # nothing left: a plain name
    ],
)
def test_the_dataset_is_named_after_the_file(tmp_path: Path, name: str, dataset: str) -> None:
    """Mutants in ``default_dataset_name``: without ``dataset=``, the rows are stored in a
    dataset named after the file, without its suffixes and with only letters, digits, ``_``,
    ``.`` and ``-``."""
    import gzip

    text = f"{SF_HEADER}\n{_sf_row(1)}\n".encode()
    (tmp_path / name).write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    s = ingest(tmp_path / name, store=Store(tmp_path / "store"), mapping="sfpd")
    assert s.dataset == dataset and s.stored == 1
    assert len(Store(tmp_path / "store").events_frame(dataset)) == 1


SEARCH = (
    "Type,Date,Part of a policing operation,Policing operation,Latitude,Longitude,Gender,"
    "Age range,Self-defined ethnicity,Officer-defined ethnicity,Legislation,Object of search,"
    "Outcome,Outcome linked to object of search,Removal of more than just outer clothing"
)


def _search(lat: float, lon: float) -> str:
    return (
        f"Person search,2019-01-03T10:00:00+00:00,False,,{lat},{lon},Male,18-24,White,White,"
        "Misuse of Drugs Act 1971 (section 23),Controlled drugs,A no further action disposal,,"
    )


def test_a_study_area_applies_to_stop_and_search_files(tmp_path: Path) -> None:
    """Mutant: the stop-and-search reader built without the study area (``bbox=None``).
    A search outside the study area is quarantined with that reason, as for crimes."""
    path = _write(tmp_path / "ss.csv", [SEARCH, _search(51.51, -0.09), _search(53.40, -2.98)])
    s = ingest(path, store=tmp_path / "store", kind="stop-search", dataset="ss",
               bbox=(-0.6, 51.2, 0.4, 51.8))  # fmt: skip
    assert s.reasons == {"outside the study area": 1} and s.stored == 1
    assert len(Store(tmp_path / "store").stop_searches("ss")) == 1
    assert Store(tmp_path / "store").quarantine("ss")["line"].tolist() == [3]


def test_personal_fields_of_a_tab_delimited_row_are_blanked_in_quarantine(
    tmp_path: Path,
) -> None:
    """Mutant: a quarantined row's raw text split again with the default (comma) delimiter.
    In a tab-delimited file with a personal column (victim_age) and a column the reader does
    not use, a refused row is kept as text with the personal field blanked, tab-delimited."""
    header = "date\tloc_cat\tlongitude\tlatitude\tdistrict\tvictim_age"
    good = "2015-06-01 10:00\tstreet\t-87.6277\t41.7922\t2\t34"
    bad = "2015-13-01 10:00\tstreet\t-87.6277\t41.7922\t2\t17"
    path = _write(tmp_path / "t.tsv", [header, good, bad])
    s = ingest(path, store=Store(tmp_path / "store"), mapping="chicago")
    assert s.reasons == {"bad date": 1} and s.stored == 1
    raw = Store(tmp_path / "store").quarantine("t")["raw"].tolist()
    assert raw == ["2015-13-01 10:00\tstreet\t-87.6277\t41.7922\t2\t"]


def test_quarantined_raw_text_does_not_depend_on_needless_quotes(tmp_path: Path) -> None:
    """Mutant: ``_raw_rows`` taking a line with quotes as it is. A refused row is kept in one
    form: the same values give the same raw text whether the file quoted them or not (quotes
    kept only where a value needs them)."""
    lines = [
        CHICAGO + ",name",
        CHICAGO_ROW + ",x",
        "2015-13-01 10:00,street,-87.6277,41.7922,2,plain",
        '"2015-13-01 10:00","street","-87.6277","41.7922","2","plain"',
        '2015-13-01 10:00,street,-87.6277,41.7922,2,"a, b"',
    ]
    ingest(_write(tmp_path / "q.csv", lines), store=Store(tmp_path / "store"), mapping="chicago")
    q = Store(tmp_path / "store").quarantine("q").set_index("line")
    assert q.loc[3, "raw"] == q.loc[4, "raw"] == "2015-13-01 10:00,street,-87.6277,41.7922,2,plain"
    assert q.loc[5, "raw"] == '2015-13-01 10:00,street,-87.6277,41.7922,2,"a, b"'


def test_an_ingest_leaves_no_staging_files_behind(tmp_path: Path) -> None:
    """Mutant: the file record's staging folder not cleared. After an ingest the dataset
    folder holds what was stored, not the work folders used to write it."""
    store = Store(tmp_path / "store")
    ingest(_write(tmp_path / "a.csv", [SF_HEADER, *map(_sf_row, range(1, 6))]), store=store,
           dataset="sf")  # fmt: skip
    staging = store.dataset_dir("sf") / "_staging"
    assert not staging.exists() or not any(staging.iterdir())


def test_the_file_record_does_not_depend_on_the_block_size(tmp_path: Path) -> None:
    """Mutant: the file record's notes written in the order they were met (``sort_keys``
    dropped). A skipped local hour in an early block and a repeated one in a later block: the
    stored file record is the same as when the file is read in one block."""
    lines = [CHICAGO, "2015-03-08 02:30,street,-87.62,41.79,2", *[CHICAGO_ROW] * 60,
             "2015-11-01 01:30,street,-87.62,41.79,2"]  # fmt: skip
    path = _write(tmp_path / "dst.csv", lines)
    records = []
    for n, block in enumerate((1024, 1 << 24)):
        store = Store(tmp_path / f"store{n}")
        s = ingest(path, store=store, mapping="chicago", block_bytes=block)
        assert len(s.notes) == 2
        records.append(store.files("dst")[["rows_in", "stored", "reasons", "notes"]])
    assert records[0].to_dict("records") == records[1].to_dict("records")


STREET = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context"
)
STREET_ROW = ",2019-01,M,M,-2.98,53.40,On or near X,E01006512,Liverpool 001A,Robbery,,"
LSOA = "lsoa_code,lsoa_name,borough,major_category,minor_category,201901,201902"
WARD = "wardcode,wardname,lookup_boroughname,majortext,minortext,201901,201902"


def test_a_stop_and_search_file_with_only_the_required_columns_is_recognised(
    tmp_path: Path,
) -> None:
    """Mutant: ``detect_kind`` wanting more than the required stop-and-search columns."""
    header = ("Type,Date,Latitude,Longitude,Self-defined ethnicity,Officer-defined ethnicity,"
              "Legislation,Object of search,Outcome")  # fmt: skip
    row = (
        "Person search,2019-01-03T10:00:00+00:00,53.40,-2.98,White,White,"
        "Misuse of Drugs Act 1971 (section 23),Controlled drugs,A no further action disposal"
    )
    s = ingest(_write(tmp_path / "ss.csv", [header, row]), store=tmp_path / "store")
    assert s.kind == "stop-search" and s.stored == 1


def test_layout_errors_say_what_was_found(tmp_path: Path) -> None:
    """Mutants in ``_plan``'s messages: an unknown header names its first columns and what to
    pass; mixed folders list each layout with its mapping or level; London Datastore tables of
    two levels are refused together; an unknown kind lists the known ones."""
    from patrolcast.errors import InputError

    store = Store(tmp_path / "store")
    unknown = _write(tmp_path / "unk.csv", ["a,b,c,d,e,f,g,h,i,j", "1,2,3,4,5,6,7,8,9,10"])
    with pytest.raises(InputError, match=r"header \(a, b, c, d, e, f, g, h\.\.\.\): pass --kind, "
                                         r"or --mapping for an incident file$"):  # fmt: skip
        ingest(unknown, store=store)
    mix = tmp_path / "mix"
    mix.mkdir()
    _write(mix / "a.csv", [SF_HEADER, _sf_row(1)])
    _write(mix / "b.csv", [STREET, STREET_ROW])
    several = r"^files of several layouts \(incidents/sfpd; police-uk-street\): ingest them"
    with pytest.raises(InputError, match=several):
        ingest(mix, store=store)
    lds = tmp_path / "lds"
    lds.mkdir()
    _write(lds / "l.csv", [LSOA, "E01000001,City 001A,City of London,Robbery,Personal,2,0"])
    _write(lds / "w.csv", [WARD, "E05000001,Aldgate,City of London,Robbery,Personal,2,0"])
    with pytest.raises(InputError, match=r"several layouts \(london-datastore/lsoa; "
                                         r"london-datastore/ward\)"):  # fmt: skip
        ingest(lds, store=store)
    with pytest.raises(InputError, match=r"^London Datastore tables of several levels "
                                         r"\(lsoa, ward\): ingest them separately$"):  # fmt: skip
        ingest(lds, store=store, kind="london-datastore")
    with pytest.raises(InputError, match=r"^unknown kind 'nonsense' \(known: auto, "
                                         r"police-uk-street, stop-search"):  # fmt: skip
        ingest(mix / "a.csv", store=store, kind="nonsense")


@pytest.mark.parametrize(("header", "code"), [(LSOA, "E0100000"), (WARD, "E0500000")])
def test_a_london_datastore_table_counts_rows_not_months(
    tmp_path: Path, header: str, code: str
) -> None:
    """Mutants: the London Datastore level dropped, no area points, and the stored count
    comparing each record with the first (``kept_pos[:+1]``). A wide table turns each row into
    one record a month: two rows of two months are 2 rows stored, 4 records (no boundary files
    here: stored without coordinates)."""
    rows = [f"{code}{i},Area {i},City of London,Robbery,Personal,{i},3" for i in (1, 2)]
    s = ingest(_write(tmp_path / "t.csv", [header, *rows]), store=Store(tmp_path / "store"),
               dataset="t", shared_data=tmp_path / "no-shared-data")  # fmt: skip
    assert (s.rows_in, s.stored, s.events, s.quarantined) == (2, 2, 4, 0)
    meta = Store(tmp_path / "store").meta("t")
    assert meta["kind"] == "london-datastore" and "created_at" in meta


def test_a_dataset_folder_left_empty_is_used(tmp_path: Path) -> None:
    """Mutant: the dataset folder created only when absent (``exist_ok`` dropped): a folder
    left empty (an interrupted first ingest) does not stop the next one."""
    store = Store(tmp_path / "store")
    store.dataset_dir("sf").mkdir(parents=True)
    s = ingest(_write(tmp_path / "a.csv", [SF_HEADER, _sf_row(1)]), store=store, dataset="sf")
    assert s.stored == 1 and len(Store(tmp_path / "store").events_frame("sf")) == 1


def test_progress_is_reported_block_by_block(tmp_path: Path) -> None:
    """Mutants: the blocks read at the default size, and the progress call losing its bytes.
    With 1 KiB blocks a file of about 12 KiB reports progress several times, bytes and rows
    growing, ending at the whole file's rows."""
    calls: list[tuple[str, int, int]] = []
    path = _write(tmp_path / "p.csv", [SF_HEADER, *map(_sf_row, range(1, 201))])
    ingest(path, store=Store(tmp_path / "store"), dataset="p", block_bytes=1024,
           progress=lambda name, nbytes, rows: calls.append((name, nbytes, rows)))  # fmt: skip
    assert len(calls) >= 5 and {c[0] for c in calls} == {"p.csv"}
    rows = [c[2] for c in calls]
    assert rows == sorted(rows) and rows[-1] == 200
    assert all(0 < c[1] <= 2048 for c in calls)


def test_each_ingested_file_keeps_its_own_record(tmp_path: Path) -> None:
    """Mutant: the file record written without the file's prefix: two files ingested into one
    dataset each keep their record (path, digest, counts)."""
    store = Store(tmp_path / "store")
    for name, uids in (("a.csv", range(1, 4)), ("b.csv", range(10, 12))):
        ingest(_write(tmp_path / name, [SF_HEADER, *map(_sf_row, uids)]), store=store,
               dataset="sf")  # fmt: skip
    files = Store(tmp_path / "store").files("sf").sort_values("path")
    assert [Path(p).name for p in files["path"]] == ["a.csv", "b.csv"]
    assert files["stored"].tolist() == [3, 2] and files["sha256"].is_unique


def test_area_counts_are_placed_at_the_boundary_files_points(tmp_path: Path) -> None:
    """Mutants: the shared data folder passed to ``ingest`` not used for the area points, and
    the London Datastore reader built without them. A borough table's counts are placed at the
    representative point of the borough's polygon in ``shared_data/boundaries`` (here a 1 km
    square), not left without coordinates."""
    import geopandas as gpd
    from shapely.geometry import box

    boundaries = tmp_path / "shared" / "boundaries"
    boundaries.mkdir(parents=True)
    square = gpd.GeoDataFrame(
        {"gss_code": ["E09000001"], "name": ["City of London"]},
        geometry=[box(532000, 181000, 533000, 182000)], crs="EPSG:27700",
    )  # fmt: skip
    square.to_file(boundaries / "london_boroughs.gpkg", driver="GPKG")
    path = _write(tmp_path / "b.csv", ["boroughname,majortext,minortext,201901,201902",
                                       "City of London,Robbery,Personal,2,1"])  # fmt: skip
    s = ingest(path, store=Store(tmp_path / "store"), dataset="b",
               shared_data=tmp_path / "shared")  # fmt: skip
    assert (s.rows_in, s.stored, s.events) == (1, 1, 2) and not s.notes
    frame = Store(tmp_path / "store").events_frame("b")
    assert frame["x"].between(532000, 533000).all() and frame["y"].between(181000, 182000).all()
