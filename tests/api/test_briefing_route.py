"""The proposal briefing pack through the real API: who may download it, what it says."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.api.test_journey import consulted
from tests.api.world import PEOPLE, ApiWorld, authorisation_body

HOSTILE = '<img src=x onerror="alert(1)"> & </td></table><h1>forged</h1>'


def _text(content: bytes) -> tuple[int, str]:
    reader = PdfReader(BytesIO(content))
    text = " ".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), " ".join(text.split())


@pytest.fixture()
def marking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    settings = tmp_path / "settings.toml"
    settings.write_text('[organisation]\nprotective_marking = "OFFICIAL - SENSITIVE [BRIEF]"\n')
    monkeypatch.setenv("PATROLCAST_CONFIG", str(settings))
    return "OFFICIAL - SENSITIVE [BRIEF]"


def _authorised(api: ApiWorld) -> int:
    pid = consulted(api)
    api.reauth("acc1")
    body = authorisation_body(api, reasons=f"Grounds met; proportionate. {HOSTILE}")
    r = api.as_("acc1").post(f"/api/proposals/{pid}/authorise", json=body)
    assert r.status_code == 200, r.text
    return pid


def test_the_pack_holds_the_record_and_the_marking(api: ApiWorld, marking: str) -> None:
    pid = _authorised(api)
    r = api.as_("aud").get(f"/api/proposals/{pid}/briefing")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == (
        f'attachment; filename="proposal-{pid}-briefing.pdf"'
    )
    pages, text = _text(r.content)
    assert len(PdfReader(BytesIO(r.content)).pages[0].images) == 1  # the place map, embedded
    assert text.count(marking) == 2 * pages  # top and bottom of every page
    assert f"Deployment proposal #{pid}" in text
    assert "Example Road" in text and "serious_assault" in text  # the trigger
    assert "E09000001, E09000002" in text  # the boroughs of the place
    assert "Mon 01 Jun 2026" in text  # the window, in London time
    assert "#1, recorded" in text and "ab" * 32 in text  # the evidence snapshot
    assert "Neighbourhood officers accompany" in text  # the impact assessment
    assert "reduce harm, reduce fear of crime" in text
    assert text.count("Agreed; notify IAG.") == 2  # both consultations
    assert "Authorise by acc1 (assistant chief constable)" in text  # the decision so far
    assert "Tactical commander: tfc" in text and "Strategic commander: sfc" in text
    assert "Notice: armed patrols in the area tonight." in text  # a condition
    assert text.count("Two stabbings within 300 m in 12 h") == 2  # proposer's and decision's NDM
    assert "Threat, risk and working strategy" in text
    assert " ".join(HOSTILE.split()) in text  # printed as typed: escaped, never markup


def _same_rule_as_the_proposal_view(api: ApiWorld, people: list[str]) -> list[str]:
    """Each person gets the pack exactly when they may read the proposal; the refused."""
    pid = consulted(api)
    refused = []
    for person in people:
        shown = api.as_(person).get(f"/api/proposals/{pid}")
        pack = api.as_(person).get(f"/api/proposals/{pid}/briefing")
        assert pack.status_code == shown.status_code, (person, pack.text)  # one read rule
        if pack.status_code == 403:
            refused.append(person)
            assert pack.json()["code"] == "refused" and "may not read" in pack.json()["error"]
            assert api.audit_tail(1) == [(person, "read", "denied")]
        else:
            assert pack.status_code == 200 and pack.content.startswith(b"%PDF-")
            assert api.audit_tail(1) == [(person, "read", "read")]  # an audited read
    assert api.anonymous().get(f"/api/proposals/{pid}/briefing").status_code == 401
    assert api.as_("aud").get("/api/proposals/999/briefing").status_code == 400
    return refused


def test_only_those_who_may_read_the_proposal_get_its_pack(api: ApiWorld) -> None:
    refused = _same_rule_as_the_proposal_view(api, ["ana", "aud", "ian", "tfc"])
    assert "ian" in refused  # an intelligence officer with no part in this proposal
    assert "aud" not in refused and "ana" not in refused


@pytest.mark.slow
def test_everyone_gets_the_pack_exactly_when_they_may_read_the_proposal(api: ApiWorld) -> None:
    refused = _same_rule_as_the_proposal_view(api, ["admin", *PEOPLE])
    assert refused and "admin" not in refused


def test_the_pack_says_what_is_missing(api_sqlite: ApiWorld) -> None:
    from tests.api.world import proposal_body

    r = api_sqlite.as_("ana").post("/api/proposals", json=proposal_body(draft=True))
    assert r.status_code == 200, r.text
    pid = r.json()["proposal_id"]
    r = api_sqlite.as_("ana").get(f"/api/proposals/{pid}/briefing")
    assert r.status_code == 200, r.text
    _, text = _text(r.content)
    assert "No forecast snapshot is attached to this proposal." in text
    assert "No community impact assessment has been recorded." in text
    assert "No borough commander has responded yet." in text
    assert "No decision has been made yet." in text
    assert "OFFICIAL - SENSITIVE" in text  # the default marking when none is set


@pytest.mark.realdata
def test_the_place_names_its_boroughs(shared_data: Path, tmp_path: Path) -> None:
    from tests.api.world import make_api_world, proposal_body
    from tests.conftest import require

    boroughs = require(shared_data / "boundaries" / "london_boroughs.gpkg")
    world = make_api_world(
        f"sqlite:///{tmp_path / 'gov.db'}", tmp_path / "keys", boroughs_path=boroughs
    )
    try:
        r = world.as_("ana").post("/api/proposals", json=proposal_body(draft=True))
        assert r.status_code == 200, r.text
        pack = world.as_("ana").get(f"/api/proposals/{r.json()['proposal_id']}/briefing")
        assert pack.status_code == 200, pack.text
        _, text = _text(pack.content)
        # the two given, and Westminster, which the area touches (added by the server)
        assert "City of London (E09000001)" in text and "Westminster (E09000033)" in text
    finally:
        world.ctx.db.dispose()
