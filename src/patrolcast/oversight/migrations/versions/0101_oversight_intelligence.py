"""Oversight: graded intelligence items (place-and-time claims with a retention date).

Revision ID: 0101_oversight_intel
Revises: 0001_governance
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0101_oversight_intel"
down_revision = "0001_governance"
branch_labels = ("oversight",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intelligence_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("place", sa.Text, nullable=False),
        sa.Column("place_crs", sa.String(32), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_evaluation", sa.String(1), nullable=False),
        sa.Column("assessment", sa.String(1), nullable=False),
        sa.Column("handling", sa.String(1), nullable=False),
        sa.Column("owner", sa.String(120), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("retain_until", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.CheckConstraint("source_evaluation IN ('1', '2', '3')", name="ck_intel_source"),
        sa.CheckConstraint("assessment IN ('A', 'B', 'C', 'D', 'E')", name="ck_intel_assessment"),
        sa.CheckConstraint("handling IN ('P', 'C')", name="ck_intel_handling"),
        sa.CheckConstraint("window_end > window_start", name="ck_intel_window"),
        sa.CheckConstraint("retain_until >= window_end", name="ck_intel_retention"),
    )


def downgrade() -> None:
    op.drop_table("intelligence_items")
