"""One Settings object: flag > environment > file > defaults.

The file is ``$PATROLCAST_CONFIG``, else the per-user ``~/.config/patrolcast/settings.toml``
when it exists (``[patrolcast]`` settings and the ``[organisation]`` table).

No setting chooses a policy profile: profiles are the shipped files or ones an administrator
installs through the server (a per-user environment variable or config file cannot swap the
rules a decision is made under).

One data home holds the analytical store (``<home>/store``), the governance database
(``<home>/patrolcast.db``) and the server's keys (``<home>/keys``). It defaults to the per-user
data folder (``platformdirs.user_data_dir("patrolcast")``, e.g. ``~/.local/share/patrolcast``),
never to the folder a command is run from; ``PATROLCAST_HOME``, the settings file's ``home`` or a
``--home`` flag override it. A PostgreSQL governance database is named by ``database_url`` (the
server's setting; the keys stay in the home). The shared real-data folder defaults to
``../shared/data`` next to the repository.
Secrets have no defaults: a setting that is a secret and still holds a placeholder is refused.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from patrolcast.errors import InputError

_REPO_ROOT = Path(__file__).resolve().parents[2]
_PLACEHOLDER_SECRETS = {"", "changeme", "secret", "password", "default"}


def default_home() -> Path:
    """The per-user data folder: ``platformdirs.user_data_dir("patrolcast")``."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("patrolcast", appauthor=False))


def default_settings_file() -> Path:
    """The per-user settings file, read when ``PATROLCAST_CONFIG`` names none and it exists:
    ``platformdirs.user_config_dir("patrolcast")/settings.toml`` (``~/.config/patrolcast``)."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("patrolcast", appauthor=False)) / "settings.toml"


def default_shared_data() -> Path:
    """``$PATROLCAST_SHARED_DATA`` or ``../shared/data`` beside the repository checkout."""
    env = os.environ.get("PATROLCAST_SHARED_DATA")
    if env:
        return Path(env)
    return _REPO_ROOT.parent / "shared" / "data"


@dataclass(frozen=True)
class Organisation:
    """The deploying force, from the ``[organisation]`` table of the settings file.

    Fills the Algorithmic Transparency Recording Standard fields, the briefing outputs'
    protective marking and their footer. Defaults say plainly that they were not set.
    """

    name: str = "(deploying police force: set [organisation] name in the settings file)"
    team: str = ""
    contact: str = "(public contact address: set [organisation] contact in the settings file)"
    senior_responsible_owner: str = ""
    website: str = ""
    protective_marking: str = "OFFICIAL - SENSITIVE"  # printed on every briefing output
    public_marking: str = "OFFICIAL"  # printed on published (transparency) outputs

    @property
    def configured(self) -> bool:
        return not self.name.startswith("(")


_ORGANISATION_FIELDS = {f.name for f in fields(Organisation)}


@dataclass(frozen=True)
class Settings:
    """Application settings. Build with :func:`load_settings`."""

    home: Path = field(default_factory=default_home)
    shared_data: Path = default_shared_data()
    crs: str = "EPSG:27700"
    cell_size: float = 250.0
    database_url: str = ""  # empty: SQLite file in ``home``; a PostgreSQL server's URL
    server_url: str = ""  # the patrolcast server the CLI's governance commands talk to
    boroughs_file: str = ""  # borough boundaries (default: London boroughs in shared data)
    api_secret: str | None = None
    # Optional OpenID Connect sign-in (patrolcast.app.oidc); empty issuer: switched off.
    oidc_issuer: str = ""  # the provider's issuer URL (https; http only on loopback)
    oidc_client_id: str = ""
    oidc_client_secret_file: str = ""  # a file (mode 0600) holding the client secret
    oidc_redirect_url: str = ""  # https://<server>/api/auth/oidc/callback, as registered
    oidc_username_claim: str = "preferred_username"  # maps to an existing local account
    oidc_mfa_acr: str = ""  # comma-separated acr values that count as a second factor
    organisation: Organisation = Organisation()

    @property
    def store_dir(self) -> Path:
        return self.home / "store"

    @property
    def sqlite_path(self) -> Path:
        return self.home / "patrolcast.db"

    @property
    def keys_dir(self) -> Path:
        """The server's keys (session HMAC key, audit signing key): never in the database."""
        return self.home / "keys"

    def require_home(self) -> None:
        """Refuse a data home that does not exist (a command that only reads never creates it)."""
        if not self.home.is_dir():
            raise InputError(
                f"no data home at {self.home} (nothing ingested or set up there): give --home "
                "DIR or set PATROLCAST_HOME"
            )

    @property
    def boroughs_path(self) -> Path:
        if self.boroughs_file:
            return Path(self.boroughs_file)
        return self.shared_data / "boundaries" / "london_boroughs.gpkg"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    def require_secret(self) -> str:
        """The API secret, refusing a missing or placeholder value."""
        if self.api_secret is None or self.api_secret.strip().lower() in _PLACEHOLDER_SECRETS:
            raise InputError("PATROLCAST_API_SECRET is unset or a placeholder: set a real secret")
        return self.api_secret


def _coerce(name: str, value: Any) -> Any:
    if name in ("home", "shared_data"):
        return Path(str(value)).expanduser()
    if name == "cell_size":
        try:
            size = float(value)
        except (TypeError, ValueError):
            raise InputError(f"cell_size must be a number of metres, got {value!r}") from None
        if size <= 0:
            raise InputError("cell_size must be positive")
        return size
    return str(value)


def load_settings(config_file: Path | None = None, **flags: Any) -> Settings:
    """Settings from flags, then ``PATROLCAST_*`` environment variables, then a TOML file
    (``config_file``, else ``$PATROLCAST_CONFIG``, else the per-user settings file if present)."""
    values: dict[str, Any] = {}
    organisation: dict[str, Any] = {}
    env_file = os.environ.get("PATROLCAST_CONFIG")
    path = config_file or (Path(env_file) if env_file else None)
    if path is None and default_settings_file().is_file():
        path = default_settings_file()
    if path is not None:
        if not path.exists():
            raise InputError(f"config file {path} does not exist")
        with path.open("rb") as fh:
            document = tomllib.load(fh)
        values.update(document.get("patrolcast", {}))
        organisation = dict(document.get("organisation", {}))
    unknown_org = set(organisation) - _ORGANISATION_FIELDS
    if unknown_org:
        raise InputError(f"unknown [organisation] setting(s): {', '.join(sorted(unknown_org))}")
    for key, value in organisation.items():
        if not isinstance(value, str):
            raise InputError(f"[organisation] {key} must be text, got {value!r}")
    names = {f.name for f in fields(Settings)} - {"organisation"}
    for name in names:
        env = os.environ.get(f"PATROLCAST_{name.upper()}")
        if env is not None:
            values[name] = env
    values.update({k: v for k, v in flags.items() if v is not None})
    unknown = set(values) - names
    if unknown:
        raise InputError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    return replace(
        Settings(),
        organisation=Organisation(**organisation),
        **{k: _coerce(k, v) for k, v in values.items()},
    )
