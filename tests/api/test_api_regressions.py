"""Regressions found by fuzzing the API (tests/api/test_schemathesis.py): each was a 500."""

from __future__ import annotations

import pytest

from tests.api.world import ApiWorld

# Ids beyond the database's integer range reached the database: SQLite raised OverflowError
# ("Python int too large to convert to SQLite INTEGER") for ids of 2**63 and more, answered 500
# (PostgreSQL compared them and found nothing). Path ids are now bounded to the integer
# column's range (1 .. 2**31 - 1) on every backend and refused with 422.
_TOO_BIG = [2**31, 2**63, 2**64 + 1]


@pytest.mark.parametrize("big", _TOO_BIG)
def test_an_id_beyond_the_integer_range_is_refused_not_a_server_error(
    api: ApiWorld, big: int
) -> None:
    admin = api.as_("admin")
    for method, path in (
        ("POST", f"/api/proposals/{big}/assess"),
        ("POST", f"/api/proposals/{big}/submit"),
        ("GET", f"/api/proposals/{big}"),
        ("POST", f"/api/auth/tokens/{big}/revoke"),
    ):
        r = admin.request(method, path, json={} if method == "POST" else None)
        assert r.status_code == 422, (path, r.status_code, r.text)
        assert r.json()["code"] == "invalid"


def test_ids_inside_the_range_still_reach_the_rules(api: ApiWorld) -> None:
    admin = api.as_("admin")
    largest = 2**31 - 1
    r = admin.get(f"/api/proposals/{largest}")
    assert r.status_code in (400, 403), r.text  # no such proposal: a refusal, not a 500
    r = admin.post(f"/api/auth/tokens/{largest}/revoke")
    assert r.status_code == 403 and "no token" in r.json()["error"]
    for bad in (0, -1):
        assert admin.get(f"/api/proposals/{bad}").status_code == 422


def test_the_document_states_the_bounds(api_sqlite: ApiWorld) -> None:
    doc = api_sqlite.app.openapi()
    for path, param in (("/api/proposals/{proposal_id}", "proposal_id"),
                        ("/api/auth/tokens/{token_id}/revoke", "token_id")):
        ops = doc["paths"][path]
        for op in ops.values():
            (p,) = [p for p in op["parameters"] if p["name"] == param]
            assert p["schema"]["minimum"] == 1 and p["schema"]["maximum"] == 2**31 - 1
