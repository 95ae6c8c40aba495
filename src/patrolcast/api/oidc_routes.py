"""Routes of the optional OpenID Connect sign-in (thin: the rules live in patrolcast.app.oidc).

``GET /api/auth/oidc/login`` redirects to the provider and sets the sealed attempt cookie
(HttpOnly, SameSite=Lax: the provider's redirect back is a cross-site navigation, which a Strict
cookie would not survive; the cookie is scoped to ``/api/auth/oidc/`` and lasts 10 minutes).
``GET /api/auth/oidc/callback`` finishes the sign-in: the session cookie exactly as
``/api/auth/login`` sets it, plus ``pc_csrf`` (readable by the page, SameSite=Strict) because the
CSRF token cannot travel in a JSON body through a redirect. ``GET /api/auth/oidc/reauth`` (a
signed-in browser session) sends the person to the provider to sign in again (``prompt=login``);
the same callback then opens the session's re-authentication window. A refusal is the usual JSON
error (401) and clears the attempt cookie.
"""

from __future__ import annotations

import html

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from patrolcast.app import auth_cases, oidc
from patrolcast.app.context import AppContext
from patrolcast.errors import AuthenticationError

__all__ = ["CSRF_COOKIE", "install_oidc"]

CSRF_COOKIE = "pc_csrf"
_ATTEMPT_PATH = "/api/auth/oidc/"


def install_oidc(app: FastAPI, ctx: AppContext, settings: oidc.OidcSettings) -> None:
    """Add the single sign-on routes for ``settings``' provider to ``app``."""
    from patrolcast.api.server import COOKIE  # the module that calls us defines it

    sso = oidc.OidcClient(settings)

    def redirect_uri(request: Request) -> str:
        return settings.redirect_url or str(request.url_for("oidc_callback"))

    @app.get("/api/auth/oidc/login", tags=["sign-in"], name="oidc_login",
             response_class=RedirectResponse, status_code=302)
    def oidc_login(request: Request) -> Response:
        """Sign in through the force's identity provider (redirects there)."""
        return to_provider(*oidc.begin(ctx, sso, redirect_uri(request)))

    @app.get("/api/auth/oidc/reauth", tags=["sign-in"], name="oidc_reauth",
             response_class=RedirectResponse, status_code=302)
    def oidc_reauth(request: Request) -> Response:
        """Re-authenticate this browser session at the identity provider (redirects there)."""
        who = auth_cases.principal_for(ctx, request.cookies.get(COOKIE), csrf=None,
                                       changes=False, via_cookie=True)
        return to_provider(*oidc.begin(ctx, sso, redirect_uri(request), reauth_for=who))

    def to_provider(url: str, attempt: str) -> Response:
        response = RedirectResponse(url, status_code=302)
        response.set_cookie(oidc.ATTEMPT_COOKIE, attempt, httponly=True, samesite="lax",
                            secure=ctx.secure_cookies, path=_ATTEMPT_PATH,
                            max_age=int(oidc.ATTEMPT_TTL.total_seconds()))
        return response

    @app.get("/api/auth/oidc/callback", tags=["sign-in"], name="oidc_callback",
             response_class=HTMLResponse)
    def oidc_callback(request: Request) -> Response:
        """Where the provider sends the browser back: opens a browser session."""
        params = {k: request.query_params.get(k, "") for k in ("state", "code", "error")}
        try:
            out = oidc.finish(ctx, sso, attempt=request.cookies.get(oidc.ATTEMPT_COOKIE),
                              params=params, redirect_uri=redirect_uri(request))
        except AuthenticationError as exc:
            refused = JSONResponse({"error": str(exc), "code": "not-authenticated"},
                                   status_code=401)
            refused.delete_cookie(oidc.ATTEMPT_COOKIE, path=_ATTEMPT_PATH)
            return refused
        name = html.escape(str(out["user"]["username"]))
        if "reauth_until" in out:
            done = HTMLResponse(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<title>patrolcast: re-authenticated</title></head><body>"
                f"<p>Re-authenticated as <strong>{name}</strong>: repeat the action within "
                "5 minutes.</p><p><a href=\"/\">Continue</a></p></body></html>"
            )
            done.delete_cookie(oidc.ATTEMPT_COOKIE, path=_ATTEMPT_PATH)
            return done
        page = HTMLResponse(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>patrolcast: signed in</title></head><body>"
            f"<p>Signed in to patrolcast as <strong>{name}</strong>.</p>"
            "<p><a href=\"/\">Continue</a></p></body></html>"
        )
        page.delete_cookie(oidc.ATTEMPT_COOKIE, path=_ATTEMPT_PATH)
        page.set_cookie(COOKIE, str(out["token"]), httponly=True, samesite="strict",
                        secure=ctx.secure_cookies, path="/")
        page.set_cookie(CSRF_COOKIE, str(out["csrf_token"]), httponly=False, samesite="strict",
                        secure=ctx.secure_cookies, path="/")
        return page
