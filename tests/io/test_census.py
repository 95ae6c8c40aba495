"""Census, ward population and IMD readers on the real files and on bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from patrolcast.errors import InputError
from patrolcast.io.census import (
    LONDON_2011_ETHNIC_GROUPS,
    read_census_population,
    read_police_force_lookup,
    read_ward_population,
)
from patrolcast.io.deprivation import read_imd, read_imd_population
from tests.conftest import require

pytestmark = pytest.mark.realdata


def test_london_census_total_matches_the_published_ethnic_table(shared_data: Path) -> None:
    census = read_census_population(
        require(shared_data / "census_and_lookups" / "census_2011_population_hh.csv.gz"),
        region="LONDON",
    )
    assert len(census) == 4_835
    assert census["lsoa_code"].is_unique
    # Two independent ONS tables agree: LSOA totals sum to KS201EW's London total.
    assert int(census["residents"].sum()) == sum(LONDON_2011_ETHNIC_GROUPS.values()) == 8_173_941
    assert (
        census["residents"] == census["residents_in_households"] + census["residents_in_communal"]
    ).all()
    assert census["la_code"].nunique() == 33


def test_force_lookup_and_wards(shared_data: Path) -> None:
    lookup = read_police_force_lookup(
        require(shared_data / "census_and_lookups" / "PoliceforceLSOA.csv.gz")
    )
    assert len(lookup) == 32_844 and lookup["lsoa_code"].is_unique
    met = lookup[lookup["police_force"] == "Metropolitan Police"]
    assert met["la_code"].nunique() == 32  # the 32 London boroughs; the City is its own force
    city = lookup[lookup["police_force"] == "City of London"]
    assert set(city["la_code"]) == {"E09000001"}
    wards = read_ward_population(
        require(shared_data / "census_and_lookups" / "london_ward_pop.csv.gz")
    )
    assert wards["ward_code"].is_unique
    assert (wards["year"] == 2011).all()
    assert 600 < len(wards) < 700


def test_imd(shared_data: Path) -> None:
    path = require(shared_data / "census_and_lookups" / "london_lsoa_deprivation.xlsx")
    imd = read_imd(path)
    assert len(imd) == 4_835
    assert imd["imd_decile"].between(1, 10).all()
    assert imd["imd_rank"].between(1, 32_844).all()
    pop = read_imd_population(path)
    assert len(pop) == 4_835 and (pop["population_2015"] > 0).all()


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_census_population(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="not the 2011 census"):
        read_census_population(bad)
    with pytest.raises(InputError, match="lacks columns"):
        read_police_force_lookup(bad)
    with pytest.raises(InputError, match="lacks columns"):
        read_ward_population(bad)
    with pytest.raises(InputError):
        read_imd(bad)
