"""Alembic environment: runs on the connection handed over by ``patrolcast.governance.db``."""

from __future__ import annotations

from alembic import context

from patrolcast.governance.models import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via patrolcast.governance.db.migrate
    raise RuntimeError("run migrations through patrolcast.governance.db.migrate(engine)")
context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
