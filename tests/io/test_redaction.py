"""Personal fields must not reach quarantine raw text, even from misaligned lines."""

from __future__ import annotations

from patrolcast.io._rows import personal_columns, redact_text

HEADER = ("INCIDENT_KEY", "LOCATION_DESC", "PERP_AGE_GROUP", "VIC_RACE", "X_COORD_CD")


def test_aligned_line_blanks_personal_fields() -> None:
    personal = personal_columns(HEADER)
    assert redact_text("1,STREET,25-44,BLACK,1000", HEADER, personal, ",") == "1,STREET,,,1000"


def test_shifted_line_does_not_leak_personal_values() -> None:
    # an unquoted comma in LOCATION_DESC shifts every later field one place to the right
    personal = personal_columns(HEADER)
    raw = "1,STREET, CORNER,25-44,BLACK,1000"
    out = redact_text(raw, HEADER, personal, ",")
    assert "BLACK" not in out and "25-44" not in out


def test_victim_wound_is_personal() -> None:
    # Philadelphia shooting victims: race, sex, age, wound (the victim's injured body part)
    header = ("dc_key", "race", "sex", "age", "wound", "location", "latino", "fatal")
    assert {"race", "sex", "age", "wound", "latino"} <= personal_columns(header)
    assert "location" not in personal_columns(header)
