"""Single sign-on through an OpenID Connect provider: the real flow over HTTP on 127.0.0.1.

A real provider (tests/api/oidc_provider.py: discovery, JWKS, authorize, token with PKCE, signed
ID tokens) and the real patrolcast server under uvicorn; an httpx client plays the browser and
follows the redirects. Nothing of patrolcast is mocked.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select, text

from patrolcast.api.oidc_routes import CSRF_COOKIE
from patrolcast.api.server import COOKIE, CSRF_HEADER, create_app
from patrolcast.app.oidc import ATTEMPT_COOKIE, oidc_settings
from patrolcast.config import Settings
from patrolcast.errors import InputError
from patrolcast.governance.identity import credentials
from patrolcast.governance.identity.sign_in import MAX_FAILURES
from patrolcast.governance.models import Credential, Person
from tests.api.oidc_provider import TestProvider
from tests.api.world import ApiWorld

CLIENT_ID = "patrolcast-test"
CLIENT_SECRET = "a-long-random-client-secret-for-tests"
MFA_ACR = "urn:example:loa:mfa"


@dataclass
class Sso:
    world: ApiWorld
    provider: TestProvider
    base: str

    def browser(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, follow_redirects=True, timeout=30)

    def sign_in(self, client: httpx.Client | None = None) -> httpx.Response:
        return (client or self.browser()).get("/api/auth/oidc/login")

    def last_audit(self) -> tuple[str, str, str, dict[str, Any]]:
        with self.world.ctx.db.session() as s:
            row = s.execute(text("select actor, action, outcome, detail from audit_log "
                                 "order by seq desc limit 1")).one()
        return row[0], row[1], row[2], json.loads(row[3])

    def refused(self, r: httpx.Response, rule: str, actor: str = "(oidc)",
                action: str = "login") -> dict[str, Any]:
        """The response is a 401 refusal and the last audit entry records it with ``rule``."""
        assert r.status_code == 401, r.text
        assert r.json()["code"] == "not-authenticated"
        assert COOKIE not in r.cookies
        who, did, outcome, detail = self.last_audit()
        assert (who, did, outcome) == (actor, action, "denied"), (who, did, detail)
        assert detail["rule"] == rule and detail["via"] == "oidc", detail
        return detail


@pytest.fixture()
def sso(api_sqlite: ApiWorld, tmp_path: Path) -> Iterator[Sso]:
    yield from _sso(api_sqlite, tmp_path)


@pytest.fixture()
def sso_any_db(api: ApiWorld, tmp_path: Path) -> Iterator[Sso]:
    yield from _sso(api, tmp_path)


def _sso(world: ApiWorld, tmp_path: Path) -> Iterator[Sso]:
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    holder.close()
    base = f"http://127.0.0.1:{port}"
    provider = TestProvider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                            redirect_uri=f"{base}/api/auth/oidc/callback",
                            now=world.clock.now).start()
    secret_file = tmp_path / "oidc-client-secret"
    secret_file.write_text(CLIENT_SECRET + "\n")
    secret_file.chmod(0o600)
    world.ctx.oidc = oidc_settings(Settings(
        oidc_issuer=provider.issuer, oidc_client_id=CLIENT_ID,
        oidc_client_secret_file=str(secret_file),
        oidc_redirect_url=f"{base}/api/auth/oidc/callback", oidc_mfa_acr=MFA_ACR,
    ))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    server = uvicorn.Server(uvicorn.Config(create_app(world.ctx), log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(3000):  # readiness, not a timing assertion
        if server.started or not thread.is_alive():
            break
        time.sleep(0.01)
    assert server.started, "the patrolcast server did not start"
    try:
        yield Sso(world=world, provider=provider, base=base)
    finally:
        server.should_exit = True
        thread.join()
        sock.close()
        provider.stop()


# -- the way in ------------------------------------------------------------------------------


def test_sign_in_opens_a_browser_session_with_local_roles_only(sso_any_db: Sso) -> None:
    sso = sso_any_db
    # The provider claims roles and groups: patrolcast ignores them (roles are local grants).
    sso.provider.user = {"sub": "u-ana", "preferred_username": "ANA",
                         "roles": ["administrator"], "groups": ["authorising_officer"]}
    browser = sso.browser()
    r = sso.sign_in(browser)
    assert r.status_code == 200, r.text
    assert "Signed in to patrolcast as <strong>ana</strong>" in r.text
    hops = [h.url.path for h in r.history]
    assert hops == ["/api/auth/oidc/login", "/authorize"]
    # The request to the provider carried PKCE (S256), state and nonce (the provider checked
    # the verifier against this challenge before issuing the ID token).
    asked = sso.provider.authorize_requests[-1]
    assert asked["code_challenge_method"] == "S256" and asked["state"] and asked["nonce"]
    attempt = r.history[0].headers["set-cookie"].lower()
    assert "httponly" in attempt and "samesite=lax" in attempt and "path=/api/auth/oidc/" in attempt
    session = [c for c in r.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}=")]
    assert session and "httponly" in session[0].lower() and "samesite=strict" in session[0].lower()
    me = browser.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json()["username"] == "ana" and me.json()["via"] == "browser"
    assert me.json()["roles"] == ["analyst"]
    # The session is an ordinary browser session: writes need the CSRF token.
    csrf = browser.cookies[CSRF_COOKIE]
    assert browser.post("/api/intel/purge").status_code == 403
    assert browser.post("/api/auth/logout").status_code == 403  # no CSRF header
    assert browser.post("/api/auth/logout", headers={CSRF_HEADER: csrf}).status_code == 200
    assert browser.get("/api/auth/me").status_code == 401
    with sso.world.ctx.db.session() as s:
        rows = s.execute(text("select actor, action, outcome, detail from audit_log "
                              "where actor = 'ana' order by seq desc limit 3")).all()
    assert [(a, b, c) for a, b, c, _ in rows] == [
        ("ana", "logout", "done"), ("ana", "session_open", "done"), ("ana", "login", "done")]
    login = json.loads(rows[2][3])
    assert login["via"] == "oidc" and login["sub"] == "u-ana" and login["issuer"]


def test_tokens_codes_and_state_never_reach_the_audit_log(sso: Sso) -> None:
    r = sso.sign_in()
    assert r.status_code == 200
    state = sso.provider.authorize_requests[-1]["state"]
    nonce = sso.provider.authorize_requests[-1]["nonce"]
    with sso.world.ctx.db.session() as s:
        log = " ".join(f"{a} {d}" for a, d in s.execute(text("select actor, detail "
                                                               "from audit_log")))
    secrets_seen = [*sso.provider.issued, state, nonce, CLIENT_SECRET,
                    r.history[0].cookies[ATTEMPT_COOKIE], browser_token(r)]
    for secret in secrets_seen:
        assert secret and secret not in log


def browser_token(r: httpx.Response) -> str:
    return str(r.cookies[COOKIE])


def test_a_firearms_or_authorising_role_needs_a_second_factor_from_the_provider(
    sso: Sso,
) -> None:
    sso.provider.user = {"sub": "u-acc1", "preferred_username": "acc1", "amr": ["pwd"]}
    r = sso.sign_in()
    assert "second factor" in r.json()["error"]
    sso.refused(r, "second-factor", actor="acc1")
    sso.provider.user = {"sub": "u-acc1", "preferred_username": "acc1"}  # no amr at all
    sso.refused(sso.sign_in(), "second-factor", actor="acc1")
    for proof in ({"amr": ["pwd", "otp"]}, {"amr": ["hwk"]}, {"acr": MFA_ACR}):
        sso.provider.user = {"sub": "u-acc1", "preferred_username": "acc1", **proof}
        browser = sso.browser()
        assert sso.sign_in(browser).status_code == 200
        assert browser.get("/api/auth/me").json()["roles"] == ["authorising_officer"]
        assert sso.world.audit_tail(2)[1] == ("acc1", "login", "done")
    sso.provider.user = {"sub": "u-acc1", "preferred_username": "acc1", "acr": "urn:other"}
    sso.refused(sso.sign_in(), "second-factor", actor="acc1")


def test_re_authentication_stays_possible_with_the_local_password_and_code(sso: Sso) -> None:
    sso.provider.user = {"sub": "u-admin", "preferred_username": "admin", "amr": ["mfa"]}
    browser = sso.browser()
    assert sso.sign_in(browser).status_code == 200
    csrf = {CSRF_HEADER: browser.cookies[CSRF_COOKIE]}
    r = browser.post("/api/users/ana/roles", json={"role": "intelligence_officer"}, headers=csrf)
    assert r.status_code == 401 and r.json()["code"] == "reauth-required"
    r = browser.post("/api/auth/reauth", headers=csrf,
                     json={"password": "correct horse battery staple",
                           "totp": sso.world.code("admin")})
    assert r.status_code == 200, r.text
    r = browser.post("/api/users/ana/roles", json={"role": "intelligence_officer"}, headers=csrf)
    assert r.status_code == 200, r.text


def test_re_authentication_through_the_provider_needs_a_fresh_sign_in_there(sso: Sso) -> None:
    sso.provider.user = {"sub": "u-admin", "preferred_username": "admin", "amr": ["mfa"]}
    browser = sso.browser()
    assert sso.sign_in(browser).status_code == 200
    csrf = {CSRF_HEADER: browser.cookies[CSRF_COOKIE]}
    grant = {"role": "intelligence_officer"}
    # A provider that reuses its own session (an old auth_time) does not count.
    sso.provider.changes = {"auth_time": int(sso.world.clock.now().timestamp()) - 3600}
    sso.refused(browser.get("/api/auth/oidc/reauth"), "reauth-not-fresh", "admin", "reauth")
    assert browser.post("/api/users/ana/roles", json=grant, headers=csrf).status_code == 401
    # Signing in as someone else at the provider does not re-authenticate this session.
    sso.provider.changes = {}
    sso.provider.user = {"sub": "u-acc1", "preferred_username": "acc1", "amr": ["otp"]}
    sso.refused(browser.get("/api/auth/oidc/reauth"), "reauth-session", "acc1", "reauth")
    # Nor without a second factor, for an administrator.
    sso.provider.user = {"sub": "u-admin", "preferred_username": "admin", "amr": ["pwd"]}
    sso.refused(browser.get("/api/auth/oidc/reauth"), "second-factor", "admin", "reauth")
    # A fresh sign-in with a second factor opens the window, which the next action consumes.
    sso.provider.user = {"sub": "u-admin", "preferred_username": "admin", "amr": ["mfa"]}
    r = browser.get("/api/auth/oidc/reauth")
    assert r.status_code == 200 and "Re-authenticated as <strong>admin</strong>" in r.text
    asked = sso.provider.authorize_requests[-1]
    assert asked["prompt"] == "login" and asked["max_age"] == "0"
    assert sso.world.audit_tail(2) == [("admin", "reauth_window", "done"),
                                       ("admin", "reauth", "done")]
    assert browser.post("/api/users/ana/roles", json=grant, headers=csrf).status_code == 200
    grant2 = {"role": "community_lead"}
    assert browser.post("/api/users/ana/roles", json=grant2, headers=csrf).status_code == 401
    # Only a browser session can ask; a personal token or nobody cannot.
    token = sso.world.tokens["admin"]
    r = httpx.get(f"{sso.base}/api/auth/oidc/reauth", headers={"Authorization": f"Bearer {token}"},
                  follow_redirects=False)
    assert r.status_code == 401
    assert httpx.get(f"{sso.base}/api/auth/oidc/reauth").status_code == 401


# -- refusals --------------------------------------------------------------------------------


def test_a_tampered_id_token_is_refused(sso: Sso) -> None:
    sso.provider.tamper = {"preferred_username": "admin"}  # payload changed after signing
    detail = sso.refused(sso.sign_in(), "id-token-signature")
    assert "admin" not in json.dumps(detail)


def test_an_unsigned_id_token_is_refused(sso: Sso) -> None:
    sso.provider.unsigned = True
    sso.refused(sso.sign_in(), "id-token-signature")


def test_an_id_token_for_another_client_is_refused(sso: Sso) -> None:
    sso.provider.changes = {"aud": "another-client"}
    sso.refused(sso.sign_in(), "id-token-audience")
    sso.provider.changes = {"aud": [CLIENT_ID, "another-client"]}  # and azp is not us
    sso.refused(sso.sign_in(), "id-token-audience")


def test_an_id_token_from_another_issuer_is_refused(sso: Sso) -> None:
    sso.provider.changes = {"iss": "https://idp.example.org"}
    sso.refused(sso.sign_in(), "id-token-issuer")


def test_an_expired_id_token_is_refused(sso: Sso) -> None:
    now = int(sso.world.clock.now().timestamp())
    sso.provider.changes = {"iat": now - 3600, "exp": now - 600}
    sso.refused(sso.sign_in(), "id-token-expired")


def test_an_id_token_with_another_nonce_is_refused(sso: Sso) -> None:
    sso.provider.changes = {"nonce": "a-nonce-from-another-attempt"}
    sso.refused(sso.sign_in(), "id-token-nonce")
    sso.provider.changes = {"nonce": None}
    sso.refused(sso.sign_in(), "id-token-nonce")


def test_a_replayed_callback_is_refused(sso: Sso) -> None:
    r = sso.sign_in()
    assert r.status_code == 200
    callback = str(r.url)
    attempt = r.history[0].cookies[ATTEMPT_COOKIE]
    replay = sso.browser()
    replay.cookies.set(ATTEMPT_COOKIE, attempt, domain="127.0.0.1", path="/api/auth/oidc/")
    detail = sso.refused(replay.get(callback), "attempt")
    assert "already finished" in detail["reason"]


def test_a_callback_for_another_browsers_attempt_is_refused(sso: Sso) -> None:
    """Login CSRF: an attacker's own callback URL, opened in the victim's browser."""
    victim = httpx.Client(base_url=sso.base, follow_redirects=False, timeout=30)
    assert victim.get("/api/auth/oidc/login").status_code == 302  # the victim's own attempt
    attacker = sso.browser()
    attackers = attacker.get("/api/auth/oidc/login", follow_redirects=False)
    to_provider = attacker.get(attackers.headers["location"], follow_redirects=False)
    callback = to_provider.headers["location"]  # never opened by the attacker
    detail = sso.refused(victim.get(callback), "attempt")
    assert "state does not match" in detail["reason"]
    no_cookie = httpx.Client(timeout=30)
    sso.refused(no_cookie.get(callback), "attempt")


def test_an_expired_attempt_is_refused(sso: Sso) -> None:
    browser = httpx.Client(base_url=sso.base, follow_redirects=False, timeout=30)
    start = browser.get("/api/auth/oidc/login")
    at_provider = browser.get(start.headers["location"])
    sso.world.clock.advance(timedelta(minutes=11))
    detail = sso.refused(browser.get(at_provider.headers["location"]), "attempt")
    assert "expired" in detail["reason"]


def test_a_provider_refusal_is_refused_and_audited(sso: Sso) -> None:
    sso.provider.deny = "access_denied"
    r = sso.sign_in()
    assert "did not sign you in" in r.json()["error"]
    sso.refused(r, "provider-error")


def test_an_unknown_or_malformed_username_is_refused(sso: Sso) -> None:
    sso.provider.user = {"sub": "u-x", "preferred_username": "nobody"}
    r = sso.sign_in()
    assert "no patrolcast account" in r.json()["error"]
    sso.refused(r, "unknown-account", actor="nobody")
    sso.provider.user = {"sub": "u-y", "preferred_username": "Ana Smith\n"}
    sso.refused(sso.sign_in(), "username-claim")
    sso.provider.user = {"sub": "u-z"}  # no username claim at all
    sso.refused(sso.sign_in(), "username-claim")


def test_a_locked_or_disabled_account_is_refused(sso: Sso) -> None:
    anon = sso.world.anonymous()
    for _ in range(MAX_FAILURES):
        anon.post("/api/auth/login", json={"username": "ana", "password": "wrong password!"})
    r = sso.sign_in()
    assert "disabled or locked" in r.json()["error"]
    sso.refused(r, "locked", actor="ana")
    with sso.world.ctx.db.session() as s:  # what disabling an account does to its row
        person = s.execute(select(Person).where(Person.username == "ian")).scalar_one()
        cred = s.get(Credential, person.id)
        assert cred is not None
        cred.disabled_at = sso.world.clock.now()
        credentials.seal(sso.world.ctx.key, cred, "ian")
        s.commit()
    sso.provider.user = {"sub": "u-ian", "preferred_username": "ian"}
    sso.refused(sso.sign_in(), "account-disabled", actor="ian")


def test_a_credential_row_edited_in_the_database_is_refused(sso: Sso) -> None:
    with sso.world.ctx.db.session() as s:
        person = s.execute(select(Person).where(Person.username == "aud")).scalar_one()
        cred = s.get(Credential, person.id)
        assert cred is not None
        cred.locked_until = None
        cred.password_hash = "edited"  # without the server key the row is no longer sealed
        s.commit()
    sso.provider.user = {"sub": "u-aud", "preferred_username": "aud"}
    sso.refused(sso.sign_in(), "credential-not-sealed", actor="aud")


# -- settings --------------------------------------------------------------------------------


def test_settings_switch_it_on_only_with_a_private_secret_file(tmp_path: Path) -> None:
    assert oidc_settings(Settings()) is None
    secret = tmp_path / "secret"
    secret.write_text("s3cret-value-from-the-provider")
    secret.chmod(0o644)
    base: dict[str, Any] = {"oidc_issuer": "https://idp.example.org",
                            "oidc_client_id": "patrolcast",
                            "oidc_client_secret_file": str(secret)}
    with pytest.raises(InputError, match="chmod 600"):
        oidc_settings(Settings(**base))
    secret.chmod(0o600)
    got = oidc_settings(Settings(**base))
    assert got is not None and "s3cret" not in repr(got)
    for bad in ({"oidc_issuer": "http://idp.example.org"},
                {"oidc_client_secret_file": ""},
                {"oidc_client_id": ""}):
        with pytest.raises(InputError):
            oidc_settings(Settings(**{**base, **bad}))
    secret.write_text("changeme")
    with pytest.raises(InputError, match="placeholder"):
        oidc_settings(Settings(**base))
    assert os.stat(secret).st_mode & 0o077 == 0
