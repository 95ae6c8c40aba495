"""data.police.uk zip archives: each kind to its own dataset, same accounting and idempotence."""

from __future__ import annotations

import gzip
import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patrolcast.cli.main import app
from patrolcast.errors import InputError
from patrolcast.io import Store, ingest
from patrolcast.io.archives import OUTCOMES_REASON, ingest_archive, is_zip
from tests.conftest import require

STREET_HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context"
)
SEARCH_HEADER = (
    "Type,Date,Part of a policing operation,Policing operation,Latitude,Longitude,Gender,"
    "Age range,Self-defined ethnicity,Officer-defined ethnicity,Legislation,Object of search,"
    "Outcome,Outcome linked to object of search,Removal of more than just outer clothing"
)
OUTCOMES_HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Outcome type"
)


def _street(month: str, n: int, *, bad: int = 0) -> bytes:
    rows = [
        f"{month}-id{i},{month},City of London Police,City of London Police,-0.1064,51.5182,"
        f"On or near X Street,E01000916,Camden 027B,Other theft,Under investigation,"
        for i in range(n)
    ]
    rows += [f"{month}-bad{i},{month},City,City,,,No location,,,Other theft,," for i in range(bad)]
    return ("\n".join([STREET_HEADER, *rows]) + "\n").encode()


def _searches(month: str, n: int) -> bytes:
    rows = [
        f"Person search,{month}-0{1 + i % 9}T10:00:00+00:00,False,,51.5140,-0.0880,Male,18-24,"
        f"White - Other,White,Misuse of Drugs Act 1971 (section 23),Controlled drugs,"
        f"Arrest,True,False"
        for i in range(n)
    ]
    return ("\n".join([SEARCH_HEADER, *rows]) + "\n").encode()


def _outcomes(month: str, n: int) -> bytes:
    rows = [
        f"{month}-id{i},{month},City,City,-0.1064,51.5182,On or near X,E01000916,Camden 027B,"
        "Investigation complete; no suspect identified"
        for i in range(n)
    ]
    return ("\n".join([OUTCOMES_HEADER, *rows]) + "\n").encode()


def _archive(path: Path, months: list[str]) -> dict[str, bytes]:
    members: dict[str, bytes] = {}
    for m in months:
        members[f"{m}/{m}-city-of-london-street.csv"] = _street(m, 20, bad=2)
        members[f"{m}/{m}-city-of-london-stop-and-search.csv"] = _searches(m, 7)
        members[f"{m}/{m}-city-of-london-outcomes.csv"] = _outcomes(m, 5)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        zf.writestr("README.txt", "not a CSV")
    return members


def test_each_kind_to_its_own_dataset_with_accounting(tmp_path: Path) -> None:
    archive = tmp_path / "2018-02.zip"
    members = _archive(archive, ["2018-01", "2018-02"])
    store = Store(tmp_path / "store")
    s = ingest_archive(archive, store=store)
    by_name = {d.dataset: d for d in s.datasets}
    assert set(by_name) == {"2018-02-street", "2018-02-stop-and-search"}
    street, searches = by_name["2018-02-street"], by_name["2018-02-stop-and-search"]
    assert (street.rows_in, street.stored, street.quarantined) == (44, 40, 4)
    assert dict(street.reasons) == {"no coordinates": 4}
    assert (searches.rows_in, searches.stored) == (14, 14)
    assert len(street.files) == 2 and all(f.rows_in == 22 for f in street.files)
    outcomes = [m for m in s.skipped if m.status == OUTCOMES_REASON]
    assert [m.rows for m in outcomes] == [5, 5]
    assert {m.name for m in s.skipped} >= {"README.txt"}
    # identity: the SHA-256 of the member's content, recorded under archive!member
    files = store.files("2018-02-street")
    name = "2018-01/2018-01-city-of-london-street.csv"
    row = files[files["path"] == f"{archive}!{name}"].iloc[0]
    assert row["sha256"] == hashlib.sha256(members[name]).hexdigest()
    assert row["rows_in"] == 22
    q = store.quarantine("2018-02-street")
    assert len(q) == 4 and q["file"].str.startswith(f"{archive}!").all()
    assert len(store.stop_searches("2018-02-stop-and-search")) == 14


def test_reingest_stores_nothing_twice_zip_or_loose(tmp_path: Path) -> None:
    archive = tmp_path / "police.zip"
    members = _archive(archive, ["2018-01"])
    store = Store(tmp_path / "store")
    ingest_archive(archive, store=store)
    again = ingest_archive(archive, store=store)
    assert all(
        f.status == "skipped: already ingested (same SHA-256)"
        for d in again.datasets
        for f in d.files
    )
    assert sum(d.stored for d in again.datasets) == 0
    # the same CSV, loose and unpacked, is the same file
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "2018-01-city-of-london-street.csv").write_bytes(
        members["2018-01/2018-01-city-of-london-street.csv"]
    )
    s = ingest(loose, store=store, dataset="police-street")
    assert s.files[0].status.startswith("skipped: already ingested")
    assert len(store.events_frame("police-street")) == 20
    # a later archive repeating a month stores only the new month
    bigger = tmp_path / "police2.zip"
    _archive(bigger, ["2018-01", "2018-02"])
    more = ingest_archive(bigger, store=store, dataset="police")
    street = next(d for d in more.datasets if d.dataset == "police-street")
    assert [f.status for f in street.files].count("ingested") == 1
    assert len(store.events_frame("police-street")) == 40


def test_gzip_members_and_members_named_otherwise(tmp_path: Path) -> None:
    archive = tmp_path / "mixed.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a/street-january.csv.gz", gzip.compress(_street("2018-01", 3)))
        zf.writestr("b/outcomes.csv", _outcomes("2018-01", 4))
        zf.writestr("c/other.csv", "a,b\n1,2\n")
    s = ingest_archive(archive, store=Store(tmp_path / "store"))
    assert [d.dataset for d in s.datasets] == ["mixed-street"]
    assert s.datasets[0].stored == 3
    status = {m.name: m for m in s.skipped}
    assert status["b/outcomes.csv"].rows == 4
    assert status["c/other.csv"].status.startswith("skipped: unknown layout")


def test_bad_archives_are_one_line_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    assert is_zip(broken)
    with pytest.raises(InputError, match="not a readable zip archive"):
        ingest_archive(broken, store=Store(tmp_path / "store"))
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("2018-01/2018-01-x-street.csv", b"\n" * (300 << 20))
    with pytest.raises(InputError, match="more than 200 times the archive"):
        ingest_archive(bomb, store=Store(tmp_path / "store"))
    with pytest.raises(InputError, match="a zip archive, not delimited text"):
        ingest(broken, store=Store(tmp_path / "store"))


def test_cli_ingests_a_zip(tmp_path: Path) -> None:
    archive = tmp_path / "data.zip"
    _archive(archive, ["2018-01"])
    runner = CliRunner()
    home = str(tmp_path / "h")
    result = runner.invoke(app, ["ingest", str(archive), "--home", home, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert (payload["rows_in"], payload["stored"], payload["quarantined"]) == (29, 27, 2)
    assert [d["dataset"] for d in payload["datasets"]] == ["data-street", "data-stop-and-search"]
    text = runner.invoke(app, ["ingest", str(archive), "--home", home])
    assert text.exit_code == 0 and "already ingested" in text.output
    refused = runner.invoke(app, ["ingest", str(archive), "--home", home, "--mapping", "nypd"])
    assert refused.exit_code != 0


def test_real_city_of_london_months_in_a_zip(tmp_path: Path, shared_data: Path) -> None:
    street = shared_data / "police_uk" / "city_of_london_street"
    searches = shared_data / "police_uk" / "city_of_london_stop_and_search"
    months = ["2018-01", "2018-02", "2018-03"]
    archive = tmp_path / "col.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for m in months:
            for folder, kind in ((street, "street"), (searches, "stop-and-search")):
                src = require(folder / f"{m}-city-of-london-{kind}.csv.gz")
                zf.writestr(f"{m}/{m}-city-of-london-{kind}.csv", gzip.decompress(src.read_bytes()))
    s = ingest_archive(archive, store=Store(tmp_path / "store"))
    loose_street = ingest(
        [street / f"{m}-city-of-london-street.csv.gz" for m in months][0].parent,
        store=Store(tmp_path / "loose"),
    )
    per_month = {Path(f.path).name[:7]: f for f in loose_street.files}
    zipped = {f.path.split("!")[1][:7]: f for f in s.datasets[0].files}
    for m in months:  # same accounting as the loose files, reason by reason
        assert zipped[m].rows_in == per_month[m].rows_in
        assert zipped[m].reasons == per_month[m].reasons
    assert s.datasets[1].rows_in > 0 and s.datasets[1].quarantined == 0
