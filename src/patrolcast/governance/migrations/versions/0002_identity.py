"""Identity: credentials, sign-in sessions and tokens, installed policy profiles, pinned policy.

Revision ID: 0002_identity
Revises: 0001_governance
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_identity"
down_revision = "0001_governance"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "credentials",
        sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id"), primary_key=True),
        sa.Column("password_hash", sa.String(200), nullable=True),
        sa.Column("totp_secret", sa.Text, nullable=True),
        sa.Column("totp_last_step", sa.Integer, nullable=False),
        sa.Column("enrolment_code_hash", sa.String(64), nullable=True),
        _ts("enrolment_expires_at", nullable=True),
        sa.Column("failed_attempts", sa.Integer, nullable=False),
        _ts("locked_until", nullable=True),
        _ts("disabled_at", nullable=True),
        _ts("changed_at"),
        sa.Column("mac", sa.String(64), nullable=False),
    )
    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id"), nullable=False, index=True),
        sa.Column("secret_mac", sa.String(64), nullable=False, unique=True),
        sa.Column("csrf_mac", sa.String(64), nullable=True),
        sa.Column("label", sa.String(64), nullable=False),
        _ts("created_at"),
        _ts("last_seen_at"),
        _ts("expires_at"),
        sa.Column("idle_seconds", sa.Integer, nullable=False),
        _ts("reauth_until", nullable=True),
        _ts("revoked_at", nullable=True),
    )
    op.create_table(
        "policy_profiles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("installed_by", sa.String(64), nullable=False),
        _ts("installed_at"),
        sa.UniqueConstraint("name", "version", name="uq_policy_profile"),
    )
    with op.batch_alter_table("proposals") as batch:
        batch.add_column(sa.Column("profile_version", sa.Integer, nullable=True))
        batch.add_column(sa.Column("profile_sha256", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("proposals") as batch:
        batch.drop_column("profile_sha256")
        batch.drop_column("profile_version")
    for table in ("policy_profiles", "auth_sessions", "credentials"):
        op.drop_table(table)
