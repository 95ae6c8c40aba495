"""The governance database: engines, sessions, portable column types, migrations, retries.

SQLite (the embedded default) is opened in WAL mode with ``synchronous=FULL`` and foreign keys
on, and every write transaction starts with ``BEGIN IMMEDIATE`` so that a read-then-write (check
a proposal's state, then change it) cannot interleave with another writer. Read-only work may ask
for a deferred transaction with ``session.connection(execution_options={"sqlite_deferred":
True})``. PostgreSQL uses row locks (``SELECT ... FOR UPDATE``) plus the proposal's version
counter, and :func:`run_transaction` retries serialisation failures and deadlocks.

Public API
----------
``open_database(url, *, create=True, allow_new=True, signer=None) -> Database`` (``.engine``,
``.session()``), ``restrict_app_role(engine, role)`` (PostgreSQL), ``migrate(engine)`` (Alembic
``upgrade heads`` from the migrations shipped inside the package, plus any extra version
locations registered with :func:`add_version_location`), ``run_transaction(session, work)``,
column types ``UTCDateTime`` and ``JSONText``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import DateTime, Engine, Text, create_engine, event
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from patrolcast.errors import InputError

if TYPE_CHECKING:
    from patrolcast.governance.signing import AuditSigner

__all__ = [
    "Database",
    "JSONText",
    "UTCDateTime",
    "add_version_location",
    "canonical_json",
    "migrate",
    "open_database",
    "restrict_app_role",
    "KeptRefusal",
    "run_keeping_refusals",
    "run_transaction",
]

T = TypeVar("T")
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_EXTRA_VERSION_LOCATIONS: list[Path] = []


def canonical_json(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 characters kept (used for hashing)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC (naive UTC text on SQLite, timestamptz on PostgreSQL)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored: times are UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class JSONText(TypeDecorator[Any]):
    """JSON kept as canonical text (identical bytes on every backend)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else canonical_json(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("sqlite_deferred"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


@dataclass(frozen=True)
class Database:
    """An engine and its session factory."""

    engine: Engine
    sessions: sessionmaker[Session]

    def session(self) -> Session:
        """A new session (``expire_on_commit`` off: results stay readable after commit)."""
        return self.sessions()

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(
    url: str,
    *,
    create: bool = True,
    allow_new: bool = True,
    signer: AuditSigner | None = None,
    echo: bool = False,
    sqlite_synchronous: str = "FULL",
) -> Database:
    """Open (and by default migrate) the governance database at ``url``.

    ``sqlite:///path`` creates the parent folder; ``postgresql+psycopg://...`` needs psycopg.
    ``allow_new=False`` refuses a SQLite path where no database exists yet (the CLI and the
    server pass it, so a mistyped path is an error, not a new empty database). ``signer`` (the
    server's :class:`~patrolcast.governance.signing.AuditSigner`) signs every audit append made
    through this database's sessions. ``sqlite_synchronous`` stays ``FULL`` in production
    (nothing acknowledged is lost); tests of pure permission logic may pass ``OFF`` for speed.
    Sessions collect the governed rows each transaction writes for the audit entry
    (:mod:`patrolcast.governance.audit_rows`).
    """
    if sqlite_synchronous not in ("FULL", "NORMAL", "OFF", "EXTRA"):
        raise InputError("sqlite_synchronous must be FULL, EXTRA, NORMAL or OFF")
    if not url:
        raise InputError("empty database URL")
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if not allow_new and (not path or path == ":memory:" or not Path(path).is_file()):
            raise InputError(
                f"no database at {path or url} (create it with `patrolcast admin bootstrap`, "
                "or check the path)"
            )
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, echo=echo, connect_args={"timeout": 60}, **_pool_for(url)
        )
        _configure_sqlite(engine, sqlite_synchronous)
    elif url.startswith("postgresql"):
        try:
            engine = create_engine(url, echo=echo, pool_pre_ping=True, **_pool_for(url))
        except ModuleNotFoundError as exc:
            raise InputError(
                f"PostgreSQL needs the driver {exc.name}: pip install 'patrolcast[postgres]'"
            ) from None
    else:
        raise InputError(
            f"unsupported database URL {url.split(':', 1)[0]}: use sqlite or postgresql"
        )
    if create:
        migrate(engine)
    from patrolcast.governance import audit_rows
    from patrolcast.governance.signing import SIGNER_INFO_KEY

    sessions = sessionmaker(engine, expire_on_commit=False, info={SIGNER_INFO_KEY: signer})
    audit_rows.install(sessions)
    return Database(engine=engine, sessions=sessions)


#: Tables the application may only append to (and read).
APPEND_ONLY_TABLES = ("audit_log", "audit_checkpoints")
_ROLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def restrict_app_role(engine: Engine, role: str) -> None:
    """PostgreSQL: let ``role`` (the server's login, not the tables' owner) use every table but
    never change or remove audit entries: REVOKE UPDATE, DELETE and TRUNCATE on the audit
    tables (and TRUNCATE everywhere), GRANT what the application needs. Run as the owner after
    migrating. The append-only triggers of migration 0003 stop the owner too, unless dropped."""
    if engine.dialect.name != "postgresql":
        raise InputError("restrict_app_role is for PostgreSQL (SQLite has no roles)")
    if not _ROLE.match(role):
        raise InputError(f"role name {role!r}: letters, digits and '_' only")
    quoted = f'"{role}"'
    from sqlalchemy import inspect as sa_inspect

    with engine.begin() as conn:
        tables = set(sa_inspect(conn).get_table_names())
        missing = set(APPEND_ONLY_TABLES) - tables
        if missing:
            raise InputError(f"migrate first: no table {', '.join(sorted(missing))}")
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {quoted}")
        for name in sorted(tables):
            if name in APPEND_ONLY_TABLES:
                conn.exec_driver_sql(f'REVOKE ALL ON "{name}" FROM {quoted}')
                conn.exec_driver_sql(f'GRANT SELECT, INSERT ON "{name}" TO {quoted}')
            elif name == "alembic_version":
                conn.exec_driver_sql(f'REVOKE ALL ON "{name}" FROM {quoted}')
                conn.exec_driver_sql(f'GRANT SELECT ON "{name}" TO {quoted}')
            elif name == "audit_head":
                conn.exec_driver_sql(f'REVOKE ALL ON "{name}" FROM {quoted}')
                conn.exec_driver_sql(f'GRANT SELECT, UPDATE ON "{name}" TO {quoted}')
            else:
                conn.exec_driver_sql(f'REVOKE TRUNCATE ON "{name}" FROM {quoted}')
                conn.exec_driver_sql(
                    f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{name}" TO {quoted}'
                )
        conn.exec_driver_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")


#: Connections a server may hold: more than its worker threads (uvicorn runs sync routes on a
#: pool of 40), so a request never waits for a connection another request is not using.
POOL_SIZE, POOL_OVERFLOW = 20, 30


def _pool_for(url: str) -> dict[str, Any]:
    in_memory = ":memory:" in url or url.rstrip("/") in ("sqlite:", "sqlite:/")
    if url.startswith("sqlite") and in_memory:
        return {}
    return {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW, "pool_timeout": 60}


def add_version_location(path: Path) -> None:
    """Register another Alembic versions folder (e.g. oversight's) for :func:`migrate`."""
    if path not in _EXTRA_VERSION_LOCATIONS:
        _EXTRA_VERSION_LOCATIONS.append(path)


def _version_locations() -> list[Path]:
    locations = [MIGRATIONS_DIR / "versions"]
    oversight = MIGRATIONS_DIR.parents[1] / "oversight" / "migrations" / "versions"
    if oversight.is_dir():
        locations.append(oversight)
    locations.extend(p for p in _EXTRA_VERSION_LOCATIONS if p not in locations)
    return locations


def migrate(engine: Engine, *, revision: str = "heads") -> None:
    """Bring the schema up to ``revision`` with Alembic (migrations ship inside the package)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("version_locations", " ".join(str(p) for p in _version_locations()))
    config.set_main_option("path_separator", "space")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


_RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected


def is_retryable(exc: BaseException) -> bool:
    """True for PostgreSQL serialisation failures/deadlocks and SQLite busy errors."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in _RETRYABLE_SQLSTATES:
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(orig)


def run_transaction(
    session: Session,
    work: Callable[[], T],
    *,
    attempts: int = 8,
    commit_on: tuple[type[BaseException], ...] = (),
) -> T:
    """Run ``work`` in a transaction and commit; retry serialisation failures.

    Exceptions listed in ``commit_on`` still commit what ``work`` wrote (used to keep the audit
    entry of a denied attempt) before propagating. Anything else rolls back.
    """
    for attempt in range(attempts):
        try:
            result = work()
            session.commit()
            return result
        except commit_on:
            session.commit()
            raise
        except DBAPIError as exc:
            session.rollback()
            if is_retryable(exc) and attempt + 1 < attempts:
                time.sleep(0.01 * (2**attempt))
                continue
            raise
        except BaseException:
            session.rollback()
            raise
    raise AssertionError("unreachable")  # pragma: no cover


class KeptRefusal(Exception):
    """Raised inside a transaction's work to keep what it wrote (the refusal's audit entry),
    commit, then raise ``error`` to the caller (see :func:`run_keeping_refusals`)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def run_keeping_refusals(
    session: Session,
    work: Callable[[], T],
    *,
    commit_on: tuple[type[BaseException], ...] = (),
) -> T:
    """:func:`run_transaction`, where a :class:`KeptRefusal` commits and raises its error."""
    try:
        return run_transaction(session, work, commit_on=(KeptRefusal, *commit_on))
    except KeptRefusal as exc:
        raise exc.error from None

