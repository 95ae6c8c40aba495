"""Briefing packs of a deployment proposal: one PDF with the record a decision-maker briefs from.

The pack shows the place (a locator map over wards and roads, the area, the boroughs), the
window (requested and authorised), the trigger, the evidence snapshot the proposal relies on,
the community impact assessment in summary, the borough commanders' consultations, the
conditions of the authorisation, the decisions so far and every National Decision Model entry.

Reading is the proposal read: :func:`patrolcast.governance.service.read_proposal` applies the
same read rule as the proposal view (refusals audited) and records the read before anything
else is looked up. Every text from the record is autoescaped by the templates (a proposal's
fields may hold anything a person typed). The protective marking comes from the
``[organisation]`` settings.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from patrolcast.app.context import AppContext, Principal
from patrolcast.governance import service
from patrolcast.governance.clock import LONDON, as_utc
from patrolcast.governance.models import (
    CommunityImpactAssessment,
    Debrief,
    Decision,
    Person,
    Proposal,
    Review,
)
from patrolcast.governance.snapshots import get_snapshot
from patrolcast.governance.values import NDM_HEADINGS

__all__ = ["PDF", "Document", "proposal_briefing"]

PDF = "application/pdf"

_NDM_TITLES = {
    "code_of_ethics": "Code of Ethics",
    "information_and_intelligence": "Information and intelligence",
    "threat_risk_and_strategy": "Threat, risk and working strategy",
    "powers_and_policy": "Powers and policy",
    "options_and_contingencies": "Options and contingencies",
    "action_and_review": "Action and review",
}
_CIA_SUMMARY = (
    ("description", "Deployment"),
    ("geography", "Area"),
    ("likely_effect", "Likely effect on the community"),
    ("proportionality", "Proportionality"),
    ("tension_indicators", "Tension indicators"),
    ("mitigations", "Mitigations"),
    ("communication_plan", "Communication plan"),
    ("consultation_group", "Group consulted"),
    ("consultation_response", "What the group said"),
    ("owner", "Owner"),
    ("review_date", "Review date"),
)


@dataclass(frozen=True)
class Document:
    """A file a use case hands back: its bytes, media type and a suggested file name."""

    content: bytes
    media_type: str
    filename: str


def _when(value: datetime | str | None) -> str:
    """Wall-clock time in London with its zone, e.g. ``Mon 01 Jun 2026 13:00 BST``."""
    if value is None or value == "":
        return ""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return as_utc(when).astimezone(ZoneInfo(LONDON)).strftime("%a %d %b %Y %H:%M %Z")


def _ndm(raw: Any) -> list[tuple[str, str]]:
    if not isinstance(raw, dict):
        return []
    return [(_NDM_TITLES[h], str(raw[h])) for h in NDM_HEADINGS if raw.get(h)]


def _assessment(session: Session, pid: int) -> dict[str, Any] | None:
    row = session.execute(
        select(CommunityImpactAssessment)
        .where(CommunityImpactAssessment.proposal_id == pid)
        .order_by(CommunityImpactAssessment.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if row is None:
        return None
    payload = row.payload if isinstance(row.payload, dict) else {}
    content = payload.get("content") or {}
    fields = [(label, str(content[key])) for key, label in _CIA_SUMMARY if content.get(key)]
    objectives = content.get("objectives") or []
    if objectives:
        fields.insert(1, ("Objectives", ", ".join(str(o) for o in objectives)))
    evidence = []
    for item in payload.get("evidence") or []:
        value = item.get("value")
        shown = (
            ", ".join(f"{k}: {v}" for k, v in value.items()) if isinstance(value, dict) else ""
        )
        evidence.append(
            {
                "name": str(item.get("name", "")),
                "value": shown or f"missing: {item.get('missing') or 'no value'}",
                "source": f"{item.get('source', '')} ({item.get('period', '')})",
            }
        )
    return {
        "completed": _when(row.completed_at) if row.completed_at else "",
        "completed_by": row.completed_by or "",
        "fields": fields,
        "missing": [str(m) for m in payload.get("missing") or []],
        "evidence": evidence,
        "flags": [str(f.get("message", f)) for f in payload.get("fairness_flags") or []],
    }


def _snapshot(session: Session, snapshot_id: int | None) -> list[tuple[str, str]]:
    if snapshot_id is None:
        return []
    snap = get_snapshot(session, snapshot_id)
    rows = [
        ("Snapshot", f"#{snap.id}, recorded {_when(snap.created_at)}"),
        ("Method", snap.method),
    ]
    for key in ("dataset", "level", "cell_size", "window_start", "window_end", "ranked_by"):
        if snap.params.get(key) not in (None, ""):
            rows.append((key.replace("_", " ").capitalize(), str(snap.params[key])))
    rows.append(("Digest (SHA-256)", snap.digest))
    return rows


def _decisions(session: Session, pid: int, names: dict[int, str]) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Decision).where(Decision.proposal_id == pid).order_by(Decision.decided_at)
    ).scalars()
    out = []
    for d in rows:
        details = d.details if isinstance(d.details, dict) else {}
        conditions = [
            (label, str(details[key]))
            for key, label in (
                ("tactical_commander", "Tactical commander"),
                ("strategic_commander", "Strategic commander"),
                ("public_notice", "Public notice"),
                ("objection_response", "Response to objections"),
            )
            if details.get(key)
        ]
        out.append(
            {
                "kind": d.kind,
                "by": names.get(d.decided_by_id, "?"),
                "rank": (d.rank or "").replace("_", " "),
                "reasons": d.reasons,
                "window": (
                    f"{_when(d.window_start)} to {_when(d.window_end)}"
                    if d.window_start and d.window_end
                    else ""
                ),
                "at": _when(d.decided_at),
                "conditions": conditions,
                "ndm": _ndm(d.ndm_rationale),
            }
        )
    return out


def _closing(session: Session, pid: int, names: dict[int, str]) -> list[tuple[str, str]]:
    out = []
    debrief = session.execute(select(Debrief).where(Debrief.proposal_id == pid)).scalar()
    if debrief is not None:
        who = names.get(debrief.signed_off_by_id, "?")
        out.append((f"Debrief ({who}, {_when(debrief.signed_off_at)})", debrief.summary))
    review = session.execute(select(Review).where(Review.proposal_id == pid)).scalar()
    if review is not None:
        who = names.get(review.reviewed_by_id, "?")
        out.append((f"Independent review ({who}, {_when(review.reviewed_at)})", review.findings))
    return out


def _borough_names(ctx: AppContext, codes: tuple[str, ...]) -> str:
    """``City of London (E09000001), ...`` where the server knows the names, else the codes."""
    known = ctx.borough_list()
    names = dict(zip(known.codes, known.names, strict=True)) if known is not None else {}
    return ", ".join(f"{names[c]} ({c})" if c in names else c for c in codes)


def _names(session: Session) -> dict[int, str]:
    return {p.id: p.username for p in session.execute(select(Person)).scalars()}


def proposal_briefing(ctx: AppContext, who: Principal, pid: int, _b: Any) -> Document:
    """The one-page PDF briefing pack of proposal ``pid``, for a person who may read it."""
    from patrolcast import __version__
    from patrolcast.config import load_settings
    from patrolcast.io.documents import image_data_uri, render, write_pdf
    from patrolcast.io.map_context import attributions
    from patrolcast.io.place_map import place_map_layers, write_place_map

    settings = load_settings()
    marking = settings.organisation.protective_marking
    with ctx.db.session() as s:
        # The read rule of the proposal view, audited; refused before anything else is read.
        view = service.read_proposal(s, actor=who.username, clock=ctx.clock, proposal_id=pid)
        row = s.get(Proposal, pid)
        crs = row.area_crs if row is not None else settings.crs
        names = _names(s)
        assessment = _assessment(s, pid)
        snapshot = _snapshot(s, view.snapshot_id)
        decisions = _decisions(s, pid, names)
        closing = _closing(s, pid, names)
    import shapely

    area = shapely.from_wkt(view.area_wkt)
    shared = settings.shared_data if settings.shared_data.is_dir() else None
    now = ctx.clock.now()
    with tempfile.TemporaryDirectory(prefix="patrolcast-briefing-") as tmp:
        map_png = write_place_map(area, crs, Path(tmp) / "place.png", shared_data=shared)
        layers = place_map_layers(area, crs, shared_data=shared)
        trigger = view.trigger
        html = render(
            "proposal_pack.html",
            marking=marking,
            title=f"Deployment proposal #{view.id}: briefing",
            subtitle=(
                f"{view.profile} · state {view.state.value.replace('_', ' ')} · "
                f"proposed by {view.proposer} · version {view.version}"
            ),
            footer=(
                f"Created {_when(now)} by {who.username} with patrolcast "
                f"{__version__}. This pack is a copy of the record at that time; the record "
                "on the server is authoritative."
            ),
            map_uri=image_data_uri(map_png),
            view=view,
            area_km2=f"{view.area_km2:.3f}",
            boroughs=_borough_names(ctx, view.boroughs),
            requested=f"{_when(view.requested_start)} to {_when(view.requested_end)}",
            authorised=(
                f"{_when(view.authorised_start)} to {_when(view.authorised_end)}"
                if view.authorised_start and view.authorised_end
                else ""
            ),
            cancelled=_when(view.cancelled_at),
            trigger=[
                (k.replace("_", " ").capitalize(), _when(v) if k == "occurred_at" else str(v))
                for k, v in trigger.items()
                if v not in (None, "") and k != "type"
            ],
            trigger_type=str(trigger.get("type", "")),
            snapshot=snapshot,
            assessment=assessment,
            consultations=[{**c, "at": _when(c.get("at"))} for c in view.consultations],
            decisions=decisions,
            proposal_ndm=_ndm(view.ndm_rationale),
            closing=closing,
            sources=attributions(layers),
        )
        pdf = write_pdf(html, Path(tmp) / "briefing.pdf")
        content = pdf.read_bytes()
    return Document(content, PDF, f"proposal-{view.id}-briefing.pdf")
