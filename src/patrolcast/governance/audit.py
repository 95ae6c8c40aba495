"""The audit log: an append-only SHA-256 hash chain, signed checkpoints, replay against the tables.

Every governance action (done, denied, or a read of a sensitive record) appends one
:class:`AuditRecord` in the same transaction as the change it records. Entry ``n`` stores
``hash_n = SHA-256(canonical JSON of {seq, recorded_at, actor, action, target_type, target_id,
outcome, detail, prev_hash})`` with ``prev_hash = hash_{n-1}`` (64 zeros for the first), so an
edited, deleted, inserted or reordered entry breaks the chain. Appends are serialised by locking
the single ``audit_head`` row (``FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite).

A hash chain alone is unkeyed: someone who edits an entry and recomputes every later hash (and
the head row) has a chain that verifies. Three things close that:

* **Signed checkpoints.** A session opened with the server's :class:`~patrolcast.governance.
  signing.AuditSigner` signs the new head in the same transaction as every append (Ed25519),
  keeps the newest signature in ``audit_head`` and every one in ``audit_checkpoints``, and after
  the commit appends it to a JSON-lines file beside the key. Verifying with the public key, a
  rewritten chain no longer matches the signed hash, and entries appended without the key are
  reported ("N entries after the last signed checkpoint were not written by the server").
* **Row digests.** Each entry's detail carries ``rows``: the digest of every governed row its
  transaction wrote (:mod:`patrolcast.governance.audit_rows`). :func:`verify` replays the log and
  compares the tables with it, so editing ``proposals.authorised_end`` or a decision's authoriser,
  inserting a role grant or deleting a consultation directly in the database is found.
* **Checkpoints kept outside** the database (RFC 6962 style, Laurie, Langley & Kasper 2013): a
  signed checkpoint file or the checkpoint log catches truncation with an old head restored.

Public API
----------
``append(session, *, actor, action, target_type, target_id, outcome, detail, now)``
    Add one entry (does not commit: the caller's transaction does).
``verify(session, *, checkpoint=None, public_key_pem=None, checkpoint_log=None) -> VerifyReport``
    and the pure ``verify_entries(entries, *, head=None, checkpoint=None)``.
``checkpoint(session) -> Checkpoint``, ``Checkpoint.to_json()/from_json()``,
``export_entries(session) -> list[dict]``, ``export_document(...)``, ``verify_export(path,
public_key_pem) -> VerifyReport``, ``append_baseline(connection, ...)`` (for migrations).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import column, insert, select, table, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from patrolcast.errors import InputError
from patrolcast.governance import audit_rows
from patrolcast.governance.audit_rows import Replay
from patrolcast.governance.db import canonical_json
from patrolcast.governance.models import AuditEntry, AuditHead
from patrolcast.governance.signing import (
    SIGNER_INFO_KEY,
    AuditSigner,
    SignedCheckpoint,
    key_fingerprint,
    verify_checkpoint,
)

__all__ = [
    "GENESIS",
    "AuditExport",
    "AuditRecord",
    "Checkpoint",
    "VerifyReport",
    "append",
    "append_baseline",
    "checkpoint",
    "entry_hash",
    "export_document",
    "export_entries",
    "verify_export",
    "read_entries",
    "verify",
    "verify_entries",
]

GENESIS = "0" * 64
OUTCOMES = ("done", "denied", "read")
_COLUMNS = (
    "seq",
    "recorded_at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "detail",
    "prev_hash",
    "hash",
)


def _stamp(when: datetime) -> str:
    if when.tzinfo is None:
        raise ValueError("audit times must be aware")
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(
    *,
    seq: int,
    recorded_at: str,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    outcome: str,
    detail: str,
    prev_hash: str,
) -> str:
    """SHA-256 hex digest of the canonical JSON of one entry and its predecessor's hash."""
    body = canonical_json(
        {
            "seq": seq,
            "recorded_at": recorded_at,
            "actor": actor,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "outcome": outcome,
            "detail": detail,
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditRecord:
    """One entry of the chain, as a value."""

    seq: int
    recorded_at: str
    actor: str
    action: str
    target_type: str
    target_id: str
    outcome: str
    detail: str
    prev_hash: str
    hash: str

    @property
    def detail_dict(self) -> dict[str, Any]:
        try:
            value = json.loads(self.detail)
        except ValueError:
            return {"unreadable": self.detail}
        return value if isinstance(value, dict) else {"value": value}

    def computed_hash(self) -> str:
        return entry_hash(
            seq=self.seq,
            recorded_at=self.recorded_at,
            actor=self.actor,
            action=self.action,
            target_type=self.target_type,
            target_id=self.target_id,
            outcome=self.outcome,
            detail=self.detail,
            prev_hash=self.prev_hash,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_row(cls, row: AuditEntry) -> AuditRecord:
        return cls(
            seq=row.seq,
            recorded_at=row.recorded_at,
            actor=row.actor,
            action=row.action,
            target_type=row.target_type,
            target_id=row.target_id,
            outcome=row.outcome,
            detail=row.detail,
            prev_hash=row.prev_hash,
            hash=row.hash,
        )


_HEAD = table(
    "audit_head",
    column("id"),
    column("seq"),
    column("hash"),
    column("signed_seq"),
    column("signed_hash"),
    column("signed_at"),
    column("adopted_seq"),
    column("unsigned"),
    column("key_id"),
    column("signature"),
)
_CHECKPOINTS = table(
    "audit_checkpoints",
    column("seq"),
    column("hash"),
    column("at"),
    column("key_id"),
    column("adopted_seq"),
    column("unsigned"),
    column("signature"),
)
_LOG = table("audit_log", *(column(c) for c in _COLUMNS))


def _signed_from(row: Any) -> SignedCheckpoint | None:
    m = row._mapping
    if m["signature"] is None or m["signed_seq"] is None:
        return None
    return SignedCheckpoint(
        seq=int(m["signed_seq"]),
        hash=str(m["signed_hash"]),
        at=str(m["signed_at"]),
        key_id=str(m["key_id"]),
        adopted_seq=int(m["adopted_seq"] or 0),
        unsigned=int(m["unsigned"] or 0),
        signature=str(m["signature"]),
    )


def _in_chain(conn: Connection, cp: SignedCheckpoint) -> bool:
    found = conn.execute(select(_LOG.c.hash).where(_LOG.c.seq == cp.seq)).scalar()
    return found == cp.hash


def _newest_valid(conn: Connection, signer: AuditSigner) -> SignedCheckpoint | None:
    """The newest checkpoint this signer made that is still intact and in the chain: the head
    row's, else the newest in ``audit_checkpoints``, else the last line of the signer's own
    checkpoint log (so wiping the signatures in the database cannot make the server adopt, and
    so launder, entries it never wrote)."""
    candidates: list[SignedCheckpoint] = []
    head = conn.execute(select(_HEAD).where(_HEAD.c.id == 1)).first()
    if head is not None and (cp := _signed_from(head)) is not None:
        candidates.append(cp)
    row = conn.execute(
        select(_CHECKPOINTS)
        .where(_CHECKPOINTS.c.key_id == signer.key_id)
        .order_by(_CHECKPOINTS.c.seq.desc())
        .limit(1)
    ).first()
    if row is not None:
        m = row._mapping
        candidates.append(
            SignedCheckpoint(
                seq=int(m["seq"]), hash=str(m["hash"]), at=str(m["at"]), key_id=str(m["key_id"]),
                adopted_seq=int(m["adopted_seq"]), unsigned=int(m["unsigned"]),
                signature=str(m["signature"]),
            )
        )
    for cp in candidates:
        if cp.key_id == signer.key_id and signer.verify(cp) and _in_chain(conn, cp):
            return cp
    logged = signer.last_recorded()
    if logged is not None and signer.verify(logged) and _in_chain(conn, logged):
        return logged
    return None


def _sign_head(
    session: Session, signer: AuditSigner, seq: int, digest: str, at: str
) -> SignedCheckpoint:
    conn = session.connection()
    prev = _newest_valid(conn, signer)
    if prev is not None and prev.seq < seq:
        adopted, unsigned = prev.adopted_seq, prev.unsigned + (seq - 1 - prev.seq)
    else:  # the key's first checkpoint: it adopts the chain as it stands
        adopted, unsigned = seq - 1, 0
    cp = signer.sign_checkpoint(seq, digest, at, adopted_seq=adopted, unsigned=unsigned)
    conn.execute(
        update(_HEAD)
        .where(_HEAD.c.id == 1)
        .values(
            signed_seq=cp.seq, signed_hash=cp.hash, signed_at=cp.at, adopted_seq=cp.adopted_seq,
            unsigned=cp.unsigned, key_id=cp.key_id, signature=cp.signature,
        )
    )
    conn.execute(
        insert(_CHECKPOINTS).values(
            seq=cp.seq, hash=cp.hash, at=cp.at, key_id=cp.key_id, adopted_seq=cp.adopted_seq,
            unsigned=cp.unsigned, signature=cp.signature,
        )
    )
    session.info[audit_rows.OUTSIDE_KEY] = (signer, cp)
    return cp


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | int,
    outcome: str,
    detail: Mapping[str, Any],
    now: datetime,
) -> AuditRecord:
    """Append one entry to the chain inside the caller's transaction (no commit here).

    The entry's detail gains ``rows``: the digest of every governed row written in this
    transaction since the previous entry. With a signer in the session (``open_database(...,
    signer=...)``) the new head is signed in the same transaction.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"audit outcome must be one of {OUTCOMES}")
    if "rows" in detail:
        raise ValueError("'rows' in an audit detail is reserved for the row digests")
    session.flush()
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one()
    pending = audit_rows.take_pending(session)
    body = dict(detail)
    if pending:
        body["rows"] = audit_rows.describe(
            session.connection(), pending, audit_rows.schema_of(session)
        )
    seq = head.seq + 1
    recorded_at = _stamp(now)
    detail_text = canonical_json(body)
    digest = entry_hash(
        seq=seq,
        recorded_at=recorded_at,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        outcome=outcome,
        detail=detail_text,
        prev_hash=head.hash,
    )
    row = AuditEntry(
        seq=seq,
        recorded_at=recorded_at,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        outcome=outcome,
        detail=detail_text,
        prev_hash=head.hash,
        hash=digest,
    )
    session.add(row)
    head.seq = seq
    head.hash = digest
    session.flush()
    signer = session.info.get(SIGNER_INFO_KEY)
    if signer is not None:
        _sign_head(session, signer, seq, digest, recorded_at)
    return AuditRecord.from_row(row)


def append_baseline(
    connection: Connection, *, actor: str, reason: str, now: datetime
) -> int | None:
    """Append one entry describing every governed row as it stands (Core; for migrations that
    change a governed table's columns, and for databases made before row digests). Returns the
    new seq, or None when there is no governed row."""
    rows = audit_rows.current_digests(connection)
    if not rows:
        return None
    head = connection.execute(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1)).one()
    seq, prev = int(head[0]) + 1, str(head[1])
    values = {
        "seq": seq,
        "recorded_at": _stamp(now),
        "actor": actor,
        "action": "audit_baseline",
        "target_type": "audit",
        "target_id": "*",
        "outcome": "done",
        "detail": canonical_json({"reason": reason, "rows": dict(sorted(rows.items()))}),
        "prev_hash": prev,
    }
    digest = entry_hash(**values)  # type: ignore[arg-type]
    connection.execute(insert(_LOG).values(**values, hash=digest))
    connection.execute(update(_HEAD).where(_HEAD.c.id == 1).values(seq=seq, hash=digest))
    return seq


@dataclass(frozen=True)
class Checkpoint:
    """A position of the chain kept outside the database: ``seq`` and its ``hash``, and the
    server's signature over them when it has one (``signed``)."""

    seq: int
    hash: str
    exported_at: str = ""
    signed: SignedCheckpoint | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"seq": self.seq, "hash": self.hash, "exported_at": self.exported_at}
        if self.signed is not None:
            out["signed"] = self.signed.to_dict()
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, raw: Any) -> Checkpoint:
        try:
            seq, digest = int(raw["seq"]), str(raw["hash"])
        except (ValueError, KeyError, TypeError):
            raise InputError("checkpoint is not JSON with 'seq' and 'hash'") from None
        if seq < 0 or len(digest) != 64:
            raise InputError("checkpoint has a negative seq or a hash that is not SHA-256 hex")
        signed = raw.get("signed")
        cp_signed = SignedCheckpoint.from_dict(signed) if signed is not None else None
        if cp_signed is not None and (cp_signed.seq, cp_signed.hash) != (seq, digest):
            raise InputError("checkpoint's signed part names another seq or hash")
        return cls(
            seq=seq, hash=digest, exported_at=str(raw.get("exported_at", "")), signed=cp_signed
        )

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        try:
            raw = json.loads(text)
        except ValueError:
            raise InputError("checkpoint file is not JSON with 'seq' and 'hash'") from None
        if not isinstance(raw, dict):
            raise InputError("checkpoint file is not JSON with 'seq' and 'hash'")
        return cls.from_dict(raw)


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of a verification: ``ok`` and a list of problems (first few, each naming a seq
    or a row), the newest signed seq, how many rows were compared, and notes (not failures)."""

    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    problems: tuple[str, ...] = field(default_factory=tuple)
    signed_seq: int | None = None
    rows_checked: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "signed_seq": self.signed_seq,
            "rows_checked": self.rows_checked,
            "problems": list(self.problems),
            "notes": list(self.notes),
        }


def _feed(replay: Replay, entry: AuditRecord) -> None:
    try:
        detail = json.loads(entry.detail)
    except ValueError:
        return
    if isinstance(detail, dict):
        replay.feed(
            seq=entry.seq,
            actor=entry.actor,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            outcome=entry.outcome,
            recorded_at=entry.recorded_at,
            detail=detail,
        )


def verify_entries(
    entries: Iterable[AuditRecord],
    *,
    head: tuple[int, str] | None = None,
    checkpoint: Checkpoint | None = None,
    max_problems: int = 20,
    replay: Replay | None = None,
    hashes: dict[int, str] | None = None,
    start_seq: int = 1,
    start_prev: str = GENESIS,
) -> VerifyReport:
    """Check a chain read in ``seq`` order (a pure function of its inputs).

    Detects: a gap or duplicate in ``seq`` (deletion, insertion), an entry whose stored hash
    differs from its recomputed hash (edit), a ``prev_hash`` that does not match the previous
    entry (insertion, deletion, reordering), a head row that does not match the last entry
    (truncation, append without the lock) and a checkpoint the chain no longer contains
    (truncation or rewrite of anything up to the checkpoint). ``replay`` (if given) is fed every
    entry and ``hashes`` filled with ``seq -> hash`` in the same pass. ``start_seq`` and
    ``start_prev`` check a chain that starts after genesis (an export ``--since``).
    """
    problems: list[str] = []
    prev = start_prev
    count = 0
    last_seq, last_hash = start_seq - 1, start_prev
    cp_seen = False
    for expected, entry in enumerate(entries, start=start_seq):
        count += 1
        if entry.seq != expected:
            problems.append(f"seq {entry.seq} found where {expected} was expected (gap/insert)")
        if entry.prev_hash != prev:
            problems.append(f"seq {entry.seq}: prev_hash does not link to the previous entry")
        if entry.computed_hash() != entry.hash:
            problems.append(f"seq {entry.seq}: content does not match its hash (edited)")
        if checkpoint is not None and entry.seq == checkpoint.seq:
            cp_seen = True
            if entry.hash != checkpoint.hash:
                problems.append(f"seq {entry.seq}: hash differs from the checkpoint")
        if replay is not None:
            _feed(replay, entry)
        if hashes is not None:
            hashes[entry.seq] = entry.hash
        prev = entry.hash
        last_seq, last_hash = entry.seq, entry.hash
        if len(problems) >= max_problems and replay is None:
            break
    if head is not None and (head[0] != last_seq or head[1] != last_hash):
        problems.append(
            f"head row says seq {head[0]} but the chain ends at seq {last_seq} "
            "(truncated or tampered)"
        )
    if checkpoint is not None and checkpoint.seq > 0 and not cp_seen:
        problems.append(
            f"checkpoint seq {checkpoint.seq} is missing: the chain ends at seq {last_seq} "
            "(truncated)"
        )
    return VerifyReport(
        ok=not problems,
        entries=count,
        head_seq=last_seq,
        head_hash=last_hash,
        problems=tuple(problems[:max_problems]),
    )


def _conn(session: Session | Connection) -> Connection:
    return session.connection() if isinstance(session, Session) else session


def read_entries(session: Session | Connection) -> list[AuditRecord]:
    """All entries in ``seq`` order."""
    rows = _conn(session).execute(select(_LOG).order_by(_LOG.c.seq))
    return [AuditRecord(*r) for r in rows]


def _head(session: Session | Connection) -> tuple[int, str] | None:
    row = _conn(session).execute(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1)).first()
    return None if row is None else (int(row[0]), str(row[1]))


def _check_signatures(
    conn: Connection,
    hashes: Mapping[int, str],
    last_seq: int,
    *,
    public_key_pem: str | None,
    checkpoint: Checkpoint | None,
    outside: Sequence[SignedCheckpoint],
) -> tuple[list[str], list[str], int | None]:
    problems: list[str] = []
    notes: list[str] = []
    head = conn.execute(select(_HEAD).where(_HEAD.c.id == 1)).first()
    newest = _signed_from(head) if head is not None else None
    table_last: Any = None
    adopted: dict[str, set[int]] = {}
    for row in conn.execute(select(_CHECKPOINTS).order_by(_CHECKPOINTS.c.seq)):
        m = row._mapping
        seq = int(m["seq"])
        table_last = m
        adopted.setdefault(str(m["key_id"]), set()).add(int(m["adopted_seq"]))
        if seq > last_seq:
            problems.append(
                f"signed checkpoint seq {seq} is beyond the end of the chain (seq {last_seq}): "
                "truncated"
            )
        elif hashes.get(seq) != m["hash"]:
            problems.append(f"signed checkpoint seq {seq} does not match entry {seq} (rewritten)")
    for cp in outside:
        adopted.setdefault(cp.key_id, set()).add(cp.adopted_seq)
    if newest is not None:
        adopted.setdefault(newest.key_id, set()).add(newest.adopted_seq)
    for key_id, seen in adopted.items():
        if len(seen) > 1:
            problems.append(
                f"key {key_id[:19]} started signing again at seq {max(seen) + 1} (earlier "
                "signed checkpoints were lost or altered)"
            )
    if table_last is not None and (
        newest is None
        or newest.seq != int(table_last["seq"])
        or newest.signature != table_last["signature"]
    ):
        problems.append("the head's signed checkpoint is not the newest in audit_checkpoints")
    if newest is not None and (newest.seq > last_seq or hashes.get(newest.seq) != newest.hash):
        problems.append(
            f"the head's signed checkpoint (seq {newest.seq}) is not in the chain (rewritten or "
            "truncated)"
        )
    for cp in outside:
        if cp.seq > last_seq:
            problems.append(
                f"checkpoint log has seq {cp.seq} beyond the end of the chain (seq {last_seq}): "
                "truncated"
            )
        elif hashes.get(cp.seq) != cp.hash:
            problems.append(f"checkpoint log seq {cp.seq} does not match entry {cp.seq}")
    if public_key_pem is None:
        notes.append("signatures not checked: give the server's public key")
        return problems, notes, newest.seq if newest else None
    if newest is None:
        if last_seq > 0:
            problems.append(
                f"no signed checkpoint: {last_seq} entries were not written by the server"
            )
    elif not verify_checkpoint(newest, public_key_pem):
        problems.append(
            f"the signed checkpoint at seq {newest.seq} has an invalid signature (or another key)"
        )
    else:
        if newest.unsigned:
            problems.append(
                f"{newest.unsigned} entries between seq {newest.adopted_seq} and seq "
                f"{newest.seq} were not written by the server"
            )
        after = last_seq - newest.seq
        if after > 0:
            problems.append(
                f"{after} entries after the last signed checkpoint (seq {newest.seq}) were not "
                "written by the server"
            )
        if newest.adopted_seq:
            notes.append(f"entries up to seq {newest.adopted_seq} predate the signing key")
    kept: list[tuple[str, SignedCheckpoint | None]] = [
        ("checkpoint file", checkpoint.signed if checkpoint else None),
        ("checkpoint log", max(outside, key=lambda c: c.seq) if outside else None),
    ]
    for label, kept_cp in kept:
        if kept_cp is None:
            continue
        if not verify_checkpoint(kept_cp, public_key_pem):
            problems.append(f"{label}: signature invalid (or another key) at seq {kept_cp.seq}")
        elif newest is not None and kept_cp.key_id == newest.key_id and (
            kept_cp.adopted_seq != newest.adopted_seq or kept_cp.seq > newest.seq
        ):
            problems.append(
                f"{label}: seq {kept_cp.seq} was signed after or before a signing restart the "
                "database does not show (signed checkpoints lost or rolled back)"
            )
    return problems, notes, newest.seq if newest else None


def verify(
    session: Session | Connection,
    *,
    checkpoint: Checkpoint | None = None,
    public_key_pem: str | None = None,
    checkpoint_log: Sequence[SignedCheckpoint] = (),
    rows: bool = True,
    chain: bool = True,
    max_problems: int = 50,
) -> VerifyReport:
    """Verify the chain, the signed checkpoints and (``rows``) the tables against the log, in
    one pass over the log (read-only). ``checkpoint`` and ``checkpoint_log`` are checkpoints
    kept outside the database; ``public_key_pem`` is the server's public key (without it the
    signatures are not checked, which is said in ``notes``). ``chain=False`` runs the replay
    check alone (measurement)."""
    conn = _conn(session)
    head = _head(conn)
    replay = Replay() if rows else None
    hashes: dict[int, str] = {}
    report = verify_entries(
        read_entries(conn),
        head=head,
        checkpoint=checkpoint,
        max_problems=max_problems,
        replay=replay,
        hashes=hashes,
    )
    problems: list[str] = list(report.problems) if chain else []
    notes: list[str] = []
    signed_seq: int | None = None
    if chain:
        if head is None:
            problems.append("audit_head row is missing")
        sig_problems, notes, signed_seq = _check_signatures(
            conn,
            hashes,
            report.head_seq,
            public_key_pem=public_key_pem,
            checkpoint=checkpoint,
            outside=checkpoint_log,
        )
        problems.extend(sig_problems)
    checked = 0
    if replay is not None:
        row_problems, checked = replay.check(conn, max_problems=max_problems)
        problems.extend(row_problems)
    return VerifyReport(
        ok=not problems,
        entries=report.entries,
        head_seq=report.head_seq,
        head_hash=report.head_hash,
        problems=tuple(problems[:max_problems]),
        signed_seq=signed_seq,
        rows_checked=checked,
        notes=tuple(notes),
    )


def checkpoint(session: Session | Connection, *, now: datetime | None = None) -> Checkpoint:
    """The current head as a checkpoint to keep outside the database (with the server's
    signature when the head is signed)."""
    row = _conn(session).execute(select(_HEAD).where(_HEAD.c.id == 1)).first()
    if row is None:
        return Checkpoint(seq=0, hash=GENESIS, exported_at=_stamp(now) if now else "")
    seq, digest = int(row._mapping["seq"]), str(row._mapping["hash"])
    signed = _signed_from(row)
    if signed is not None and (signed.seq, signed.hash) != (seq, digest):
        signed = None
    stamp = _stamp(now) if now else ""
    return Checkpoint(seq=seq, hash=digest, exported_at=stamp, signed=signed)


EXPORT_FORMAT = "patrolcast-audit-export/1"


def export_document(
    entries: Sequence[Mapping[str, Any]],
    cp: Checkpoint,
    *,
    since: int = 0,
    public_key_pem: str | None = None,
) -> dict[str, Any]:
    """One exported file: the entries, the signed checkpoint that covers the last of them, and
    the public key's fingerprint (the key itself is included for convenience; verification
    uses the key the verifier trusts, never the one in the file)."""
    return {
        "format": EXPORT_FORMAT,
        "since": since,
        "entries": [dict(e) for e in entries],
        "checkpoint": cp.to_dict(),
        "public_key_fingerprint": key_fingerprint(public_key_pem) if public_key_pem else None,
        "public_key_pem": public_key_pem,
    }


@dataclass(frozen=True)
class AuditExport:
    """What :func:`patrolcast.governance.service.export_audit` returns: the entries and the
    checkpoint covering the last of them (unpacks as ``entries, checkpoint``), and the server's
    public key when the export was signed. ``to_dict()`` is the export file's content."""

    entries: list[dict[str, Any]]
    checkpoint: Checkpoint
    since: int = 0
    public_key_pem: str | None = None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.entries, self.checkpoint))

    def to_dict(self) -> dict[str, Any]:
        return export_document(
            self.entries, self.checkpoint, since=self.since, public_key_pem=self.public_key_pem
        )

    def write(self, path: Path) -> Path:
        """Write the export file (JSON) and return its path."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
        return Path(path)


def verify_export(path: Path, public_key_pem: str) -> VerifyReport:
    """Check an exported file on its own: chain, signature (with ``public_key_pem``) and that
    the signed checkpoint covers the last entry. InputError when the file is not an export."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"no export file at {path}") from None
    except ValueError:
        raise InputError(f"{path} is not JSON") from None
    if not isinstance(raw, dict) or raw.get("format") != EXPORT_FORMAT:
        raise InputError(f"{path} is not a patrolcast audit export ({EXPORT_FORMAT})")
    try:
        since = int(raw.get("since", 0))
        entries = [AuditRecord(**{c: e[c] for c in _COLUMNS}) for e in raw["entries"]]
        cp = Checkpoint.from_dict(raw["checkpoint"])
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{path}: entries or checkpoint are malformed") from None
    start_prev = entries[0].prev_hash if entries and since > 0 else GENESIS
    report = verify_entries(
        entries, checkpoint=cp, start_seq=since + 1, start_prev=start_prev, max_problems=50
    )
    problems = list(report.problems)
    if not entries:
        problems.append("the export holds no entries")
    elif (report.head_seq, report.head_hash) != (cp.seq, cp.hash):
        problems.append(
            f"the checkpoint (seq {cp.seq}) does not cover the last entry (seq {report.head_seq})"
        )
    fingerprint = key_fingerprint(public_key_pem)
    if raw.get("public_key_fingerprint") not in (None, fingerprint):
        problems.append("the export names another signing key than the one given")
    if cp.signed is None:
        problems.append("the export's checkpoint is not signed")
    elif not verify_checkpoint(cp.signed, public_key_pem):
        problems.append("the export's checkpoint signature is invalid (or another key)")
    elif cp.signed.unsigned:
        problems.append(
            f"{cp.signed.unsigned} entries before seq {cp.signed.seq} were not written by the "
            "server"
        )
    return VerifyReport(
        ok=not problems,
        entries=report.entries,
        head_seq=report.head_seq,
        head_hash=report.head_hash,
        problems=tuple(problems[:50]),
        signed_seq=cp.signed.seq if cp.signed else None,
    )


def export_entries(session: Session | Connection, *, since: int = 0) -> list[dict[str, Any]]:
    """Entries with ``seq > since`` as plain dicts (for JSON export)."""
    return [e.to_dict() for e in read_entries(session) if e.seq > since]


def count_by_outcome(entries: Sequence[AuditRecord]) -> dict[str, int]:
    """How many entries of each outcome (done, denied, read)."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for entry in entries:
        counts[entry.outcome] = counts.get(entry.outcome, 0) + 1
    return counts
