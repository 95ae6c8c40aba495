"""Guard tests written to kill surviving mutants (issue 15, scripts/mutation.sh
governance-rules): a refusal names its rule in the error and in the audit log, and a rank
refusal says which rank the officer holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from patrolcast.errors import PermissionDenied
from patrolcast.governance import audit, service
from patrolcast.governance.roles import Rank
from patrolcast.governance.states import State
from tests.governance.helpers import authorisation, make_world, sqlite_url, walk_to


def test_refusals_name_their_rule_and_the_officers_rank(tmp_path: Path) -> None:
    world = make_world(sqlite_url(tmp_path))
    pid = walk_to(world, State.CONSULTED)
    with world.session() as s, pytest.raises(PermissionDenied) as auditor:
        service.authorise(s, actor="aud", clock=world.clock, proposal_id=pid,
                          details=authorisation(world))  # fmt: skip
    with world.session() as s:
        last = audit.read_entries(s)[-1]
    assert (last.actor, last.outcome, last.detail_dict["rule"]) == ("aud", "denied", "read-only")
    assert "aud is an oversight auditor: read-only" in str(auditor.value)

    with world.session() as s, pytest.raises(PermissionDenied) as low:
        service.authorise(s, actor="insp", clock=world.clock, proposal_id=pid,
                          details=authorisation(world))  # fmt: skip
    with world.session() as s:
        last = audit.read_entries(s)[-1]
    assert (last.actor, last.outcome, last.detail_dict["rule"]) == ("insp", "denied", "rank")
    assert f"insp is {Rank.INSPECTOR.label}" in str(low.value)
    assert "unranked" not in str(low.value)


def test_a_role_refusal_names_the_roles_needed(tmp_path: Path) -> None:
    world = make_world(sqlite_url(tmp_path))
    pid = walk_to(world, State.CONSULTED)
    with world.session() as s, pytest.raises(PermissionDenied) as refused:
        service.authorise(s, actor="ana", clock=world.clock, proposal_id=pid,
                          details=authorisation(world))  # fmt: skip
    with world.session() as s:
        last = audit.read_entries(s)[-1]
    assert (last.actor, last.outcome, last.detail_dict["rule"]) == ("ana", "denied", "role")
    assert "authorise needs the role authorising_officer" in str(refused.value)
