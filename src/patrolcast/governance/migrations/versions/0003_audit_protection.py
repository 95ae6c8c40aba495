"""Audit protection: signed checkpoints, append-only audit tables, a baseline of row digests.

* ``audit_head`` gains the newest signed checkpoint (``signed_seq``, ``signed_hash``,
  ``signed_at``, ``adopted_seq``, ``unsigned``, ``key_id``, ``signature``).
* ``audit_checkpoints`` keeps every signed checkpoint.
* The database refuses UPDATE and DELETE on ``audit_log`` and ``audit_checkpoints`` (SQLite
  triggers; on PostgreSQL a trigger function, also refusing TRUNCATE). Someone with owner rights
  can drop the triggers: the signatures and the checkpoints kept outside still catch the edit.
* A database that already holds governed rows gets one ``audit_baseline`` entry describing them
  (row digests start here; see :mod:`patrolcast.governance.audit_rows`).

Revision ID: 0003_audit_protection
Revises: 0002_identity
Create Date: 2026-11-27
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003_audit_protection"
down_revision = "0002_identity"
branch_labels = None
depends_on = None

APPEND_ONLY = ("audit_log", "audit_checkpoints")
_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION patrolcast_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'patrolcast: % on % refused: the audit record is append-only',
    TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade() -> None:
    for col in (
        sa.Column("signed_seq", sa.Integer, nullable=True),
        sa.Column("signed_hash", sa.String(64), nullable=True),
        sa.Column("signed_at", sa.String(40), nullable=True),
        sa.Column("adopted_seq", sa.Integer, nullable=True),
        sa.Column("unsigned", sa.Integer, nullable=True),
        sa.Column("key_id", sa.String(80), nullable=True),
        sa.Column("signature", sa.Text, nullable=True),
    ):
        op.add_column("audit_head", col)
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(80), nullable=False),
        sa.Column("adopted_seq", sa.Integer, nullable=False),
        sa.Column("unsigned", sa.Integer, nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for name in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE ON {name} "
                "FOR EACH ROW EXECUTE FUNCTION patrolcast_audit_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name} "
                "FOR EACH STATEMENT EXECUTE FUNCTION patrolcast_audit_append_only()"
            )
    elif bind.dialect.name == "sqlite":
        for name in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {name}_no_{verb.lower()} BEFORE {verb} ON {name} "
                    f"BEGIN SELECT RAISE(ABORT, 'patrolcast: {verb} on {name} refused: the "
                    "audit record is append-only'); END"
                )
    from patrolcast.governance.audit import append_baseline

    append_baseline(
        bind,
        actor="(migration)",
        reason="0003_audit_protection: row digests start here",
        now=datetime.now(UTC),
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for name in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {name}_append_only ON {name}")
            op.execute(f"DROP TRIGGER IF EXISTS {name}_no_truncate ON {name}")
        op.execute("DROP FUNCTION IF EXISTS patrolcast_audit_append_only()")
    elif bind.dialect.name == "sqlite":
        for name in APPEND_ONLY:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {name}_no_{verb}")
    op.drop_table("audit_checkpoints")
    with op.batch_alter_table("audit_head") as batch:
        for name in (
            "signature", "key_id", "unsigned", "adopted_seq", "signed_at", "signed_hash",
            "signed_seq",
        ):
            batch.drop_column(name)
