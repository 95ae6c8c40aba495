"""Frozen values passed into and out of the governance services.

Input values validate themselves on construction (a malformed request raises
:class:`~patrolcast.errors.InputError` before anything touches the database): the trigger, the
area, the National Decision Model rationale (all six headings, each non-empty), and one details
value per lifecycle action.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from patrolcast.errors import InputError
from patrolcast.governance.clock import as_utc
from patrolcast.governance.places import BoroughList, borough_code
from patrolcast.privacy import refuse_personal_data

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
    "area_crs",
    "bbox_wkt",
    "duration_hours",
    "parse_area_geometry",
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


# Free text is bounded: long enough for a decision log entry, short enough to review.
MAX_TEXT_CHARS = 10_000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _text(value: str, what: str) -> str:
    """A mandatory free-text field: non-empty, bounded, no control characters, no personal data.

    Messages name the field and the rule, never echo the text (it may hold personal data).
    """
    if value is not None and not isinstance(value, str):
        raise InputError(f"{what} must be text")
    # a line break typed on Windows (\r\n) or an old Mac (\r) is a line break: stored as \n
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise InputError(f"{what} is mandatory and cannot be empty")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"{what} is longer than {MAX_TEXT_CHARS:,} characters")
    if _CONTROL.search(text):
        raise InputError(f"{what} contains control characters (only line breaks and tabs)")
    return _no_personal_data(text, what)


def _optional_text(value: str | None, what: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _text(value, what)


def _no_personal_data(text: str, what: str) -> str:
    """THE single call site of the personal-data check for governance free text.

    Every free-text field (trigger place, NDM headings, reasons, public notice, objection
    response, consultation reasons, debrief summary and sign-off, review findings) passes here.
    """
    return refuse_personal_data(text, field=what)


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
        for heading in NDM_HEADINGS:  # stored as checked: stripped, line breaks as \n
            object.__setattr__(
                self, heading, _text(getattr(self, heading), f"NDM heading '{heading}'")
            )

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
_OFFENCE = re.compile(r"[a-z][a-z0-9_]{0,59}")

# Instants outside this range are typing mistakes (and would overflow date arithmetic).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
#: No window (requested, authorised or extended) is longer than this.
MAX_WINDOW_HOURS = 24.0 * 14


def _instant(value: object, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise InputError(f"{what} must be a date and time")
    moment = as_utc(value)
    if not EARLIEST <= moment < LATEST:
        raise InputError(f"{what} must be between {EARLIEST:%Y} and {LATEST:%Y}")
    return moment


def duration_hours(value: object, *, what: str = "duration") -> timedelta:
    """A duration given in hours: finite, positive and at most ``MAX_WINDOW_HOURS``.

    ``nan``, ``inf``, ``1e12``, zero, negative numbers and non-numbers are an InputError.
    """
    if isinstance(value, bool):
        raise InputError(f"{what} must be a number of hours")
    try:
        hours = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number of hours") from None
    if not math.isfinite(hours):
        raise InputError(f"{what} must be a finite number of hours")
    if hours <= 0:
        raise InputError(f"{what} must be more than 0 hours")
    if hours > MAX_WINDOW_HOURS:
        raise InputError(f"{what} of {hours:g} h is longer than the {MAX_WINDOW_HOURS:g} h limit")
    return timedelta(hours=hours)


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
            if not isinstance(self.offence, str):
                raise InputError("the incident offence must be text")
            offence = re.sub(r"[\s-]+", "_", self.offence.strip().lower())
            if not _OFFENCE.fullmatch(offence):
                raise InputError(
                    "the incident offence must be an offence name such as serious_assault"
                )
            object.__setattr__(self, "offence", offence)
            object.__setattr__(self, "occurred_at", _instant(self.occurred_at, "incident time"))
            object.__setattr__(self, "place", _text(self.place, "incident place"))
        elif self.kind == "intelligence":
            if self.intelligence_item_id is None or not self.grade:
                raise InputError(
                    "an intelligence trigger needs the item id and its grade (e.g. 1B)"
                )
            item = self.intelligence_item_id
            if isinstance(item, bool) or not isinstance(item, int) or not 0 < item < 2**62:
                raise InputError("the intelligence item id must be a positive whole number")
            grade = self.grade.strip().upper() if isinstance(self.grade, str) else ""
            match = _GRADE.match(grade)
            if not match:
                raise InputError("intelligence grade: source 1-3 then assessment A-E, e.g. 1B")
            object.__setattr__(self, "grade", match.group(1) + match.group(2))
        else:
            raise InputError("trigger must be 'incident' or 'intelligence'")


#: Smallest plausible patrol area. A polygon in degrees read as metres (the lon/lat of central
#: London as metres of the British National Grid) is a fraction of a square metre.
MIN_AREA_M2 = 100.0
#: Bounds on the size of a polygon's text and vertex count.
MAX_WKT_CHARS = 1_000_000
MAX_VERTICES = 20_000
_POLYGONAL = re.compile(r"\s*(MULTI)?POLYGON\s*(ZM|Z|M)?\s*\(", re.IGNORECASE)
_CURVED = re.compile(r"\s*(CURVEPOLYGON|MULTISURFACE|COMPOUNDCURVE|CIRCULARSTRING)", re.I)
# Area-of-use bounds are rounded degrees: allow a little slack (about 1 km).
_AREA_OF_USE_SLACK_DEG = 0.01


def bbox_wkt(xmin: float, ymin: float, xmax: float, ymax: float) -> str:
    """The WKT of a rectangle (projected metres); bounds must be finite with max > min."""
    values = (xmin, ymin, xmax, ymax)
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
        raise InputError("bbox must be four finite numbers: xmin,ymin,xmax,ymax")
    if not (xmax > xmin and ymax > ymin):
        raise InputError("bbox must be xmin,ymin,xmax,ymax with max > min")
    return f"POLYGON(({xmin} {ymin},{xmax} {ymin},{xmax} {ymax},{xmin} {ymax},{xmin} {ymin}))"


def parse_area_geometry(wkt: object) -> Any:
    """A WKT text as a valid, finite, 2-D Polygon or MultiPolygon; an InputError otherwise.

    Refused: non-text, too long, curves, anything but (Multi)Polygon, parse errors and trailing
    text, empty, Z/M coordinates, non-finite coordinates, too many vertices, invalid rings.
    """
    import numpy as np
    import shapely

    if not isinstance(wkt, str):
        raise InputError("area: the polygon must be given as WKT text")
    if len(wkt) > MAX_WKT_CHARS:
        raise InputError(f"area: the WKT is longer than {MAX_WKT_CHARS:,} characters")
    if _CURVED.match(wkt):
        raise InputError("area: curved geometries are not accepted; give a Polygon")
    if not _POLYGONAL.match(wkt):
        raise InputError("area must be a non-empty Polygon or MultiPolygon (WKT)")
    try:
        geom = shapely.from_wkt(wkt)
    except Exception:  # GEOSException, NotImplementedError...: never an internal error
        raise InputError(
            "area: not readable WKT (a parse error, unclosed ring, NaN or trailing text)"
        ) from None
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InputError("area must be a non-empty Polygon or MultiPolygon")
    if shapely.has_z(geom):
        raise InputError("area: give 2-D coordinates (x y), not x y z")
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise InputError("area: every coordinate must be a finite number")
    if len(coords) > MAX_VERTICES:
        raise InputError(f"area: more than {MAX_VERTICES:,} vertices")
    if not geom.is_valid:
        raise InputError("area polygon is invalid (self-intersecting or a broken ring)")
    return geom


@lru_cache(maxsize=64)
def area_crs(crs: str) -> str:
    """``crs`` as ``EPSG:<code>`` if it is projected with metre axes; an InputError otherwise.

    The axis units are read from pyproj (not from a list of names): a CRS in degrees or in feet
    is refused, and so is one without an EPSG code (it could not be stored and compared).
    """
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    if not isinstance(crs, str) or not crs.strip() or len(crs) > 64:
        raise InputError("area CRS must be an EPSG code such as EPSG:27700")
    try:
        parsed = CRS.from_user_input(crs.strip())
    except CRSError:
        raise InputError("area CRS is not a CRS pyproj knows: give e.g. EPSG:27700") from None
    if not parsed.is_projected:
        raise InputError(f"area CRS {crs} is not projected: give the polygon in metres")
    horizontal = [a for a in parsed.axis_info if a.direction.lower() not in ("up", "down")]
    if not horizontal or any(
        a.unit_name not in ("metre", "meter") or a.unit_conversion_factor != 1.0
        for a in horizontal
    ):
        units = ", ".join(sorted({a.unit_name for a in horizontal})) or "no units"
        raise InputError(f"area CRS {crs} has axes in {units}, not metres")
    code = parsed.to_epsg()
    if code is None:
        raise InputError("area CRS must be an EPSG code such as EPSG:27700")
    return f"EPSG:{code}"


def _inside_area_of_use(geom: Any, crs: str) -> None:
    """Every vertex, in longitude/latitude, lies within the CRS's area of use."""
    import numpy as np
    from pyproj import CRS, Transformer

    use = CRS.from_user_input(crs).area_of_use
    if use is None:
        return
    to = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    import shapely

    xy = shapely.get_coordinates(geom)
    with np.errstate(all="ignore"):
        lon, lat = to.transform(xy[:, 0], xy[:, 1], errcheck=False)
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    slack = _AREA_OF_USE_SLACK_DEG
    ok = np.isfinite(lon) & np.isfinite(lat)
    ok &= (lat >= use.south - slack) & (lat <= use.north + slack)
    if use.west <= use.east:
        ok &= (lon >= use.west - slack) & (lon <= use.east + slack)
    else:  # the area of use crosses the antimeridian
        ok &= (lon >= use.west - slack) | (lon <= use.east + slack)
    if not ok.all():
        raise InputError(
            f"area lies outside the area of use of {crs} ({use.name}): are the coordinates "
            "in another CRS (degrees given as metres)?"
        )


@dataclass(frozen=True)
class Area:
    """The patrol area: a polygon (WKT, projected metres) with the boroughs it touches.

    Validation, in order, before anything else: the geometry (see :func:`parse_area_geometry`),
    the CRS (projected, metre axes, an EPSG code; stored as ``EPSG:<code>``), every vertex within
    the CRS's area of use, at least ``MIN_AREA_M2``, borough codes that fullmatch a GSS code.
    With ``within`` (a :class:`~patrolcast.governance.places.BoroughList` with polygons) the
    area must also lie inside those boroughs, every given code must be in the list, and the
    boroughs it intersects (positive area) are added to ``boroughs`` (so none is left out).
    ``wkt`` is stored in a canonical form (the parsed polygon written back).
    """

    wkt: str
    boroughs: tuple[str, ...] = ()
    crs: str = "EPSG:27700"
    cells: tuple[str, ...] = ()
    within: BoroughList | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        import shapely

        geom = parse_area_geometry(self.wkt)
        crs = area_crs(self.crs)
        _inside_area_of_use(geom, crs)
        m2 = float(geom.area)
        if not math.isfinite(m2) or m2 < MIN_AREA_M2:
            raise InputError(
                f"area is {m2:.6g} m2, below the {MIN_AREA_M2:g} m2 a patrol area can plausibly "
                "be: are the coordinates degrees given as metres?"
            )
        if isinstance(self.boroughs, str) or not isinstance(self.boroughs, tuple | list):
            raise InputError("area: give the boroughs as a list of codes")
        codes = {borough_code(b, what="area borough code") for b in self.boroughs}
        if self.within is not None:
            for code in codes:
                self.within.require(code, what="area borough code")
            if not self.within.covers(geom, crs):
                raise InputError(
                    "area lies (partly) outside the known boroughs"
                    + (f" of {self.within.source}" if self.within.source else "")
                )
            codes |= set(self.within.intersecting(geom, crs))
        if not codes:
            raise InputError("area: give the code of every borough it touches")
        if isinstance(self.cells, str) or not all(
            isinstance(c, str) and 0 < len(c) <= 64 and c.isprintable() for c in self.cells
        ):
            raise InputError("area cells must be short cell ids")
        object.__setattr__(self, "wkt", shapely.to_wkt(geom, rounding_precision=-1))
        object.__setattr__(self, "crs", crs)
        object.__setattr__(self, "boroughs", tuple(sorted(codes)))
        object.__setattr__(self, "cells", tuple(self.cells))
        object.__setattr__(self, "_m2", m2)

    @property
    def area_m2(self) -> float:
        return float(self.__dict__["_m2"])

    @property
    def area_km2(self) -> float:
        return self.area_m2 / 1e6

    @classmethod
    def from_bbox(
        cls,
        xmin: float,
        ymin: float,
        xmax: float,
        ymax: float,
        boroughs: tuple[str, ...] = (),
        *,
        crs: str = "EPSG:27700",
        within: BoroughList | None = None,
    ) -> Area:
        return cls(
            wkt=bbox_wkt(xmin, ymin, xmax, ymax), boroughs=boroughs, crs=crs, within=within
        )


def _window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    start, end = _instant(start, "the start"), _instant(end, "the end")
    if end <= start:
        raise InputError("the end of the window must be after its start")
    if end - start > timedelta(hours=MAX_WINDOW_HOURS):
        raise InputError(f"a window cannot be longer than {MAX_WINDOW_HOURS:g} h")
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
        if not isinstance(self.trigger, Trigger) or not isinstance(self.area, Area):
            raise InputError("a proposal needs a Trigger and an Area")
        if not isinstance(self.ndm, NDMRationale):
            raise InputError("a proposal needs its NDM rationale")
        if self.snapshot_id is not None and (
            isinstance(self.snapshot_id, bool) or not isinstance(self.snapshot_id, int)
        ):
            raise InputError("the forecast snapshot id must be a whole number")
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
        object.__setattr__(self, "borough", borough_code(self.borough))
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
        if not isinstance(self.ndm, NDMRationale):
            raise InputError("an authorisation needs its NDM rationale")
        for name in ("tactical_commander", "strategic_commander"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and value.strip()):
                value = None
            if value is not None:
                value = _username_text(value, name.replace("_", " "))
            object.__setattr__(self, name, value)
        object.__setattr__(
            self, "public_notice", _optional_text(self.public_notice, "public notice")
        )
        object.__setattr__(
            self,
            "objection_response",
            _optional_text(self.objection_response, "response to the objection"),
        )


def _username_text(value: str, what: str) -> str:
    from patrolcast.governance.roles import normalise_username

    return normalise_username(value, what=what)


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
        object.__setattr__(self, "new_end", _instant(self.new_end, "the new end"))
        object.__setattr__(self, "reasons", _text(self.reasons, "reasons for extending"))
        if self.ndm is not None and not isinstance(self.ndm, NDMRationale):
            raise InputError("an extension's rationale must be an NDM rationale")


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
        if not isinstance(self.outcome, dict):
            raise InputError("the debrief outcome must be a mapping")


@dataclass(frozen=True)
class ReviewDetails:
    findings: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "findings", _text(self.findings, "review findings"))
