# ruff: noqa: E501
"""The Store read API (docs/contracts.md) on a small ingested file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from patrolcast.errors import InputError
from patrolcast.events import to_days
from patrolcast.io import Store, ingest

LINES = [
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context",
    "a1,2019-01,X,X,-0.09,51.51,On or near A,E01000001,City 001A,Robbery,,",
    "a2,2019-02,X,X,-0.09,51.51,On or near A,E01000001,City 001A,Robbery,,",
    "a3,2019-02,X,X,-0.10,51.52,On or near B,E01000002,City 001B,Shoplifting,,",
    ",2019-03,X,X,-0.10,51.52,On or near B,E01000002,City 001B,Anti-social behaviour,,",
]  # fmt: skip


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    path = tmp_path / "2019-x-street.csv"
    path.write_text("\n".join(LINES) + "\n")
    ingest(path, store=tmp_path / "store", dataset="street")
    return Store(tmp_path / "store")


def test_events_filters(store: Store) -> None:
    every = store.events("street")
    assert len(every) == 4 and every.crs == "EPSG:27700" and every.time_precision == "month"
    assert np.all(np.diff(every.t) >= 0)
    robbery = store.events("street", groups=["robbery"])
    assert len(robbery) == 2 and robbery.harm.sum() > 0
    feb = datetime(2019, 2, 1, tzinfo=UTC)
    assert len(store.events("street", start=feb)) == 3
    assert len(store.events("street", end=to_days(feb))) == 1
    assert len(store.events("street", start="2019-02-01T00:00Z", end="2019-03-01T00:00Z")) == 2
    with pytest.raises(InputError, match="naive"):
        store.events("street", start=datetime(2019, 2, 1))


def test_area_counts_and_datasets(store: Store) -> None:
    counts = store.area_counts("street")
    assert list(counts.columns) == [
        "area_code",
        "area_name",
        "borough",
        "month",
        "offence_group",
        "count",
        "harm",
    ]
    rob = counts[counts["offence_group"] == "robbery"]
    assert rob["count"].tolist() == [1.0, 1.0] and str(rob["month"].dt.tz) == "UTC"
    [info] = store.datasets()
    assert (info.name, info.kind, info.events, info.files) == ("street", "police-uk-street", 4, 1)
    assert len(store.files("street")) == 1


def test_unknown_dataset_and_wrong_kind(store: Store) -> None:
    with pytest.raises(InputError, match="no dataset"):
        store.events("nope")
    with pytest.raises(InputError, match="not stop-search"):
        store.stop_searches("street")
    with pytest.raises(InputError, match="not allowed"):
        store.events("../etc")


def test_dataset_kind_cannot_change(store: Store, tmp_path: Path) -> None:
    other = tmp_path / "a.csv"
    other.write_text(
        "date,loc_cat,longitude,latitude,district\n2015-06-01 10:00,street,-87.6,41.8,2\n"
    )
    with pytest.raises(InputError, match="choose another --dataset"):
        ingest(other, store=store, dataset="street")


def test_store_path_with_quote(tmp_path: Path) -> None:
    """A store folder whose path holds a single quote must still be queryable."""
    path = tmp_path / "2019-x-street.csv"
    path.write_text("\n".join(LINES) + "\n")
    root = tmp_path / "o'brien store"
    ingest(path, store=root, dataset="street")
    store = Store(root)
    assert len(store.events("street")) == 4
    assert [d.events for d in store.datasets()] == [4]
