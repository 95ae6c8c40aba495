"""Opening the server's world: its database, its key, its audit signer (from settings).

The server is the only writer of the governance and intelligence tables. Its keys live in
``<home>/keys`` (never in the database). A database that does not exist is an error unless the
caller asks to create it (only :func:`bootstrap` does), so a mistyped ``--db`` never creates an
empty database whose first account would be an administrator.
"""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

from patrolcast.app.context import AppContext
from patrolcast.app.oidc import oidc_settings
from patrolcast.config import Settings
from patrolcast.errors import InputError
from patrolcast.governance.db import open_database
from patrolcast.governance.identity.keys import ServerKey
from patrolcast.governance.identity.sign_in import TotpProvisioning, bootstrap_administrator
from patrolcast.governance.signing import AuditSigner

__all__ = ["bootstrap", "open_context"]


def open_context(settings: Settings, *, create: bool = False) -> AppContext:
    """The server's context: refuses a database that does not exist unless ``create``."""
    key = ServerKey.load_or_create(settings.keys_dir)
    signer = AuditSigner.load_or_create(settings.keys_dir)
    try:
        db = open_database(settings.effective_database_url, allow_new=create, signer=signer)
    except OperationalError as exc:
        where = settings.effective_database_url.split("@")[-1]  # never print a password
        first = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else "failed"
        raise InputError(f"cannot open the database at {where}: {first}") from None
    boroughs = settings.boroughs_path
    return AppContext(
        db=db,
        key=key,
        signer=signer,
        boroughs_path=boroughs if boroughs.exists() else None,
        oidc=oidc_settings(settings),
        home=settings.home,
    )


def bootstrap(
    settings: Settings, *, username: str, password: str, display_name: str = ""
) -> TotpProvisioning:
    """Create the database and its first administrator (refused on a database with users)."""
    ctx = open_context(settings, create=True)
    try:
        with ctx.db.session() as s:
            return bootstrap_administrator(
                s, ctx.key, ctx.clock, username=username, password=password,
                display_name=display_name,
            )
    finally:
        ctx.db.dispose()
