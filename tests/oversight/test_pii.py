"""The personal-data check, through its old import path (patrolcast.oversight.pii re-exports
patrolcast.privacy): texts that must be refused and texts that must pass. The review cases,
the corpus and its precision/recall floors are in tests/privacy."""

from __future__ import annotations

import pytest

from patrolcast.errors import InputError
from patrolcast.oversight.pii import PersonalDataRefused, check_text, refuse_personal_data

MUST_REFUSE: list[tuple[str, str]] = [
    ("Mr Smith seen near the station", "name after a title"),
    ("Information that Mrs. O'Brien's son is carrying", "name after a title"),
    ("Dr Patel reports a group gathering", "name after a title"),
    ("According to PC Jones there will be trouble", "name after a title"),
    ("Ms J. Kowalski says fights planned", "name after a title"),
    ("Mr J. is involved", "name after a title"),
    ("Reprisal expected from the man known as 'Bigz'", "name introduced as such"),
    ("A youth aka Tiny will be present", "name introduced as such"),
    ("DOB 12/03/2004, lives locally", "date of birth"),
    ("date of birth given as 3 May 1999", "date of birth"),
    ("subject born on 1 January", "date of birth"),
    ("seen with someone 04/11/1998", "date of birth"),
    ("A 17 year old will be targeted", "age of a person"),
    ("a male aged 19 has a blade", "age of a person"),
    ("call 07700 900123 for details", "phone number"),
    ("landline 020 7946 0958 linked to the dispute", "phone number"),
    ("number +44 (0)20 7946 0958 used", "phone number"),
    ("mobile 07700-900-123", "phone number"),
    ("French number +33 6 12 34 56 78", "phone number"),
    ("silver car AB12 CDE circling the estate", "vehicle registration"),
    ("car ab12cde seen twice", "vehicle registration"),
    ("old van A123 BCD parked up", "vehicle registration"),
    ("classic car ABC 123D", "vehicle registration"),
    ("reg no: LX63ABC", "vehicle registration"),
    ("tip-off from someone@example.com", "e-mail address"),
    ("threats posted by @southside_12", "social media handle"),
    ("NI number QQ 12 34 56 C", "National Insurance number"),
    ("meet at 14 Acacia Avenue", "address (house number and street)"),
    ("party at Flat 3 in the tower block", "address (house number and street)"),
    ("drop-off at SW1A 1AA tonight", "full postcode"),
    ("INFORMATION THAT MR SMITH WILL BE CARRYING", "name after a title"),
    ("SOURCE STATES DR A PATEL IS INVOLVED", "name after a title"),
    ("M\u200br Smith seen near the station", "name after a title"),
    ("call 0770\u200b0 900\u200b123 for details", "phone number"),
    ("silver car AB12\u00adCDE circling", "vehicle registration"),
]

MUST_PASS: list[str] = [
    "Serious violence likely around the junction of High St and Mare St between 22:00 and 02:00",
    "Fights expected outside the Mr Whippy van on the High St after the match",
    "Dispute between two groups may spill into Lady Margaret Road park tonight",
    "Reprisal for Saturday's stabbing expected near Sir John Cass School gates",
    "Robberies rising near the PC World car park",
    "Risk around the St Ann's estate, E15, over the bank holiday weekend",
    "Knife carrying reported around the bus station on Fridays from 15:00 to 18:00",
    "Two incidents in the past 48 hours; risk raised for the next 3 days within 200 m",
    "Intelligence graded 2B from an untested source, corroborated by CCTV review",
    "Tension after the 2019 disturbances; monitor the area until 2024-06-30",
    "Large event at the stadium, 60,000 expected, dispersal 21:30 to 23:00",
    "Patrol window 14/06/2025 18:00 to 15/06/2025 02:00",
    "Groups gathering by the A13 flyover near Canning Town",
    "Area named in the previous authorisation remains a concern",
    "ROBBERIES RISING NEAR THE PC WORLD CAR PARK",
    "REPRISAL EXPECTED NEAR SIR JOHN CASS SCHOOL GATES",
    "SERIOUS VIOLENCE LIKELY AROUND HIGH ST AND MARE ST BETWEEN 22:00 AND 02:00",
]


@pytest.mark.parametrize(("text", "kind"), MUST_REFUSE)
def test_personal_data_is_refused(text: str, kind: str) -> None:
    findings = check_text(text)
    assert kind in {f.kind for f in findings}, findings
    with pytest.raises(PersonalDataRefused) as err:
        refuse_personal_data(text, field="summary")
    assert isinstance(err.value, InputError)
    message = str(err.value)
    assert message.startswith("refused: summary looks like it contains personal data")
    assert kind in message
    assert "\n" not in message


@pytest.mark.parametrize("text", MUST_PASS)
def test_place_and_time_text_passes(text: str) -> None:
    assert check_text(text) == []
    assert refuse_personal_data(text) == text


def test_refusal_masks_the_personal_data() -> None:
    with pytest.raises(PersonalDataRefused) as err:
        refuse_personal_data("call 07700 900123 or Mr Smith")
    message = str(err.value)
    assert "900123" not in message
    assert "Smith" not in message
    assert len(err.value.findings) == 2


def test_extra_allowed_phrase() -> None:
    text = "Queue outside Mr Chippy on the parade"
    assert check_text(text)
    assert check_text(text, allowed={"Mr Chippy"}) == []
