"""What a use case runs with: the database, the server key, the clock, the audit signer,
and the authenticated person."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patrolcast.governance.clock import Clock, SystemClock
from patrolcast.governance.db import Database
from patrolcast.governance.identity.keys import ServerKey
from patrolcast.governance.places import BoroughList, load_borough_list
from patrolcast.governance.roles import Actor

__all__ = ["AppContext", "Principal"]


@dataclass
class AppContext:
    """The server's resources (one per running server)."""

    db: Database
    key: ServerKey
    clock: Clock = field(default_factory=SystemClock)
    boroughs_path: Path | None = None  # borough boundaries used to find whom to consult
    signer: Any = None  # the audit log's Ed25519 signer (public key published)
    secure_cookies: bool = False  # True when served over TLS
    home: Path | None = None  # the data home whose analytical store outcome evaluations read
    oidc: Any = None  # OpenID Connect sign-in settings (patrolcast.app.oidc.OidcSettings) or None

    def borough_list(self) -> BoroughList | None:
        """The known boroughs (codes, names, polygons), or None when no boundaries are set."""
        if self.boroughs_path is None:
            return None
        return load_borough_list(self.boroughs_path)


@dataclass(frozen=True)
class Principal:
    """The authenticated person behind a request, and the session or token they used."""

    actor: Actor
    session_id: int
    kind: str  # "browser" | "token"

    @property
    def username(self) -> str:
        return self.actor.username
