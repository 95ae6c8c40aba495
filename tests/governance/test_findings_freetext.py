"""Finding: personal data in governance free text, and denials that copied the user's text."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from patrolcast.errors import InputError
from patrolcast.governance import audit, service
from patrolcast.governance.states import Refused, State
from patrolcast.governance.values import (
    MAX_TEXT_CHARS,
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
from patrolcast.privacy import PersonalDataRefused
from tests.governance.helpers import World, authorisation, details, ndm, walk_to

PERSONAL = "Mr John Smith lives at 12 Acacia Avenue, phone 07700 900123"


def _builders(world: World) -> dict[str, Any]:
    now = world.clock.now()
    auth = authorisation(world)
    return {
        "incident place": lambda t: Trigger(
            kind="incident", offence="serious_assault", occurred_at=now, place=t
        ),
        "NDM heading": lambda t: NDMRationale(**{**ndm().to_dict(), "code_of_ethics": t}),
        "consultation reasons": lambda t: ConsultationDetails("E09000001", "support", t),
        "reasons for authorising": lambda t: replace(auth, reasons=t),
        "public notice": lambda t: replace(auth, public_notice=t),
        "response to the objection": lambda t: replace(auth, objection_response=t),
        "reasons for refusing": RefusalDetails,
        "reasons for extending": lambda t: ExtensionDetails(now + timedelta(hours=1), t),
        "grounds for cancelling": CancellationDetails,
        "debrief summary": lambda t: DebriefDetails(t, "Signed."),
        "debrief sign-off": lambda t: DebriefDetails("Quiet.", t),
        "review findings": ReviewDetails,
    }


def test_every_free_text_field_refuses_personal_data(world: World) -> None:
    for field, build in _builders(world).items():
        with pytest.raises(PersonalDataRefused) as err:
            build(PERSONAL)
        assert "07700 900123" not in str(err.value), field  # masked, never repeated
        build("Proportionate; two stabbings nearby in 12 h.")  # ordinary text passes


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("ok\x1b[2J", "control characters"),
        ("ok\u202eevil", "control characters"),
        ("x" * (MAX_TEXT_CHARS + 1), "longer than"),
        ("   ", "mandatory"),
    ],
)
def test_free_text_bounds(world: World, text: str, words: str) -> None:
    for field, build in _builders(world).items():
        if field in ("public notice", "response to the objection") and not text.strip():
            continue  # optional fields: blank means none
        with pytest.raises(InputError, match=words):
            build(text)


def test_line_breaks_and_tabs_are_allowed(world: World) -> None:
    RefusalDetails("First point.\nSecond point:\tdetail.")


def test_denials_never_copy_the_users_text(world: World) -> None:
    """An offence name that is typed text is refused by the minimum trigger without quoting
    it, and a commander name that is not a user is refused without echoing free text."""
    base = details(world)
    typed = "jane_smith_born_1990"
    d = replace(base, trigger=replace(base.trigger, offence=typed))
    with world.session() as s:
        pid = service.propose(s, actor="ana", clock=world.clock, details=d).proposal_id
        with pytest.raises(Refused) as err:
            service.submit(s, actor="ana", clock=world.clock, proposal_id=pid)
        assert err.value.rule == "minimum-trigger"
        assert typed not in err.value.reason
        last = audit.read_entries(s)[-1]
        assert last.outcome == "denied" and typed not in last.detail
    pid = walk_to(world, State.CONSULTED, offset=3000.0)
    with pytest.raises(InputError, match="tactical commander must be"):
        replace(authorisation(world), tactical_commander=PERSONAL)
    with world.session() as s:
        entries = audit.read_entries(s)
    assert not any("Acacia" in e.detail or "07700" in e.detail for e in entries)
    del pid


def test_authorisation_details_need_an_ndm_rationale(world: World) -> None:
    now = world.clock.now()
    with pytest.raises(InputError, match="NDM"):
        AuthorisationDetails(
            start=now,
            end=now + timedelta(hours=1),
            reasons="Grounds met.",
            ndm={"code_of_ethics": "x"},  # type: ignore[arg-type]
        )


def test_windows_and_old_mac_line_breaks_are_line_breaks() -> None:
    """Text pasted from a Windows tool or sent by an API client arrives with \\r\\n: it is a
    line break like any other (stored as \\n), not a control character to refuse."""
    assert RefusalDetails("First line.\r\nSecond line.\r\n").reasons == "First line.\nSecond line."
    assert RefusalDetails("One.\rTwo.").reasons == "One.\nTwo."
    assert RefusalDetails("a\r\n\r\nb").reasons == "a\n\nb"
    with pytest.raises(InputError, match="only line breaks and tabs"):
        RefusalDetails("a\r\x0bb")  # other controls are still refused
    with pytest.raises(InputError, match="mandatory"):
        RefusalDetails("\r\n\r")  # line breaks alone are empty text


def test_ndm_headings_are_stored_as_checked() -> None:
    """Every other free-text field stores the checked text; the NDM headings did not (a
    heading typed with a Windows line break or surrounding spaces was kept as typed)."""
    rationale = NDMRationale(*[" first\r\nsecond  "] * 6)
    assert rationale.to_dict() == dict.fromkeys(rationale.to_dict(), "first\nsecond")
    assert NDMRationale.from_mapping(
        {k: f"  {k} reason\r" for k in ndm().to_dict()}
    ).to_dict() == {k: f"{k} reason" for k in ndm().to_dict()}
