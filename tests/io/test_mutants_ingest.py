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
