"""Policy profiles: ranks, durations and thresholds read from TOML files, never from code.

Shipped profiles (files in this folder): ``s60-statutory``, ``busss-strict`` and the default
``armed-foot-patrol`` (stricter than both). ``load_profile(name_or_path)`` returns a frozen
:class:`PolicyProfile`; a name is looked up in this folder, a path is read as is.
"""

from __future__ import annotations

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
    "load_profile",
]

PROFILE_DIR = Path(__file__).resolve().parent
DEFAULT_PROFILE = "armed-foot-patrol"


@dataclass(frozen=True)
class ExtensionRule:
    """The n-th extension: who may grant it and for how many more hours at most."""

    rank: Rank
    max_hours: float


@dataclass(frozen=True)
class PolicyProfile:
    """Everything a policy decides: ranks, durations, non-routine guards, minimum trigger."""

    name: str
    description: str
    source: str
    authorise_rank: Rank
    max_hours: float
    public_notice: bool
    ndm_required: bool
    extensions: tuple[ExtensionRule, ...]
    cooldown_hours: float
    cap_per_area: int
    cap_window_days: float
    max_area_km2: float
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
            "description": self.description,
            "authorise_rank": self.authorise_rank.value,
            "max_hours": self.max_hours,
            "extensions": [
                {"rank": e.rank.value, "max_hours": e.max_hours} for e in self.extensions
            ],
            "max_total_hours": self.max_total_hours,
            "cooldown_hours": self.cooldown_hours,
            "cap_per_area": self.cap_per_area,
            "cap_window_days": self.cap_window_days,
            "max_area_km2": self.max_area_km2,
            "incident_offences": sorted(self.incident_offences),
            "incident_max_age_hours": self.incident_max_age_hours,
            "intelligence_grades": sorted(self.intelligence_grades),
            "public_notice": self.public_notice,
            "require_tactical_commander": self.require_tactical_commander,
            "require_strategic_commander": self.require_strategic_commander,
        }


def available_profiles() -> list[str]:
    """Names of the profiles shipped with the package."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def _num(section: dict[str, Any], key: str, where: str, *, minimum: float = 0.0) -> float:
    try:
        value = float(section[key])
    except KeyError:
        raise InputError(f"profile {where}: missing {key}") from None
    except (TypeError, ValueError):
        raise InputError(f"profile {where}: {key} must be a number") from None
    if value < minimum:
        raise InputError(f"profile {where}: {key} must be >= {minimum}")
    return value


def load_profile(name_or_path: str | Path) -> PolicyProfile:
    """Read a policy profile by shipped name or from a TOML file path (cached until edited)."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = PROFILE_DIR / f"{name_or_path}.toml"
    if not path.exists():
        raise InputError(
            f"unknown policy profile {name_or_path!r}: one of {', '.join(available_profiles())} "
            "or a .toml file"
        )
    stat = path.stat()
    return _load_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _load_cached(path_text: str, _mtime_ns: int, _size: int) -> PolicyProfile:
    path = Path(path_text)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"profile {path.name}: not valid TOML ({exc})") from None
    where = path.name
    try:
        auth = raw["authorisation"]
        guards = raw["guards"]
        trigger = raw["trigger"]
    except KeyError as exc:
        raise InputError(f"profile {where}: missing section [{exc.args[0]}]") from None
    consultation = raw.get("consultation", {})
    firearms = raw.get("firearms", {})
    extensions = tuple(
        ExtensionRule(rank=Rank.parse(str(e["rank"])), max_hours=_num(e, "max_hours", where))
        for e in raw.get("extensions", [])
    )
    return PolicyProfile(
        name=str(raw.get("name", path.stem)),
        description=str(raw.get("description", "")),
        source=str(raw.get("source", "")),
        authorise_rank=Rank.parse(str(auth.get("rank", ""))),
        max_hours=_num(auth, "max_hours", where, minimum=0.001),
        public_notice=bool(auth.get("public_notice", False)),
        ndm_required=bool(auth.get("ndm_required", True)),
        extensions=extensions,
        cooldown_hours=_num(guards, "cooldown_hours", where),
        cap_per_area=int(_num(guards, "cap_per_area", where)),
        cap_window_days=_num(guards, "cap_window_days", where),
        max_area_km2=_num(guards, "max_area_km2", where, minimum=0.0001),
        incident_offences=frozenset(str(o) for o in trigger.get("incident_offences", [])),
        incident_max_age_hours=_num(trigger, "incident_max_age_hours", where),
        intelligence_grades=frozenset(
            str(g).upper().replace("/", "") for g in trigger.get("intelligence_grades", [])
        ),
        require_every_borough=bool(consultation.get("require_every_borough", True)),
        objection_needs_response=bool(consultation.get("objection_needs_response", False)),
        require_tactical_commander=bool(firearms.get("require_tactical_commander", False)),
        require_strategic_commander=bool(firearms.get("require_strategic_commander", False)),
    )
