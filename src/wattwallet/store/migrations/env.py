"""Alembic environment: the engine comes from wattwallet.store.migrate (never from a .ini)."""

from __future__ import annotations

from alembic import context

from wattwallet.store import schema

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=schema.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
