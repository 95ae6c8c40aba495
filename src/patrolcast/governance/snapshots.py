"""Forecast snapshots: governance's only reference to a forecast.

A snapshot record names the method, its parameters, when the forecast was made, a digest of its
values (e.g. SHA-256 of the risk surface) and where it is kept (``uri``). Governance never imports
forecasting code; the forecasting side (or the CLI) calls :func:`record_snapshot`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from patrolcast.errors import InputError, PermissionDenied
from patrolcast.governance import audit
from patrolcast.governance.clock import Clock, SystemClock, as_utc
from patrolcast.governance.db import run_transaction
from patrolcast.governance.models import ForecastSnapshot
from patrolcast.governance.roles import Role, find_actor

__all__ = ["PIPELINE", "RECORD_ROLES", "SnapshotRecord", "get_snapshot", "record_snapshot"]

#: The in-process forecasting pipeline's identity (not a person; the CLI never acts as it).
PIPELINE = "system"
#: People who may record a snapshot; anyone else (auditor, administrator, unknown) is refused.
RECORD_ROLES = frozenset({Role.ANALYST, Role.INTELLIGENCE_OFFICER})

_DIGEST = re.compile(r"(sha256:)?[0-9a-f]{64}")


@dataclass(frozen=True)
class SnapshotRecord:
    """A forecast snapshot as governance knows it."""

    id: int
    method: str
    params: dict[str, Any]
    created_at: datetime
    digest: str
    uri: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "params": self.params,
            "created_at": self.created_at.isoformat(),
            "digest": self.digest,
            "uri": self.uri,
        }


def _record(row: ForecastSnapshot) -> SnapshotRecord:
    return SnapshotRecord(
        id=row.id,
        method=row.method,
        params=dict(row.params or {}),
        created_at=row.created_at,
        digest=row.digest,
        uri=row.uri,
    )


def record_snapshot(
    session: Session,
    *,
    method: str,
    params: dict[str, Any],
    created_at: datetime,
    digest: str,
    uri: str = "",
    actor: str = "system",
    clock: Clock | None = None,
) -> SnapshotRecord:
    """Record a forecast snapshot (audited) and commit; returns its record with the new id.

    ``actor`` is an analyst or intelligence officer, or :data:`PIPELINE` for the in-process
    forecasting pipeline; anyone else is refused (audited)."""
    if not method.strip():
        raise InputError("snapshot method is empty")
    if not _DIGEST.fullmatch(digest.lower()):
        raise InputError("snapshot digest must be a SHA-256: 64 hex characters")
    created = as_utc(created_at)
    now = (clock or SystemClock()).now()

    def work() -> SnapshotRecord:
        if actor != PIPELINE:
            who = find_actor(session, actor)
            if who is None or not who.roles & RECORD_ROLES:
                reason = "recording a forecast snapshot needs the role analyst or "\
                    "intelligence_officer"
                audit.append(
                    session,
                    actor=actor,
                    action="snapshot_record",
                    target_type="snapshot",
                    target_id="new",
                    outcome="denied",
                    detail={"rule": "role" if who else "unknown-user", "reason": reason},
                    now=now,
                )
                raise PermissionDenied(f"refused: {actor} may not record a snapshot: {reason}")
        row = ForecastSnapshot(
            method=method.strip(),
            params=dict(params),
            created_at=created,
            digest=digest.lower(),
            uri=uri,
            recorded_at=now,
        )
        session.add(row)
        session.flush()
        audit.append(
            session,
            actor=actor,
            action="snapshot_record",
            target_type="snapshot",
            target_id=row.id,
            outcome="done",
            detail={"method": row.method, "digest": row.digest},
            now=now,
        )
        return _record(row)

    return run_transaction(session, work, commit_on=(PermissionDenied,))


def get_snapshot(session: Session, snapshot_id: int) -> SnapshotRecord:
    row = session.get(ForecastSnapshot, snapshot_id)
    if row is None:
        raise InputError(f"no forecast snapshot #{snapshot_id}")
    return _record(row)
