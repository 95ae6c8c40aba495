"""Findings: a profile file could be chosen by path or environment; profiles carry version+sha."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from patrolcast.errors import InputError
from patrolcast.governance.profiles import (
    available_profiles,
    load_profile,
    parse_profile,
    shipped_profile_text,
)

EVIL = shipped_profile_text("armed-foot-patrol").replace(
    'rank = "assistant_chief_constable"\nmax_hours = 8', 'rank = "constable"\nmax_hours = 8'
)


def test_a_file_calling_itself_a_shipped_profile_cannot_be_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evil = tmp_path / "evil.toml"
    evil.write_text(EVIL)
    monkeypatch.setenv("PATROLCAST_POLICY_PROFILE", str(evil))
    for attempt in (str(evil), "evil.toml", "evil", "../profiles/armed-foot-patrol", str(tmp_path)):
        with pytest.raises(InputError, match="unknown policy profile") as err:
            load_profile(attempt)
        for name in available_profiles():
            assert name in str(err.value)
    # the shipped profile is unaffected by the environment variable
    assert load_profile("armed-foot-patrol").authorise_rank.value == "assistant_chief_constable"


def test_shipped_profiles_carry_version_and_sha256_of_their_text() -> None:
    for name in available_profiles():
        text = shipped_profile_text(name)
        profile = load_profile(name)
        assert profile.name == name
        assert profile.version == 1
        assert profile.sha256 == hashlib.sha256(text.encode()).hexdigest()
        assert parse_profile(text, where=name) == profile
        assert profile.max_lead_hours > 0
        assert profile.to_dict()["sha256"] == profile.sha256
    armed = load_profile("armed-foot-patrol")
    assert armed.neighbour_buffer_m == 200
    assert armed.max_lead_hours <= load_profile("s60-statutory").max_lead_hours


def test_a_changed_text_has_a_different_digest() -> None:
    text = shipped_profile_text("armed-foot-patrol")
    other = parse_profile(text + "\n# a comment\n", where="x")
    assert other.sha256 != load_profile("armed-foot-patrol").sha256


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("version = 1 ", "#", "missing version"),
        ("version = 1 ", "version = 0 ", "version must be a positive integer"),
        ("version = 1 ", "version = 1.5 ", "version must be a positive integer"),
        ("version = 1 ", 'version = "1" ', "version must be a positive integer"),
        ("max_lead_hours = 12", "#", "missing max_lead_hours"),
        ("neighbour_buffer_m = 200", "#", "missing neighbour_buffer_m"),
        ("neighbour_buffer_m = 200", "neighbour_buffer_m = -1", "must be >= 0"),
        ("max_hours = 8", "max_hours = 100000", "max_hours must be <="),
        ("max_hours = 8", "max_hours = nan", "finite"),
        ("max_hours = 8", "max_hours = inf", "finite"),
        ("max_hours = 8", 'max_hours = "8"', "must be a number"),
        ("cooldown_hours = 72", "cooldown_hours = true", "must be a number"),
        ("cap_per_area = 2", "cap_per_area = 2.5", "whole number"),
        ("public_notice = true", 'public_notice = "yes"', "true or false"),
        ('name = "armed-foot-patrol"', 'name = "../evil"', "name must be"),
        ("[guards]", "[guardz]", r"missing section \[guards\]"),
    ],
)
def test_bad_profile_text_is_one_clear_input_error(old: str, new: str, words: str) -> None:
    text = shipped_profile_text("armed-foot-patrol")
    assert old in text
    with pytest.raises(InputError, match=words):
        parse_profile(text.replace(old, new, 1), where="test.toml")


def test_not_toml_is_an_input_error() -> None:
    with pytest.raises(InputError, match="not valid TOML"):
        parse_profile("name = [", where="x")
