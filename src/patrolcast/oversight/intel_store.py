"""Intelligence items in the governance database: record, read, purge, all audited.

Service functions (keyword-only, session first, the clock passed in):

- :func:`record_item`: an intelligence officer records a graded place-and-time claim. The value
  is validated first (:class:`~patrolcast.oversight.intelligence.IntelligenceItem`: grading,
  window, retention, radius, and the personal-data check of its free text). A refusal is
  audited as ``denied`` with the *kinds* of personal data found, never the text itself.
- :func:`list_items` / :func:`get_item`: sensitive reads, audited (``read``), for the roles that
  need intelligence (intelligence officer, analyst, authorising officer, firearms commanders,
  oversight auditor); anyone else is refused and audited.
- :func:`purge_expired`: deletes every item whose retention date has passed and appends one
  audit entry per item (id, grading and retention date only). Every other function calls it
  first in the same transaction, so no expired item is ever read, even if no purge job ran:
  retention is a pure function of the clock, like authorisation expiry.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from patrolcast.errors import InputError, PermissionDenied
from patrolcast.governance import audit
from patrolcast.governance.clock import Clock, as_utc
from patrolcast.governance.db import run_transaction
from patrolcast.governance.roles import Role, find_actor
from patrolcast.oversight.grading import Grading
from patrolcast.oversight.intelligence import IntelligenceItem, Place
from patrolcast.oversight.models import IntelligenceItemRow
from patrolcast.oversight.pii import PersonalDataRefused

__all__ = [
    "READ_ROLES",
    "get_item",
    "item_from_summary",
    "list_items",
    "purge_expired",
    "record_item",
]

T = TypeVar("T")
TARGET = "intelligence_item"
READ_ROLES = frozenset(
    {
        Role.INTELLIGENCE_OFFICER,
        Role.ANALYST,
        Role.AUTHORISING_OFFICER,
        Role.STRATEGIC_FIREARMS_COMMANDER,
        Role.TACTICAL_FIREARMS_COMMANDER,
        Role.OVERSIGHT_AUDITOR,
    }
)


def _deny(session: Session, *, actor: str, action: str, target: str | int, rule: str,
          reason: str, now: datetime) -> PermissionDenied:
    audit.append(session, actor=actor, action=action, target_type=TARGET, target_id=target,
                 outcome="denied", detail={"rule": rule, "reason": reason}, now=now)
    return PermissionDenied(f"refused ({rule}): {reason}")


def _check(session: Session, *, actor: str, action: str, target: str | int,
           roles: frozenset[Role], now: datetime) -> None:
    who = find_actor(session, actor)
    if who is None:
        raise _deny(session, actor=actor, action=action, target=target, rule="unknown-user",
                    reason=f"{actor!r} is not a user of this system", now=now)
    if not who.roles & roles:
        names = ", ".join(sorted(r.value for r in roles))
        raise _deny(session, actor=actor, action=action, target=target, rule="role",
                    reason=f"{action} needs one of the roles {names}", now=now)


def purge_expired(session: Session, *, now: datetime, actor: str = "system") -> list[int]:
    """Delete items past their retention date, one audit entry each (inside the caller's
    transaction; no commit here). Returns the purged ids."""
    now = as_utc(now)
    rows = session.execute(
        select(IntelligenceItemRow).where(IntelligenceItemRow.retain_until <= now)
        .order_by(IntelligenceItemRow.id)
    ).scalars().all()
    ids = [row.id for row in rows]
    for row in rows:
        audit.append(
            session, actor=actor, action="intel_purge", target_type=TARGET, target_id=row.id,
            outcome="done",
            detail={
                "retain_until": row.retain_until.isoformat(),
                "grading": f"{row.source_evaluation}{row.assessment} {row.handling}",
                "reason": "retention date passed",
            },
            now=now,
        )
    if ids:
        session.execute(delete(IntelligenceItemRow).where(IntelligenceItemRow.id.in_(ids)))
        session.flush()
    return ids


def _to_value(row: IntelligenceItemRow) -> IntelligenceItem:
    place = dict(row.place)
    kind = place.pop("kind")
    if kind == "circle":
        value = Place(x=place["x"], y=place["y"], radius_m=place["radius_m"])
    elif kind == "cells":
        value = Place(cells=tuple(place["cells"]))
    else:
        value = Place(polygon_wkt=place["wkt"])
    return IntelligenceItem(
        item_id=str(row.id),
        place=value,
        start=row.window_start,
        end=row.window_end,
        grading=Grading.parse(f"{row.source_evaluation}{row.assessment}{row.handling}"),
        owner=row.owner,
        retain_until=row.retain_until,
        summary=row.summary,
    )


def _run(session: Session, work: Callable[[], T]) -> T:
    return run_transaction(session, work, commit_on=(PermissionDenied, PersonalDataRefused))


def record_item(
    session: Session,
    *,
    actor: str,
    clock: Clock,
    place: Place,
    start: datetime,
    end: datetime,
    grading: str,
    owner: str,
    retain_until: datetime,
    summary: str = "",
    crs: str = "EPSG:27700",
) -> int:
    """Record a graded item; returns its id. Refusals (role, personal data) are audited."""
    now = as_utc(clock.now())

    def work() -> int:
        purge_expired(session, now=now)
        _check(session, actor=actor, action="intel_record", target="new",
               roles=frozenset({Role.INTELLIGENCE_OFFICER}), now=now)
        try:
            item = IntelligenceItem(
                item_id="new", place=place, start=start, end=end,
                grading=Grading.parse(grading), owner=owner, retain_until=retain_until,
                summary=summary,
            )
        except PersonalDataRefused as exc:
            audit.append(
                session, actor=actor, action="intel_record", target_type=TARGET,
                target_id="new", outcome="denied",
                detail={"rule": "personal-data", "field": exc.field,
                        "kinds": sorted({f.kind for f in exc.findings})},
                now=now,
            )
            raise
        if item.retain_until <= now:
            raise InputError("retain_until must be in the future")
        row = IntelligenceItemRow(
            place=item.place.as_dict(), place_crs=crs, window_start=item.start,
            window_end=item.end, source_evaluation=item.grading.source.value,
            assessment=item.grading.assessment.value, handling=item.grading.handling.value,
            owner=item.owner, summary=item.summary, retain_until=item.retain_until,
            recorded_at=now, recorded_by=actor,
        )
        session.add(row)
        session.flush()
        audit.append(
            session, actor=actor, action="intel_record", target_type=TARGET, target_id=row.id,
            outcome="done",
            detail={"grading": str(item.grading), "retain_until": item.retain_until.isoformat(),
                    "place": item.place.kind},
            now=now,
        )
        return row.id

    return _run(session, work)


def list_items(
    session: Session, *, actor: str, clock: Clock, active_at: datetime | None = None
) -> list[IntelligenceItem]:
    """Items still retained (optionally only those whose window contains ``active_at``)."""
    now = as_utc(clock.now())

    def work() -> list[IntelligenceItem]:
        purge_expired(session, now=now)
        _check(session, actor=actor, action="intel_read", target="all", roles=READ_ROLES,
               now=now)
        query = select(IntelligenceItemRow).order_by(IntelligenceItemRow.id)
        if active_at is not None:
            when = as_utc(active_at)
            query = query.where(IntelligenceItemRow.window_start <= when,
                                IntelligenceItemRow.window_end > when)
        rows = session.execute(query).scalars().all()
        audit.append(session, actor=actor, action="intel_read", target_type=TARGET,
                     target_id="all", outcome="read", detail={"items": [r.id for r in rows]},
                     now=now)
        return [_to_value(r) for r in rows]

    return _run(session, work)


def get_item(session: Session, *, actor: str, clock: Clock, item_id: int) -> IntelligenceItem:
    """One item (audited read); a purged or unknown id is a clear error."""
    now = as_utc(clock.now())

    def work() -> IntelligenceItem:
        purge_expired(session, now=now)
        _check(session, actor=actor, action="intel_read", target=item_id, roles=READ_ROLES,
               now=now)
        row = session.get(IntelligenceItemRow, item_id)
        if row is None:
            raise InputError(f"no intelligence item #{item_id} (unknown, or purged at the end "
                             "of its retention)")
        audit.append(session, actor=actor, action="intel_read", target_type=TARGET,
                     target_id=item_id, outcome="read", detail={}, now=now)
        return _to_value(row)

    return _run(session, work)


def item_summary(item: IntelligenceItem) -> dict[str, Any]:
    """A JSON-ready view of an item (for the CLI)."""
    return {
        "id": item.item_id,
        "place": item.place.as_dict(),
        "start": item.start.isoformat(),
        "end": item.end.isoformat(),
        "grading": str(item.grading),
        "weight": item.weight,
        "owner": item.owner,
        "retain_until": item.retain_until.isoformat(),
        "summary": item.summary,
    }


def item_from_summary(d: dict[str, Any]) -> IntelligenceItem:
    """The item back from :func:`item_summary` (as an API client receives it)."""
    place = dict(d["place"])
    kind = place.pop("kind")
    if kind == "circle":
        value = Place(x=place["x"], y=place["y"], radius_m=place["radius_m"])
    elif kind == "cells":
        value = Place(cells=tuple(place["cells"]))
    else:
        value = Place(polygon_wkt=place["wkt"])
    return IntelligenceItem(
        item_id=str(d["id"]),
        place=value,
        start=datetime.fromisoformat(str(d["start"])),
        end=datetime.fromisoformat(str(d["end"])),
        grading=Grading.parse(str(d["grading"]).replace(" ", "").replace("/", "")),
        owner=str(d["owner"]),
        retain_until=datetime.fromisoformat(str(d["retain_until"])),
        summary=str(d.get("summary", "")),
    )

