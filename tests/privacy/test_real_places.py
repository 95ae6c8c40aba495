"""Real place names from the shared data must pass the personal-data check.

data.police.uk location names ("On or near Lord Street"), Chicago block names ("006XX S LAKE
SHORE DR SB") and Philadelphia block-level locations ("6300 BLOCK FRANKFORD AVE") are exactly
the place text users will paste into proposals. Before the check knew about places named with a
title and about block-level addresses, it refused 7 of the 18,621 police.uk names, 9 Chicago
blocks and 5,168 of the 7,317 Philadelphia locations.
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest

from patrolcast.privacy import check_text
from tests.conftest import require

pytestmark = pytest.mark.realdata


def _column(path: Path, column: str) -> set[str]:
    with gzip.open(require(path), "rt", encoding="utf-8-sig", newline="") as handle:
        return {row[column] for row in csv.DictReader(handle) if row.get(column)}


def test_police_uk_location_names_pass(shared_data: Path) -> None:
    names: set[str] = set()
    for path in sorted((shared_data / "police_uk").glob("*street*/*.csv.gz")):
        names |= _column(path, "Location")
    if not names:
        pytest.skip("no data.police.uk street files in the shared data")
    flagged = sorted(n for n in names if check_text(n))
    assert len(flagged) <= len(names) // 1000, flagged[:20]
    for name in ("On or near Lord Street", "On or near Lady Lane", "On or near Dob Lane",
                 "On or near Constable Drive", "On or near Master Lane"):
        if name in names:
            assert check_text(name) == [], name


def test_chicago_block_names_pass(shared_data: Path) -> None:
    path = shared_data / "incidents_timestamped/chicago_homicides/Homicides_2001_to_present.csv.gz"
    blocks = _column(path, "Block")
    flagged = sorted(b for b in blocks if check_text(b))
    assert len(flagged) <= len(blocks) // 1000, flagged[:20]


def test_philadelphia_block_locations_pass(shared_data: Path) -> None:
    path = shared_data / "incidents_timestamped/philadelphia_shootings/shootings.csv.gz"
    locations = _column(path, "location")
    block_level = {loc for loc in locations
                   if " block " in f" {loc.lower()} " and " apt" not in loc.lower()}
    assert len(block_level) > 1000
    flagged = sorted(loc for loc in block_level if check_text(loc))
    assert flagged == []
    # An apartment number narrows a block to one dwelling: that is still refused.
    assert check_text("1200 BLOCK BRANDYWINE ST APT 32")
