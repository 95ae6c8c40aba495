"""Ingest accounting on the real shared files, checked against an independent pandas reading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from patrolcast.io import Store, ingest
from tests.conftest import require

pytestmark = pytest.mark.realdata

PERSONAL = ("PERP_AGE_GROUP", "PERP_SEX", "PERP_RACE", "VIC_AGE_GROUP", "VIC_SEX", "VIC_RACE")


def test_city_of_london_street_months(shared_data: Path, tmp_path: Path) -> None:
    folder = require(shared_data / "police_uk" / "city_of_london_street")
    files = sorted(folder.glob("*.csv.gz"))[:6]
    for f in files:
        (tmp_path / "in").mkdir(exist_ok=True)
        (tmp_path / "in" / f.name).symlink_to(f)
    s = ingest(tmp_path / "in", store=tmp_path / "store", dataset="col")
    raw = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    located = raw[raw["Longitude"].notna()]
    dup_ids = located["Crime ID"].notna() & located["Crime ID"].duplicated()
    assert s.kind == "police-uk-street"
    assert s.rows_in == len(raw)
    assert s.reasons.get("no coordinates", 0) == int(raw["Longitude"].isna().sum())
    assert s.reasons.get("duplicate within file", 0) == int(dup_ids.sum())
    assert s.stored == len(located) - int(dup_ids.sum())
    frame = Store(tmp_path / "store").events_frame("col")
    # every raw row is in the store: an event or a quarantined row (read back, not the summary)
    assert len(frame) + len(Store(tmp_path / "store").quarantine("col")) == len(raw)
    assert set(frame["key"].dropna()) == set(located["Crime ID"].dropna())
    assert "Helmert fallback" in s.transformation
    # British National Grid coordinates of the Square Mile (with a few rows placed further out)
    assert np.median(frame["x"]) == pytest.approx(532_500, abs=2_000)
    assert np.median(frame["y"]) == pytest.approx(181_300, abs=2_000)
    counts = Store(tmp_path / "store").area_counts("col", groups="robbery")
    assert counts["count"].sum() == int(
        (located.drop_duplicates("Crime ID")["Crime type"] == "Robbery").sum()
    )


def test_met_stop_and_search_keeps_ethnicity_drops_gender_age(
    shared_data: Path, tmp_path: Path
) -> None:
    path = require(
        shared_data
        / "police_uk"
        / "metropolitan_stop_and_search"
        / "2018-02-metropolitan-stop-and-search.csv.gz"
    )
    s = ingest(path, store=tmp_path / "store", dataset="met")
    raw = pd.read_csv(path)
    assert s.kind == "stop-search"
    assert s.rows_in == len(raw)
    assert s.notes["stored without coordinates (aggregate use only)"] == int(
        raw["Latitude"].isna().sum()
    )
    searches = Store(tmp_path / "store").stop_searches("met")
    assert len(searches) == s.stored
    assert len(searches) + len(Store(tmp_path / "store").quarantine("met")) == len(raw)
    assert {"self_defined_ethnicity", "officer_defined_ethnicity"} <= set(searches.columns)
    assert not {"gender", "Gender", "age_range", "Age range"} & set(searches.columns)
    assert (searches["officer_defined_ethnicity"].value_counts().sort_index()
            == raw["Officer-defined ethnicity"].value_counts().sort_index()).all()  # fmt: skip


def test_chicago_assaults(shared_data: Path, tmp_path: Path) -> None:
    path = require(shared_data / "incidents_timestamped" / "chicago_aggravated_assaults.csv.gz")
    s = ingest(path, store=tmp_path / "store", dataset="chi")
    raw = pd.read_csv(path)
    ok = raw["longitude"].between(-88.0, -87.5) & raw["latitude"].between(41.6, 42.1)
    assert s.rows_in == len(raw)
    assert s.stored == int(ok.sum())
    events = Store(tmp_path / "store").events("chi")
    assert len(events) == s.events == s.stored and events.crs == "EPSG:32616"
    assert events.time_precision == "minute"
    # local midnight of 2010-01-01 in Chicago is 06:00 UTC
    assert events.t.min() == pytest.approx(14610 + 6 / 24 + 5 / 1440)


def test_nypd_counts_incidents_not_victims(shared_data: Path, tmp_path: Path) -> None:
    folder = require(shared_data / "incidents_timestamped" / "nypd_shootings")
    s = ingest(folder, store=tmp_path / "store", dataset="nypd")
    frames = []
    for f in sorted(folder.iterdir()):
        sep = "\t" if ".tsv" in f.name else ","
        frames.append(pd.read_csv(f, sep=sep, encoding="utf-8-sig", dtype=str))
    raw = pd.concat(frames, ignore_index=True)
    assert s.rows_in == len(raw)
    assert s.events == raw["INCIDENT_KEY"].nunique()
    fatal = raw.groupby("INCIDENT_KEY")["STATISTICAL_MURDER_FLAG"].apply(
        lambda v: v.str.lower().isin(["true", "y"]).any()
    )
    frame = Store(tmp_path / "store").events_frame("nypd")
    assert int((frame["mark"] == 1).sum()) == int(fatal.sum())
    assert frame["rows"].sum() == s.stored
    # victim rows collapsed into events plus quarantined rows account for every raw row
    assert frame["rows"].sum() + len(Store(tmp_path / "store").quarantine("nypd")) == len(raw)
    stored_columns = set(frame.columns)
    assert not stored_columns & set(PERSONAL)
    assert not any(
        ("race" in c.lower() or "sex" in c.lower() or "age_group" in c.lower())
        for c in stored_columns
    )


def test_philadelphia_reasons(shared_data: Path, tmp_path: Path) -> None:
    path = require(
        shared_data / "incidents_timestamped" / "philadelphia_shootings" / "shootings.csv.gz"
    )
    s = ingest(path, store=tmp_path / "store", dataset="phl")
    raw = pd.read_csv(path, dtype=str)
    no_time = raw["time"].isna()
    no_xy = raw["point_x"].isna() | raw["point_y"].isna()
    assert s.rows_in == len(raw)
    assert s.reasons["missing time of day"] == int(no_time.sum())
    assert s.reasons["no coordinates"] == int((no_xy & ~no_time).sum())
    kept = raw[~no_time & ~no_xy]
    assert s.events == kept["dc_key"].nunique()
    q = Store(tmp_path / "store").quarantine("phl")
    header = list(raw.columns)
    race_at = header.index("race")
    for line in q["raw"].head(50):
        fields = line.split(",")
        assert fields[race_at] == ""  # personal values blanked in quarantined raw text


def test_london_lsoa_counts_long(shared_data: Path, tmp_path: Path) -> None:
    path = require(shared_data / "london_datastore_mps" / "recorded-crime-lsoa.csv.gz")
    s = ingest(path, store=tmp_path / "store", dataset="lsoa", shared_data=shared_data)
    raw = pd.read_csv(path)
    months = [c for c in raw.columns if c.isdigit()]
    assert s.rows_in == len(raw) == s.stored
    assert s.events == len(raw) * len(months)
    store = Store(tmp_path / "store")
    counts = store.area_counts("lsoa", groups="robbery")
    expected = raw.loc[raw["major_category"] == "ROBBERY", months].to_numpy().sum()
    assert counts["count"].sum() == expected
    assert counts["month"].min() == pd.Timestamp("2024-02-01", tz="UTC")
    assert list(counts.columns) == [
        "area_code",
        "area_name",
        "borough",
        "month",
        "offence_group",
        "count",
        "harm",
    ]
    events = store.events("lsoa", groups="robbery")
    assert events.time_precision == "month" and events.crs == "EPSG:27700"
    assert events.total_count == expected  # every LSOA has a boundary polygon


def test_reingest_stores_nothing_twice(shared_data: Path, tmp_path: Path) -> None:
    path = require(shared_data / "incidents_timestamped" / "nyc_shootings.csv")
    first = ingest(path, store=tmp_path / "store")
    again = ingest(path, store=tmp_path / "store")
    assert first.stored == first.rows_in and again.stored == 0 and again.rows_in == 0
    assert again.files[0].status.startswith("skipped: already ingested")
    # a changed copy (the same rows plus one) stores only the new row
    text = path.read_text(encoding="utf-8").splitlines()
    extra = text[1].split(",")
    extra[0] = "999999999"
    (tmp_path / "nyc_shootings.csv").write_text("\n".join([*text, ",".join(extra)]) + "\n")
    grown = ingest(tmp_path / "nyc_shootings.csv", store=tmp_path / "store")
    assert grown.events == 1
    assert grown.reasons == {"already stored (same event id)": grown.rows_in - 1}
    frame = Store(tmp_path / "store").events_frame("nyc_shootings")
    assert frame["event_id"].is_unique and len(frame) == first.events + 1
