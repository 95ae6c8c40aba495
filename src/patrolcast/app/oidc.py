"""Optional single sign-on through the force's own OpenID Connect provider.

Authorization-code flow with PKCE (S256), ``state`` and ``nonce``. The provider proves *who*
someone is; patrolcast decides *what they may do*: the configured claim (default
``preferred_username``, casefolded, the local username rule) names an EXISTING local account, and
every role comes from that account's local grants (roles or groups the provider sends are
ignored). An unknown, disabled, locked or tampered (unsealed) account is refused. Where
patrolcast's own sign-in would demand a one-time code (the roles in
:data:`patrolcast.governance.identity.credentials.TOTP_ROLES`, or an enrolled TOTP secret), the
provider must have proved a second factor: the ID token's ``amr`` includes ``mfa``, ``otp``,
``hwk`` or ``swk``, or its ``acr`` is one the server is configured to accept. Then a browser
session is opened exactly as :func:`patrolcast.app.auth_cases.login` opens one. Every completed
sign-in, failure and refusal is an audit entry (``action="login"`` or ``"reauth"``,
``detail.via="oidc"``); tokens, codes, ``state`` and ``nonce`` never are.

The attempt (``state``, ``nonce``, PKCE verifier, when it started, its purpose) travels in a
short-lived cookie sealed with the server key's HMAC (:meth:`ServerKey.mac`). Each attempt is
accepted once: the server process remembers finished attempts until they would have expired
anyway, and the provider accepts each code once. ID tokens are verified with ``joserfc`` (the
successor of the deprecated ``authlib.jose``): signature against the provider's JWKS from its
discovery document, issuer, audience and ``azp``, expiry, issue time, nonce; asymmetric
algorithms only, never ``none`` or a MAC. PKCE comes from ``authlib.oauth2.rfc7636``.

Re-authentication before authorise/extend/role changes may also go through the provider
(``begin(..., reauth_for=principal)``): it asks for ``prompt=login`` and ``max_age=0``, and opens
the browser session's 5-minute window only when the ID token names the same person with an
``auth_time`` after the request (and a second factor where one is needed). The local password and
one-time code (:func:`patrolcast.app.auth_cases.reauth`) keep working.

Public API
----------
``OidcSettings`` and ``oidc_settings(settings) -> OidcSettings | None``; ``OidcClient(settings)``
(discovery, JWKS, code exchange, ID-token verification; caches); ``begin(ctx, sso, redirect_uri,
*, reauth_for=None) -> tuple[str, str]`` (the provider URL and the attempt cookie's value);
``finish(ctx, sso, *, attempt, params, redirect_uri) -> dict`` (a new browser session as
``auth_cases.login`` returns it, or ``{"reauth_until", "user"}``); ``ATTEMPT_COOKIE``,
``ATTEMPT_TTL``, ``SECOND_FACTOR_AMR``.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import json
import secrets
import stat
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.orm import Session

from patrolcast.app.context import AppContext, Principal
from patrolcast.config import Settings
from patrolcast.errors import AuthenticationError, InputError
from patrolcast.governance import audit
from patrolcast.governance.clock import as_utc
from patrolcast.governance.db import run_transaction
from patrolcast.governance.identity import credentials, sessions
from patrolcast.governance.models import AuthSession, Credential, Person
from patrolcast.governance.roles import Actor, find_actor, normalise_username

__all__ = [
    "ATTEMPT_COOKIE",
    "ATTEMPT_TTL",
    "SECOND_FACTOR_AMR",
    "OidcClient",
    "OidcSettings",
    "begin",
    "finish",
    "oidc_settings",
]

ATTEMPT_COOKIE = "pc_oidc"
ATTEMPT_TTL = timedelta(minutes=10)
LEEWAY_SECONDS = 60
SECOND_FACTOR_AMR = frozenset({"mfa", "otp", "hwk", "swk"})
_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
               "EdDSA")
_PLACEHOLDERS = {"", "changeme", "secret", "password", "default"}
_JWKS_REFRESH_SECONDS = 60.0
_CACHE_SECONDS = 3600.0

_UNVERIFIED = "single sign-on refused: the identity provider's answer could not be verified"
_ATTEMPT = ("single sign-on refused: this sign-in attempt is unknown, expired or already used; "
            "start again")
_NO_ACCOUNT = ("single sign-on refused: there is no patrolcast account for this identity; "
               "ask an administrator")
_ACCOUNT_BLOCKED = "single sign-on refused: the patrolcast account is disabled or locked"
_SECOND_FACTOR = (
    "single sign-on refused: your role needs a second factor and the identity provider did not "
    "report one; sign in at the provider with a second factor (or use your patrolcast password "
    "and one-time code)"
)
_PROVIDER_SAID_NO = "single sign-on refused: the identity provider did not sign you in"
_NOT_FRESH = ("re-authentication refused: the identity provider did not ask you to sign in again "
              "(no fresh auth_time); try again, or use your patrolcast password and code")
_REAUTH_SESSION = ("re-authentication refused: you signed in at the identity provider as someone "
                   "else, or this browser session has ended; sign in again")


# --------------------------------------------------------------------------------------------
# Settings


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _check_url(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and _loopback(parts.hostname):
        return url
    raise InputError(f"{what} must be an https URL (http only on the loopback address): {url!r}")


@dataclass(frozen=True)
class OidcSettings:
    """How to reach the provider and what to accept from it (the client secret never logged)."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_url: str = ""  # empty: derived from the request (behind a proxy, set it)
    username_claim: str = "preferred_username"
    mfa_acr: frozenset[str] = frozenset()
    scope: str = "openid profile"
    timeout: float = 10.0

    def __post_init__(self) -> None:
        _check_url(self.issuer, "oidc_issuer")
        if self.redirect_url:
            _check_url(self.redirect_url, "oidc_redirect_url")
        if not self.client_id:
            raise InputError("oidc_client_id is unset")
        if self.client_secret.strip().lower() in _PLACEHOLDERS:
            raise InputError("the OIDC client secret is empty or a placeholder")
        if not self.username_claim or self.username_claim in {"aud", "iss", "exp", "nonce"}:
            raise InputError("oidc_username_claim must name a claim with the username")


def _read_secret(path: Path) -> str:
    if not path.is_file():
        raise InputError(f"oidc_client_secret_file {path} does not exist")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InputError(
            f"{path} is readable by other users (mode {stat.S_IMODE(mode):o}): chmod 600 {path}"
        )
    return path.read_text(encoding="utf-8").strip()


def oidc_settings(settings: Settings) -> OidcSettings | None:
    """The OIDC settings, or None when ``oidc_issuer`` is unset (single sign-on switched off)."""
    if not settings.oidc_issuer:
        return None
    if not settings.oidc_client_secret_file:
        raise InputError("oidc_client_secret_file is unset (a file holding the client secret)")
    return OidcSettings(
        issuer=settings.oidc_issuer,
        client_id=settings.oidc_client_id,
        client_secret=_read_secret(Path(settings.oidc_client_secret_file)),
        redirect_url=settings.oidc_redirect_url,
        username_claim=settings.oidc_username_claim or "preferred_username",
        mfa_acr=frozenset(v.strip() for v in settings.oidc_mfa_acr.split(",") if v.strip()),
    )


# --------------------------------------------------------------------------------------------
# The provider


class _Refusal(Exception):
    """One refused sign-in: the audit rule, a reason for the log, the message for the person."""

    def __init__(self, rule: str, reason: str, message: str = _UNVERIFIED,
                 actor: str = "(oidc)", **detail: Any) -> None:
        super().__init__(reason)
        self.rule = rule
        self.reason = reason
        self.message = message
        self.actor = actor
        self.detail = detail
        self.action = "login"  # "reauth" for a re-authentication attempt


class OidcClient:
    """The provider as the server sees it: discovery, keys (cached), code exchange, ID tokens."""

    def __init__(self, settings: OidcSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._meta: dict[str, Any] | None = None
        self._meta_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at = 0.0
        self._finished: dict[str, int] = {}  # attempt id -> when it would have expired

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            r = httpx.get(url, timeout=self.settings.timeout, follow_redirects=False)
            r.raise_for_status()
            body = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise _Refusal("provider-unreachable", f"{url}: {type(exc).__name__}") from None
        if not isinstance(body, dict):
            raise _Refusal("provider-unreachable", f"{url}: not a JSON object")
        return body

    def metadata(self) -> dict[str, Any]:
        """The discovery document (its issuer must be exactly the configured one)."""
        with self._lock:
            if self._meta is not None and time.monotonic() - self._meta_at < _CACHE_SECONDS:
                return self._meta
        issuer = self.settings.issuer.rstrip("/")
        meta = self._get_json(f"{issuer}/.well-known/openid-configuration")
        if meta.get("issuer") != self.settings.issuer:
            raise _Refusal("discovery", "the discovery document names another issuer")
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = meta.get(name)
            if not isinstance(value, str):
                raise _Refusal("discovery", f"the discovery document has no {name}")
            try:
                _check_url(value, name)
            except InputError:
                raise _Refusal("discovery", f"{name} is not https") from None
        with self._lock:
            self._meta, self._meta_at = meta, time.monotonic()
        return meta

    def _key_set(self, refresh: bool = False) -> KeySet:
        with self._lock:
            fresh = time.monotonic() - self._keys_at < _CACHE_SECONDS
            if self._keys is not None and fresh and not refresh:
                return self._keys
            if refresh and time.monotonic() - self._keys_at < _JWKS_REFRESH_SECONDS:
                assert self._keys is not None
                return self._keys  # fetched moments ago: do not let tokens hammer the provider
        body = self._get_json(str(self.metadata()["jwks_uri"]))
        try:
            keys = KeySet.import_key_set(body)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError):
            raise _Refusal("jwks", "the provider's key set cannot be read") from None
        with self._lock:
            self._keys, self._keys_at = keys, time.monotonic()
        return keys

    def _algorithms(self) -> list[str]:
        offered = self.metadata().get("id_token_signing_alg_values_supported") or ["RS256"]
        allowed = [a for a in _ALGORITHMS if a in offered]
        if not allowed:
            raise _Refusal("discovery", "the provider signs ID tokens with no accepted algorithm")
        return allowed

    def authorization_url(self, *, state: str, nonce: str, verifier: str, redirect_uri: str,
                          fresh: bool = False) -> str:
        """Where to send the browser; ``fresh`` asks the provider to sign the person in again
        (``prompt=login``, ``max_age=0``) rather than reuse its own session."""
        endpoint = str(self.metadata()["authorization_endpoint"])
        params = {
            "response_type": "code",
            "client_id": self.settings.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.settings.scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        if fresh:
            params.update({"prompt": "login", "max_age": "0"})
        query = urlencode(params)
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    def exchange(self, *, code: str, verifier: str, redirect_uri: str) -> str:
        """The ID token for ``code`` (client_secret_basic; the access token is not kept)."""
        try:
            r = httpx.post(
                str(self.metadata()["token_endpoint"]),
                data={"grant_type": "authorization_code", "code": code,
                      "redirect_uri": redirect_uri, "code_verifier": verifier},
                auth=(self.settings.client_id, self.settings.client_secret),
                headers={"Accept": "application/json"},
                timeout=self.settings.timeout,
                follow_redirects=False,
            )
            body = r.json()
        except (httpx.HTTPError, ValueError):
            raise _Refusal("token-exchange", "the token endpoint did not answer") from None
        if r.status_code != 200 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            raise _Refusal("token-exchange", f"the token endpoint refused ({_clip(error)})")
        id_token = body.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise _Refusal("token-exchange", "the token response has no ID token")
        return id_token

    def verify(self, id_token: str, *, nonce: str, now: int) -> dict[str, Any]:
        """The ID token's claims, once signature, issuer, audience, times and nonce check out."""
        algorithms = self._algorithms()
        try:
            try:
                token = jwt.decode(id_token, self._key_set(), algorithms=algorithms)
            except JoseError:  # perhaps the provider rotated its keys: fetch them once more
                token = jwt.decode(id_token, self._key_set(refresh=True), algorithms=algorithms)
        except JoseError as exc:
            raise _Refusal("id-token-signature", f"bad signature or key ({exc.error})") from None
        claims = dict(token.claims)
        registry = jwt.JWTClaimsRegistry(
            now=now,
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": self.settings.issuer},
            aud={"essential": True, "value": self.settings.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            rule = {"exp": "id-token-expired", "aud": "id-token-audience",
                    "iss": "id-token-issuer"}.get(_claim_of(exc), "id-token-claims")
            raise _Refusal(rule, f"{exc.error}: {_clip(exc.description, 120)}") from None
        aud = claims["aud"]
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != self.settings.client_id:
            raise _Refusal("id-token-audience", "several audiences and azp is not this server")
        if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(
            claims["nonce"].encode(), nonce.encode()
        ):
            raise _Refusal("id-token-nonce", "the nonce is not this attempt's")
        return claims

    def first_finish(self, attempt_id: str, started: int, now: int) -> bool:
        """True the first time an attempt is finished (remembered until it would expire)."""
        with self._lock:
            for old in [a for a, until in self._finished.items() if until < now]:
                del self._finished[old]
            if attempt_id in self._finished:
                return False
            self._finished[attempt_id] = started + int(ATTEMPT_TTL.total_seconds()) + 1
            return True


def _claim_of(exc: JoseError) -> str:
    if isinstance(exc, ExpiredTokenError):
        return "exp"
    return exc.claim if isinstance(exc, ClaimError) else ""


def _clip(value: object, n: int = 64) -> str:
    """Provider-controlled text as it may appear in the log: printable, short."""
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return "".join(ch for ch in text if ch.isprintable())[:n]


# --------------------------------------------------------------------------------------------
# The attempt cookie


@dataclass(frozen=True)
class _Attempt:
    id: str
    state: str
    nonce: str
    verifier: str
    started: int  # seconds since the epoch, server clock
    purpose: str = "login"  # "login" | "reauth"
    session_id: int = 0  # reauth: the browser session whose window it opens


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _seal(ctx: AppContext, attempt: _Attempt) -> str:
    payload = _b64(json.dumps(attempt.__dict__, separators=(",", ":")).encode("utf-8"))
    return f"{payload}.{ctx.key.mac('oidc-attempt', payload)}"


def _open_attempt(ctx: AppContext, value: str | None, now: int) -> _Attempt:
    if not value or len(value) > 2000 or value.count(".") != 1:
        raise _Refusal("attempt", "no sign-in attempt cookie", _ATTEMPT)
    payload, mac = value.split(".")
    if not hmac.compare_digest(mac, ctx.key.mac("oidc-attempt", payload)):
        raise _Refusal("attempt", "the attempt cookie is not sealed by this server", _ATTEMPT)
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        attempt = _Attempt(**data)
    except (ValueError, TypeError):
        raise _Refusal("attempt", "the attempt cookie cannot be read", _ATTEMPT) from None
    if not 0 <= now - attempt.started <= ATTEMPT_TTL.total_seconds():
        raise _Refusal("attempt", "the sign-in attempt has expired", _ATTEMPT)
    return attempt


# --------------------------------------------------------------------------------------------
# Use cases


def begin(ctx: AppContext, sso: OidcClient, redirect_uri: str, *,
          reauth_for: Principal | None = None) -> tuple[str, str]:
    """Start a sign-in (or, for ``reauth_for``, a re-authentication of that browser session):
    the provider's authorization URL, and the sealed attempt cookie."""
    if reauth_for is not None and reauth_for.kind != "browser":
        raise InputError("re-authentication through the identity provider is for browser "
                         "sessions; with a personal token, give your password and code")
    attempt = _Attempt(
        id=secrets.token_urlsafe(12),
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        verifier=generate_token(64),
        started=int(as_utc(ctx.clock.now()).timestamp()),
        purpose="login" if reauth_for is None else "reauth",
        session_id=0 if reauth_for is None else reauth_for.session_id,
    )
    try:
        url = sso.authorization_url(state=attempt.state, nonce=attempt.nonce,
                                    verifier=attempt.verifier, redirect_uri=redirect_uri,
                                    fresh=reauth_for is not None)
    except _Refusal as refusal:
        _audit_refusal(ctx, sso, refusal)
        raise AuthenticationError(
            "single sign-on is unavailable: the identity provider cannot be reached"
        ) from None
    return url, _seal(ctx, attempt)


def finish(
    ctx: AppContext,
    sso: OidcClient,
    *,
    attempt: str | None,
    params: Mapping[str, str],
    redirect_uri: str,
) -> dict[str, Any]:
    """Finish what the provider sent back: verify it all, then open a browser session (sign-in)
    or open the re-authentication window of the session that asked (``"reauth_until"``)."""
    try:
        return _finish(ctx, sso, attempt, params, redirect_uri)
    except _Refusal as refusal:
        _audit_refusal(ctx, sso, refusal)
        raise AuthenticationError(refusal.message) from None


def _finish(ctx: AppContext, sso: OidcClient, cookie: str | None, params: Mapping[str, str],
            redirect_uri: str) -> dict[str, Any]:
    now = int(as_utc(ctx.clock.now()).timestamp())
    found = _open_attempt(ctx, cookie, now)
    try:
        state = params.get("state") or ""
        if not hmac.compare_digest(state.encode(), found.state.encode()):
            raise _Refusal("attempt", "state does not match this browser's attempt", _ATTEMPT)
        if not sso.first_finish(found.id, found.started, now):
            raise _Refusal("attempt", "this attempt was already finished (replayed state)",
                           _ATTEMPT)
        if params.get("error"):
            raise _Refusal("provider-error",
                           f"the provider answered {_clip(params['error'], 40)}",
                           _PROVIDER_SAID_NO)
        code = params.get("code") or ""
        if not code or len(code) > 2000:
            raise _Refusal("provider-error", "the provider sent no code")
        id_token = sso.exchange(code=code, verifier=found.verifier, redirect_uri=redirect_uri)
        claims = sso.verify(id_token, nonce=found.nonce, now=now)
        if found.purpose == "reauth":
            return _reauth(ctx, sso, claims, found, now)
        return _open_session(ctx, sso, claims)
    except _Refusal as refusal:
        refusal.action = "reauth" if found.purpose == "reauth" else "login"
        raise


def _second_factor(sso: OidcClient, claims: Mapping[str, Any]) -> bool:
    amr = claims.get("amr")
    methods = {m for m in amr if isinstance(m, str)} if isinstance(amr, list) else set()
    acr = claims.get("acr")
    return bool(methods & SECOND_FACTOR_AMR) or (
        isinstance(acr, str) and acr in sso.settings.mfa_acr
    )


def _who(sso: OidcClient, claims: Mapping[str, Any]) -> dict[str, Any]:
    amr = claims.get("amr")
    return {
        "via": "oidc",
        "issuer": _clip(sso.settings.issuer, 200),
        "sub": _clip(claims.get("sub")),
        "amr": [_clip(m, 16) for m in amr[:8]] if isinstance(amr, list) else [],
        "acr": _clip(claims.get("acr")),
    }


def _username(sso: OidcClient, claims: Mapping[str, Any], who: dict[str, Any]) -> str:
    claim = sso.settings.username_claim
    try:
        return normalise_username(claims.get(claim), what=f"the {claim} claim")
    except InputError:
        raise _Refusal("username-claim", f"the {claim} claim is missing or not a username",
                       _NO_ACCOUNT, **who) from None


def _account(ctx: AppContext, s: Session, sso: OidcClient, claims: Mapping[str, Any], name: str,
             who: dict[str, Any], now: datetime) -> tuple[Person, Actor, bool]:
    """The local account ``name``: it exists, is sealed, enabled and unlocked, and the provider
    proved a second factor where patrolcast's own sign-in would demand a one-time code."""
    person = s.execute(select(Person).where(Person.username == name)).scalar_one_or_none()
    cred = s.get(Credential, person.id) if person else None
    actor = find_actor(s, name) if person else None
    if person is None or cred is None or actor is None:
        raise _Refusal("unknown-account", "no local account", _NO_ACCOUNT, name, **who)
    if not credentials.is_sealed(ctx.key, cred, person.username):
        raise _Refusal("credential-not-sealed", "the credential row is not sealed",
                       _ACCOUNT_BLOCKED, name, **who)
    if cred.disabled_at is not None:
        raise _Refusal("account-disabled", "the account is disabled", _ACCOUNT_BLOCKED, name,
                       **who)
    if cred.locked_until is not None and now < cred.locked_until:
        raise _Refusal("locked", "the account is locked", _ACCOUNT_BLOCKED, name, **who)
    factor = _second_factor(sso, claims)
    if (credentials.needs_totp(actor.roles) or cred.totp_secret) and not factor:
        raise _Refusal("second-factor", "a second factor is needed; amr/acr report none",
                       _SECOND_FACTOR, name, **who)
    return person, actor, factor


def _open_session(ctx: AppContext, sso: OidcClient, claims: Mapping[str, Any]) -> dict[str, Any]:
    who = _who(sso, claims)
    name = _username(sso, claims, who)
    with ctx.db.session() as s:

        def work() -> dict[str, Any]:
            now = as_utc(ctx.clock.now())
            _person, actor, factor = _account(ctx, s, sso, claims, name, who, now)
            audit.append(s, actor=name, action="login", target_type="person", target_id=name,
                         outcome="done", detail={**who, "second_factor": factor}, now=now)
            issued = sessions.issue(s, ctx.key, actor=actor, kind="browser", now=now)
            audit.append(
                s, actor=name, action="session_open", target_type="session",
                target_id=issued.id, outcome="done",
                detail={"kind": "browser", "expires_at": issued.expires_at.isoformat(),
                        "label": "", "via": "oidc"},
                now=now,
            )
            return {**issued.to_dict(), "user": actor.to_dict()}

        return run_transaction(s, work)


def _reauth(ctx: AppContext, sso: OidcClient, claims: Mapping[str, Any], found: _Attempt,
            now_ts: int) -> dict[str, Any]:
    """Open the re-authentication window of the session that asked, when the provider signed
    the same person in again just now (``auth_time`` after the request; ``prompt=login``)."""
    who = _who(sso, claims)
    name = _username(sso, claims, who)
    auth_time = claims.get("auth_time")
    if (
        isinstance(auth_time, bool)
        or not isinstance(auth_time, int | float)
        or not found.started - LEEWAY_SECONDS <= auth_time <= now_ts + LEEWAY_SECONDS
    ):
        raise _Refusal("reauth-not-fresh", "auth_time is missing or before the request",
                       _NOT_FRESH, name, **who)
    with ctx.db.session() as s:

        def work() -> dict[str, Any]:
            now = as_utc(ctx.clock.now())
            person, actor, factor = _account(ctx, s, sso, claims, name, who, now)
            row = s.get(AuthSession, found.session_id)
            if (
                row is None
                or row.kind != "browser"
                or row.person_id != person.id
                or row.revoked_at is not None
                or now >= row.expires_at
                or now - row.last_seen_at > timedelta(seconds=row.idle_seconds)
            ):
                raise _Refusal("reauth-session",
                               "not the live browser session of the person who signed in",
                               _REAUTH_SESSION, name, **who)
            audit.append(s, actor=name, action="reauth", target_type="person", target_id=name,
                         outcome="done", detail={**who, "second_factor": factor}, now=now)
            until = sessions.grant_reauth(row, now)
            audit.append(s, actor=name, action="reauth_window", target_type="session",
                         target_id=row.id, outcome="done",
                         detail={"kind": "browser", "via": "oidc"}, now=now)
            return {"reauth_until": until.isoformat(), "user": actor.to_dict()}

        return run_transaction(s, work)


def _audit_refusal(ctx: AppContext, sso: OidcClient, refusal: _Refusal) -> None:
    detail = {"via": "oidc", "issuer": _clip(sso.settings.issuer, 200), **refusal.detail,
              "rule": refusal.rule, "reason": _clip(refusal.reason, 200)}
    with ctx.db.session() as s:
        run_transaction(
            s,
            lambda: audit.append(
                s, actor=refusal.actor, action=refusal.action, target_type="person",
                target_id=refusal.actor, outcome="denied", detail=detail,
                now=as_utc(ctx.clock.now()),
            ),
        )
