"""Governance: people, roles, snapshots, proposals, lifecycle records, audit chain.

Revision ID: 0001_governance
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_governance"
down_revision = None
branch_labels = ("governance",)
depends_on = None

GENESIS = "0" * 64


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("rank", sa.String(40), nullable=True),
        _ts("created_at"),
    )
    op.create_table(
        "role_grants",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id"), nullable=False, index=True),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("borough", sa.String(16), nullable=True),
        _ts("granted_at"),
        sa.Column("granted_by", sa.String(64), nullable=False),
        sa.UniqueConstraint("person_id", "role", "borough", name="uq_role_grant"),
    )
    op.create_table(
        "forecast_snapshots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("method", sa.String(100), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        _ts("created_at"),
        sa.Column("digest", sa.String(128), nullable=False),
        sa.Column("uri", sa.Text, nullable=False),
        _ts("recorded_at"),
    )
    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("profile", sa.String(64), nullable=False),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.Column("proposer_id", sa.Integer, sa.ForeignKey("people.id"), nullable=False),
        sa.Column("trigger_type", sa.String(20), nullable=False),
        sa.Column("incident_offence", sa.String(60), nullable=True),
        _ts("incident_at", nullable=True),
        sa.Column("incident_place", sa.Text, nullable=True),
        sa.Column("intelligence_item_id", sa.Integer, nullable=True),
        sa.Column("intelligence_grade", sa.String(4), nullable=True),
        sa.Column("area_wkt", sa.Text, nullable=False),
        sa.Column("area_crs", sa.String(32), nullable=False),
        sa.Column("area_cells", sa.Text, nullable=False),
        sa.Column("area_km2", sa.Float, nullable=False),
        sa.Column("boroughs", sa.Text, nullable=False),
        _ts("requested_start"),
        _ts("requested_end"),
        sa.Column("ndm_rationale", sa.Text, nullable=False),
        sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("forecast_snapshots.id"), nullable=True),
        _ts("authorised_start", nullable=True),
        _ts("authorised_end", nullable=True),
        sa.Column("authorised_by_id", sa.Integer, sa.ForeignKey("people.id"), nullable=True),
        sa.Column("extensions_used", sa.Integer, nullable=False),
        _ts("cancelled_at", nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_table(
        "community_impact_assessments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "proposal_id", sa.Integer, sa.ForeignKey("proposals.id"), nullable=False, index=True
        ),
        sa.Column("payload", sa.Text, nullable=False),
        _ts("created_at"),
        _ts("completed_at", nullable=True),
        sa.Column("completed_by", sa.String(64), nullable=True),
    )
    op.create_table(
        "consultations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "proposal_id", sa.Integer, sa.ForeignKey("proposals.id"), nullable=False, index=True
        ),
        sa.Column("borough", sa.String(16), nullable=False),
        sa.Column("commander_id", sa.Integer, sa.ForeignKey("people.id"), nullable=False),
        sa.Column("position", sa.String(10), nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        _ts("recorded_at"),
        sa.UniqueConstraint("proposal_id", "borough", name="uq_consultation"),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "proposal_id", sa.Integer, sa.ForeignKey("proposals.id"), nullable=False, index=True
        ),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("decided_by_id", sa.Integer, sa.ForeignKey("people.id"), nullable=False),
        sa.Column("rank", sa.String(40), nullable=True),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("ndm_rationale", sa.Text, nullable=True),
        sa.Column("details", sa.Text, nullable=True),
        _ts("window_start", nullable=True),
        _ts("window_end", nullable=True),
        _ts("decided_at"),
    )
    op.create_table(
        "debriefs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "proposal_id", sa.Integer, sa.ForeignKey("proposals.id"), nullable=False, unique=True
        ),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("details", sa.Text, nullable=True),
        sa.Column("signed_off_by_id", sa.Integer, sa.ForeignKey("people.id"), nullable=False),
        _ts("signed_off_at"),
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "proposal_id", sa.Integer, sa.ForeignKey("proposals.id"), nullable=False, unique=True
        ),
        sa.Column("findings", sa.Text, nullable=False),
        sa.Column("reviewed_by_id", sa.Integer, sa.ForeignKey("people.id"), nullable=False),
        _ts("reviewed_at"),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target_type", sa.String(40), nullable=False),
        sa.Column("target_id", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS}])


def downgrade() -> None:
    for table in (
        "audit_head",
        "audit_log",
        "reviews",
        "debriefs",
        "decisions",
        "consultations",
        "community_impact_assessments",
        "proposals",
        "forecast_snapshots",
        "role_grants",
        "people",
    ):
        op.drop_table(table)
