"""The whole lifecycle through the API, each step by a different signed-in person."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from tests.api.world import ApiWorld, authorisation_body, proposal_body


def _snapshot(api: ApiWorld) -> int:
    r = api.as_("ana").post("/api/snapshots", json={
        "method": "kde", "digest": "ab" * 32,
        "created_at": (api.clock.now() - timedelta(hours=1)).isoformat(),
    })
    assert r.status_code == 200, r.text
    return int(r.json()["id"])


ASSESSMENT = {
    "description": "Armed foot patrol, 6 hours, around the junction of two streets.",
    "geography": "Mixed residential and shops; a school and a mosque nearby.",
    "likely_effect": "Visible armed officers may raise fear; short duration limits it.",
    "proportionality": "Two stabbings in 12 hours; unarmed patrol considered first.",
    "tension_indicators": "No recent protests; youth club reports unease.",
    "objectives": ["reduce harm", "reduce fear of crime"],
    "objectives_detail": "Prevent a retaliatory attack tonight.",
    "equality_eliminate_discrimination": "Patrol tasked by place, not by person.",
    "equality_advance_opportunity": "Youth club kept open with neighbourhood officers.",
    "equality_good_relations": "Independent advisory group briefed before and after.",
    "consultation_group": "Independent advisory group for the borough.",
    "consultation_response": "Supportive if short and explained to residents.",
    "mitigations": "Neighbourhood officers accompany; leaflets explain the patrol.",
    "communication_plan": "Public notice on the force website and social media.",
    "owner": "Borough community engagement team",
    "review_date": "2026-06-08",
}


def consulted(api: ApiWorld) -> int:
    snap = _snapshot(api)
    r = api.as_("ana").post("/api/proposals", json=proposal_body(snapshot_id=snap))
    assert r.status_code == 200, r.text
    pid = r.json()["proposal_id"]
    assert r.json()["to_state"] == "submitted"
    r = api.as_("cat").post(f"/api/proposals/{pid}/assess", json={"assessment": ASSESSMENT})
    assert r.status_code == 200, r.text
    for who, borough in (("bob1", "E09000001"), ("bob2", "E09000002")):
        r = api.as_(who).post(f"/api/proposals/{pid}/consult", json={
            "borough": borough, "position": "support", "reasons": "Agreed; notify IAG."})
        assert r.status_code == 200, r.text
    assert r.json()["to_state"] == "consulted"
    return int(pid)


def test_five_people_take_a_proposal_to_authorised_and_it_expires(api: ApiWorld) -> None:
    pid = consulted(api)
    # Authorise needs a fresh re-authentication: refused (and audited) without one.
    r = api.as_("acc1").post(f"/api/proposals/{pid}/authorise", json=authorisation_body(api))
    assert r.status_code == 401 and r.json()["code"] == "reauth-required"
    assert api.audit_tail(1) == [("acc1", "authorise", "denied")]
    api.reauth("acc1")
    r = api.as_("acc1").post(f"/api/proposals/{pid}/authorise", json=authorisation_body(api))
    assert r.status_code == 200, r.text
    assert r.json()["to_state"] == "authorised"
    # The re-authentication window was used up by that decision.
    r = api.as_("acc1").post(f"/api/proposals/{pid}/extend", json={
        "reasons": "More time.", "hours": 1, "ndm": authorisation_body(api)["ndm"]})
    assert r.status_code == 401 and r.json()["code"] == "reauth-required"
    shown = api.as_("aud").get(f"/api/proposals/{pid}").json()
    assert shown["state"] == "active"
    api.clock.advance(timedelta(hours=7))
    assert api.as_("aud").get(f"/api/proposals/{pid}").json()["state"] == "expired"
    # The record names who did each step, from their sign-in, never from a typed name.
    with api.ctx.db.session() as s:
        done = s.execute(text(
            "select actor, action from audit_log where outcome='done' and target_type='proposal'"
            " order by seq")).all()
    assert [tuple(d) for d in done] == [
        ("ana", "propose"), ("ana", "submit"), ("cat", "assessment_record"), ("cat", "assess"),
        ("bob1", "consult"),
        ("bob2", "consult"), ("acc1", "authorise"),
    ]


def test_the_proposer_cannot_authorise_or_assess_their_own(api: ApiWorld) -> None:
    pid = consulted(api)
    # ana is an analyst: even a re-authenticated request to authorise is refused by the rules.
    r = api.as_("ana").post(f"/api/proposals/{pid}/authorise", json=authorisation_body(api))
    assert r.status_code in (401, 403)
    assert api.as_("ana").get(f"/api/proposals/{pid}").json()["state"] == "consulted"


def test_propose_and_submit_are_one_step_a_refused_submit_leaves_no_draft(api: ApiWorld) -> None:
    # No forecast snapshot: submission is refused, and no draft is left behind.
    r = api.as_("ana").post("/api/proposals", json=proposal_body())
    assert r.status_code == 403 and r.json()["rule"] == "forecast-snapshot"
    with api.ctx.db.session() as s:
        assert s.execute(text("select count(*) from proposals")).scalar_one() == 0
        detail = s.execute(text(
            "select detail from audit_log order by seq desc limit 1")).scalar_one()
    assert '"rolled_back":true' in detail


def test_a_wrong_role_is_refused_and_audited(api: ApiWorld) -> None:
    r = api.as_("ana").post("/api/users", json={"username": "eve", "roles": ["administrator"]})
    assert r.status_code == 403
    assert api.audit_tail(1) == [("ana", "user_add", "denied")]
    r = api.as_("cat").post("/api/intel/purge")
    assert r.status_code == 403


def test_no_request_without_a_sign_in_reaches_an_action(api_sqlite: ApiWorld) -> None:
    from patrolcast.app.actions import ACTIONS

    anonymous = api_sqlite.anonymous()
    for spec in ACTIONS:
        path = spec.path.format(proposal_id=1, username="ana", name="armed-foot-patrol")
        r = anonymous.request(spec.method, path, json={} if spec.method != "GET" else None)
        assert r.status_code in (401, 422), (spec.name, r.status_code)
        if r.status_code == 422:  # a malformed body is refused before anything else runs
            r = anonymous.request(spec.method, path)
            assert r.status_code in (401, 422)
    with api_sqlite.ctx.db.session() as s:
        assert s.execute(text("select count(*) from proposals")).scalar_one() == 0
