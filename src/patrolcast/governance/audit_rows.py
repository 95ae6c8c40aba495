"""Row digests: every write to a governed table is described by the audit entry of its transaction.

The audit chain proves the *log* is intact; this module ties the *tables* to it. Sessions made by
:func:`patrolcast.governance.db.open_database` collect, after each flush (and before each bulk
ORM ``UPDATE``/``DELETE``), the key (``"table/id"``) of every governed row written.
:func:`patrolcast.governance.audit.append` then adds ``{"rows": {"proposals/5": "<digest>",
"decisions/9": "deleted"}}`` to the entry's detail (the digest of the row as stored at that
moment, read back from the database) and clears the list; committing with governed rows written
and no audit entry after them raises :class:`UnauditedWrite` (a programming error). A bulk ORM
``INSERT`` into a governed table is refused outright.

:class:`Replay` rebuilds, in the verifier's single pass over the log, the latest digest of every
row and each proposal's state, window, authoriser, proposer, extensions and version from the
lifecycle entries; :meth:`Replay.check` compares them with the tables now. A row edited,
inserted or deleted outside the application is named with its table and id.

Digest: SHA-256 of the canonical JSON ``{"t": table, "k": key, "row": {column: value}}`` of the
row's stored values (datetimes as UTC ISO 8601 with microseconds, text as stored, so JSON
columns are compared in the canonical form :class:`~patrolcast.governance.db.JSONText` writes).
The table and key are inside the digest, so a row's content cannot be moved to another row.

Governed tables: every table in the database except :data:`UNGOVERNED_TABLES` (the audit tables
themselves, Alembic's version table, and the sign-in state: ``credentials`` and
``auth_sessions``, which change on every sign-in and carry their own server MAC) and any table
registered with :func:`register_ungoverned` or declared with ``__table_args__ = {"info":
{"governed": False}}``. A new table is governed unless declared otherwise (fail-safe).

A migration that changes a governed table's columns changes its rows' digests: it must call
:func:`patrolcast.governance.audit.append_baseline` after the change.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, column, event, inspect, or_, select, table
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from patrolcast.governance.db import canonical_json
from patrolcast.governance.models import Base
from patrolcast.governance.states import Action

__all__ = [
    "DELETED",
    "UNGOVERNED_TABLES",
    "Replay",
    "Schema",
    "UnauditedWrite",
    "current_digests",
    "describe",
    "install",
    "is_governed",
    "reflect",
    "register_ungoverned",
    "row_digest",
    "take_pending",
]

_log = logging.getLogger(__name__)
DELETED = "deleted"
#: Tables whose rows are not described by audit entries. Extend with :func:`register_ungoverned`.
UNGOVERNED_TABLES: set[str] = {
    "audit_log",
    "audit_head",
    "audit_checkpoints",
    "alembic_version",
    "credentials",  # sign-in state (failed attempts, TOTP step): changes on every sign-in
    "auth_sessions",  # browser sessions and tokens: last_seen_at moves on every request
}
PENDING_KEY = "patrolcast.audit.pending"
SCHEMA_KEY = "patrolcast.audit.schema"
#: ``(signer, SignedCheckpoint)`` to append to the checkpoint log file once the commit succeeds.
OUTSIDE_KEY = "patrolcast.audit.outside"


class UnauditedWrite(RuntimeError):
    """Governed rows were written in a transaction with no audit entry describing them."""


def register_ungoverned(*names: str) -> None:
    """Declare tables whose rows are not audited (e.g. sign-in state). Use sparingly."""
    UNGOVERNED_TABLES.update(names)


def is_governed(name: str, info: Mapping[str, Any] | None = None) -> bool:
    """False for the registry's tables and for a mapped table declared ``info={"governed":
    False}`` (a table of a module not imported here is governed unless registered)."""
    if name in UNGOVERNED_TABLES or name.startswith("sqlite_"):
        return False
    if info is None:
        table_obj = Base.metadata.tables.get(name)
        info = table_obj.info if table_obj is not None else None
    return not (info is not None and info.get("governed") is False)


# --- schema and digests --------------------------------------------------------------------


@dataclass(frozen=True)
class TableShape:
    columns: tuple[str, ...]
    primary_key: tuple[str, ...]


Schema = dict[str, TableShape]


def reflect(connection: Connection) -> Schema:
    """The governed tables of the database as it is now (names, columns, primary keys)."""
    insp = inspect(connection)
    out: Schema = {}
    for name in sorted(insp.get_table_names()):
        if not is_governed(name):
            continue
        cols = tuple(c["name"] for c in insp.get_columns(name))
        pk = tuple(insp.get_pk_constraint(name).get("constrained_columns") or ()) or cols
        out[name] = TableShape(columns=cols, primary_key=pk)
    return out


def _norm(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "hex:" + bytes(value).hex()
    return value


def row_key(name: str, pk_values: Sequence[Any]) -> str:
    return f"{name}/" + ",".join(str(v) for v in pk_values)


def row_digest(name: str, key: str, values: Mapping[str, Any]) -> str:
    body = canonical_json({"t": name, "k": key, "row": {c: _norm(v) for c, v in values.items()}})
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _select(name: str, shape: TableShape) -> Any:
    t = table(name, *(column(c) for c in shape.columns))
    return t, select(*(t.c[c] for c in shape.columns))


def _digests(rows: Iterable[Any], name: str, shape: TableShape) -> dict[str, str]:
    out: dict[str, str] = {}
    for row in rows:
        values = dict(zip(shape.columns, row, strict=True))
        key = row_key(name, [values[c] for c in shape.primary_key])
        out[key] = row_digest(name, key, values)
    return out


def current_digests(connection: Connection, schema: Schema | None = None) -> dict[str, str]:
    """The digest of every row of every governed table, keyed ``"table/id"``."""
    schema = reflect(connection) if schema is None else schema
    out: dict[str, str] = {}
    for name, shape in schema.items():
        _, query = _select(name, shape)
        out.update(_digests(connection.execute(query), name, shape))
    return out


def describe(
    connection: Connection, keys: Iterable[tuple[str, str]], schema: Schema | None = None
) -> dict[str, str]:
    """``{"table/id": digest or "deleted"}`` for the given ``(table, id-text)`` keys, read now."""
    by_table: dict[str, list[str]] = {}
    for name, ident in keys:
        by_table.setdefault(name, []).append(ident)
    if not by_table:
        return {}
    if schema is None or any(name not in schema for name in by_table):
        schema = reflect(connection)
    out: dict[str, str] = {}
    for name, idents in sorted(by_table.items()):
        shape = schema.get(name)
        if shape is None:
            continue
        t, query = _select(name, shape)
        conds = []
        for ident in idents:
            parts = ident.split(",")
            if len(parts) != len(shape.primary_key):
                continue
            values = [int(p) if p.lstrip("-").isdigit() else p for p in parts]
            pairs = zip(shape.primary_key, values, strict=True)
            conds.append(and_(*(t.c[c] == v for c, v in pairs)))
        found: dict[str, str] = {}
        for start in range(0, len(conds), 500):
            chunk = conds[start : start + 500]
            found.update(_digests(connection.execute(query.where(or_(*chunk))), name, shape))
        for ident in idents:
            key = f"{name}/{ident}"
            out[key] = found.get(key, DELETED)
    return dict(sorted(out.items()))


# --- session events --------------------------------------------------------------------------


def _pending(session: Session) -> dict[tuple[str, str], None]:
    pending: dict[tuple[str, str], None] = session.info.setdefault(PENDING_KEY, {})
    return pending


def take_pending(session: Session) -> list[tuple[str, str]]:
    """The governed rows written since the last audit entry (and forget them)."""
    pending = session.info.pop(PENDING_KEY, None) or {}
    return list(pending)


def schema_of(session: Session) -> Schema | None:
    holder = session.info.get(SCHEMA_KEY)
    if not isinstance(holder, _SchemaHolder):
        return None
    if holder.schema is None:
        holder.schema = reflect(session.connection())
    return holder.schema


@dataclass
class _SchemaHolder:
    schema: Schema | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _after_flush(session: Session, _ctx: Any) -> None:
    pending = _pending(session)
    dirty = set(session.dirty)
    for obj in itertools.chain(session.new, dirty, session.deleted):
        state = inspect(obj)
        tbl = state.mapper.local_table
        name = getattr(tbl, "name", "")
        if not is_governed(name, getattr(tbl, "info", None)):
            continue
        if obj in dirty and not session.is_modified(obj, include_collections=False):
            continue
        if state.identity is not None:
            pk = state.identity
        else:
            pk = tuple(state.mapper.primary_key_from_instance(obj))
        pending[(name, ",".join(str(v) for v in pk))] = None


def _on_orm_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    tbl = getattr(state.statement, "table", None)
    name = getattr(tbl, "name", None)
    if tbl is None or not name or not is_governed(name, getattr(tbl, "info", None)):
        return
    if state.is_insert:
        raise UnauditedWrite(
            f"bulk INSERT into the governed table {name} cannot be audited: add ORM objects"
        )
    pk_cols = list(tbl.primary_key.columns)
    query = select(*pk_cols)
    where = getattr(state.statement, "whereclause", None)
    if where is not None:
        query = query.where(where)
    pending = _pending(state.session)
    for row in state.session.execute(query):
        pending[(name, ",".join(str(v) for v in row))] = None


def _before_commit(session: Session) -> None:
    session.flush()
    pending = session.info.get(PENDING_KEY)
    if pending:
        # the rows stay pending: they are still in the open transaction, so a retried commit
        # is refused again and an entry appended now describes them (a rollback or the end of
        # the transaction forgets them)
        keys = ", ".join(f"{t}/{i}" for t, i in list(pending)[:5])
        raise UnauditedWrite(
            f"governed rows written without an audit entry describing them: {keys}"
            + (" ..." if len(pending) > 5 else "")
        )


def _clear(session: Session, *_: Any) -> None:
    session.info.pop(PENDING_KEY, None)
    session.info.pop(OUTSIDE_KEY, None)


def _transaction_end(session: Session, transaction: Any) -> None:
    """The session's outermost transaction ended (committed, rolled back or closed): whatever
    it wrote and did not commit is gone."""
    if transaction.parent is None:
        _clear(session)


def _no_savepoints(session: Session, transaction: Any) -> None:
    """Savepoints are refused on a governed session: rolling one back or releasing it would
    need the pending rows and the entries taken for them to follow the savepoint (a rolled-back
    entry must not describe rows that stay; a release is not the commit the checkpoint is
    written after). Nothing in patrolcast uses them, so none is allowed."""
    if transaction.nested:
        raise UnauditedWrite(
            "savepoints (begin_nested) are not allowed on a governed session: "
            "every governed write commits with its audit entry in one transaction"
        )


def _after_commit(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)
    outside = session.info.pop(OUTSIDE_KEY, None)
    if outside is not None:
        signer, cp = outside
        try:
            signer.record(cp)
        except OSError as exc:  # committed already: never turn a durable write into an error
            _log.warning(
                "audit checkpoint seq %s not written to the checkpoint log: %s", cp.seq, exc
            )


def install(sessions: sessionmaker[Session]) -> None:
    """Attach the row-collecting events to a session factory (done by ``open_database``)."""
    sessions.kw.setdefault("info", {})[SCHEMA_KEY] = _SchemaHolder()
    event.listen(sessions, "after_flush", _after_flush)
    event.listen(sessions, "do_orm_execute", _on_orm_execute)
    event.listen(sessions, "before_commit", _before_commit)
    event.listen(sessions, "after_soft_rollback", _clear)
    event.listen(sessions, "after_transaction_end", _transaction_end)
    event.listen(sessions, "after_transaction_create", _no_savepoints)
    event.listen(sessions, "after_commit", _after_commit)


# --- replay ----------------------------------------------------------------------------------

_LIFECYCLE = frozenset(a.value for a in Action)
_STORED = {"active": "authorised", "expired": "authorised"}


def _as_time(value: Any) -> Any:
    if value is None or isinstance(value, datetime):
        return None if value is None else _norm(value)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return _norm(parsed)


@dataclass
class _ProposalLog:
    seq: int = 0
    state: str | None = None
    version: int | None = None
    proposer: str | None = None
    authoriser: str | None = None
    start: Any = None
    end: Any = None
    extensions: int = 0
    cancelled_at: Any = None


@dataclass
class Replay:
    """What the log says the tables hold, rebuilt in one pass (feed entries in ``seq`` order)."""

    latest: dict[str, tuple[int, str]] = field(default_factory=dict)
    proposals: dict[str, _ProposalLog] = field(default_factory=dict)

    def feed(
        self,
        *,
        seq: int,
        actor: str,
        action: str,
        target_type: str,
        target_id: str,
        outcome: str,
        recorded_at: str,
        detail: Mapping[str, Any],
    ) -> None:
        rows = detail.get("rows")
        if isinstance(rows, Mapping):
            for key, digest in rows.items():
                self.latest[str(key)] = (seq, str(digest))
        if target_type != "proposal" or outcome != "done" or action not in _LIFECYCLE:
            return
        p = self.proposals.setdefault(target_id, _ProposalLog())
        p.seq = seq
        to = detail.get("to")
        if isinstance(to, str):
            p.state = _STORED.get(to, to)
        version = detail.get("version")
        p.version = version if isinstance(version, int) else None
        if action == "propose":
            p.proposer = actor
        elif action == "authorise":
            p.authoriser, p.start, p.end = actor, detail.get("start"), detail.get("end")
        elif action == "extend":
            p.end = detail.get("new_end")
            ext = detail.get("extension")
            p.extensions = ext if isinstance(ext, int) else p.extensions + 1
        elif action == "cancel":
            p.cancelled_at = recorded_at

    def check(
        self, connection: Connection, schema: Schema | None = None, *, max_problems: int = 50
    ) -> tuple[list[str], int]:
        """Problems found comparing the tables with the log, and the number of rows checked."""
        schema = reflect(connection) if schema is None else schema
        current = current_digests(connection, schema)
        problems: list[str] = []
        for key, digest in current.items():
            got = self.latest.get(key)
            if got is None:
                problems.append(
                    f"{key}: no audit entry describes this row (inserted outside the application)"
                )
            elif got[1] == DELETED:
                problems.append(
                    f"{key}: the log says it was deleted (seq {got[0]}) but the row exists"
                )
            elif got[1] != digest:
                problems.append(
                    f"{key}: the row differs from its audit digest (seq {got[0]}): edited "
                    "outside the application"
                )
        for key, (seq, digest) in self.latest.items():
            name = key.split("/", 1)[0]
            if digest != DELETED and key not in current and is_governed(name):
                problems.append(
                    f"{key}: missing, but the log (seq {seq}) says it exists (deleted outside "
                    "the application)"
                )
        if "proposals" in schema:
            problems.extend(self._check_proposals(connection, schema))
        return problems[:max_problems], len(current)

    def _check_proposals(self, connection: Connection, schema: Schema) -> list[str]:
        wanted = (
            "id",
            "state",
            "version",
            "proposer_id",
            "authorised_start",
            "authorised_end",
            "authorised_by_id",
            "extensions_used",
            "cancelled_at",
        )
        shape = schema["proposals"]
        if not set(wanted) <= set(shape.columns):
            return ["proposals: columns are missing from the table"]
        names: dict[Any, str] = {}
        if "people" in schema:
            people = table("people", column("id"), column("username"))
            names = {
                r[0]: str(r[1]) for r in connection.execute(select(people.c.id, people.c.username))
            }
        t = table("proposals", *(column(c) for c in wanted))
        problems: list[str] = []
        for row in connection.execute(select(*(t.c[c] for c in wanted))):
            r = dict(zip(wanted, row, strict=True))
            pid = str(r["id"])
            log = self.proposals.get(pid)
            if log is None or log.proposer is None:
                problems.append(f"proposals/{pid}: no propose entry in the log for this proposal")
                continue
            expected = {
                "state": log.state,
                "version": log.version,
                "proposer": log.proposer,
                "authoriser": log.authoriser,
                "authorised_start": _as_time(log.start),
                "authorised_end": _as_time(log.end),
                "extensions_used": log.extensions,
                "cancelled_at": _as_time(log.cancelled_at),
            }
            actual = {
                "state": r["state"],
                "version": r["version"],
                "proposer": names.get(r["proposer_id"], f"#{r['proposer_id']}"),
                "authoriser": None
                if r["authorised_by_id"] is None
                else names.get(r["authorised_by_id"], f"#{r['authorised_by_id']}"),
                "authorised_start": _as_time(r["authorised_start"]),
                "authorised_end": _as_time(r["authorised_end"]),
                "extensions_used": r["extensions_used"],
                "cancelled_at": _as_time(r["cancelled_at"]),
            }
            for name, want in expected.items():
                if name == "version" and want is None:
                    continue
                if actual[name] != want:
                    problems.append(
                        f"proposals/{pid}: {name} is {actual[name]!r} but the log's transitions "
                        f"(last seq {log.seq}) give {want!r}"
                    )
        return problems
