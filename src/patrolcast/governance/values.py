"""Frozen values passed into and out of the governance services.

Input values validate themselves on construction (a malformed request raises
:class:`~patrolcast.errors.InputError` before anything touches the database): the trigger, the
area, the National Decision Model rationale (all six headings, each non-empty), and one details
value per lifecycle action.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from patrolcast.errors import InputError
from patrolcast.governance.clock import as_utc

__all__ = [
    "NDM_HEADINGS",
    "Area",
    "AuthorisationDetails",
    "CancellationDetails",
    "ConsultationDetails",
    "DebriefDetails",
    "ExtensionDetails",
    "NDMRationale",
    "ProposalDetails",
    "RefusalDetails",
    "ReviewDetails",
    "Trigger",
]

# The six elements of the College of Policing National Decision Model, in order.
NDM_HEADINGS = (
    "code_of_ethics",
    "information_and_intelligence",
    "threat_risk_and_strategy",
    "powers_and_policy",
    "options_and_contingencies",
    "action_and_review",
)
_NDM_ALIASES = {
    "ethics": "code_of_ethics",
    "information": "information_and_intelligence",
    "gather_information_and_intelligence": "information_and_intelligence",
    "intelligence": "information_and_intelligence",
    "threat": "threat_risk_and_strategy",
    "assess_threat_and_risk_and_develop_a_working_strategy": "threat_risk_and_strategy",
    "powers": "powers_and_policy",
    "consider_powers_and_policy": "powers_and_policy",
    "options": "options_and_contingencies",
    "identify_options_and_contingencies": "options_and_contingencies",
    "action": "action_and_review",
    "take_action_and_review_what_happened": "action_and_review",
}


def _text(value: str, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InputError(f"{what} is mandatory and cannot be empty")
    return text


@dataclass(frozen=True)
class NDMRationale:
    """A decision's rationale under the six National Decision Model headings (all mandatory)."""

    code_of_ethics: str
    information_and_intelligence: str
    threat_risk_and_strategy: str
    powers_and_policy: str
    options_and_contingencies: str
    action_and_review: str

    def __post_init__(self) -> None:
        for heading in NDM_HEADINGS:
            _text(getattr(self, heading), f"NDM heading '{heading}'")

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> NDMRationale:
        """Accept the six keys (or their common long/short names); refuse missing or extra."""
        values: dict[str, str] = {}
        for key, value in raw.items():
            norm = re.sub(r"[\s-]+", "_", str(key).strip().lower())
            norm = _NDM_ALIASES.get(norm, norm)
            if norm not in NDM_HEADINGS:
                raise InputError(f"unknown NDM heading {key!r}: use {', '.join(NDM_HEADINGS)}")
            values[norm] = str(value)
        missing = [h for h in NDM_HEADINGS if h not in values]
        if missing:
            raise InputError(f"NDM rationale is missing heading(s): {', '.join(missing)}")
        return cls(**values)

    def to_dict(self) -> dict[str, str]:
        return {h: getattr(self, h) for h in NDM_HEADINGS}


_GRADE = re.compile(r"^([123])\s*/?\s*([A-E])$")


@dataclass(frozen=True)
class Trigger:
    """What the proposal responds to: an incident or a graded intelligence item (3x5x2).

    ``kind`` is ``"incident"`` (``offence``, ``occurred_at``, ``place``) or ``"intelligence"``
    (``intelligence_item_id``: the id of an item in the oversight domain; ``grade`` such as
    ``"1B"``: source evaluation 1-3 and intelligence assessment A-E).
    """

    kind: str
    offence: str | None = None
    occurred_at: datetime | None = None
    place: str | None = None
    intelligence_item_id: int | None = None
    grade: str | None = None

    def __post_init__(self) -> None:
        if self.kind == "incident":
            if not self.offence or self.occurred_at is None or not self.place:
                raise InputError("an incident trigger needs the offence, the time and the place")
            object.__setattr__(self, "occurred_at", as_utc(self.occurred_at))
            object.__setattr__(self, "offence", self.offence.strip().lower().replace(" ", "_"))
        elif self.kind == "intelligence":
            if self.intelligence_item_id is None or not self.grade:
                raise InputError(
                    "an intelligence trigger needs the item id and its grade (e.g. 1B)"
                )
            match = _GRADE.match(self.grade.strip().upper())
            if not match:
                raise InputError(
                    f"intelligence grade {self.grade!r}: source 1-3 then assessment A-E, e.g. 1B"
                )
            object.__setattr__(self, "grade", match.group(1) + match.group(2))
        else:
            raise InputError(f"trigger must be 'incident' or 'intelligence', not {self.kind!r}")


@dataclass(frozen=True)
class Area:
    """The patrol area: a polygon (WKT, projected metres) with optional cell ids and boroughs.

    ``boroughs`` are the codes of every borough the area touches, computed by the caller (e.g.
    from the London boroughs GeoPackage via :mod:`patrolcast.geo`); consultation is required with
    the commander of each.
    """

    wkt: str
    boroughs: tuple[str, ...]
    crs: str = "EPSG:27700"
    cells: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        import shapely

        try:
            geom = shapely.from_wkt(self.wkt)
        except Exception:  # shapely raises GEOSException for malformed text
            raise InputError("area: not readable WKT") from None
        if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise InputError("area must be a non-empty Polygon or MultiPolygon")
        if not geom.is_valid:
            raise InputError("area polygon is invalid (self-intersecting?)")
        if not self.boroughs:
            raise InputError("area: give the code of every borough it touches")
        _require_projected(self.crs)
        object.__setattr__(
            self, "boroughs", tuple(sorted({b.strip().upper() for b in self.boroughs}))
        )

    @property
    def area_km2(self) -> float:
        import shapely

        return float(shapely.from_wkt(self.wkt).area) / 1e6

    @classmethod
    def from_bbox(
        cls, xmin: float, ymin: float, xmax: float, ymax: float, boroughs: tuple[str, ...]
    ) -> Area:
        if not (xmax > xmin and ymax > ymin):
            raise InputError("bbox must be xmin,ymin,xmax,ymax with max > min")
        wkt = f"POLYGON(({xmin} {ymin},{xmax} {ymin},{xmax} {ymax},{xmin} {ymax},{xmin} {ymin}))"
        return cls(wkt=wkt, boroughs=boroughs)


@lru_cache(maxsize=32)
def _require_projected(crs: str) -> None:
    """Areas and their km2 are computed in metres: a geographic CRS (degrees) is refused."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        parsed = CRS.from_user_input(crs)
    except CRSError:
        raise InputError(f"area CRS {crs!r} is not a CRS pyproj knows") from None
    if not parsed.is_projected:
        raise InputError(f"area CRS {crs} is not projected: give the polygon in metres")


def _window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    start, end = as_utc(start), as_utc(end)
    if end <= start:
        raise InputError("the end of the window must be after its start")
    return start, end


@dataclass(frozen=True)
class ProposalDetails:
    """Everything a draft proposal carries."""

    trigger: Trigger
    area: Area
    start: datetime
    end: datetime
    ndm: NDMRationale
    snapshot_id: int | None = None
    profile: str = "armed-foot-patrol"

    def __post_init__(self) -> None:
        from patrolcast.governance.profiles import check_profile_name

        check_profile_name(self.profile)
        start, end = _window(self.start, self.end)
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)


@dataclass(frozen=True)
class ConsultationDetails:
    """A borough commander's response for one borough."""

    borough: str
    position: str
    reasons: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "borough", self.borough.strip().upper())
        if self.position not in ("support", "object"):
            raise InputError("consultation position must be 'support' or 'object'")
        object.__setattr__(self, "reasons", _text(self.reasons, "consultation reasons"))


@dataclass(frozen=True)
class AuthorisationDetails:
    """An authorisation decision: window, reasons, NDM rationale, commanders, public notice."""

    start: datetime
    end: datetime
    reasons: str
    ndm: NDMRationale
    tactical_commander: str | None = None
    strategic_commander: str | None = None
    public_notice: str | None = None
    objection_response: str | None = None

    def __post_init__(self) -> None:
        start, end = _window(self.start, self.end)
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "reasons", _text(self.reasons, "reasons for authorising"))


@dataclass(frozen=True)
class RefusalDetails:
    reasons: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "reasons", _text(self.reasons, "reasons for refusing"))


@dataclass(frozen=True)
class ExtensionDetails:
    """A new decision moving the end later; ``new_end`` is an instant (UTC)."""

    new_end: datetime
    reasons: str
    ndm: NDMRationale | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "new_end", as_utc(self.new_end))
        object.__setattr__(self, "reasons", _text(self.reasons, "reasons for extending"))


@dataclass(frozen=True)
class CancellationDetails:
    reasons: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "reasons", _text(self.reasons, "grounds for cancelling"))


@dataclass(frozen=True)
class DebriefDetails:
    """Post-deployment debrief; ``sign_off`` is the signer's statement (mandatory)."""

    summary: str
    sign_off: str
    outcome: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "summary", _text(self.summary, "debrief summary"))
        object.__setattr__(self, "sign_off", _text(self.sign_off, "debrief sign-off"))


@dataclass(frozen=True)
class ReviewDetails:
    findings: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "findings", _text(self.findings, "review findings"))
