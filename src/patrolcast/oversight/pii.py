"""The personal-data check, kept here so existing imports keep working.

It moved to :mod:`patrolcast.privacy.personal_data`, a neutral module that governance can use
too; see that module for what is caught and what is not.
"""

from __future__ import annotations

from patrolcast.privacy.personal_data import (
    ALLOWED_TITLE_PHRASES,
    Finding,
    PersonalDataRefused,
    check_text,
    normalise,
    refuse_personal_data,
)

__all__ = [
    "ALLOWED_TITLE_PHRASES",
    "Finding",
    "PersonalDataRefused",
    "check_text",
    "normalise",
    "refuse_personal_data",
]
