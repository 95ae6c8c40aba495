"""Sharp tests of the governance values (values.py, places.py, snapshots.py, clock.py).

Written for the governance-values mutation run (scripts/mutation.sh): forecast snapshots (who
may record one, what is audited, the digest), borough lists with polygons (made here from
rectangles, no shared data), the clock and wall-clock parsing, and the value checks' limits.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from patrolcast.errors import InputError, PermissionDenied
from patrolcast.governance import audit
from patrolcast.governance.clock import FixedClock, as_utc, elapsed_hours, format_local, parse_time
from patrolcast.governance.places import BoroughList, borough_code, boroughs_intersecting
from patrolcast.governance.snapshots import get_snapshot, record_snapshot
from tests.governance.helpers import T0, make_world, sqlite_url

# --- snapshots ---------------------------------------------------------------------------------


def test_who_may_record_a_snapshot_and_what_is_audited(tmp_path: Path) -> None:
    world = make_world(sqlite_url(tmp_path))
    clock = world.clock
    digest = "AB" * 32
    with world.session() as s:
        for actor, rule in (("aud", "role"), ("nobody", "unknown-user")):
            with pytest.raises(PermissionDenied, match=f"refused: {actor} may not record"):
                record_snapshot(
                    s,
                    method="kde",
                    params={},
                    created_at=T0,
                    digest=digest,
                    actor=actor,
                    clock=clock,
                )
            last = audit.read_entries(s)[-1]
            assert (last.actor, last.action, last.target_type, last.target_id, last.outcome) == (
                actor,
                "snapshot_record",
                "snapshot",
                "new",
                "denied",
            )
            assert last.detail_dict == {
                "rule": rule,
                "reason": "recording a forecast snapshot needs the role analyst or "
                "intelligence_officer",
            }
        rec = record_snapshot(
            s,
            method=" kde ",
            params={"bandwidth": 150},
            created_at=T0 - timedelta(hours=1),
            digest="sha256:" + digest,
            uri="file:///x",
            actor="ana",
            clock=clock,
        )
        last = audit.read_entries(s)[-1]
    assert (rec.method, rec.digest, rec.params, rec.uri) == (
        "kde",
        "sha256:" + digest.lower(),
        {"bandwidth": 150},
        "file:///x",
    )
    assert rec.created_at == T0 - timedelta(hours=1)
    assert (last.actor, last.action, last.target_id, last.outcome, last.recorded_at) == (
        "ana",
        "snapshot_record",
        str(rec.id),
        "done",
        T0.isoformat(timespec="microseconds"),
    )
    assert {k: last.detail_dict[k] for k in ("method", "digest")} == {
        "method": "kde",
        "digest": "sha256:" + digest.lower(),
    }
    assert rec.to_dict() == {
        "id": rec.id,
        "method": "kde",
        "params": {"bandwidth": 150},
        "created_at": (T0 - timedelta(hours=1)).isoformat(),
        "digest": "sha256:" + digest.lower(),
        "uri": "file:///x",
    }
    with world.session() as s:
        assert get_snapshot(s, rec.id) == rec
        with pytest.raises(InputError, match="no forecast snapshot #999"):
            get_snapshot(s, 999)
        with pytest.raises(InputError, match="^snapshot method is empty$"):
            record_snapshot(s, method="  ", params={}, created_at=T0, digest=digest, clock=clock)
        for bad in ("ab" * 31, "ab" * 32 + "0", "sha1:" + "ab" * 32, "zz" * 32):
            with pytest.raises(InputError, match="must be a SHA-256"):
                record_snapshot(s, method="kde", params={}, created_at=T0, digest=bad, clock=clock)
        pipeline = record_snapshot(
            s, method="kde", params={}, created_at=T0, digest=digest, clock=clock
        )
        assert audit.read_entries(s)[-1].actor == "system" and pipeline.id > rec.id
    world.db.dispose()


# --- borough lists ------------------------------------------------------------------------------


def _boxes() -> BoroughList:
    import shapely

    return BoroughList(
        codes=("E09000001", "E09000002"),
        names=("City", "Barking"),
        geometries=(shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000)),
        source="test.gpkg",
    )


def test_a_borough_list_checks_its_codes_names_and_polygons() -> None:
    import shapely

    with pytest.raises(InputError, match="one name per code"):
        BoroughList(codes=("E09000001",), names=())
    with pytest.raises(InputError, match="one polygon per code"):
        BoroughList(
            codes=("E09000001",),
            names=("City",),
            geometries=(shapely.box(0, 0, 1, 1), shapely.box(0, 0, 1, 1)),
        )
    with pytest.raises(InputError, match="codes must be unique"):
        BoroughList(codes=("E09000001", "E09000001"), names=("A", "B"))
    with pytest.raises(InputError, match="a borough list's code must be a GSS code"):
        BoroughList(codes=("City",), names=("City",))
    b = _boxes()
    assert len(b) == 2 and list(b) == ["E09000001", "E09000002"]
    assert "E09000002" in b and "E09000003" not in b and 9000001 not in b
    assert b.name_of(" e09000002 ") == "Barking"
    with pytest.raises(
        InputError,
        match=r"^area code E09000003 is not a known borough of "
        r"test\.gpkg$",
    ):
        b.require("E09000003", what="area code")
    with pytest.raises(InputError, match=r"^borough code E09000003 is not a known borough$"):
        BoroughList(codes=("E09000001",), names=("City",)).require("E09000003")


def test_a_borough_list_finds_the_boroughs_an_area_overlaps() -> None:
    import shapely

    b = _boxes()
    assert b.intersecting(shapely.box(500, 0, 900, 500), "EPSG:27700") == ("E09000001",)
    assert b.intersecting(shapely.box(900, 0, 1100, 500), "EPSG:27700") == (
        "E09000001",
        "E09000002",
    )
    # touching along an edge is no overlap
    assert b.intersecting(shapely.box(1000, 0, 1500, 500), "EPSG:27700") == ("E09000002",)
    assert boroughs_intersecting(
        "POLYGON((1500 0,1600 0,1600 10,1500 10,1500 0))", "EPSG:27700", b
    ) == ("E09000002",)
    assert b.covers(shapely.box(0, 0, 2000, 1000), "EPSG:27700")
    assert b.covers(shapely.box(0, 0, 2000, 1000.0005), "EPSG:27700")  # 1 m2 at most outside
    assert not b.covers(shapely.box(0, 0, 2000, 1000.01), "EPSG:27700")
    assert b.covers(shapely.box(0, 0, 2000, 1000.01), "EPSG:27700", tolerance_m2=30.0)
    with pytest.raises(InputError, match="has no polygons"):
        BoroughList(codes=("E09000001",), names=("City",)).intersecting(
            shapely.box(0, 0, 1, 1), "EPSG:27700"
        )


def test_a_borough_list_reads_an_area_given_in_another_crs() -> None:
    import shapely
    from pyproj import Transformer

    b = BoroughList(
        codes=("E09000001",),
        names=("City",),
        geometries=(shapely.box(530000, 180000, 531000, 181000),),
    )
    to = Transformer.from_crs("EPSG:27700", "EPSG:3857", always_xy=True)
    x0, y0 = to.transform(530100, 180100)
    x1, y1 = to.transform(530200, 180200)
    assert b.intersecting(shapely.box(x0, y0, x1, y1), "EPSG:3857") == ("E09000001",)
    assert b.covers(shapely.box(x0, y0, x1, y1), "EPSG:3857")


def test_an_area_in_longitude_latitude_is_read_x_first() -> None:
    import shapely
    from pyproj import Transformer

    b = BoroughList(
        codes=("E09000001",),
        names=("City",),
        geometries=(shapely.box(530000, 180000, 531000, 181000),),
    )
    to = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    lon0, lat0 = to.transform(530100, 180100)
    lon1, lat1 = to.transform(530200, 180200)
    area = shapely.box(lon0, lat0, lon1, lat1)  # WGS84 given longitude first, as WKT does
    assert b.intersecting(area, "EPSG:4326") == ("E09000001",)
    assert b.covers(area, "EPSG:4326")


def test_the_default_borough_file_is_londons_in_the_shared_data(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from patrolcast.governance.places import default_boroughs_path, load_borough_list

    monkeypatch.setenv("PATROLCAST_SHARED_DATA", str(tmp_path))
    assert default_boroughs_path() == tmp_path / "boundaries" / "london_boroughs.gpkg"
    missing = tmp_path / "nowhere.gpkg"
    with pytest.raises(InputError, match=r"^borough boundary file .*nowhere\.gpkg does not exist$"):
        load_borough_list(missing)
    with pytest.raises(
        InputError,
        match=r"^borough boundary file .*london_boroughs\.gpkg does "
        r"not exist$",
    ):
        load_borough_list()


def test_a_borough_code_is_stripped_upper_cased_and_never_echoed() -> None:
    assert borough_code(" w06000001 ") == "W06000001"
    for bad in ("E0900000", "E090000011", "X09000001", None, 9000001, "E09 000001"):
        with pytest.raises(InputError) as err:
            borough_code(bad, what="consulted borough")
        assert str(err.value).startswith("consulted borough must be a GSS code")
        assert "the text given is not repeated here" in str(err.value)


# --- the clock ----------------------------------------------------------------------------------


def test_a_fixed_clock_moves_forward_only() -> None:
    c = FixedClock(datetime(2026, 6, 1, 13, tzinfo=ZoneInfo("Europe/London")))
    assert c.now() == datetime(2026, 6, 1, 12, tzinfo=UTC) and c.now().tzinfo is UTC
    assert c.advance(timedelta(0)) == c.now()
    assert c.advance(timedelta(minutes=5)) == datetime(2026, 6, 1, 12, 5, tzinfo=UTC)
    with pytest.raises(InputError, match="cannot go backwards"):
        c.advance(timedelta(seconds=-1))
    assert FixedClock().now() == datetime(2026, 1, 1, tzinfo=UTC)


def test_times_are_aware_utc_and_shown_in_local_time() -> None:
    with pytest.raises(InputError, match="has no zone"):
        as_utc(datetime(2026, 6, 1, 12))
    assert parse_time("2026-06-01T12:00Z") == datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert parse_time(" 2026-06-01T12:00z ") == datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert parse_time("2026-06-01T12:00+02:00") == datetime(2026, 6, 1, 10, tzinfo=UTC)
    assert parse_time("2026-06-01T12:00+02:00").tzinfo is UTC  # UTC itself, not the host's zone
    assert parse_time("2026-06-01T12:00") == datetime(2026, 6, 1, 11, tzinfo=UTC)
    assert parse_time("2026-01-10T12:00") == datetime(2026, 1, 10, 12, tzinfo=UTC)
    assert parse_time("2026-06-01T12:00", zone="UTC") == datetime(2026, 6, 1, 12, tzinfo=UTC)
    with pytest.raises(InputError, match="unknown time zone 'Mars/Olympus'"):
        parse_time("2026-06-01T12:00", zone="Mars/Olympus")
    with pytest.raises(InputError, match=r"cannot read time 'soon': use ISO 8601"):
        parse_time("soon")
    with pytest.raises(
        InputError,
        match=r"^2026-10-25T01:30 happens twice in Europe/London "
        r"\(clocks go back then\): add the offset, one of "
        r"\+00:00 or \+01:00$",
    ):
        parse_time("2026-10-25T01:30")
    with pytest.raises(InputError, match=r"^2026-03-29T01:30 does not exist in Europe/London"):
        parse_time("2026-03-29T01:30")
    assert format_local(datetime(2026, 6, 1, 12, tzinfo=UTC)) == "2026-06-01T13:00+01:00"
    assert format_local(datetime(2026, 6, 1, 12, 0, 59, tzinfo=UTC), zone="UTC") == (
        "2026-06-01T12:00+00:00"
    )
    spring = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    assert elapsed_hours(spring, spring + timedelta(hours=3, minutes=30)) == 3.5


# --- value checks -------------------------------------------------------------------------------


def test_values_keep_their_normalised_text_and_name_the_field_refused() -> None:
    from patrolcast.governance.values import (
        Area,
        AuthorisationDetails,
        ConsultationDetails,
        DebriefDetails,
        ReviewDetails,
        Trigger,
    )
    from tests.governance.helpers import ndm

    t = Trigger(kind="incident", offence=" Serious-Assault ", occurred_at=T0, place=" Road ")
    assert (t.offence, t.place) == ("serious_assault", "Road")
    assert ConsultationDetails(" e09000001 ", "support", " Agreed. ").borough == "E09000001"
    a = AuthorisationDetails(
        start=T0, end=T0 + timedelta(hours=336), reasons=" Grounds. ", ndm=ndm()
    )  # exactly the 14-day limit is allowed
    assert a.reasons == "Grounds." and a.end - a.start == timedelta(hours=336)
    for make, field in (
        (
            lambda: Trigger(kind="incident", offence="x", occurred_at=T0, place="\x00"),
            "incident place",
        ),
        (lambda: DebriefDetails("Summary.", "  "), "debrief sign-off"),
        (lambda: ReviewDetails(""), "review findings"),
        (
            lambda: AuthorisationDetails(
                start=T0,
                end=T0 + timedelta(hours=1),
                reasons="Grounds.",
                ndm=ndm(),
                public_notice="Notice\x00",
            ),
            "public notice",
        ),
        (
            lambda: AuthorisationDetails(
                start=T0,
                end=T0 + timedelta(hours=1),
                reasons="Grounds.",
                ndm=ndm(),
                objection_response="\x01",
            ),
            "response to the objection",
        ),
    ):
        with pytest.raises(InputError) as err:
            make()
        assert str(err.value).startswith(field), str(err.value)
    with pytest.raises(InputError, match="^area: give the code of every borough it touches$"):
        Area.from_bbox(530000, 180000, 530500, 180500)


def test_every_refusal_names_its_field_and_rule(tmp_path: Path) -> None:
    from patrolcast.governance.values import (
        Area,
        CancellationDetails,
        ConsultationDetails,
        DebriefDetails,
        ExtensionDetails,
        NDMRationale,
        ProposalDetails,
        RefusalDetails,
        Trigger,
    )
    from tests.governance.helpers import area, ndm

    cases: tuple[tuple[Any, str], ...] = (
        (
            lambda: Trigger(kind="incident", offence="assault", occurred_at=T0),
            "an incident trigger needs the offence, the time and the place",
        ),
        (
            lambda: Trigger(kind="intelligence", intelligence_item_id=5),
            "an intelligence trigger needs the item id and its grade (e.g. 1B)",
        ),
        (
            lambda: ProposalDetails(
                trigger=None,  # type: ignore[arg-type]
                area=area(),
                start=T0,
                end=T0 + timedelta(hours=1),
                ndm=ndm(),
            ),
            "a proposal needs a Trigger and an Area",
        ),
        (
            lambda: ProposalDetails(
                trigger=Trigger(kind="intelligence", intelligence_item_id=5, grade="1B"),
                area=area(),
                start=T0,
                end=T0 + timedelta(hours=1),
                ndm=None,  # type: ignore[arg-type]
            ),
            "a proposal needs its NDM rationale",
        ),
        (
            lambda: ConsultationDetails("E09000001", "maybe", "Reasons."),
            "consultation position must be 'support' or 'object'",
        ),
        (
            lambda: ConsultationDetails("E09000001", "support", " "),
            "consultation reasons is mandatory and cannot be empty",
        ),
        (lambda: RefusalDetails(""), "reasons for refusing is mandatory and cannot be empty"),
        (
            lambda: ExtensionDetails(new_end=T0, reasons=""),
            "reasons for extending is mandatory and cannot be empty",
        ),
        (
            lambda: CancellationDetails(" "),
            "grounds for cancelling is mandatory and cannot be empty",
        ),
        (
            lambda: DebriefDetails("Summary.", "Signed.", outcome=[]),  # type: ignore[arg-type]
            "the debrief outcome must be a mapping",
        ),
        (
            lambda: RefusalDetails(5),  # type: ignore[arg-type]
            "reasons for refusing must be text",
        ),
        (
            lambda: NDMRationale(**{**ndm().to_dict(), "powers_and_policy": " "}),
            "NDM heading 'powers_and_policy' is mandatory and cannot be empty",
        ),
        (
            lambda: Trigger(kind="intelligence", intelligence_item_id=5, grade="4Z"),
            "intelligence grade: source 1-3 then assessment A-E, e.g. 1B",
        ),
        (
            lambda: Area(wkt="POLYGON EMPTY", boroughs=("E09000001",)),
            "area must be a non-empty Polygon or MultiPolygon (WKT)",
        ),
        (
            lambda: Area(wkt="POLYGON (EMPTY)", boroughs=("E09000001",)),
            "area must be a non-empty Polygon or MultiPolygon",
        ),
        (
            lambda: Area.from_bbox(530000, 180000, 530500, 180500, ("City",)),
            "area borough code must be a GSS code: a letter E, W, S or N and 8 digits "
            "(e.g. E09000033); the text given is not repeated here",
        ),
        (
            lambda: Area.from_bbox(530000, 180000, 530500, 180500, within=_boxes()),
            "area lies (partly) outside the known boroughs of test.gpkg",
        ),
        (
            lambda: NDMRationale.from_mapping({"code_of_ethics": "x", "powers_and_policy": "y"}),
            "NDM rationale is missing heading(s): information_and_intelligence, "
            "threat_risk_and_strategy, options_and_contingencies, action_and_review",
        ),
    )
    for make, message in cases:
        with pytest.raises(InputError) as err:
            make()
        assert str(err.value) == message
    world = make_world(sqlite_url(tmp_path))
    with world.session() as s, pytest.raises(InputError) as err:
        record_snapshot(
            s, method="kde", params={}, created_at=T0, digest="abc", actor="ana", clock=world.clock
        )
    assert str(err.value) == "snapshot digest must be a SHA-256: 64 hex characters"


def test_values_keep_what_was_given_within_the_limits() -> None:
    import shapely

    from patrolcast.governance.values import (
        MAX_WINDOW_HOURS,
        NDM_HEADINGS,
        Area,
        AuthorisationDetails,
        DebriefDetails,
        NDMRationale,
        ProposalDetails,
        Trigger,
        duration_hours,
    )
    from tests.governance.helpers import area, ndm

    rationale = NDMRationale.from_mapping({h: f"Text of {h}." for h in NDM_HEADINGS})
    assert rationale.to_dict() == {h: f"Text of {h}." for h in NDM_HEADINGS}
    assert duration_hours(MAX_WINDOW_HOURS) == timedelta(hours=336)  # the limit itself is allowed
    assert (
        Trigger(
            kind="intelligence", intelligence_item_id=2**62 - 1, grade="1b"
        ).intelligence_item_id
        == 2**62 - 1
    )
    with pytest.raises(InputError, match="^the intelligence item id must be a positive whole"):
        Trigger(kind="intelligence", intelligence_item_id=2**62, grade="1B")
    p = ProposalDetails(
        trigger=Trigger(kind="intelligence", intelligence_item_id=5, grade="1B"),
        area=area(),
        start=T0,
        end=(T0 + timedelta(hours=6)).astimezone(ZoneInfo("Europe/London")),
        ndm=ndm(),
    )
    assert p.end == T0 + timedelta(hours=6) and p.end.tzinfo is UTC  # kept as UTC
    a = AuthorisationDetails(
        start=T0,
        end=T0 + timedelta(hours=1),
        reasons="Grounds.",
        ndm=ndm(),
        tactical_commander="  ",
        strategic_commander="",
        public_notice=" Notice. ",
    )
    assert (a.tactical_commander, a.strategic_commander, a.public_notice) == (None, None, "Notice.")
    assert DebriefDetails(" Summary. ", " Signed. ").sign_off == "Signed."
    within = BoroughList(
        codes=("E09000001",),
        names=("City",),
        geometries=(shapely.box(530000, 180000, 531000, 181000),),
    )
    assert Area.from_bbox(530100, 180100, 530200, 180200, within=within).boroughs == ("E09000001",)


def test_an_area_on_the_edge_of_an_antimeridian_crs_area_of_use_is_inside() -> None:
    """EPSG:3832 (PDC Mercator) crosses the antimeridian; its area of use starts at 98.69 E
    and ~1 km (0.01 degree) of slack is allowed: a vertex exactly at 98.68 E is inside."""
    from patrolcast.governance.values import Area

    def box(x0: float) -> str:
        x1 = -5712916.267510801 + 1000  # both in PDC Mercator metres, near 98.7 E
        return f"POLYGON(({x0!r} 0,{x1!r} 0,{x1!r} 1000,{x0!r} 1000,{x0!r} 0))"

    edge = -5712916.267510801  # exactly 98.69 - 0.01 degrees east once transformed
    assert Area(wkt=box(edge), boroughs=("E09000001",), crs="EPSG:3832").crs == "EPSG:3832"
    with pytest.raises(InputError, match="^area lies outside the area of use of EPSG:3832"):
        Area(wkt=box(edge - 1.0), boroughs=("E09000001",), crs="EPSG:3832")


# --- every rule of the values, both edges of every limit (written for fresh mutant samples) ----


def _ndm_map(**extra: str) -> dict[str, str]:
    from patrolcast.governance.values import NDM_HEADINGS

    return {**{h: f"Text of {h}." for h in NDM_HEADINGS}, **extra}


def _refusal(make: Any) -> str:
    with pytest.raises(InputError) as err:
        make()
    return str(err.value)


def test_free_text_limits_control_characters_and_personal_data() -> None:
    from patrolcast.governance.values import MAX_TEXT_CHARS, RefusalDetails, ReviewDetails
    from patrolcast.privacy import PersonalDataRefused

    assert MAX_TEXT_CHARS == 10_000
    at_limit = "a" * 10_000
    assert RefusalDetails(f"  {at_limit}\n").reasons == at_limit  # stripped before it is counted
    assert _refusal(lambda: RefusalDetails("a" * 10_001)) == (
        "reasons for refusing is longer than 10,000 characters"
    )
    assert _refusal(lambda: RefusalDetails(None)) == (  # type: ignore[arg-type]
        "reasons for refusing is mandatory and cannot be empty"
    )
    assert _refusal(lambda: RefusalDetails(b"x")) == (  # type: ignore[arg-type]
        "reasons for refusing must be text"
    )
    # line breaks and tabs are allowed inside; the C0/C1 controls and the bidi and line and
    # paragraph separators are not, at both ends of each range
    assert RefusalDetails("First line.\n\tSecond\nline.").reasons == (
        "First line.\n\tSecond\nline."
    )
    for ok in ("\x20", "\x7e", "\xa0", "\u2027", "\u202f", "\u2065", "\u206a"):
        assert RefusalDetails(f"a{ok}b").reasons == f"a{ok}b", repr(ok)
    for bad in (
        "\x00",
        "\x08",
        "\x0b",
        "\x0c",
        "\x1f",
        "\x7f",
        "\x80",
        "\x9f",
        "\u2028",
        "\u2029",
        "\u202a",
        "\u202e",
        "\u2066",
        "\u2069",
    ):
        assert _refusal(lambda bad=bad: ReviewDetails(f"a{bad}b")) == (
            "review findings contains control characters (only line breaks and tabs)"
        ), repr(bad)
    with pytest.raises(PersonalDataRefused) as err:
        ReviewDetails("Call 07700 900123 about it.")
    assert err.value.field == "review findings"
    assert str(err.value).startswith("refused: review findings looks like it contains personal")
    assert "07700 900123" not in str(err.value)


def test_every_free_text_field_is_stripped_checked_and_named() -> None:
    from patrolcast.governance.values import (
        AuthorisationDetails,
        CancellationDetails,
        ConsultationDetails,
        DebriefDetails,
        ExtensionDetails,
        NDMRationale,
        RefusalDetails,
        ReviewDetails,
        Trigger,
    )
    from tests.governance.helpers import ndm

    def auth(**kw: Any) -> AuthorisationDetails:
        base: dict[str, Any] = dict(
            start=T0, end=T0 + timedelta(hours=1), reasons="Grounds.", ndm=ndm()
        )
        return AuthorisationDetails(**{**base, **kw})

    makers: dict[str, Any] = {
        "incident place": lambda t: (
            Trigger(kind="incident", offence="robbery", occurred_at=T0, place=t).place
        ),
        "consultation reasons": lambda t: ConsultationDetails("E09000001", "object", t).reasons,
        "reasons for authorising": lambda t: auth(reasons=t).reasons,
        "public notice": lambda t: auth(public_notice=t).public_notice,
        "response to the objection": lambda t: auth(objection_response=t).objection_response,
        "reasons for refusing": lambda t: RefusalDetails(t).reasons,
        "reasons for extending": lambda t: ExtensionDetails(new_end=T0, reasons=t).reasons,
        "grounds for cancelling": lambda t: CancellationDetails(t).reasons,
        "debrief summary": lambda t: DebriefDetails(t, "Signed.").summary,
        "debrief sign-off": lambda t: DebriefDetails("Summary.", t).sign_off,
        "review findings": lambda t: ReviewDetails(t).findings,
        "NDM heading 'action_and_review'": lambda t: (
            NDMRationale(**_ndm_map(action_and_review=t)).action_and_review
        ),
    }
    for what, make in makers.items():
        # every field is stored stripped, the NDM headings too (they were kept as typed)
        kept = "Kept as given."
        assert make(" \tKept as given.\n ") == kept, what
        assert _refusal(lambda make=make: make("x\x00")) == (
            f"{what} contains control characters (only line breaks and tabs)"
        )
        assert _refusal(lambda make=make: make("y" * 10_001)) == (
            f"{what} is longer than 10,000 characters"
        )
        assert _refusal(lambda make=make: make(7)) == f"{what} must be text"
        assert _refusal(lambda make=make: make("Ring 07700 900123.")).startswith(
            f"refused: {what} looks like it contains personal data"
        )
        if what not in ("public notice", "response to the objection", "incident place"):
            assert _refusal(lambda make=make: make(" \n ")) == (
                f"{what} is mandatory and cannot be empty"
            )
    # the two optional texts are None when absent or blank
    a = auth(public_notice=None, objection_response=" \n")
    assert (a.public_notice, a.objection_response) == (None, None)
    a = auth(objection_response=" Answered. ")
    assert (a.public_notice, a.objection_response) == (None, "Answered.")


def test_ndm_rationale_from_a_mapping_accepts_the_long_and_short_names() -> None:
    from patrolcast.governance.values import NDM_HEADINGS, NDMRationale

    assert NDM_HEADINGS == (
        "code_of_ethics",
        "information_and_intelligence",
        "threat_risk_and_strategy",
        "powers_and_policy",
        "options_and_contingencies",
        "action_and_review",
    )
    r = NDMRationale.from_mapping(
        {
            " Code of  Ethics ": "Ethics.",
            "GATHER-information and_intelligence": "Information.",
            "assess threat and risk and develop a working strategy": "Threat.",
            "Powers": "Powers.",
            "identify options and contingencies": "Options.",
            "Take action and review what happened": 12,
        }
    )
    assert r.to_dict() == {
        "code_of_ethics": "Ethics.",
        "information_and_intelligence": "Information.",
        "threat_risk_and_strategy": "Threat.",
        "powers_and_policy": "Powers.",
        "options_and_contingencies": "Options.",
        "action_and_review": "12",
    }
    assert list(r.to_dict()) == list(NDM_HEADINGS)
    short = NDMRationale.from_mapping(
        {
            "ethics": "E.",
            "intelligence": "I.",
            "threat": "T.",
            "consider powers and policy": "P.",
            "options": "O.",
            "action": "A.",
        }
    )
    assert short.to_dict() == dict(
        zip(NDM_HEADINGS, ("E.", "I.", "T.", "P.", "O.", "A."), strict=True)
    )
    assert (
        NDMRationale.from_mapping(
            {**_ndm_map(), "information": "Info."}
        ).information_and_intelligence
        == "Info."
    )
    assert _refusal(lambda: NDMRationale.from_mapping({**_ndm_map(), "Vibes": "x"})) == (
        "unknown NDM heading 'Vibes': use code_of_ethics, information_and_intelligence, "
        "threat_risk_and_strategy, powers_and_policy, options_and_contingencies, "
        "action_and_review"
    )
    one_missing = {k: v for k, v in _ndm_map().items() if k != "code_of_ethics"}
    assert _refusal(lambda: NDMRationale.from_mapping(one_missing)) == (
        "NDM rationale is missing heading(s): code_of_ethics"
    )
    assert _refusal(lambda: NDMRationale.from_mapping(_ndm_map(powers_and_policy=" "))) == (
        "NDM heading 'powers_and_policy' is mandatory and cannot be empty"
    )
    assert NDMRationale(**_ndm_map()) == NDMRationale.from_mapping(_ndm_map())


def test_durations_in_hours_and_their_limits() -> None:
    from patrolcast.governance.values import MAX_WINDOW_HOURS, duration_hours

    assert MAX_WINDOW_HOURS == 336.0
    assert duration_hours(6) == timedelta(hours=6)
    assert duration_hours("1.5") == timedelta(minutes=90)
    assert duration_hours(336) == timedelta(hours=336)
    assert duration_hours(1e-6) == timedelta(microseconds=3600)
    for bad, message in (
        (True, "duration must be a number of hours"),
        (False, "duration must be a number of hours"),
        ("six", "duration must be a number of hours"),
        (None, "duration must be a number of hours"),
        ([6], "duration must be a number of hours"),
        (float("nan"), "duration must be a finite number of hours"),
        (float("inf"), "duration must be a finite number of hours"),
        (float("-inf"), "duration must be a finite number of hours"),
        (0, "duration must be more than 0 hours"),
        (-0.0, "duration must be more than 0 hours"),
        (-1, "duration must be more than 0 hours"),
        (336.5, "duration of 336.5 h is longer than the 336 h limit"),
        (1e12, "duration of 1e+12 h is longer than the 336 h limit"),
    ):
        assert _refusal(lambda bad=bad: duration_hours(bad)) == message, repr(bad)
    assert _refusal(lambda: duration_hours(0, what="extension")) == (
        "extension must be more than 0 hours"
    )
    assert _refusal(lambda: duration_hours("x", what="extension")) == (
        "extension must be a number of hours"
    )
    assert _refusal(lambda: duration_hours(400, what="extension")) == (
        "extension of 400 h is longer than the 336 h limit"
    )
    assert _refusal(lambda: duration_hours(float("nan"), what="extension")) == (
        "extension must be a finite number of hours"
    )


def test_instants_are_utc_between_2000_and_2100() -> None:
    from patrolcast.governance.values import EARLIEST, LATEST, ExtensionDetails

    assert (
        datetime(2000, 1, 1, tzinfo=UTC),
        datetime(2100, 1, 1, tzinfo=UTC),
    ) == (EARLIEST, LATEST)
    tiny = timedelta(microseconds=1)
    for ok in (EARLIEST, LATEST - tiny):
        assert ExtensionDetails(new_end=ok, reasons="R.").new_end == ok
    for bad in (EARLIEST - tiny, LATEST, datetime(1970, 1, 1, tzinfo=UTC)):
        assert _refusal(lambda bad=bad: ExtensionDetails(new_end=bad, reasons="R.")) == (
            "the new end must be between 2000 and 2100"
        )
    # an instant given in another zone is kept as the same instant in UTC
    london = datetime(2000, 1, 1, 0, 30, tzinfo=ZoneInfo("Europe/Paris"))  # 1999-12-31 23:30 UTC
    assert _refusal(lambda: ExtensionDetails(new_end=london, reasons="R.")) == (
        "the new end must be between 2000 and 2100"
    )
    e = ExtensionDetails(
        new_end=datetime(2026, 6, 1, 14, tzinfo=ZoneInfo("Europe/London")), reasons="R."
    )
    assert e.new_end == datetime(2026, 6, 1, 13, tzinfo=UTC) and e.new_end.tzinfo is UTC
    for bad in ("2026-06-01T12:00Z", None, 1_780_000_000):
        assert _refusal(lambda bad=bad: ExtensionDetails(new_end=bad, reasons="R.")) == (
            "the new end must be a date and time"
        )
    assert _refusal(lambda: ExtensionDetails(new_end=datetime(2026, 6, 1), reasons="R.")) == (
        "time 2026-06-01T00:00:00 has no zone: give a UTC offset"
    )


def test_an_extension_keeps_its_rationale_or_refuses_another_type() -> None:
    from patrolcast.governance.values import ExtensionDetails
    from tests.governance.helpers import ndm

    assert ExtensionDetails(new_end=T0, reasons="R.").ndm is None
    assert ExtensionDetails(new_end=T0, reasons="R.", ndm=ndm()).ndm == ndm()
    assert _refusal(lambda: ExtensionDetails(new_end=T0, reasons="R.", ndm=ndm().to_dict())) == (  # type: ignore[arg-type]
        "an extension's rationale must be an NDM rationale"
    )


def test_windows_end_after_their_start_and_last_at_most_14_days() -> None:
    from patrolcast.governance.values import AuthorisationDetails, ProposalDetails, Trigger
    from tests.governance.helpers import area, ndm

    tiny = timedelta(microseconds=1)
    trig = Trigger(kind="intelligence", intelligence_item_id=5, grade="1B")

    def proposal(start: Any, end: Any) -> ProposalDetails:
        return ProposalDetails(trigger=trig, area=area(), start=start, end=end, ndm=ndm())

    def auth(start: Any, end: Any) -> AuthorisationDetails:
        return AuthorisationDetails(start=start, end=end, reasons="Grounds.", ndm=ndm())

    for make in (proposal, auth):
        w = make(T0, T0 + tiny)
        assert (w.start, w.end) == (T0, T0 + tiny)
        w = make(T0, T0 + timedelta(hours=336))
        assert w.end - w.start == timedelta(hours=336)
        assert _refusal(lambda make=make: make(T0, T0)) == (
            "the end of the window must be after its start"
        )
        assert _refusal(lambda make=make: make(T0, T0 - tiny)) == (
            "the end of the window must be after its start"
        )
        assert _refusal(lambda make=make: make(T0, T0 + timedelta(hours=336) + tiny)) == (
            "a window cannot be longer than 336 h"
        )
        assert _refusal(lambda make=make: make("2026-06-01", T0)) == (
            "the start must be a date and time"
        )
        assert _refusal(lambda make=make: make(T0, "2026-06-02")) == (
            "the end must be a date and time"
        )
        assert _refusal(lambda make=make: make(datetime(1999, 12, 31, tzinfo=UTC), T0)) == (
            "the start must be between 2000 and 2100"
        )
        assert _refusal(lambda make=make: make(T0, datetime(2100, 1, 1, tzinfo=UTC))) == (
            "the end must be between 2000 and 2100"
        )
        paris = make(T0.astimezone(ZoneInfo("Europe/Paris")), T0 + timedelta(hours=2))
        assert paris.start == T0 and paris.start.tzinfo is UTC and paris.end.tzinfo is UTC


def test_a_proposal_checks_each_of_its_parts() -> None:
    from patrolcast.governance.values import ProposalDetails, Trigger
    from tests.governance.helpers import area, ndm

    trig = Trigger(kind="intelligence", intelligence_item_id=5, grade="1B")
    base: dict[str, Any] = dict(
        trigger=trig, area=area(), start=T0, end=T0 + timedelta(hours=6), ndm=ndm()
    )
    p = ProposalDetails(**base)
    assert (p.snapshot_id, p.profile, p.trigger, p.area, p.ndm) == (
        None,
        "armed-foot-patrol",
        trig,
        area(),
        ndm(),
    )
    assert ProposalDetails(**base, snapshot_id=0).snapshot_id == 0
    assert ProposalDetails(**base, snapshot_id=42).snapshot_id == 42
    for bad in (True, "42", 4.0):
        assert _refusal(lambda bad=bad: ProposalDetails(**base, snapshot_id=bad)) == (
            "the forecast snapshot id must be a whole number"
        )
    assert _refusal(lambda: ProposalDetails(**{**base, "area": area().wkt})) == (
        "a proposal needs a Trigger and an Area"
    )
    assert _refusal(lambda: ProposalDetails(**{**base, "trigger": {"kind": "incident"}})) == (
        "a proposal needs a Trigger and an Area"
    )
    assert _refusal(lambda: ProposalDetails(**{**base, "ndm": ndm().to_dict()})) == (
        "a proposal needs its NDM rationale"
    )
    assert _refusal(
        lambda: ProposalDetails(**base, profile="../armed-foot-patrol.toml")
    ).startswith("a policy profile is chosen by name (")
    assert ProposalDetails(**base, profile="other-profile").profile == "other-profile"


def test_an_authorisation_names_its_commanders_by_username() -> None:
    from patrolcast.governance.values import AuthorisationDetails
    from tests.governance.helpers import ndm

    def auth(**kw: Any) -> AuthorisationDetails:
        base: dict[str, Any] = dict(
            start=T0, end=T0 + timedelta(hours=1), reasons="Grounds.", ndm=ndm()
        )
        return AuthorisationDetails(**{**base, **kw})

    a = auth(tactical_commander="TFC", strategic_commander="Sfc.Two")
    assert (a.tactical_commander, a.strategic_commander) == ("tfc", "sfc.two")
    assert auth().tactical_commander is None and auth().strategic_commander is None
    assert auth(tactical_commander=" ").tactical_commander is None
    assert auth(strategic_commander="\n").strategic_commander is None
    assert auth(tactical_commander=5).tactical_commander is None  # not a name: none given
    for name in ("tactical", "strategic"):
        assert _refusal(lambda name=name: auth(**{f"{name}_commander": "1tfc"})) == (
            f"{name} commander must be a lower-case letter then 1 to 31 letters, digits, '.', "
            "'_' or '-'"
        )
    assert _refusal(lambda: auth(ndm=None)) == "an authorisation needs its NDM rationale"
    assert _refusal(lambda: auth(ndm=ndm().to_dict())) == (
        "an authorisation needs its NDM rationale"
    )


def test_consultation_positions_and_borough_codes() -> None:
    from patrolcast.governance.values import ConsultationDetails

    c = ConsultationDetails(" n09000001", "object", "Objection.")
    assert (c.borough, c.position, c.reasons) == ("N09000001", "object", "Objection.")
    assert ConsultationDetails("S12000033", "support", "Fine.").position == "support"
    for bad in ("Support", "objection", "", None):
        assert _refusal(lambda bad=bad: ConsultationDetails("E09000001", bad, "R.")) == (
            "consultation position must be 'support' or 'object'"
        )
    assert _refusal(lambda: ConsultationDetails("Camden", "support", "R.")) == (
        "borough code must be a GSS code: a letter E, W, S or N and 8 digits (e.g. E09000033); "
        "the text given is not repeated here"
    )


def test_a_debrief_keeps_its_outcome_mapping() -> None:
    from patrolcast.governance.values import DebriefDetails

    assert DebriefDetails("S.", "O.").outcome == {}
    assert DebriefDetails("S.", "O.", outcome={"arrests": 0}).outcome == {"arrests": 0}
    assert _refusal(lambda: DebriefDetails("S.", "O.", outcome=None)) == (  # type: ignore[arg-type]
        "the debrief outcome must be a mapping"
    )
    assert _refusal(lambda: DebriefDetails(" ", "O.")) == (
        "debrief summary is mandatory and cannot be empty"
    )


def test_incident_triggers_need_each_part_and_normalise_the_offence() -> None:
    from patrolcast.governance.values import Trigger

    need = "an incident trigger needs the offence, the time and the place"
    full: dict[str, Any] = dict(kind="incident", offence="robbery", occurred_at=T0, place="Road")
    for missing in (
        {"offence": None},
        {"offence": ""},
        {"occurred_at": None},
        {"place": None},
        {"place": ""},
    ):
        assert _refusal(lambda missing=missing: Trigger(**{**full, **missing})) == need
    assert _refusal(lambda: Trigger(**{**full, "place": "  "})) == (
        "incident place is mandatory and cannot be empty"
    )
    assert _refusal(lambda: Trigger(**{**full, "offence": 7})) == (
        "the incident offence must be text"
    )
    offence_name = "the incident offence must be an offence name such as serious_assault"
    for bad in ("1st_degree", "_assault", "a" * 61, "assault!", "théft", "  "):
        assert _refusal(lambda bad=bad: Trigger(**{**full, "offence": bad})) == offence_name
    for given, kept in (
        ("a", "a"),
        ("a" * 60, "a" * 60),
        ("Knife  Crime", "knife_crime"),
        ("anti--social behaviour", "anti_social_behaviour"),
        ("VEHICLE-crime 2", "vehicle_crime_2"),
    ):
        assert Trigger(**{**full, "offence": given}).offence == kept
    t = Trigger(
        **{**full, "occurred_at": datetime(2026, 6, 1, 9, tzinfo=ZoneInfo("Europe/London"))}
    )
    assert t.occurred_at == datetime(2026, 6, 1, 8, tzinfo=UTC) and t.occurred_at.tzinfo is UTC
    assert (t.intelligence_item_id, t.grade) == (None, None)
    assert _refusal(lambda: Trigger(**{**full, "occurred_at": "yesterday"})) == (
        "incident time must be a date and time"
    )
    assert (
        _refusal(lambda: Trigger(**{**full, "occurred_at": datetime(1999, 1, 1, tzinfo=UTC)}))
        == "incident time must be between 2000 and 2100"
    )


def test_intelligence_triggers_need_an_item_id_and_a_3x5x2_grade() -> None:
    from patrolcast.governance.values import Trigger

    need = "an intelligence trigger needs the item id and its grade (e.g. 1B)"
    assert _refusal(lambda: Trigger(kind="intelligence", grade="1B")) == need
    assert _refusal(lambda: Trigger(kind="intelligence", intelligence_item_id=5, grade="")) == need
    item = "the intelligence item id must be a positive whole number"
    for bad in (0, -1, 2**62, True, "5", 5.0):
        assert (
            _refusal(
                lambda bad=bad: Trigger(kind="intelligence", intelligence_item_id=bad, grade="1B")
            )
            == item
        ), repr(bad)
    for ok in (1, 2**62 - 1):
        assert (
            Trigger(kind="intelligence", intelligence_item_id=ok, grade="1B").intelligence_item_id
            == ok
        )
    for given, kept in (
        ("1A", "1A"),
        ("3e", "3E"),
        (" 2 / c ", "2C"),
        ("1/B", "1B"),
        ("2 D", "2D"),
    ):
        t = Trigger(kind="intelligence", intelligence_item_id=9, grade=given)
        assert t.grade == kept, given
        assert (t.offence, t.occurred_at, t.place) == (None, None, None)
    grade = "intelligence grade: source 1-3 then assessment A-E, e.g. 1B"
    for bad in ("0A", "4A", "1F", "A1", "1BB", "11B", "1//B", 1):
        assert (
            _refusal(
                lambda bad=bad: Trigger(kind="intelligence", intelligence_item_id=9, grade=bad)
            )
            == grade
        ), repr(bad)
    for kind in ("Incident", "intel", "", None):
        assert _refusal(
            lambda kind=kind: Trigger(kind=kind, intelligence_item_id=9, grade="1B")
        ) == ("trigger must be 'incident' or 'intelligence'")


def test_a_bbox_is_four_finite_numbers_with_max_above_min() -> None:
    from patrolcast.governance.values import bbox_wkt

    assert bbox_wkt(1, 2, 3, 4) == "POLYGON((1 2,3 2,3 4,1 4,1 2))"
    assert bbox_wkt(0.5, -2.0, 1.5, 4.25) == (
        "POLYGON((0.5 -2.0,1.5 -2.0,1.5 4.25,0.5 4.25,0.5 -2.0))"
    )
    four = "bbox must be four finite numbers: xmin,ymin,xmax,ymax"
    order = "bbox must be xmin,ymin,xmax,ymax with max > min"
    for bad in (
        (float("nan"), 0, 1, 1),
        (0, 0, float("inf"), 1),
        (0, 0, 1, "1"),
        (None, 0, 1, 1),
        (0, 0, 1, float("-inf")),
    ):
        assert _refusal(lambda bad=bad: bbox_wkt(*bad)) == four, bad
    for bad in ((0, 0, 0, 1), (0, 0, 1, 0), (1, 0, 0, 1), (0, 1, 1, 0), (0, 0, -1, -1)):
        assert _refusal(lambda bad=bad: bbox_wkt(*bad)) == order, bad


def test_area_geometry_rules_and_their_limits() -> None:
    import math as m

    import shapely

    from patrolcast.governance.values import MAX_VERTICES, MAX_WKT_CHARS, parse_area_geometry

    assert (MAX_WKT_CHARS, MAX_VERTICES) == (1_000_000, 20_000)
    square = "POLYGON((0 0,10 0,10 10,0 10,0 0))"
    g = parse_area_geometry(square)
    assert g.geom_type == "Polygon" and g.area == 100.0
    multi = parse_area_geometry("MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))")
    assert multi.geom_type == "MultiPolygon" and multi.area == 1.0
    assert parse_area_geometry(" polygon ((0 0,1 0,1 1,0 0))").area == 0.5
    padded = square + " " * (1_000_000 - len(square))
    assert len(padded) == 1_000_000 and parse_area_geometry(padded).area == 100.0
    assert _refusal(lambda: parse_area_geometry(padded + " ")) == (
        "area: the WKT is longer than 1,000,000 characters"
    )
    for bad in (None, 5, b"POLYGON((0 0,1 0,1 1,0 0))", shapely.box(0, 0, 1, 1)):
        assert _refusal(lambda bad=bad: parse_area_geometry(bad)) == (
            "area: the polygon must be given as WKT text"
        )
    for bad in (
        "CURVEPOLYGON(CIRCULARSTRING(0 0,1 1,2 0,1 -1,0 0))",
        " multisurface EMPTY",
        "CompoundCurve((0 0,1 1))",
        "CIRCULARSTRING(0 0,1 1,2 0)",
    ):
        assert _refusal(lambda bad=bad: parse_area_geometry(bad)) == (
            "area: curved geometries are not accepted; give a Polygon"
        )
    for bad in ("POINT(0 0)", "LINESTRING(0 0,1 1)", "GEOMETRYCOLLECTION EMPTY", "", "POLYGON"):
        assert _refusal(lambda bad=bad: parse_area_geometry(bad)) == (
            "area must be a non-empty Polygon or MultiPolygon (WKT)"
        )
    for bad in ("POLYGON((0 0,1 0,1 1,0 0)) junk", "POLYGON((0 0,1 0,1 1))", "POLYGON((0 0,1"):
        assert _refusal(lambda bad=bad: parse_area_geometry(bad)) == (
            "area: not readable WKT (a parse error, unclosed ring, NaN or trailing text)"
        )
    assert _refusal(lambda: parse_area_geometry("MULTIPOLYGON (EMPTY)")) == (
        "area must be a non-empty Polygon or MultiPolygon"
    )
    assert _refusal(lambda: parse_area_geometry("POLYGON Z((0 0 1,1 0 1,1 1 1,0 0 1))")) == (
        "area: give 2-D coordinates (x y), not x y z"
    )
    assert _refusal(lambda: parse_area_geometry("POLYGON((0 0,inf 0,1 1,0 0))")) == (
        "area: every coordinate must be a finite number"
    )
    assert _refusal(lambda: parse_area_geometry("POLYGON((0 0,10 10,10 0,0 10,0 0))")) == (
        "area polygon is invalid (self-intersecting or a broken ring)"
    )

    def ring(n: int) -> str:  # a convex polygon of n distinct vertices (n + 1 coordinates)
        pts = [(1000 * m.cos(2 * m.pi * i / n), 1000 * m.sin(2 * m.pi * i / n)) for i in range(n)]
        pts.append(pts[0])
        return "POLYGON((" + ",".join(f"{x!r} {y!r}" for x, y in pts) + "))"

    assert len(shapely.get_coordinates(parse_area_geometry(ring(19_999)))) == 20_000
    assert _refusal(lambda: parse_area_geometry(ring(20_000))) == "area: more than 20,000 vertices"


def test_area_crs_rules() -> None:
    from patrolcast.governance.values import area_crs

    assert area_crs("EPSG:27700") == "EPSG:27700"
    assert area_crs(" epsg:3857 ") == "EPSG:3857"
    assert area_crs(" " * 54 + "EPSG:27700") == "EPSG:27700"  # 64 characters
    code = "area CRS must be an EPSG code such as EPSG:27700"
    for bad in (" " * 55 + "EPSG:27700", "", "   ", None, 27700):
        assert _refusal(lambda bad=bad: area_crs(bad)) == code, repr(bad)
    assert _refusal(lambda: area_crs("EPSG:99999999")) == (
        "area CRS is not a CRS pyproj knows: give e.g. EPSG:27700"
    )
    assert _refusal(lambda: area_crs("EPSG:4326")) == (
        "area CRS EPSG:4326 is not projected: give the polygon in metres"
    )
    assert _refusal(lambda: area_crs("EPSG:2227")) == (
        "area CRS EPSG:2227 has axes in US survey foot, not metres"
    )
    # a metre grid without an EPSG code cannot be stored and compared
    bng = (
        "+proj=tmerc +lat_0=49 +lon_0=-2 +k=0.9996012717 +x_0=400000 +y_0=-100000 "
        "+ellps=airy +units=m"
    )
    assert _refusal(lambda: area_crs(bng)) == code
    # a projected CRS with a height axis: only the horizontal axes need be metres
    assert area_crs("EPSG:7405") == "EPSG:7405"


def _triangle(apex: tuple[float, float], towards: tuple[float, float]) -> str:
    """A triangle (in BNG metres) whose one vertex ``apex`` is the extreme one, the other two
    200 m further in the direction ``towards`` (a unit vector) and 200 m apart."""
    (x, y), (dx, dy) = apex, towards
    bx, by = x + 200 * dx, y + 200 * dy
    px, py = -dy * 100, dx * 100
    return f"POLYGON(({x!r} {y!r},{bx + px!r} {by + py!r},{bx - px!r} {by - py!r},{x!r} {y!r}))"


def test_every_vertex_lies_within_the_crs_area_of_use_with_1_km_of_slack() -> None:
    from pyproj import Transformer

    from patrolcast.governance.values import Area

    # EPSG:27700's area of use is 9.01 W to 2.01 E, 49.75 N to 61.01 N
    to = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    outside = (
        "area lies outside the area of use of EPSG:27700 (United Kingdom (UK) - offshore to "
        "boundary of UKCS within 49°45'N to 61°N and 9°W to 2°E; onshore Great Britain "
        "(England, Wales and Scotland). Isle of Man onshore.): are the coordinates in another "
        "CRS (degrees given as metres)?"
    )
    for lon, lat, inward in (
        (-1.0, 49.75 - 0.01, (0.0, 1.0)),  # south edge
        (-1.0, 61.01 + 0.01, (0.0, -1.0)),  # north edge
        (-9.01 - 0.01, 55.0, (1.0, 0.0)),  # west edge
        (2.01 + 0.01, 52.0, (-1.0, 0.0)),  # east edge
    ):
        # 0.005 degrees (350-550 m) either side of the edge: the grid's own transformation
        # and its inverse may differ by 0.002 degrees
        step = 0.005 * inward[0], 0.005 * inward[1]
        inside = to.transform(lon + step[0], lat + step[1])
        beyond = to.transform(lon - step[0], lat - step[1])
        assert Area(wkt=_triangle(inside, inward), boroughs=("E09000001",)).area_m2 > 100
        assert (
            _refusal(
                lambda beyond=beyond, inward=inward: Area(
                    wkt=_triangle(beyond, inward), boroughs=("E09000001",)
                )
            )
            == outside
        )


def test_an_area_of_use_across_the_antimeridian_is_read_as_one_band() -> None:
    from pyproj import Transformer

    from patrolcast.governance.values import Area

    # EPSG:3832's area of use runs east from 98.69 E across 180 to 68 W
    to = Transformer.from_crs("EPSG:4326", "EPSG:3832", always_xy=True)

    def at(lon: float, lat: float = 0.0) -> str:
        x, y = to.transform(lon, lat)
        return f"POLYGON(({x} {y},{x + 1000} {y},{x + 1000} {y + 1000},{x} {y + 1000},{x} {y}))"

    for lon in (179.5, -179.5, 120.0, -100.0, -68.0 + 0.005 - 0.01):
        assert Area(wkt=at(lon), boroughs=("E09000001",), crs="EPSG:3832").area_m2 > 0
    for lon in (-67.98, 0.0, 98.0):
        assert _refusal(
            lambda lon=lon: Area(wkt=at(lon), boroughs=("E09000001",), crs="EPSG:3832")
        ).startswith("area lies outside the area of use of EPSG:3832 (Pacific Ocean")
    assert _refusal(
        lambda: Area(wkt=at(120.0, 66.69), boroughs=("E09000001",), crs="EPSG:3832")
    ).startswith("area lies outside")


def test_an_area_is_kept_canonical_with_its_size_boroughs_and_cells() -> None:
    import shapely

    from patrolcast.governance.values import MIN_AREA_M2, Area

    assert MIN_AREA_M2 == 100.0
    a = Area(
        wkt="POLYGON((530000 180000,530500 180000,530500 180500,530000 180500,530000 180000))",
        boroughs=["e09000002", "E09000001", " E09000001 "],
        crs="epsg:27700",
        cells=["c1", "c2"],
    )
    assert a.wkt == (
        "POLYGON ((530000 180000, 530500 180000, 530500 180500, 530000 180500, 530000 180000))"
    )
    assert (a.boroughs, a.crs, a.cells) == (("E09000001", "E09000002"), "EPSG:27700", ("c1", "c2"))
    assert (a.area_m2, a.area_km2) == (250_000.0, 0.25)
    assert (
        a
        == Area.from_bbox(
            530000, 180000, 530500, 180500, ("E09000002", "E09000001"), crs="EPSG:27700"
        )
        or a.cells
    )  # cells differ: compare below
    b = Area.from_bbox(530000, 180000, 530500, 180500, ("E09000002", "E09000001"))
    assert (b.wkt, b.boroughs, b.crs, b.cells) == (a.wkt, a.boroughs, a.crs, ())
    assert b != a  # cells are part of the value
    assert Area.from_bbox(530000.25, 180000, 530010.25, 180010, ("E09000001",)).wkt == (
        "POLYGON ((530000.25 180000, 530010.25 180000, 530010.25 180010, 530000.25 180010, "
        "530000.25 180000))"
    )
    assert Area.from_bbox(530000, 180000, 530010, 180010, ("E09000001",)).area_m2 == 100.0
    assert _refusal(lambda: Area.from_bbox(530000, 180000, 530010, 180009.999, ("E09000001",))) == (
        "area is 99.99 m2, below the 100 m2 a patrol area can plausibly be: are the "
        "coordinates degrees given as metres?"
    )
    # the CRS is passed through and stored canonically
    m = Area.from_bbox(-13000, 6710000, -12000, 6711000, ("E09000001",), crs="epsg:3857")
    assert m.crs == "EPSG:3857" and m.area_km2 == 1.0
    for bad in ("E09000001", None, 5, {"E09000001"}):
        assert _refusal(lambda bad=bad: Area.from_bbox(530000, 180000, 530500, 180500, bad)) == (
            "area: give the boroughs as a list of codes"
        ), repr(bad)
    cells = "area cells must be short cell ids"
    assert Area.from_bbox(530000, 180000, 530500, 180500, ("E09000001",)).cells == ()
    ok = Area(wkt=b.wkt, boroughs=("E09000001",), cells=("x", "c" * 64))
    assert ok.cells == ("x", "c" * 64)
    for bad_cells in ("c1", ("",), ("c" * 65,), ("a\nb",), (5,), ("ok", None)):
        assert (
            _refusal(
                lambda bad_cells=bad_cells: Area(
                    wkt=b.wkt, boroughs=("E09000001",), cells=bad_cells
                )
            )
            == cells
        )
    # the optional borough list is not part of the value
    within = BoroughList(
        codes=("E09000001",),
        names=("City",),
        geometries=(shapely.box(529000, 179000, 531000, 181000),),
    )
    w = Area.from_bbox(530000, 180000, 530500, 180500, ("E09000001",), within=within)
    assert w == Area.from_bbox(530000, 180000, 530500, 180500, ("E09000001",))
    assert "within" not in repr(w) and w.within is within


def test_an_area_within_a_borough_list_is_checked_and_completed() -> None:
    from patrolcast.governance.values import Area

    boxes = _boxes()
    # one box straddling both: both codes are added even if only one was given
    a = Area.from_bbox(900, 0, 1100, 500, ("E09000001",), crs="EPSG:27700", within=boxes)
    assert a.boroughs == ("E09000001", "E09000002")
    assert Area.from_bbox(1100, 0, 1500, 500, within=boxes).boroughs == ("E09000002",)
    # a borough given that the area does not overlap is kept (the officer said so), not dropped
    assert Area.from_bbox(100, 0, 500, 500, ("E09000002",), within=boxes).boroughs == (
        "E09000001",
        "E09000002",
    )
    # a code the list does not know, or one given in free text, is refused without echo
    assert _refusal(lambda: Area.from_bbox(100, 0, 500, 500, ("E09000009",), within=boxes)) == (
        "area borough code E09000009 is not a known borough of test.gpkg"
    )
    unnamed = BoroughList(codes=boxes.codes, names=boxes.names, geometries=boxes.geometries)
    assert _refusal(lambda: Area.from_bbox(100, 0, 500, 500, ("E09000009",), within=unnamed)) == (
        "area borough code E09000009 is not a known borough"
    )
    assert _refusal(lambda: Area.from_bbox(1900, 0, 2100, 500, within=unnamed)) == (
        "area lies (partly) outside the known boroughs"
    )
    # a list without polygons cannot place an area
    assert _refusal(
        lambda: Area.from_bbox(
            100,
            0,
            500,
            500,
            ("E09000001",),
            within=BoroughList(codes=("E09000001",), names=("City",)),
        )
    ) == ("this borough list has no polygons: give every borough code")


def test_borough_overlap_and_cover_edges() -> None:
    import shapely

    b = _boxes()
    # half a square metre in each borough is still an overlap of both
    assert b.intersecting(shapely.box(999.5, 0, 1000.5, 1), "EPSG:27700") == (
        "E09000001",
        "E09000002",
    )
    # exactly the tolerance outside is covered; one square metre more is not
    assert b.covers(shapely.box(0, 0, 2001, 1000), "EPSG:27700", tolerance_m2=1000.0)
    assert not b.covers(shapely.box(0, 0, 2001, 1000), "EPSG:27700", tolerance_m2=999.0)
    assert b.covers(shapely.box(0, 0, 2000, 1000.001), "EPSG:27700", tolerance_m2=2.0)
    assert not b.covers(shapely.box(0, 0, 2000, 1000.001), "EPSG:27700")  # 2 m2 > default 1
    assert not b.covers(shapely.box(5000, 0, 5100, 100), "EPSG:27700")
    assert b.intersecting(shapely.box(5000, 0, 5100, 100), "EPSG:27700") == ()
    with pytest.raises(InputError, match="^this borough list has no polygons: give every"):
        BoroughList(codes=("E09000001",), names=("City",)).covers(
            shapely.box(0, 0, 1, 1), "EPSG:27700"
        )


def test_a_borough_list_is_read_from_a_boundary_file(tmp_path: Path) -> None:
    import geopandas as gpd
    import pandas as pd
    import shapely

    from patrolcast.governance.places import load_borough_list

    path = tmp_path / "my_boroughs.gpkg"
    gpd.GeoDataFrame(
        pd.DataFrame({"code": ["E09000002", "E09000001"], "name": ["Barking", "City"]}),
        geometry=[
            shapely.box(531000, 180000, 532000, 181000),
            shapely.box(530000, 180000, 531000, 181000),
        ],
        crs="EPSG:27700",
    ).to_file(path, driver="GPKG")
    b = load_borough_list(path)
    assert (b.codes, b.names, b.crs, b.source) == (
        ("E09000001", "E09000002"),
        ("City", "Barking"),
        "EPSG:27700",
        "my_boroughs.gpkg",
    )
    assert [round(g.area) for g in b.geometries] == [1_000_000, 1_000_000]
    assert load_borough_list(str(path)) is b  # read once
    assert b.intersecting(shapely.box(530900, 180100, 531100, 180200), "EPSG:27700") == (
        "E09000001",
        "E09000002",
    )


def test_a_snapshot_keeps_its_instant_in_utc_and_a_denial_stays_audited(tmp_path: Path) -> None:
    from patrolcast.governance.models import ForecastSnapshot

    world = make_world(sqlite_url(tmp_path))
    digest = "0123456789abcdef" * 4
    with world.session() as s:
        made = datetime(2026, 6, 1, 9, tzinfo=ZoneInfo("Europe/London"))
        rec = record_snapshot(
            s,
            method="etas",
            params={"mu": 0.5},
            created_at=made,
            digest=digest,
            actor="IAN",
            clock=world.clock,
        )
        assert rec.created_at == datetime(2026, 6, 1, 8, tzinfo=UTC)
        assert rec.created_at.utcoffset() == timedelta(0)
        assert (rec.uri, rec.digest, rec.method) == ("", digest, "etas")
        row = s.get(ForecastSnapshot, rec.id)
        assert row is not None and row.recorded_at.replace(tzinfo=UTC) == T0
        with pytest.raises(InputError, match="has no zone"):
            record_snapshot(
                s,
                method="etas",
                params={},
                created_at=datetime(2026, 6, 1),
                digest=digest,
                clock=world.clock,
            )
        with pytest.raises(PermissionDenied):
            record_snapshot(
                s,
                method="etas",
                params={},
                created_at=T0,
                digest=digest,
                actor="tfc",
                clock=world.clock,
            )
    with world.session() as s:  # the denial was committed, the refused snapshot was not
        last = audit.read_entries(s)[-1]
        assert (last.actor, last.outcome, last.detail_dict["rule"]) == ("tfc", "denied", "role")
        assert last.recorded_at == T0.isoformat(timespec="microseconds")  # the clock's time
        assert get_snapshot(s, rec.id).created_at.replace(tzinfo=UTC) == datetime(
            2026, 6, 1, 8, tzinfo=UTC
        )
        with pytest.raises(InputError, match=f"^no forecast snapshot #{rec.id + 1}$"):
            get_snapshot(s, rec.id + 1)
    world.db.dispose()


def test_the_system_clock_is_aware_utc_now() -> None:
    from patrolcast.governance.clock import SystemClock

    before = datetime.now(UTC)
    now = SystemClock().now()
    after = datetime.now(UTC)
    assert now.tzinfo is UTC and before <= now <= after


def test_a_time_needs_a_zone_that_gives_an_offset() -> None:
    from datetime import tzinfo

    class NoOffset(tzinfo):
        def utcoffset(self, dt: datetime | None) -> timedelta | None:
            return None

    assert str(_refusal(lambda: as_utc(datetime(2026, 6, 1, 12, 30)))) == (
        "time 2026-06-01T12:30:00 has no zone: give a UTC offset"
    )
    assert _refusal(lambda: as_utc(datetime(2026, 6, 1, 12, tzinfo=NoOffset()))).endswith(
        "has no zone: give a UTC offset"
    )
    paris = datetime(2026, 1, 1, 1, tzinfo=ZoneInfo("Europe/Paris"))
    assert as_utc(paris) == datetime(2026, 1, 1, 0, tzinfo=UTC) and as_utc(paris).tzinfo is UTC
    assert format_local(datetime(2026, 1, 1, 0, 0, tzinfo=UTC)) == "2026-01-01T00:00+00:00"
    assert format_local(paris, zone="Asia/Tokyo") == "2026-01-01T09:00+09:00"
    with pytest.raises(InputError, match="has no zone"):
        format_local(datetime(2026, 1, 1))
    assert elapsed_hours(paris, datetime(2026, 1, 1, 1, 30, tzinfo=UTC)) == 1.5
    assert elapsed_hours(datetime(2026, 1, 1, 1, 30, tzinfo=UTC), paris) == -1.5
    c = FixedClock(paris)
    assert c.now().tzinfo is UTC and c.advance(timedelta(hours=1)) == datetime(
        2026, 1, 1, 1, tzinfo=UTC
    )
    assert c.now() == datetime(2026, 1, 1, 1, tzinfo=UTC)
    with pytest.raises(InputError, match="^a clock cannot go backwards$"):
        c.advance(-timedelta(microseconds=1))
    assert c.now() == datetime(2026, 1, 1, 1, tzinfo=UTC)  # a refused move does not move it


def test_an_area_keeps_full_precision_and_refuses_coordinates_no_grid_can_place() -> None:
    from patrolcast.governance.values import Area

    fine = "POLYGON((530000.1234567 180000,530100 180000,530100 180100,530000.1234567 180000))"
    assert Area(wkt=fine, boroughs=("E09000001",)).wkt == (
        "POLYGON ((530000.1234567 180000, 530100 180000, 530100 180100, 530000.1234567 180000))"
    )
    # coordinates far outside the projection's domain are an InputError, not a PROJ error
    for far in (1e9, 1e12):
        huge = f"POLYGON((0 0,{far!r} 0,{far!r} {far!r},0 {far!r},0 0))"
        assert _refusal(lambda huge=huge: Area(wkt=huge, boroughs=("E09000001",))).startswith(
            "area lies outside the area of use of EPSG:27700"
        )


def test_a_borough_file_is_read_again_when_it_changes_and_in_the_crs_asked(
    tmp_path: Path,
) -> None:
    import os

    import geopandas as gpd
    import pandas as pd
    import shapely

    from patrolcast.governance.places import load_borough_list

    path = tmp_path / "boroughs.gpkg"

    def write(codes: list[str], mtime: int) -> None:
        boxes = [
            shapely.box(530000 + 1000 * i, 180000, 531000 + 1000 * i, 181000)
            for i in range(len(codes))
        ]
        gpd.GeoDataFrame(
            pd.DataFrame({"code": codes, "name": [f"B{c}" for c in codes]}),
            geometry=boxes,
            crs="EPSG:27700",
        ).to_file(path, driver="GPKG")
        os.utime(path, ns=(mtime, mtime))

    write(["E09000001"], 1_700_000_000_000_000_000)
    assert load_borough_list(path).codes == ("E09000001",)
    write(["E09000001", "E09000007"], 1_700_000_100_000_000_000)
    again = load_borough_list(path)
    assert again.codes == ("E09000001", "E09000007") and again.name_of("E09000007") == "BE09000007"
    mercator = load_borough_list(path, crs="EPSG:3857")
    assert mercator.crs == "EPSG:3857"
    assert -20_000 < mercator.geometries[0].centroid.x < 0  # metres west of Greenwich, not BNG


def _on_the_edge(crs: str, axis: int, target: float, fixed: float, near: float) -> float:
    """The grid coordinate (x when ``axis`` is 0, else y; the other is ``fixed``) whose longitude
    (axis 0) or latitude (axis 1), by the transformation the area-of-use check uses, is exactly
    ``target``: found by bisection over the floats."""
    import numpy as np
    from pyproj import Transformer

    to = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def degrees(v: float) -> float:
        x, y = (v, fixed) if axis == 0 else (fixed, v)
        out = to.transform(np.array([x]), np.array([y]), errcheck=False)
        return float(out[axis][0])

    lo, hi = near - 5000.0, near + 5000.0
    rising = degrees(hi) > degrees(lo)
    while (mid := (lo + hi) / 2) not in (lo, hi):
        if (degrees(mid) < target) == rising:
            lo = mid
        else:
            hi = mid
    exact = [v for v in (lo, hi) if degrees(v) == target]
    assert exact, (crs, axis, target)
    return exact[0]


def test_a_vertex_exactly_on_the_slack_edge_of_the_area_of_use_is_inside() -> None:
    from pyproj import CRS, Transformer

    from patrolcast.governance.values import Area

    use = CRS.from_user_input("EPSG:27700").area_of_use
    assert use is not None
    to = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    for axis, target, (lon, lat), inward in (
        (0, use.west - 0.01, (-9.02, 55.0), (1.0, 0.0)),
        (0, use.east + 0.01, (2.02, 52.0), (-1.0, 0.0)),
        (1, use.south - 0.01, (-1.0, 49.74), (0.0, 1.0)),
        (1, use.north + 0.01, (-1.0, 61.02), (0.0, -1.0)),
    ):
        x, y = to.transform(lon, lat)
        fixed, near = (y, x) if axis == 0 else (x, y)
        v = _on_the_edge("EPSG:27700", axis, target, fixed, near)
        apex = (v, fixed) if axis == 0 else (fixed, v)
        assert Area(wkt=_triangle(apex, inward), boroughs=("E09000001",)).area_m2 == 20_000.0
    # the same across the antimeridian: EPSG:3832's eastern edge, 68 W (+ 0.01)
    use = CRS.from_user_input("EPSG:3832").area_of_use
    assert use is not None and use.west > use.east
    to = Transformer.from_crs("EPSG:4326", "EPSG:3832", always_xy=True)
    for target, lon in ((use.east + 0.01, -67.99), (use.west - 0.01, 98.68)):
        x, y = to.transform(lon, 0.0)
        v = _on_the_edge("EPSG:3832", 0, target, y, x)
        inward = (-1.0, 0.0) if lon < 0 else (1.0, 0.0)
        assert (
            Area(wkt=_triangle((v, y), inward), boroughs=("E09000001",), crs="EPSG:3832").area_m2
            > 19_000
        )


def test_borough_list_refusals_word_for_word() -> None:
    import shapely

    gss = (
        "must be a GSS code: a letter E, W, S or N and 8 digits (e.g. E09000033); the text "
        "given is not repeated here"
    )
    box = shapely.box(0, 0, 1, 1)
    for make, message in (
        (
            lambda: BoroughList(codes=("E09000001",), names=()),
            "a borough list needs one name per code",
        ),
        (
            lambda: BoroughList(codes=("E09000001",), names=("A",), geometries=(box, box)),
            "a borough list needs one polygon per code (or none)",
        ),
        (
            lambda: BoroughList(codes=("E09000001", "E09000001"), names=("A", "B")),
            "a borough list's codes must be unique",
        ),
        (lambda: BoroughList(codes=("Camden",), names=("A",)), f"a borough list's code {gss}"),
        (lambda: borough_code("Camden"), f"borough code {gss}"),
        (lambda: _boxes().require("nowhere", what="consulted borough"), f"consulted borough {gss}"),
        (
            lambda: _boxes().name_of("E09000009"),
            "borough code E09000009 is not a known borough of test.gpkg",
        ),
        (
            lambda: BoroughList(codes=("E09000001",), names=("A",)).covers(box, "EPSG:27700"),
            "this borough list has no polygons: give every borough code",
        ),
    ):
        assert _refusal(make) == message
    # a list with one polygon per code, or with none, is fine
    assert len(BoroughList(codes=("E09000001",), names=("A",), geometries=(box,))) == 1
    assert BoroughList(codes=(), names=()).codes == ()
