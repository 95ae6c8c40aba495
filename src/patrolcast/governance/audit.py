"""The audit log: an append-only SHA-256 hash chain with exportable checkpoints.

Every governance action (done, denied, or a read of a sensitive record) appends one
:class:`AuditRecord` in the same transaction as the change it records. Entry ``n`` stores
``hash_n = SHA-256(canonical JSON of {seq, recorded_at, actor, action, target_type, target_id,
outcome, detail, prev_hash})`` with ``prev_hash = hash_{n-1}`` (64 zeros for the first), so an
edited, deleted, inserted or reordered entry breaks the chain. Truncation (dropping the newest
entries) leaves a valid but shorter chain; it is caught by the ``audit_head`` row and, against an
attacker who also rewrites that row, by a *checkpoint* (``{seq, hash}``) exported and kept outside
the database, in the manner of RFC 6962 transparency-log checkpoints (Laurie, Langley & Kasper
2013). Appends are serialised by locking the single ``audit_head`` row (``FOR UPDATE`` on
PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite).

Public API
----------
``append(session, *, actor, action, target_type, target_id, outcome, detail, now)``
    Add one entry (does not commit: the caller's transaction does).
``verify(session, *, checkpoint=None) -> VerifyReport`` and the pure
``verify_entries(entries, *, head=None, checkpoint=None)``.
``checkpoint(session) -> Checkpoint``, ``Checkpoint.to_json()/from_json()``,
``export_entries(session) -> list[dict]``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from patrolcast.errors import InputError
from patrolcast.governance.db import canonical_json
from patrolcast.governance.models import AuditEntry, AuditHead

__all__ = [
    "GENESIS",
    "AuditRecord",
    "Checkpoint",
    "VerifyReport",
    "append",
    "checkpoint",
    "entry_hash",
    "export_entries",
    "read_entries",
    "verify",
    "verify_entries",
]

GENESIS = "0" * 64
OUTCOMES = ("done", "denied", "read")


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
    """Append one entry to the chain inside the caller's transaction (no commit here)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"audit outcome must be one of {OUTCOMES}")
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one()
    seq = head.seq + 1
    recorded_at = _stamp(now)
    detail_text = canonical_json(dict(detail))
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
    return AuditRecord.from_row(row)


@dataclass(frozen=True)
class Checkpoint:
    """A signed-off position of the chain kept outside the database: ``seq`` and its ``hash``."""

    seq: int
    hash: str
    exported_at: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        try:
            raw = json.loads(text)
            seq, digest = int(raw["seq"]), str(raw["hash"])
        except (ValueError, KeyError, TypeError):
            raise InputError("checkpoint file is not JSON with 'seq' and 'hash'") from None
        if seq < 0 or len(digest) != 64:
            raise InputError("checkpoint has a negative seq or a hash that is not SHA-256 hex")
        return cls(seq=seq, hash=digest, exported_at=str(raw.get("exported_at", "")))


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of a verification: ``ok`` and a list of problems (first few, each naming a seq)."""

    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    problems: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "problems": list(self.problems),
        }


def verify_entries(
    entries: Iterable[AuditRecord],
    *,
    head: tuple[int, str] | None = None,
    checkpoint: Checkpoint | None = None,
    max_problems: int = 20,
) -> VerifyReport:
    """Check a chain read in ``seq`` order (a pure function of its inputs).

    Detects: a gap or duplicate in ``seq`` (deletion, insertion), an entry whose stored hash
    differs from its recomputed hash (edit), a ``prev_hash`` that does not match the previous
    entry (insertion, deletion, reordering), a head row that does not match the last entry
    (truncation, append without the lock) and a checkpoint the chain no longer contains
    (truncation or rewrite of anything up to the checkpoint).
    """
    problems: list[str] = []
    prev = GENESIS
    count = 0
    last_seq, last_hash = 0, GENESIS
    cp_seen = False
    for expected, entry in enumerate(entries, start=1):
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
        prev = entry.hash
        last_seq, last_hash = entry.seq, entry.hash
        if len(problems) >= max_problems:
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


def read_entries(session: Session) -> list[AuditRecord]:
    """All entries in ``seq`` order."""
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()
    return [AuditRecord.from_row(r) for r in rows]


def _head(session: Session) -> tuple[int, str] | None:
    row = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    return None if row is None else (int(row[0]), str(row[1]))


def verify(session: Session, *, checkpoint: Checkpoint | None = None) -> VerifyReport:
    """Verify the chain stored in the database (read-only)."""
    head = _head(session)
    report = verify_entries(read_entries(session), head=head, checkpoint=checkpoint)
    if head is None:
        return VerifyReport(
            ok=False,
            entries=report.entries,
            head_seq=report.head_seq,
            head_hash=report.head_hash,
            problems=(*report.problems, "audit_head row is missing"),
        )
    return report


def checkpoint(session: Session, *, now: datetime | None = None) -> Checkpoint:
    """The current head as a checkpoint to keep outside the database."""
    head = _head(session) or (0, GENESIS)
    return Checkpoint(seq=head[0], hash=head[1], exported_at=_stamp(now) if now else "")


def export_entries(session: Session, *, since: int = 0) -> list[dict[str, Any]]:
    """Entries with ``seq > since`` as plain dicts (for JSON export)."""
    return [e.to_dict() for e in read_entries(session) if e.seq > since]


def count_by_outcome(entries: Sequence[AuditRecord]) -> dict[str, int]:
    """How many entries of each outcome (done, denied, read)."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for entry in entries:
        counts[entry.outcome] = counts.get(entry.outcome, 0) + 1
    return counts
