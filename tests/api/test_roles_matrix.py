"""Every declared action x every role through the API: the declaration narrows who may try.

Actions with declared roles refuse everyone else with 403 (audited, naming the role needed)
before anything runs; people holding a declared role get past that check (whatever the
service then decides). Lifecycle actions declare no roles: the services' own permission
matrix (tests/governance/test_permissions.py) decides those, and the journey tests walk them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from patrolcast.app.actions import ACTIONS
from tests.api.world import PEOPLE, ApiWorld, make_api_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    """One world for the whole matrix (each action is tried once per person)."""
    tmp = tmp_path_factory.mktemp("roles")
    w = make_api_world(f"sqlite:///{tmp / 'gov.db'}", tmp / "keys")
    # The accounts the user actions change (never one of the people trying them).
    r = w.as_("admin").post("/api/users", json={"username": "tom", "roles": ["analyst"]})
    assert r.status_code == 200, r.text
    yield w
    w.ctx.db.dispose()

BODIES: dict[str, dict[str, Any]] = {
    "deployment_outcome": {"dataset": "none"},
    "user_add": {"username": "zed", "roles": ["analyst"]},
    "user_grant": {"role": "analyst"},
    "user_revoke": {"role": "analyst"},
    "profile_install": {"toml": "name = 'x'"},
    "snapshot_record": {"method": "kde", "digest": "ab" * 32, "created_at": "2026-06-01T10:00Z"},
    "intel_add": {"grading": "2B P", "start": "2026-06-01T10:00Z", "end": "2026-06-01T12:00Z",
                  "retain_until": "2026-07-01T00:00Z", "owner": "Borough intelligence unit",
                  "x": 530000, "y": 180000, "radius": 100},
}


@pytest.mark.parametrize("spec", [a for a in ACTIONS if a.roles is not None], ids=lambda a: a.name)
def test_declared_roles_narrow_who_may_try(world: ApiWorld, spec: Any) -> None:
    roles_of = {name: {r.split(":")[0] for r in roles} for name, (roles, _) in PEOPLE.items()}
    roles_of["admin"] = {"administrator"}
    declared = {r.value for r in spec.roles}
    for person, held in roles_of.items():
        if spec.reauth:
            world.reauth(person)
        path = spec.path.format(proposal_id=1, username="tom", name="armed-foot-patrol")
        body = BODIES.get(spec.name)
        client = world.as_(person)
        r = (client.get(path) if spec.method == "GET" else client.post(path, json=body))
        role_refusal = r.status_code == 403 and "needs the role" in r.json().get("error", "")
        if held & declared:
            assert not role_refusal, (spec.name, person, r.text)
        else:
            assert role_refusal, (spec.name, person, r.status_code, r.text)
            assert world.audit_tail(1) == [(person, spec.name, "denied")]
