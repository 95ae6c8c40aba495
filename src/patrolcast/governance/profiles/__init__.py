"""Policy profiles: ranks, durations and thresholds read from TOML text, never from code.

Shipped profiles (files in this folder): ``s60-statutory``, ``busss-strict`` and the default
``armed-foot-patrol`` (stricter than both).

Public API
----------
``parse_profile(text, *, where) -> PolicyProfile``
    Parse (and validate) a profile from TOML text; ``where`` names the source in error messages.
    The profile carries the ``sha256`` of the exact text and its declared ``version``.
``shipped_profile_text(name) -> str``
    The TOML text of a shipped profile (by name only).
``load_profile(name) -> PolicyProfile``
    A shipped profile by name. No path, environment variable or user configuration may choose
    a profile *file*: a path or an unknown name is an :class:`~patrolcast.errors.InputError`
    listing the shipped names (a file calling itself ``armed-foot-patrol`` with constable rank
    and no cool-down must never be loadable).
``available_profiles() -> list[str]``
    The shipped names.
``check_profile_name(name) -> str``
    ``name`` if it is a profile *name* (lower-case letters, digits, '-'), never a path or file;
    otherwise an InputError listing the shipped names (without echoing the text given).
"""

from __future__ import annotations

import hashlib
import math
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from patrolcast.errors import InputError
from patrolcast.governance.roles import Rank

__all__ = [
    "DEFAULT_PROFILE",
    "ExtensionRule",
    "PolicyProfile",
    "available_profiles",
    "check_profile_name",
    "load_profile",
    "parse_profile",
    "shipped_profile_text",
]

_PROFILE_DIR = Path(__file__).resolve().parent
DEFAULT_PROFILE = "armed-foot-patrol"
_NAME = re.compile(r"[a-z][a-z0-9-]{0,63}")

# Upper bounds that no profile may exceed, whatever its text says (a profile is policy, but a
# 100,000-hour authorisation is not a policy anyone can hold).
_LIMITS = {
    "max_hours": 72.0,
    "extension_max_hours": 72.0,
    "incident_max_age_hours": 24.0 * 14,
    "max_lead_hours": 24.0 * 7,
    "max_area_km2": 100.0,
    "cooldown_hours": 24.0 * 365,
    "cap_window_days": 366.0,
    "neighbour_buffer_m": 5000.0,
}


@dataclass(frozen=True)
class ExtensionRule:
    """The n-th extension: who may grant it and for how many more hours at most."""

    rank: Rank
    max_hours: float


@dataclass(frozen=True)
class PolicyProfile:
    """Everything a policy decides: ranks, durations, non-routine guards, minimum trigger.

    ``version`` is the profile's declared version (positive); ``sha256`` the SHA-256 hex digest
    of the exact TOML text it was parsed from (so a decision can pin name, version and text).
    ``max_lead_hours`` caps how far ahead of the decision an authorised window may start;
    ``neighbour_buffer_m`` is the distance within which another deployment's area counts as the
    same place for the cool-down and the cap (touching or adjacent tiles are one place).
    """

    name: str
    version: int
    sha256: str
    description: str
    source: str
    authorise_rank: Rank
    max_hours: float
    max_lead_hours: float
    public_notice: bool
    ndm_required: bool
    extensions: tuple[ExtensionRule, ...]
    cooldown_hours: float
    cap_per_area: int
    cap_window_days: float
    max_area_km2: float
    neighbour_buffer_m: float
    incident_offences: frozenset[str]
    incident_max_age_hours: float
    intelligence_grades: frozenset[str]
    require_every_borough: bool
    objection_needs_response: bool
    require_tactical_commander: bool
    require_strategic_commander: bool

    @property
    def max_total_hours(self) -> float:
        """The longest a deployment can last, with every extension used."""
        return self.max_hours + sum(e.max_hours for e in self.extensions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "description": self.description,
            "authorise_rank": self.authorise_rank.value,
            "max_hours": self.max_hours,
            "max_lead_hours": self.max_lead_hours,
            "extensions": [
                {"rank": e.rank.value, "max_hours": e.max_hours} for e in self.extensions
            ],
            "max_total_hours": self.max_total_hours,
            "cooldown_hours": self.cooldown_hours,
            "cap_per_area": self.cap_per_area,
            "cap_window_days": self.cap_window_days,
            "max_area_km2": self.max_area_km2,
            "neighbour_buffer_m": self.neighbour_buffer_m,
            "incident_offences": sorted(self.incident_offences),
            "incident_max_age_hours": self.incident_max_age_hours,
            "intelligence_grades": sorted(self.intelligence_grades),
            "public_notice": self.public_notice,
            "ndm_required": self.ndm_required,
            "require_every_borough": self.require_every_borough,
            "objection_needs_response": self.objection_needs_response,
            "require_tactical_commander": self.require_tactical_commander,
            "require_strategic_commander": self.require_strategic_commander,
        }


def available_profiles() -> list[str]:
    """Names of the profiles shipped with the package."""
    return sorted(p.stem for p in _PROFILE_DIR.glob("*.toml"))


def _unknown(name: object) -> InputError:
    shown = str(name)
    if len(shown) > 80 or not shown.isprintable():
        shown = shown[:80].encode("unicode_escape").decode("ascii") + "..."
    return InputError(
        f"unknown policy profile {shown!r}: one of {', '.join(available_profiles())} "
        "(profiles are chosen by shipped name, never by file)"
    )


def check_profile_name(name: str) -> str:
    """``name`` if it is shaped like a profile name (never a path); else an InputError."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InputError(
            f"a policy profile is chosen by name ({', '.join(available_profiles())}), "
            "never by file or path"
        )
    return name


def shipped_profile_text(name: str) -> str:
    """The exact TOML text of the shipped profile ``name`` (a name, never a path)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name not in available_profiles():
        raise _unknown(name)
    return (_PROFILE_DIR / f"{name}.toml").read_text(encoding="utf-8")


def load_profile(name: str) -> PolicyProfile:
    """The shipped profile ``name``; a path, a file or an unknown name is refused."""
    text = shipped_profile_text(name)
    profile = _parse_cached(text, f"{name}.toml")
    if profile.name != name:
        raise InputError(f"profile {name}.toml: declares name {profile.name!r}, not {name!r}")
    return profile


@lru_cache(maxsize=64)
def _parse_cached(text: str, where: str) -> PolicyProfile:
    return parse_profile(text, where=where)


def _section(raw: dict[str, Any], key: str, where: str, *, required: bool) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        if required:
            raise InputError(f"profile {where}: missing section [{key}]")
        return {}
    if not isinstance(value, dict):
        raise InputError(f"profile {where}: [{key}] must be a table")
    return value


def _num(
    section: dict[str, Any],
    key: str,
    where: str,
    *,
    minimum: float = 0.0,
    default: float | None = None,
    limit: str | None = None,
) -> float:
    if key not in section:
        if default is None:
            raise InputError(f"profile {where}: missing {key}")
        return default
    raw = section[key]
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise InputError(f"profile {where}: {key} must be a number")
    value = float(raw)
    if not math.isfinite(value):
        raise InputError(f"profile {where}: {key} must be a finite number")
    if value < minimum:
        raise InputError(f"profile {where}: {key} must be >= {minimum:g}")
    bound = _LIMITS.get(limit or key)
    if bound is not None and value > bound:
        raise InputError(f"profile {where}: {key} must be <= {bound:g}")
    return value


def _flag(section: dict[str, Any], key: str, where: str, default: bool) -> bool:
    value = section.get(key, default)
    if not isinstance(value, bool):
        raise InputError(f"profile {where}: {key} must be true or false")
    return value


def _strings(section: dict[str, Any], key: str, where: str) -> list[str]:
    value = section.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"profile {where}: {key} must be a list of strings")
    return value


def _str(raw: dict[str, Any], key: str, where: str, *, required: bool = False) -> str:
    value = raw.get(key)
    if value is None:
        if required:
            raise InputError(f"profile {where}: missing {key}")
        return ""
    if not isinstance(value, str):
        raise InputError(f"profile {where}: {key} must be a string")
    return value


def parse_profile(text: str, *, where: str) -> PolicyProfile:
    """Parse and validate a profile from its TOML ``text``.

    ``where`` names the source in error messages (e.g. ``"armed-foot-patrol.toml"`` or
    ``"database profile #3"``). Required: ``name``, a positive integer ``version``, and the
    sections ``[authorisation]``, ``[guards]`` and ``[trigger]``. Every number must be finite,
    non-negative and within a sane bound. The result's ``sha256`` is the digest of ``text``.
    """
    if not isinstance(text, str):
        raise InputError(f"profile {where}: expected TOML text")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"profile {where}: not valid TOML ({exc})") from None
    name = _str(raw, "name", where, required=True)
    if not _NAME.fullmatch(name):
        raise InputError(
            f"profile {where}: name must be lower-case letters, digits and '-' (max 64)"
        )
    version = raw.get("version")
    if version is None:
        raise InputError(f"profile {where}: missing version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InputError(f"profile {where}: version must be a positive integer")
    auth = _section(raw, "authorisation", where, required=True)
    guards = _section(raw, "guards", where, required=True)
    trigger = _section(raw, "trigger", where, required=True)
    consultation = _section(raw, "consultation", where, required=False)
    firearms = _section(raw, "firearms", where, required=False)
    raw_extensions = raw.get("extensions", [])
    if not isinstance(raw_extensions, list) or not all(isinstance(e, dict) for e in raw_extensions):
        raise InputError(f"profile {where}: [[extensions]] must be tables")
    extensions = tuple(
        ExtensionRule(
            rank=Rank.parse(_str(e, "rank", where, required=True)),
            max_hours=_num(e, "max_hours", where, minimum=0.001, limit="extension_max_hours"),
        )
        for e in raw_extensions
    )
    cap = _num(guards, "cap_per_area", where)
    if cap != int(cap):
        raise InputError(f"profile {where}: cap_per_area must be a whole number")
    return PolicyProfile(
        name=name,
        version=version,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        description=_str(raw, "description", where),
        source=_str(raw, "source", where),
        authorise_rank=Rank.parse(_str(auth, "rank", where, required=True)),
        max_hours=_num(auth, "max_hours", where, minimum=0.001),
        max_lead_hours=_num(auth, "max_lead_hours", where),
        public_notice=_flag(auth, "public_notice", where, False),
        ndm_required=_flag(auth, "ndm_required", where, True),
        extensions=extensions,
        cooldown_hours=_num(guards, "cooldown_hours", where),
        cap_per_area=int(cap),
        cap_window_days=_num(guards, "cap_window_days", where),
        max_area_km2=_num(guards, "max_area_km2", where, minimum=0.0001),
        neighbour_buffer_m=_num(guards, "neighbour_buffer_m", where),
        incident_offences=frozenset(_strings(trigger, "incident_offences", where)),
        incident_max_age_hours=_num(trigger, "incident_max_age_hours", where),
        intelligence_grades=frozenset(
            g.upper().replace("/", "") for g in _strings(trigger, "intelligence_grades", where)
        ),
        require_every_borough=_flag(consultation, "require_every_borough", where, True),
        objection_needs_response=_flag(consultation, "objection_needs_response", where, False),
        require_tactical_commander=_flag(firearms, "require_tactical_commander", where, False),
        require_strategic_commander=_flag(firearms, "require_strategic_commander", where, False),
    )
