"""Persistence: SQLAlchemy tables, the engine and its transactions, Alembic migrations."""
