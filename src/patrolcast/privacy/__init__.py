"""Neutral checks on free text that every layer may use (imports only ``patrolcast.errors``).

personal_data   obvious personal data in free text (names after titles, dates of birth, phones,
                plates, addresses...), refused with one clear line and the match masked
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
