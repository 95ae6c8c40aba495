"""The one rule for typed times: no zone = Europe/London, or a US dataset's own zone."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from patrolcast.app.times import (
    TIME_RULE,
    dataset_zone,
    parse_dataset_time,
    parse_local_time,
    time_help,
)
from patrolcast.errors import InputError
from patrolcast.io import Store


def test_a_time_without_a_zone_is_london_wall_clock_time() -> None:
    # 14:00 in June is British Summer Time (UTC+1); in January it is GMT.
    assert parse_local_time("2026-06-01T14:00") == datetime(2026, 6, 1, 13, 0, tzinfo=UTC)
    assert parse_local_time("2026-01-15T14:00") == datetime(2026, 1, 15, 14, 0, tzinfo=UTC)
    assert parse_local_time("2026-06-01") == datetime(2026, 5, 31, 23, 0, tzinfo=UTC)


def test_an_offset_means_what_it_says() -> None:
    assert parse_local_time("2026-06-01T14:00Z") == datetime(2026, 6, 1, 14, 0, tzinfo=UTC)
    assert parse_local_time("2026-06-01T14:00-05:00", zone="Europe/London") == datetime(
        2026, 6, 1, 19, 0, tzinfo=UTC
    )


def test_gap_and_fold_are_refused_naming_the_option() -> None:
    with pytest.raises(InputError, match=r"^--start: .*does not exist"):
        parse_local_time("2026-03-29T01:30", option="--start")
    with pytest.raises(InputError, match="happens twice"):
        parse_local_time("2026-10-25T01:30")
    with pytest.raises(InputError, match=r"^--end: cannot read time"):
        parse_local_time("next tuesday", option="--end")


def _dataset(root: Path, name: str, meta: dict[str, str]) -> None:
    (root / name).mkdir(parents=True)
    (root / name / "dataset.json").write_text(json.dumps(meta), encoding="utf-8")


def test_us_city_data_use_their_mapping_zone(tmp_path: Path) -> None:
    _dataset(tmp_path, "chicago-assaults", {"mapping": "chicago", "crs": "EPSG:32616"})
    _dataset(tmp_path, "london-street", {"kind": "police-uk-street", "crs": "EPSG:27700"})
    store = Store(tmp_path)
    assert dataset_zone(store, "chicago-assaults") == "America/Chicago"
    assert dataset_zone(store, "london-street") == "Europe/London"
    # 18:00 in Chicago in December is UTC-6; the same text for London data is GMT.
    assert parse_dataset_time("2017-12-04T18:00", store, "chicago-assaults") == datetime(
        2017, 12, 5, 0, 0, tzinfo=UTC
    )
    assert parse_dataset_time("2017-12-04T18:00", store, "london-street") == datetime(
        2017, 12, 4, 18, 0, tzinfo=UTC
    )
    with pytest.raises(InputError, match="no dataset 'nope'"):
        dataset_zone(store, "nope")


def test_help_texts_state_the_rule() -> None:
    assert TIME_RULE in time_help("Window start", dataset=True)
    assert "Europe/London" in time_help("Requested start")
    assert "stored in UTC" in time_help("Requested start")
