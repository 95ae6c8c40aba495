"""One grant per person, role and scope, force-wide grants included.

``uq_role_grant`` (person, role, borough) let a force-wide grant (borough NULL) be stored twice:
SQL counts NULLs as distinct in a unique constraint, on SQLite and on PostgreSQL alike. The new
unique index ``uq_role_grant_scope`` is on (person, role, ``coalesce(borough, '')``), an
expression index both databases support. A database already holding such duplicates is not
changed behind anyone's back (the grants are governed rows: a silent delete would read as
tampering): the upgrade stops and names them, so that an administrator revokes and re-grants the
role with the version still installed, which records the change in the audit log.

Revision ID: 0004_role_grant_scope
Revises: 0003_audit_protection
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_role_grant_scope"
down_revision = "0003_audit_protection"
branch_labels = None
depends_on = None

INDEX = "uq_role_grant_scope"


def upgrade() -> None:
    duplicates = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT p.username, g.role, COUNT(*) FROM role_grants g "
                "JOIN people p ON p.id = g.person_id WHERE g.borough IS NULL "
                "GROUP BY p.username, g.role HAVING COUNT(*) > 1 ORDER BY p.username, g.role"
            )
        )
        .all()
    )
    if duplicates:
        listed = ", ".join(f"{user} {role} x{n}" for user, role, n in duplicates)
        raise RuntimeError(
            "patrolcast: the governance database holds force-wide role grants more than once "
            f"({listed}); before upgrading, revoke each such role and grant it again "
            "(`patrolcast user revoke`, then `patrolcast user grant`) with the version now "
            "installed, so that the change is in the audit log"
        )
    op.create_index(
        INDEX,
        "role_grants",
        ["person_id", "role", sa.text("coalesce(borough, '')")],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="role_grants")
