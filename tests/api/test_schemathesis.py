"""Schemathesis over the served OpenAPI document (``/api/openapi.json``): every operation.

Each operation is fuzzed (schema-valid and schema-invalid requests, schemathesis 4 positive and
negative modes) against a real server world (argon2id accounts, TOTP, bearer tokens; nothing
mocked) that already holds proposals in several states:

- signed in as an administrator, and separately as an analyst: never a server error, and every
  response conforms to the document where it declares something (content type, headers, body
  schema; a schema-invalid request is rejected). The document declares only 200 and 422, so
  the refusals 400/401/403/409 are not counted as undocumented status codes, and a
  schema-valid request may be refused by a rule;
- without signing in: an operation that needs a sign-in answers 401 (or 422 for a malformed
  request, refused before anyone is looked up), never 5xx; the public ones never 5xx.

Before each example the person's token is checked and, if the fuzzer ended it (logout, a
revoked token, a lockout after wrong re-authentication passwords), they sign in again; an
action that needs re-authentication gets a fresh window first, so the fuzzer reaches the
use case rather than stopping at 401.

The default run uses a few examples per operation on SQLite; ``-m slow`` runs 1,000 per
operation and person on SQLite and on PostgreSQL (``PATROLCAST_TEST_PG_URL``). Counts per
operation are printed at the end of the module (``-s``).
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from patrolcast.api.server import create_app
from patrolcast.app.actions import ACTIONS, ActionSpec
from patrolcast.app.context import AppContext
from patrolcast.governance.db import open_database
from patrolcast.governance.identity.keys import ServerKey
from patrolcast.governance.identity.sign_in import LOCKOUT
from tests.api.test_journey import consulted
from tests.api.world import (
    PASSWORD,
    ApiWorld,
    authorisation_body,
    make_api_world,
    proposal_body,
)

# The document is the application's own (built from the action declarations); building it
# touches no table, so an unmigrated in-memory database will do at collection.
_DOC_APP = create_app(AppContext(db=open_database("sqlite://", create=False),
                                 key=ServerKey.for_tests()))
_CHECKS: dict[str, Any] = {
    # Refusals (400/401/403/409) are real answers the document does not list.
    "status_code_conformance": {"enabled": False},
    # A schema-valid request may still be refused by a rule (state, rank, borough...).
    "positive_data_acceptance": {"enabled": False},
    # Stateful checks need a recorded scenario; these tests send single requests.
    "use_after_free": {"enabled": False},
    "ensure_resource_availability": {"enabled": False},
    # No security scheme is declared: sign-in is checked by the unauthenticated run below.
    "ignored_auth": {"enabled": False},
    "object_level_authorization": {"enabled": False},
    # Starlette answers 405 with the Allow header of the first route matching the path,
    # so /api/auth/tokens (GET and POST routes) says "Allow: POST" only. Reported, not ours.
    "allow_header_conformance": {"enabled": False},
}
#: the default run: explicit examples and Hypothesis fuzzing (no coverage phase: its
#: thousands of boundary cases are for the slow set)
QUICK = schemathesis.Config.from_dict(
    {"checks": _CHECKS, "phases": {"coverage": {"enabled": False}}}
)
#: the slow set: every phase (boundary values, unexpected methods, then fuzzing)
FULL = schemathesis.Config.from_dict({"checks": _CHECKS})
SCHEMA = schemathesis.openapi.from_asgi("/api/openapi.json", _DOC_APP, config=QUICK)

#: operations anyone may call without signing in
PUBLIC = {
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/tokens"),
    ("POST", "/api/accounts/activate"),
    ("GET", "/api/audit/public-key"),
}
_SPECS: dict[tuple[str, str], ActionSpec] = {(a.method, a.path): a for a in ACTIONS}

FEW = 4
#: the slow set's examples per operation and person (PATROLCAST_FUZZ_EXAMPLES for a shorter run)
MANY = int(os.environ.get("PATROLCAST_FUZZ_EXAMPLES", "1000"))

#: (backend, who, "METHOD /path") -> examples sent; (..., status) -> responses
EXAMPLES: Counter[tuple[str, str, str]] = Counter()
STATUSES: Counter[tuple[str, str, str, int]] = Counter()


def _fuzz_settings(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )


def _populate(world: ApiWorld) -> None:
    """Proposals in several states (ids 1-4) and an intelligence item, so small ids exist."""
    draft = world.as_("ana").post("/api/proposals", json=proposal_body(draft=True))
    assert draft.status_code == 200, draft.text
    consulted(world)  # consulted
    pid = consulted(world)
    world.reauth("acc1")
    r = world.as_("acc1").post(f"/api/proposals/{pid}/authorise",
                               json=authorisation_body(world, hours=5))
    assert r.status_code == 200, r.text
    r = world.as_("ana").post("/api/proposals", json=proposal_body())
    assert r.status_code == 403  # refused (no snapshot) and rolled back: no proposal left
    r = world.as_("ian").post("/api/intel", json={
        "grading": "2B P", "start": world.clock.now().isoformat(),
        "end": (world.clock.now() + timedelta(hours=6)).isoformat(),
        "retain_until": (world.clock.now() + timedelta(days=30)).isoformat(),
        "owner": "Intelligence unit", "x": 530250.0, "y": 180250.0, "radius": 200.0,
    })
    assert r.status_code == 200, r.text


def _pg_database(base: str) -> Iterator[str]:
    """A fresh database of its own on the test PostgreSQL server (dropped afterwards)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"patrolcast_fz{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module", autouse=True)
def _print_counts() -> Iterator[None]:
    yield
    if not EXAMPLES:
        return
    print("\nschemathesis examples per (backend, person, operation):")
    for (backend, who, op), n in sorted(EXAMPLES.items()):
        statuses = {s: c for (b, w, o, s), c in STATUSES.items() if (b, w, o) == (backend, who, op)}
        print(f"  {backend:10} {who:6} {op:45} {n:5}  {dict(sorted(statuses.items()))}")
    ops = {op for (_b, _w, op) in EXAMPLES}
    print(f"  {len(ops)} operations, {sum(EXAMPLES.values())} examples, "
          f"{sum(c for (_b, _w, _o, s), c in STATUSES.items() if s >= 500)} server errors")


@pytest.fixture(scope="module")
def sqlite_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    d = tmp_path_factory.mktemp("fuzz-sqlite")
    world = make_api_world(f"sqlite:///{d / 'gov.db'}", d / "keys")
    _populate(world)
    yield world
    world.ctx.db.dispose()


@pytest.fixture(scope="module")
def pg_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    base = os.environ.get("PATROLCAST_TEST_PG_URL")
    if not base:
        pytest.skip("PATROLCAST_TEST_PG_URL is unset: start PostgreSQL with scripts/postgres.sh")
    d = tmp_path_factory.mktemp("fuzz-pg")
    gen = _pg_database(base)
    world = make_api_world(next(gen), d / "keys")
    _populate(world)
    yield world
    world.ctx.db.dispose()
    next(gen, None)


#: operations after which the person's token may be gone (signed out, revoked, locked out)
_ENDS_SESSIONS = {"/api/auth/logout", "/api/auth/tokens/{token_id}/revoke", "/api/auth/reauth",
                  "/api/users/{username}/enrolment", "/api/users/{username}/roles/remove"}


def _ready(world: ApiWorld, who: str) -> str:
    """A working bearer token for ``who`` (signed in again if the fuzzer ended the last one)."""
    token = world.tokens.get(who)
    if token is not None and world.as_(who).get("/api/auth/me").status_code == 200:
        return token
    world.clock.advance(LOCKOUT + timedelta(seconds=1))  # past any lockout it caused
    world.sign_in(who)
    return world.tokens[who]


def _reauth(world: ApiWorld, who: str) -> None:
    """Open a re-authentication window (waiting out any lockout the fuzzer caused)."""
    for _attempt in range(2):
        r = world.as_(who).post("/api/auth/reauth",
                                json={"password": PASSWORD, "totp": world.code(who)})
        if r.status_code == 200:
            return
        world.clock.advance(LOCKOUT + timedelta(seconds=1))
        _ready(world, who)
    raise AssertionError(f"cannot re-authenticate {who}: {r.text}")


def _label(case: Any) -> str:
    return f"{case.operation.method.upper()} {case.operation.path}"


def _record(backend: str, who: str, case: Any, status: int) -> None:
    EXAMPLES[(backend, who, _label(case))] += 1
    STATUSES[(backend, who, _label(case), status)] += 1
    out = os.environ.get("PATROLCAST_FUZZ_COUNTS")  # a file the long runs keep up to date
    if out and sum(EXAMPLES.values()) % 200 == 0:
        rows = [[*k, n] for k, n in sorted(STATUSES.items())]
        Path(out).write_text(json.dumps(rows))


def _signed_in(world: ApiWorld, backend: str, who: str, case: Any) -> None:
    key = (case.operation.method.upper(), case.operation.path)
    token = world.tokens[who]
    spec = _SPECS.get(key)
    if spec is not None and spec.reauth:
        _reauth(world, who)  # reach the use case, not the re-authentication gate
    response = case.call(app=world.app, headers={"Authorization": f"Bearer {token}"})
    _record(backend, who, case, response.status_code)
    if case.operation.path in _ENDS_SESSIONS:
        _ready(world, who)
    assert response.status_code < 500, (_label(case), response.status_code, response.text[:500])
    case.validate_response(response)


def _anonymous(world: ApiWorld, backend: str, case: Any) -> None:
    key = (case.operation.method.upper(), case.operation.path)
    response = case.call(app=world.app)
    _record(backend, "anon", case, response.status_code)
    assert response.status_code < 500, (_label(case), response.status_code, response.text[:500])
    if key not in PUBLIC:
        allowed = {401, 422}
        if str(case.method).upper() != key[0]:
            allowed.add(405)  # the coverage phase's probe with a method the route lacks
        if response.status_code == 400:
            # A body that cannot be parsed at all is answered by FastAPI itself, before any
            # route runs (in our one-line shape, code "http"). Never a use case's "bad-input"
            # (that would mean an action ran without a sign-in).
            assert response.json() == {
                "error": "There was an error parsing the body", "code": "http"}
            allowed.add(400)
        assert response.status_code in allowed, (
            _label(case), case.method, response.status_code, response.text[:300]
        )
    case.validate_response(response)


def _reached_the_use_cases(backend: str, who: str) -> None:
    """The fuzzing did not just bounce off the sign-in: most operations answered beyond 401/422."""
    beyond = {o for (b, w, o, st), _n in STATUSES.items()
              if (b, w) == (backend, who) and st not in (401, 405, 422)}
    assert len(beyond) >= 20, sorted(beyond)


# --- default run: a few examples per operation, SQLite ------------------------------------


@SCHEMA.parametrize()
@_fuzz_settings(FEW)
def test_fuzz_as_administrator(case: Any, sqlite_world: ApiWorld) -> None:
    _signed_in(sqlite_world, "sqlite", "admin", case)


@SCHEMA.parametrize()
@_fuzz_settings(FEW)
def test_fuzz_as_analyst(case: Any, sqlite_world: ApiWorld) -> None:
    _signed_in(sqlite_world, "sqlite", "ana", case)


@SCHEMA.parametrize()
@_fuzz_settings(FEW)
def test_fuzz_without_signing_in(case: Any, sqlite_world: ApiWorld) -> None:
    _anonymous(sqlite_world, "sqlite", case)


def test_the_fuzzing_reached_the_use_cases(sqlite_world: ApiWorld) -> None:
    """Runs after the three above (same module world): both people got past the sign-in."""
    if not any(b == "sqlite" and w in ("admin", "ana") for (b, w, _o) in EXAMPLES):
        pytest.skip("run with the fuzzing tests above")
    _reached_the_use_cases("sqlite", "admin")
    _reached_the_use_cases("sqlite", "ana")


def test_the_document_covers_every_declared_action() -> None:
    operations = [result.ok() for result in SCHEMA.get_all_operations()]  # type: ignore[union-attr]
    served = {(op.method.upper(), op.path) for op in operations}
    assert set(_SPECS) <= served
    assert served >= PUBLIC
    assert len(served) == len(_SPECS) + 9  # + sign-in, tokens, reauth, logout, me, public key


# --- slow: 1,000 examples per operation and person, every phase, SQLite and PostgreSQL ------
# One function, parametrized over the backend and the person, so the coverage phase's cases
# are built once per operation at collection.

SCHEMA_FULL = schemathesis.openapi.from_asgi("/api/openapi.json", _DOC_APP, config=FULL)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> tuple[str, ApiWorld]:
    name = request.param
    world = request.getfixturevalue("sqlite_world" if name == "sqlite" else "pg_world")
    return name, world


@pytest.mark.slow
@SCHEMA_FULL.parametrize()
@_fuzz_settings(MANY)
@pytest.mark.parametrize("who", ["admin", "ana", "anon"])
def test_fuzz_many(case: Any, who: str, backend: tuple[str, ApiWorld]) -> None:
    name, world = backend
    if who == "anon":
        _anonymous(world, name, case)
    else:
        _signed_in(world, name, who, case)


@pytest.mark.slow
def test_many_reached_the_use_cases() -> None:
    """After the slow set: on each backend run, both people got past the sign-in."""
    backends = {b for (b, w, _o) in EXAMPLES if w in ("admin", "ana")}
    if not backends:
        pytest.skip("run with the slow fuzzing tests above")
    for name in backends:
        _reached_the_use_cases(name, "admin")
        _reached_the_use_cases(name, "ana")
