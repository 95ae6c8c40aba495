"""The offence taxonomy file: validation and lookups."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from patrolcast.errors import InputError
from patrolcast.taxonomy import GROUPS, load_taxonomy
from tests.conftest import require

HEADER = "source,offence,group,harm,basis\n"


def test_shipped_taxonomy_is_valid_and_cites_its_source() -> None:
    tax = load_taxonomy()
    assert {"police.uk", "home-office", "chicago", "nypd", "philadelphia"} <= set(tax.sources)
    text = Path(tax.path).read_text(encoding="utf-8")
    assert "Crime Severity Score" in text and "approximat" in text.lower()
    assert all(e.group in GROUPS for e in tax.entries)


def test_lookup_is_case_and_space_insensitive_with_major_wildcard() -> None:
    tax = load_taxonomy()
    hit = tax.lookup("home-office", "burglary /   DOMESTIC burglary")
    assert hit is not None and hit.group == "burglary" and hit.offence == "BURGLARY / *"
    homicide = tax.lookup("home-office", "VIOLENCE AGAINST THE PERSON / HOMICIDE")
    theft = tax.lookup("home-office", "THEFT / SHOPLIFTING")
    assert homicide is not None and theft is not None and homicide.harm > 100 * theft.harm
    assert tax.lookup("police.uk", "dragon theft") is None


def test_every_real_label_is_known(shared_data: Path) -> None:
    tax = load_taxonomy()
    lsoa = pd.read_csv(require(shared_data / "london_datastore_mps" / "recorded-crime-lsoa.csv.gz"),
                       usecols=["major_category", "minor_category"]).drop_duplicates()  # fmt: skip
    for major, minor in lsoa.itertuples(index=False):
        assert tax.lookup("home-office", f"{major} / {minor}") is not None, (major, minor)
    street = pd.read_csv(
        require(
            shared_data
            / "police_uk"
            / "city_of_london_street"
            / "2019-07-city-of-london-street.csv.gz"
        )
    )
    for label in street["Crime type"].unique():
        assert tax.lookup("police.uk", label) is not None, label


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("police.uk,Robbery,robbbery,400,approximate\n", "unknown group"),
        ("police.uk,Robbery,robbery,-1,approximate\n", "non-negative"),
        ("police.uk,Robbery,robbery,lots,approximate\n", "not a number"),
        ("police.uk,Robbery,robbery,400,guess\n", "basis"),
        (
            "police.uk,Robbery,robbery,400,approximate\npolice.uk,ROBBERY,robbery,1,published\n",
            "twice",
        ),
        ("police.uk,Robbery,robbery\n", "expected 5 fields"),
    ],
)
def test_bad_taxonomy_files_are_refused(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text("# comment\n" + HEADER + body, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_taxonomy(path)


def test_wrong_header_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n", encoding="utf-8")
    with pytest.raises(InputError, match="header"):
        load_taxonomy(path)
    with pytest.raises(InputError, match="does not exist"):
        load_taxonomy(tmp_path / "nope.csv")


def test_classify_vectorised() -> None:
    tax = load_taxonomy()
    groups, harms = tax.classify("police.uk", ["Robbery", "Drugs", "nonsense", "Robbery"])
    assert list(groups) == ["robbery", "drugs", None, "robbery"]
    assert harms[0] == harms[3] and pd.isna(harms[2])
