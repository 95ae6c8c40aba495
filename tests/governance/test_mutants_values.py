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
                record_snapshot(s, method="kde", params={}, created_at=T0, digest=digest,
                                actor=actor, clock=clock)
            last = audit.read_entries(s)[-1]
            assert (last.actor, last.action, last.target_type, last.target_id, last.outcome) == (
                actor, "snapshot_record", "snapshot", "new", "denied")
            assert last.detail_dict == {
                "rule": rule,
                "reason": "recording a forecast snapshot needs the role analyst or "
                          "intelligence_officer",
            }
        rec = record_snapshot(s, method=" kde ", params={"bandwidth": 150},
                              created_at=T0 - timedelta(hours=1), digest="sha256:" + digest,
                              uri="file:///x", actor="ana", clock=clock)
        last = audit.read_entries(s)[-1]
    assert (rec.method, rec.digest, rec.params, rec.uri) == (
        "kde", "sha256:" + digest.lower(), {"bandwidth": 150}, "file:///x")
    assert rec.created_at == T0 - timedelta(hours=1)
    assert (last.actor, last.action, last.target_id, last.outcome, last.recorded_at) == (
        "ana", "snapshot_record", str(rec.id), "done", T0.isoformat(timespec="microseconds"))
    assert {k: last.detail_dict[k] for k in ("method", "digest")} == {
        "method": "kde", "digest": "sha256:" + digest.lower()}
    assert rec.to_dict() == {"id": rec.id, "method": "kde", "params": {"bandwidth": 150},
                             "created_at": (T0 - timedelta(hours=1)).isoformat(),
                             "digest": "sha256:" + digest.lower(), "uri": "file:///x"}
    with world.session() as s:
        assert get_snapshot(s, rec.id) == rec
        with pytest.raises(InputError, match="no forecast snapshot #999"):
            get_snapshot(s, 999)
        with pytest.raises(InputError, match="method is empty"):
            record_snapshot(s, method="  ", params={}, created_at=T0, digest=digest, clock=clock)
        for bad in ("ab" * 31, "ab" * 32 + "0", "sha1:" + "ab" * 32, "zz" * 32):
            with pytest.raises(InputError, match="must be a SHA-256"):
                record_snapshot(s, method="kde", params={}, created_at=T0, digest=bad,
                                clock=clock)
        pipeline = record_snapshot(s, method="kde", params={}, created_at=T0, digest=digest,
                                   clock=clock)
        assert audit.read_entries(s)[-1].actor == "system" and pipeline.id > rec.id
    world.db.dispose()


# --- borough lists ------------------------------------------------------------------------------


def _boxes() -> BoroughList:
    import shapely

    return BoroughList(
        codes=("E09000001", "E09000002"), names=("City", "Barking"),
        geometries=(shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000)),
        source="test.gpkg",
    )


def test_a_borough_list_checks_its_codes_names_and_polygons() -> None:
    import shapely

    with pytest.raises(InputError, match="one name per code"):
        BoroughList(codes=("E09000001",), names=())
    with pytest.raises(InputError, match="one polygon per code"):
        BoroughList(codes=("E09000001",), names=("City",), geometries=(shapely.box(0, 0, 1, 1),
                                                                       shapely.box(0, 0, 1, 1)))
    with pytest.raises(InputError, match="codes must be unique"):
        BoroughList(codes=("E09000001", "E09000001"), names=("A", "B"))
    with pytest.raises(InputError, match="a borough list's code must be a GSS code"):
        BoroughList(codes=("City",), names=("City",))
    b = _boxes()
    assert len(b) == 2 and list(b) == ["E09000001", "E09000002"]
    assert "E09000002" in b and "E09000003" not in b and 9000001 not in b
    assert b.name_of(" e09000002 ") == "Barking"
    with pytest.raises(InputError, match=r"^area code E09000003 is not a known borough of "
                                         r"test\.gpkg$"):
        b.require("E09000003", what="area code")
    with pytest.raises(InputError, match=r"^borough code E09000003 is not a known borough$"):
        BoroughList(codes=("E09000001",), names=("City",)).require("E09000003")


def test_a_borough_list_finds_the_boroughs_an_area_overlaps() -> None:
    import shapely

    b = _boxes()
    assert b.intersecting(shapely.box(500, 0, 900, 500), "EPSG:27700") == ("E09000001",)
    assert b.intersecting(shapely.box(900, 0, 1100, 500), "EPSG:27700") == (
        "E09000001", "E09000002")
    # touching along an edge is no overlap
    assert b.intersecting(shapely.box(1000, 0, 1500, 500), "EPSG:27700") == ("E09000002",)
    assert boroughs_intersecting("POLYGON((1500 0,1600 0,1600 10,1500 10,1500 0))",
                                 "EPSG:27700", b) == ("E09000002",)
    assert b.covers(shapely.box(0, 0, 2000, 1000), "EPSG:27700")
    assert b.covers(shapely.box(0, 0, 2000, 1000.0005), "EPSG:27700")  # 1 m2 at most outside
    assert not b.covers(shapely.box(0, 0, 2000, 1000.01), "EPSG:27700")
    assert b.covers(shapely.box(0, 0, 2000, 1000.01), "EPSG:27700", tolerance_m2=30.0)
    with pytest.raises(InputError, match="has no polygons"):
        BoroughList(codes=("E09000001",), names=("City",)).intersecting(
            shapely.box(0, 0, 1, 1), "EPSG:27700")


def test_a_borough_list_reads_an_area_given_in_another_crs() -> None:
    import shapely
    from pyproj import Transformer

    b = BoroughList(codes=("E09000001",), names=("City",),
                    geometries=(shapely.box(530000, 180000, 531000, 181000),))
    to = Transformer.from_crs("EPSG:27700", "EPSG:3857", always_xy=True)
    x0, y0 = to.transform(530100, 180100)
    x1, y1 = to.transform(530200, 180200)
    assert b.intersecting(shapely.box(x0, y0, x1, y1), "EPSG:3857") == ("E09000001",)
    assert b.covers(shapely.box(x0, y0, x1, y1), "EPSG:3857")


def test_an_area_in_longitude_latitude_is_read_x_first() -> None:
    import shapely
    from pyproj import Transformer

    b = BoroughList(codes=("E09000001",), names=("City",),
                    geometries=(shapely.box(530000, 180000, 531000, 181000),))
    to = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    lon0, lat0 = to.transform(530100, 180100)
    lon1, lat1 = to.transform(530200, 180200)
    area = shapely.box(lon0, lat0, lon1, lat1)  # WGS84 given longitude first, as WKT does
    assert b.intersecting(area, "EPSG:4326") == ("E09000001",)
    assert b.covers(area, "EPSG:4326")


def test_the_default_borough_file_is_londons_in_the_shared_data(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from patrolcast.governance.places import default_boroughs_path, load_borough_list

    monkeypatch.setenv("PATROLCAST_SHARED_DATA", str(tmp_path))
    assert default_boroughs_path() == tmp_path / "boundaries" / "london_boroughs.gpkg"
    missing = tmp_path / "nowhere.gpkg"
    with pytest.raises(InputError, match=r"^borough boundary file .*nowhere\.gpkg does not exist$"):
        load_borough_list(missing)
    with pytest.raises(InputError, match=r"^borough boundary file .*london_boroughs\.gpkg does "
                                         r"not exist$"):
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
    with pytest.raises(InputError, match=r"^2026-10-25T01:30 happens twice in Europe/London "
                                         r"\(clocks go back then\): add the offset, one of "
                                         r"\+00:00 or \+01:00$"):
        parse_time("2026-10-25T01:30")
    with pytest.raises(InputError, match=r"^2026-03-29T01:30 does not exist in Europe/London"):
        parse_time("2026-03-29T01:30")
    assert format_local(datetime(2026, 6, 1, 12, tzinfo=UTC)) == "2026-06-01T13:00+01:00"
    assert format_local(datetime(2026, 6, 1, 12, 0, 59, tzinfo=UTC), zone="UTC") == (
        "2026-06-01T12:00+00:00")
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
    a = AuthorisationDetails(start=T0, end=T0 + timedelta(hours=336), reasons=" Grounds. ",
                             ndm=ndm())  # exactly the 14-day limit is allowed
    assert a.reasons == "Grounds." and a.end - a.start == timedelta(hours=336)
    for make, field in (
        (lambda: Trigger(kind="incident", offence="x", occurred_at=T0, place="\x00"),
         "incident place"),
        (lambda: DebriefDetails("Summary.", "  "), "debrief sign-off"),
        (lambda: ReviewDetails(""), "review findings"),
        (lambda: AuthorisationDetails(start=T0, end=T0 + timedelta(hours=1), reasons="Grounds.",
                                      ndm=ndm(), public_notice="Notice\x00"), "public notice"),
        (lambda: AuthorisationDetails(start=T0, end=T0 + timedelta(hours=1), reasons="Grounds.",
                                      ndm=ndm(), objection_response="\x01"),
         "response to the objection"),
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
        (lambda: Trigger(kind="incident", offence="assault", occurred_at=T0),
         "an incident trigger needs the offence, the time and the place"),
        (lambda: Trigger(kind="intelligence", intelligence_item_id=5),
         "an intelligence trigger needs the item id and its grade (e.g. 1B)"),
        (lambda: ProposalDetails(trigger=None, area=area(), start=T0,  # type: ignore[arg-type]
                                 end=T0 + timedelta(hours=1), ndm=ndm()),
         "a proposal needs a Trigger and an Area"),
        (lambda: ProposalDetails(trigger=Trigger(kind="intelligence", intelligence_item_id=5,
                                                 grade="1B"), area=area(), start=T0,
                                 end=T0 + timedelta(hours=1), ndm=None),  # type: ignore[arg-type]
         "a proposal needs its NDM rationale"),
        (lambda: ConsultationDetails("E09000001", "maybe", "Reasons."),
         "consultation position must be 'support' or 'object'"),
        (lambda: ConsultationDetails("E09000001", "support", " "),
         "consultation reasons is mandatory and cannot be empty"),
        (lambda: RefusalDetails(""), "reasons for refusing is mandatory and cannot be empty"),
        (lambda: ExtensionDetails(new_end=T0, reasons=""),
         "reasons for extending is mandatory and cannot be empty"),
        (lambda: CancellationDetails(" "),
         "grounds for cancelling is mandatory and cannot be empty"),
        (lambda: DebriefDetails("Summary.", "Signed.", outcome=[]),  # type: ignore[arg-type]
         "the debrief outcome must be a mapping"),
        (lambda: RefusalDetails(5),  # type: ignore[arg-type]
         "reasons for refusing must be text"),
        (lambda: NDMRationale(**{**ndm().to_dict(), "powers_and_policy": " "}),
         "NDM heading 'powers_and_policy' is mandatory and cannot be empty"),
        (lambda: Trigger(kind="intelligence", intelligence_item_id=5, grade="4Z"),
         "intelligence grade: source 1-3 then assessment A-E, e.g. 1B"),
        (lambda: Area(wkt="POLYGON EMPTY", boroughs=("E09000001",)),
         "area must be a non-empty Polygon or MultiPolygon (WKT)"),
        (lambda: Area(wkt="POLYGON (EMPTY)", boroughs=("E09000001",)),
         "area must be a non-empty Polygon or MultiPolygon"),
        (lambda: Area.from_bbox(530000, 180000, 530500, 180500, ("City",)),
         "area borough code must be a GSS code: a letter E, W, S or N and 8 digits "
         "(e.g. E09000033); the text given is not repeated here"),
        (lambda: Area.from_bbox(530000, 180000, 530500, 180500, within=_boxes()),
         "area lies (partly) outside the known boroughs of test.gpkg"),
        (lambda: NDMRationale.from_mapping({"code_of_ethics": "x", "powers_and_policy": "y"}),
         "NDM rationale is missing heading(s): information_and_intelligence, "
         "threat_risk_and_strategy, options_and_contingencies, action_and_review"),
    )
    for make, message in cases:
        with pytest.raises(InputError) as err:
            make()
        assert str(err.value) == message
    world = make_world(sqlite_url(tmp_path))
    with world.session() as s, pytest.raises(InputError) as err:
        record_snapshot(s, method="kde", params={}, created_at=T0, digest="abc", actor="ana",
                        clock=world.clock)
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
    assert Trigger(kind="intelligence", intelligence_item_id=2**62 - 1,
                   grade="1b").intelligence_item_id == 2**62 - 1
    with pytest.raises(InputError, match="^the intelligence item id must be a positive whole"):
        Trigger(kind="intelligence", intelligence_item_id=2**62, grade="1B")
    p = ProposalDetails(trigger=Trigger(kind="intelligence", intelligence_item_id=5, grade="1B"),
                        area=area(), start=T0,
                        end=(T0 + timedelta(hours=6)).astimezone(ZoneInfo("Europe/London")),
                        ndm=ndm())
    assert p.end == T0 + timedelta(hours=6) and p.end.tzinfo is UTC  # kept as UTC
    a = AuthorisationDetails(start=T0, end=T0 + timedelta(hours=1), reasons="Grounds.",
                             ndm=ndm(), tactical_commander="  ", strategic_commander="",
                             public_notice=" Notice. ")
    assert (a.tactical_commander, a.strategic_commander, a.public_notice) == (
        None, None, "Notice.")
    assert DebriefDetails(" Summary. ", " Signed. ").sign_off == "Signed."
    within = BoroughList(codes=("E09000001",), names=("City",),
                         geometries=(shapely.box(530000, 180000, 531000, 181000),))
    assert Area.from_bbox(530100, 180100, 530200, 180200, within=within).boroughs == (
        "E09000001",)


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
