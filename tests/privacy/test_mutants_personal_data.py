"""Personal-data check cases written to kill surviving mutants (issue 15, scripts/mutation.sh
privacy): each boundary of the exemptions, with what the check must find (kind and the exact
text) or that it finds nothing."""

from __future__ import annotations

import pytest

from patrolcast.privacy import PersonalDataRefused, check_text, refuse_personal_data

NAME = "name after a title"
PLATE = "vehicle registration"
POSTCODE = "full postcode"

CASES: list[tuple[str, list[tuple[str, str]]]] = [
    # a person's shop, not a place named after someone: possessive, lower-case place word
    ("Mrs Celik's cafe was damaged", [(NAME, "Mrs Celik's")]),
    ("Mrs Ann Celik's Halal cafe", [(NAME, "Mrs Ann")]),  # the possessive is not the last word
    ("DR JO'S PUB", []),  # in capitals the case of the place word says nothing: a pub's name
    # in capitals (8 or more letters, at least 80% capitals) "on", "at" between a name and a
    # place word make it a person at a place ("MR LI ON ST" has exactly 8 letters)
    ("MR LI ON ST", [(NAME, "MR LI")]),
    ("Mr LEE At PUB", [(NAME, "Mr LEE")]),  # 8 capitals of 10 letters: exactly 80%
    ("MX LANE WAS SEEN", [(NAME, "MX LANE")]),
    # in capitals a lower-case word may sit between the name and the place word (a pub)
    ("MR JOHNSON bros ARMS TONIGHT", []),  # Mx is a person's title: not "Lady Lane"
    ("Dr. Lane was seen", [(NAME, "Dr. Lane")]),
    ("The Dr Foster exhibit", []),  # a title after "the", at the very start of the text
    ("Lord  Mayor visited", []),  # an allow-listed phrase with two spaces
    ("washington DC Metro", []),  # the district, whatever the case of "Washington"
    # a skipped title phrase does not stop the search for the names after it
    ("Mrs Lady seen with PC Jones", [(NAME, "PC Jones")]),
    ("The Lord Mayor met PC Jones", [(NAME, "PC Jones")]),
    # registrations: letter groups that are words, and the vehicle context around the old formats
    ("N29 BUS near the car park", []),
    ("BUS 12A stop by the car park", []),
    ("car A123 BCD", [(PLATE, "A123 BCD")]),  # the context word at the very start
    # postcodes: without a space, with a space, street numbers, census table codes
    ("postcode SW1A1AA", [(POSTCODE, "SW1A1AA")]),
    ("SW1A 1ST", [(POSTCODE, "SW1A 1ST")]),
    ("S33ST", []),
    ("E22ND", []),
    ("W33RD", []),
    ("N66TH and SW1A 1AA", [(POSTCODE, "SW1A 1AA")]),  # an exempt match, then a real one
    ("census SW1A 1AA", [(POSTCODE, "SW1A 1AA")]),  # only a code without a space is a table
    ("ons KS201EW", []),
    # a period between two dates is not a birth date, even at the very start of the text
    ("1/2001 - 01/01/2005", []),
    ("from 1/1/2001 - 01/01/2005", []),
    # a distance, not a house number, in either case
    ("200M BRUCE GROVE", []),
    ("200m Bruce Grove", []),
    # a word that is no street name right before the street type: "2 ON WAY" is radio
    # shorthand for two units on their way, "500 BLOCK ROAD" a block; "12 ACRE LANE" an address
    ("UNITS: 2 ON WAY", []),
    ("500 BLOCK ROAD", []),
    ("12 ACRE LANE", [("address (house number and street)", "12 ACRE LANE")]),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_exemption_boundaries(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(f.kind, text[f.start : f.end]) for f in check_text(text)] == expected


def test_the_refusal_names_each_finding_masked_in_order() -> None:
    with pytest.raises(PersonalDataRefused) as refused:
        refuse_personal_data("Call 020 7946 0000 or ask Mr Smith", field="rationale")
    assert str(refused.value) == (
        "refused: rationale looks like it contains personal data: "
        "phone number (0** **** ****); name after a title (M* *****). "
        "Records describe places and times only; remove it and retry"
    )
    assert [f.kind for f in refused.value.findings] == ["phone number", NAME]
    assert refused.value.field == "rationale"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("PC Smith-Lord attended", "PC Smith-Lord"),
        ("Dr de Lord was there", "Dr de Lord"),
        ("Mrs Bell-Master called", "Mrs Bell-Master"),
        ("Sgt O'Constable took the call", "Sgt O'Constable"),
    ],
)
def test_a_surname_ending_in_a_title_word_is_still_a_name(text: str, name: str) -> None:
    """Found by the mutant ``last = None`` in ``_name_findings`` (which survived: the tests
    passed whether or not the last part of a name was checked against the titles).

    A double-barrelled or particled surname whose last part is also a title word (Lord,
    Master, Constable) is a person's name after a title all the same: "PC Smith-Lord" was let
    through whole, and "Mrs Bell-Master" only reported as "Mrs Bell"."""
    assert [(f.kind, text[f.start : f.end]) for f in check_text(text)] == [(NAME, name)]


@pytest.mark.parametrize(
    ("text", "kind", "found"),
    [
        ("He used a lathe     Mr Smith", NAME, "Mr Smith"),
        ("seen at TheWashington  DC Jones", NAME, "DC Jones"),
        ("the notable" + " " * 11 + "SW1A1AA", POSTCODE, "SW1A1AA"),  # not a census table code
    ],
)
def test_the_look_behind_does_not_cut_a_word_in_two(text: str, kind: str, found: str) -> None:
    """Found while checking the surviving mutant ``start - 8`` -> ``start - 9`` of
    ``_names_a_place``: the text before a title was sliced and then searched for
    ``\\bthe\\s+$`` (a title after "the" names nobody), so a slice starting inside "lathe" saw
    "the" as a word and let "Mr Smith" through; the same held for "Washington" before "DC".
    The word boundary is now judged on the whole text; so for "table" before a census code
    written like a postcode ("notable" is no table)."""
    assert [(f.kind, text[f.start : f.end]) for f in check_text(text)] == [(kind, found)]
