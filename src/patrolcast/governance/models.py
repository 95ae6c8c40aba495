"""ORM rows of the governance database (SQLAlchemy 2 declarative).

Tables
------
``people`` / ``role_grants``
    Local identities and their roles (borough commanders carry a borough per grant; authorising
    officers carry the person's rank). Place-based product: these are the product's *users*,
    never subjects of policing.
``forecast_snapshots``
    The only link to forecasting: id, method, parameters, created at, digest of the values, uri.
``proposals``
    One deployment proposal through its whole lifecycle (``state`` is the stored state; the
    effective state, with ``active``/``expired`` derived from UTC time, comes from
    :func:`patrolcast.governance.expiry.effective_state`). ``version`` is an optimistic
    concurrency counter (SQLAlchemy ``version_id_col``). The trigger is either an incident
    (offence, time, place) or an intelligence item (``intelligence_item_id``: a plain id into the
    oversight domain's table, no foreign key here, plus the grade relied on).
``community_impact_assessments``
    Minimal hook owned jointly with oversight: a proposal may move to ``assessed`` only when a
    row here is attached with ``completed_at`` set. Oversight extends it by its own migration.
``consultations``, ``decisions``, ``debriefs``, ``reviews``
    The records each lifecycle action leaves behind.
``audit_log`` / ``audit_head``
    The append-only hash chain (see :mod:`patrolcast.governance.audit`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from patrolcast.governance.db import JSONText, UTCDateTime

__all__ = [
    "AuditEntry",
    "AuditHead",
    "Base",
    "AuthSession",
    "CommunityImpactAssessment",
    "Credential",
    "Consultation",
    "Debrief",
    "Decision",
    "ForecastSnapshot",
    "InstalledProfile",
    "Person",
    "Proposal",
    "Review",
    "RoleGrant",
]


class Base(DeclarativeBase):
    """Declarative base of every governance table."""


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    rank: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="person", cascade="all, delete-orphan", lazy="selectin"
    )


class RoleGrant(Base):
    __tablename__ = "role_grants"
    # one grant per person, role and scope: the constraint alone lets a force-wide grant
    # (borough NULL) in twice, as NULLs are distinct (migration 0004)
    __table_args__ = (
        UniqueConstraint("person_id", "role", "borough", name="uq_role_grant"),
        Index(
            "uq_role_grant_scope",
            "person_id",
            "role",
            text("coalesce(borough, '')"),
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    borough: Mapped[str | None] = mapped_column(String(16), nullable=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    granted_by: Mapped[str] = mapped_column(String(64))
    person: Mapped[Person] = relationship(back_populates="grants")


class ForecastSnapshot(Base):
    __tablename__ = "forecast_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    method: Mapped[str] = mapped_column(String(100))
    params: Mapped[Any] = mapped_column(JSONText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    digest: Mapped[str] = mapped_column(String(128))
    uri: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Proposal(Base):
    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    profile: Mapped[str] = mapped_column(String(64))
    # The policy is pinned: name, version and SHA-256 of the profile text the proposal was made
    # under; every later step refuses if the profile it would apply has different content.
    profile_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    profile_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    proposer_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    # trigger
    trigger_type: Mapped[str] = mapped_column(String(20))  # "incident" | "intelligence"
    incident_offence: Mapped[str | None] = mapped_column(String(60), nullable=True)
    incident_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    incident_place: Mapped[str | None] = mapped_column(Text, nullable=True)
    intelligence_item_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    intelligence_grade: Mapped[str | None] = mapped_column(String(4), nullable=True)
    # area
    area_wkt: Mapped[str] = mapped_column(Text)
    area_crs: Mapped[str] = mapped_column(String(32))
    area_cells: Mapped[Any] = mapped_column(JSONText)
    area_km2: Mapped[float] = mapped_column(Float)
    boroughs: Mapped[Any] = mapped_column(JSONText)
    # request
    requested_start: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_end: Mapped[datetime] = mapped_column(UTCDateTime)
    ndm_rationale: Mapped[Any] = mapped_column(JSONText)
    snapshot_id: Mapped[int | None] = mapped_column(
        ForeignKey("forecast_snapshots.id"), nullable=True
    )
    # decision outcome
    authorised_start: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    authorised_end: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    authorised_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    extensions_used: Mapped[int] = mapped_column(Integer, default=0)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": version}


class CommunityImpactAssessment(Base):
    __tablename__ = "community_impact_assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    payload: Mapped[Any] = mapped_column(JSONText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Consultation(Base):
    __tablename__ = "consultations"
    __table_args__ = (UniqueConstraint("proposal_id", "borough", name="uq_consultation"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    borough: Mapped[str] = mapped_column(String(16))
    commander_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    position: Mapped[str] = mapped_column(String(10))  # "support" | "object"
    reasons: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Decision(Base):
    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # authorise | refuse | extend | cancel
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    rank: Mapped[str | None] = mapped_column(String(40), nullable=True)
    reasons: Mapped[str] = mapped_column(Text)
    ndm_rationale: Mapped[Any] = mapped_column(JSONText, nullable=True)
    details: Mapped[Any] = mapped_column(JSONText, nullable=True)
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Debrief(Base):
    __tablename__ = "debriefs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), unique=True)
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[Any] = mapped_column(JSONText, nullable=True)
    signed_off_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    signed_off_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Review(Base):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), unique=True)
    findings: Mapped[str] = mapped_column(Text)
    reviewed_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Credential(Base):
    """A person's sign-in material: argon2id password hash, encrypted TOTP secret, lockout.

    ``mac`` is an HMAC (server key, kept outside the database) over the person id, username and
    secret material: a row edited or inserted by someone with database access but without the
    server's key does not sign anyone in.
    """

    __tablename__ = "credentials"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    totp_secret: Mapped[str | None] = mapped_column(Text, nullable=True)  # encrypted
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)
    enrolment_code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    enrolment_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    mac: Mapped[str] = mapped_column(String(64))


class AuthSession(Base):
    """A signed-in browser session or a personal API token (only an HMAC of the secret kept).

    Not a governed record (``last_seen_at`` moves on every request); creation, revocation,
    expiry and re-authentication are audit entries, and a row forged without the server's key
    matches no token.
    """

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # "browser" | "token"
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    secret_mac: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_mac: Mapped[str | None] = mapped_column(String(64), nullable=True)
    label: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    idle_seconds: Mapped[int] = mapped_column(Integer)
    reauth_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class InstalledProfile(Base):
    """A policy profile an administrator installed through the API (versioned, audited)."""

    __tablename__ = "policy_profiles"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_policy_profile"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    installed_by: Mapped[str] = mapped_column(String(64))
    installed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """One link of the hash chain. Every column is text or integer so hashes are exact."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    recorded_at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(12))  # done | denied | read
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """A single row (id 1) holding the chain's head; locked to serialise appends."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
