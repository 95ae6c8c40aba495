"""Who is asking: sign-in, second factor, lockout, sessions, CSRF, tokens, forged rows."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pyotp
from sqlalchemy import select, text

from patrolcast.api.server import COOKIE, CSRF_HEADER
from patrolcast.governance.identity import credentials
from patrolcast.governance.identity.sessions import BROWSER_ABSOLUTE, BROWSER_IDLE
from patrolcast.governance.identity.sign_in import LOCKOUT, MAX_FAILURES
from patrolcast.governance.models import AuthSession, Credential, Person
from tests.api.world import PASSWORD, ApiWorld


def _login(api: ApiWorld, user: str, password: str = PASSWORD, totp: str | None = None,
           client: object = None) -> object:
    c = client or api.anonymous()
    return c.post("/api/auth/login", json={"username": user, "password": password,  # type: ignore[attr-defined]
                                           "totp": totp})


def test_a_typed_name_is_not_an_identity(api_sqlite: ApiWorld) -> None:
    c = api_sqlite.anonymous()
    for header in ({"X-Patrolcast-User": "acc1"}, {"Authorization": "Bearer acc1"},
                   {"Authorization": "Basic YWNjMTo="}):
        r = c.get("/api/proposals", headers=header)
        assert r.status_code == 401
    c.cookies.set(COOKIE, "acc1")
    assert c.get("/api/auth/me").status_code == 401


def test_wrong_passwords_lock_the_account_and_every_step_is_audited(api: ApiWorld) -> None:
    for _ in range(MAX_FAILURES):
        assert _login(api, "ana", "wrong password here").status_code == 401  # type: ignore[attr-defined]
    tail = api.audit_tail(2)
    assert tail[0] == ("(server)", "lockout", "done")
    assert tail[1] == ("ana", "login", "denied")
    # Locked: even the right password is refused, with the same message.
    r = _login(api, "ana")
    assert r.status_code == 401 and "sign-in refused" in r.json()["error"]  # type: ignore[attr-defined]
    api.clock.advance(LOCKOUT + timedelta(seconds=1))
    assert _login(api, "ana").status_code == 200  # type: ignore[attr-defined]
    assert api.audit_tail(2)[1] == ("ana", "login", "done")


def test_the_password_is_never_written_to_the_log(api_sqlite: ApiWorld) -> None:
    _login(api_sqlite, "ana", "s3cret-typed-wrongly")
    _login(api_sqlite, "my password typed as a username", "x")
    with api_sqlite.ctx.db.session() as s:
        log = " ".join(r[0] + r[1] for r in s.execute(text("select actor, detail from audit_log")))
    assert "s3cret" not in log and "typed as a username" not in log
    assert "(malformed)" in log


def test_authorising_officers_need_a_second_factor_that_cannot_be_replayed(
    api: ApiWorld,
) -> None:
    assert _login(api, "acc1").status_code == 401  # type: ignore[attr-defined]
    assert _login(api, "acc1", totp="000000").status_code == 401  # type: ignore[attr-defined]
    code = api.code("acc1")
    assert _login(api, "acc1", totp=code).status_code == 200  # type: ignore[attr-defined]
    assert _login(api, "acc1", totp=code).status_code == 401  # type: ignore[attr-defined]
    # analysts do not need one
    assert _login(api, "ana").status_code == 200  # type: ignore[attr-defined]


def test_browser_sessions_are_httponly_strict_and_need_the_csrf_token(api: ApiWorld) -> None:
    c = api.anonymous()
    r = _login(api, "aud", client=c)
    assert r.status_code == 200  # type: ignore[attr-defined]
    cookie = r.headers["set-cookie"].lower()  # type: ignore[attr-defined]
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    csrf = r.json()["csrf_token"]  # type: ignore[attr-defined]
    assert c.get("/api/auth/me").json()["username"] == "aud"
    # A write without the CSRF token (what a forged cross-site form sends) is refused.
    assert c.post("/api/audit/export").status_code == 403
    assert c.post("/api/audit/export", headers={CSRF_HEADER: "guess"}).status_code == 403
    assert c.post("/api/audit/export", headers={CSRF_HEADER: csrf}).status_code == 200
    # A browser cookie is not accepted as a bearer token and vice versa.
    token = c.cookies.get(COOKIE)
    assert api.anonymous().get("/api/auth/me",
                               headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_sessions_end_when_idle_and_at_their_absolute_limit(api: ApiWorld) -> None:
    c = api.anonymous()
    assert _login(api, "ana", client=c).status_code == 200  # type: ignore[attr-defined]
    api.clock.advance(BROWSER_IDLE + timedelta(minutes=1))
    assert c.get("/api/auth/me").status_code == 401
    c = api.anonymous()
    _login(api, "ana", client=c)
    for _ in range(int(BROWSER_ABSOLUTE / (BROWSER_IDLE / 2)) + 1):
        api.clock.advance(BROWSER_IDLE / 2)
        if c.get("/api/auth/me").status_code == 401:
            break
    else:
        raise AssertionError("a session lasted beyond its absolute limit")


def test_tokens_are_revocable_and_logout_ends_them(api: ApiWorld) -> None:
    c = api.as_("ana")
    assert c.get("/api/auth/me").status_code == 200
    mine = c.get("/api/auth/tokens").json()
    assert mine and all(t["label"] == "" for t in mine)
    assert c.post("/api/auth/logout").status_code == 200
    assert c.get("/api/auth/me").status_code == 401
    assert api.audit_tail(1) == [("ana", "logout", "done")]


def test_a_session_row_forged_in_the_database_signs_nobody_in(api_sqlite: ApiWorld) -> None:
    """An insider with database access inserts a session for acc1 with a secret they chose."""
    secret = "pct_insider-chosen-secret"
    with api_sqlite.ctx.db.session() as s:
        acc = s.execute(select(Person).where(Person.username == "acc1")).scalar_one()
        now = api_sqlite.clock.now()
        for mac in (hashlib.sha256(secret.encode()).hexdigest(), secret):
            s.add(AuthSession(kind="token", person_id=acc.id, secret_mac=mac, label="",
                              created_at=now, last_seen_at=now,
                              expires_at=now + timedelta(days=1), idle_seconds=86400))
        s.commit()
    r = api_sqlite.anonymous().get("/api/auth/me", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 401


def test_a_credential_edited_in_the_database_signs_nobody_in(api: ApiWorld) -> None:
    """An insider replaces acc1's password hash and TOTP secret with ones they know."""
    known = credentials.hash_password("insider password 123")
    with api.ctx.db.session() as s:
        acc = s.execute(select(Person).where(Person.username == "acc1")).scalar_one()
        cred = s.get(Credential, acc.id)
        assert cred is not None
        cred.password_hash = known
        cred.totp_secret = api.ctx.key.encrypt(pyotp.random_base32())  # even a valid ciphertext
        s.commit()
    r = _login(api, "acc1", "insider password 123", totp=None)
    assert r.status_code == 401  # type: ignore[attr-defined]
    with api.ctx.db.session() as s:
        detail = s.execute(text("select detail from audit_log order by seq desc limit 1"))
        assert "credential-not-sealed" in detail.scalar_one()


def test_activation_codes_are_single_use(api_sqlite: ApiWorld) -> None:
    admin = api_sqlite.sign_in("admin")
    code = admin.post("/api/users", json={"username": "newbie", "roles": ["analyst"]}).json()[
        "enrolment_code"]
    c = api_sqlite.anonymous()
    body = {"username": "newbie", "code": code, "password": PASSWORD}
    assert c.post("/api/accounts/activate", json=body).status_code == 200
    assert c.post("/api/accounts/activate", json=body).status_code == 401
    weak = {"username": "newbie", "code": code, "password": "short"}
    assert c.post("/api/accounts/activate", json=weak).status_code == 400


def test_framework_refusals_have_the_same_shape(api_sqlite: ApiWorld) -> None:
    c = api_sqlite.as_("ana")
    r = c.post("/api/proposals", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code in (400, 422) and "error" in r.json()
    r = c.get("/api/no-such-route")
    assert r.status_code == 404 and "error" in r.json()
