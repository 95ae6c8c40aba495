"""The FastAPI application: authentication routes, one route per declared action, errors.

Routes are built from :data:`patrolcast.app.actions.ACTIONS`; this module adds no rule of its
own. Identity comes from a session cookie (browsers: HttpOnly, SameSite=Strict, Secure over
TLS, with a double-submitted CSRF token on every write) or a personal bearer token (the CLI).
Errors are one JSON line: 400 bad input, 401 not signed in or re-authentication needed, 403
refused (with the rule), 409 conflict, 422 malformed request. The OpenAPI document is served
at ``/api/openapi.json``; no page loads anything from outside the server.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Body, FastAPI, Request, Response
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from patrolcast.app import auth_cases
from patrolcast.app.actions import ACTIONS, ActionSpec, perform
from patrolcast.app.context import AppContext, Principal
from patrolcast.app.inputs import ActivateInput, LoginInput, ReauthInput, TokenInput
from patrolcast.errors import (
    AuthenticationError,
    ConflictError,
    InputError,
    PermissionDenied,
    ReauthenticationRequired,
)

__all__ = ["COOKIE", "CSRF_HEADER", "create_app"]

COOKIE = "pc_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE = {"GET", "HEAD", "OPTIONS"}
_JSON = "application/json"
_STATIC = Path(__file__).resolve().parent / "static"
#: a row id in a path: the database's integer range (larger ids are 422, never a 500)
RowId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


def _secret(request: Request) -> tuple[str | None, bool]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), False
    return request.cookies.get(COOKIE), True


def _principal(ctx: AppContext, request: Request) -> Principal:
    secret, via_cookie = _secret(request)
    return auth_cases.principal_for(
        ctx,
        secret,
        csrf=request.headers.get(CSRF_HEADER),
        changes=request.method not in _SAFE,
        via_cookie=via_cookie,
    )


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(AuthenticationError)
    async def _auth(_r: Request, exc: AuthenticationError) -> JSONResponse:
        return _error(401, str(exc), code="not-authenticated")

    @app.exception_handler(ReauthenticationRequired)
    async def _reauth(_r: Request, exc: ReauthenticationRequired) -> JSONResponse:
        return _error(401, str(exc), code="reauth-required")

    @app.exception_handler(PermissionDenied)
    async def _denied(_r: Request, exc: PermissionDenied) -> JSONResponse:
        return _error(403, str(exc), code="refused", rule=getattr(exc, "rule", None))

    @app.exception_handler(ConflictError)
    async def _conflict(_r: Request, exc: ConflictError) -> JSONResponse:
        return _error(409, str(exc), code="conflict", rule=getattr(exc, "rule", None))

    @app.exception_handler(InputError)
    async def _input(_r: Request, exc: InputError) -> JSONResponse:
        return _error(400, str(exc), code="bad-input")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_r: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI's own refusals (a body that is not JSON, a wrong method, no such route) in
        # the same one-line shape as ours.
        response = _error(exc.status_code, str(exc.detail), code="http")
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(SQLAlchemyTimeoutError)
    async def _busy(_r: Request, _exc: SQLAlchemyTimeoutError) -> JSONResponse:
        response = _error(503, "the server is busy: try again in a moment", code="busy")
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(_r: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return _error(422, f"{where or 'request'}: {first.get('msg', 'invalid')}",
                      code="invalid", details=[
                          {"loc": list(e.get("loc", ())), "msg": e.get("msg", "")}
                          for e in exc.errors()[:20]
                      ])


def _endpoint(ctx: AppContext, spec: ActionSpec) -> Callable[..., Any]:
    """A route function whose signature FastAPI reads (path parameter, then body or query)."""

    def endpoint(request: Request, **kwargs: Any) -> Any:
        who = _principal(ctx, request)
        target = kwargs.get(spec.target) if spec.target else None
        result = perform(ctx, who, spec.name, target, kwargs.get("body"))
        if spec.produces != _JSON:  # a document (briefing_cases.Document), as a download
            disposition = f'attachment; filename="{result.filename}"'
            return Response(result.content, media_type=spec.produces,
                            headers={"Content-Disposition": disposition})
        return result

    params = [inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request)]
    if spec.target:
        params.append(inspect.Parameter(spec.target, inspect.Parameter.KEYWORD_ONLY,
                                        annotation=RowId if spec.target_type is int
                                        else spec.target_type))
    if spec.input is not None:
        from fastapi import Query

        default = Query() if spec.method == "GET" else Body()
        params.append(inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY,
                                        annotation=spec.input, default=default))
    endpoint.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    endpoint.__name__ = spec.name
    return endpoint


def _document_route(spec: ActionSpec) -> dict[str, Any]:
    """OpenAPI of an action answering with a document: its media type, bytes not JSON."""
    if spec.produces == _JSON:
        return {}
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {"response_class": Response,
            "responses": {200: {"description": "the document", "content": {spec.produces: binary}}}}


def _security_headers(app: FastAPI) -> None:
    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> (
        Response
    ):
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"
        )
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def create_app(ctx: AppContext) -> FastAPI:
    """The application for one server (one database, one key)."""
    app = FastAPI(
        title="patrolcast",
        version=_version(),
        summary="Accountable, place-based decision support for short targeted patrols.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # Swagger UI would load scripts from a CDN
        redoc_url=None,
    )
    app.state.ctx = ctx
    _install_errors(app)
    _security_headers(app)

    def set_cookie(response: Response, token: str) -> None:
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                            secure=ctx.secure_cookies, path="/")

    @app.post("/api/auth/login", tags=["sign-in"])
    def login(body: LoginInput, response: Response) -> dict[str, Any]:
        """Sign in (browser): sets the session cookie, returns the CSRF token."""
        out = auth_cases.login(ctx, body)
        set_cookie(response, str(out.pop("token")))
        return out

    @app.post("/api/auth/tokens", tags=["sign-in"])
    def token(body: TokenInput) -> dict[str, Any]:
        """A personal API token for the command line (expiring, revocable)."""
        return auth_cases.token(ctx, body)

    @app.get("/api/auth/tokens", tags=["sign-in"])
    def tokens(request: Request) -> list[dict[str, Any]]:
        """Your personal tokens."""
        return auth_cases.list_tokens(ctx, _principal(ctx, request))

    @app.post("/api/auth/tokens/{token_id}/revoke", tags=["sign-in"])
    def revoke(request: Request, token_id: RowId) -> dict[str, Any]:
        """Revoke a token (yours; an administrator may revoke anyone's)."""
        return auth_cases.revoke_token(ctx, _principal(ctx, request), token_id)

    @app.post("/api/auth/reauth", tags=["sign-in"])
    def reauth(request: Request, body: ReauthInput) -> dict[str, Any]:
        """Password (+ one-time code) again, immediately before authorise/extend/role changes."""
        return auth_cases.reauth(ctx, _principal(ctx, request), body)

    @app.post("/api/auth/logout", tags=["sign-in"])
    def logout(request: Request, response: Response) -> dict[str, Any]:
        """End this session or revoke this token."""
        out = auth_cases.logout(ctx, _principal(ctx, request))
        response.delete_cookie(COOKIE, path="/")
        return out

    @app.get("/api/auth/me", tags=["sign-in"])
    def me(request: Request) -> dict[str, Any]:
        """Who you are signed in as."""
        return auth_cases.me(ctx, _principal(ctx, request))

    @app.post("/api/accounts/activate", tags=["sign-in"])
    def activate(body: ActivateInput) -> dict[str, Any]:
        """Set your password with the one-time enrolment code (TOTP secret returned once)."""
        return auth_cases.activate_account(ctx, body)

    @app.get("/api/audit/public-key", tags=["audit"], response_class=PlainTextResponse)
    def public_key() -> str:
        """The audit log's Ed25519 public key (PEM), for verifying exports."""
        if ctx.signer is None:
            raise InputError("this server has no audit signing key")
        return str(ctx.signer.public_key_pem())

    for spec in ACTIONS:
        app.add_api_route(
            spec.path,
            _endpoint(ctx, spec),
            methods=[spec.method],
            name=spec.name,
            summary=spec.summary,
            tags=[spec.tag],
            **_document_route(spec),
        )
    app.mount("/static", StaticFiles(directory=_STATIC), name="static")
    from patrolcast.web import mount_web  # the dashboard: pages over the same actions

    mount_web(app, ctx)
    if ctx.oidc is not None:  # optional single sign-on (patrolcast.api.oidc_routes)
        from patrolcast.api.oidc_routes import install_oidc

        install_oidc(app, ctx, ctx.oidc)
    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("patrolcast")
    except PackageNotFoundError:  # pragma: no cover
        return "0"
